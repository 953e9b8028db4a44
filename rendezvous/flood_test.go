package rendezvous

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// memStore is a Store in memory, for registries too big to write to disk
// in a test.
type memStore struct {
	mu     sync.Mutex
	tables map[string]map[string][]byte
}

func newMemStore() *memStore { return &memStore{tables: map[string]map[string][]byte{}} }

func (m *memStore) Put(table, key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tables[table] == nil {
		m.tables[table] = map[string][]byte{}
	}
	m.tables[table][key] = value
	return nil
}

func (m *memStore) Delete(table string, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.tables[table], k)
	}
	return nil
}

func (m *memStore) Each(table string, fn func(string, []byte) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range m.tables[table] {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) Close() error { return nil }

type discardStore struct{}

func (discardStore) Put(string, string, []byte) error              { return nil }
func (discardStore) Delete(string, ...string) error                { return nil }
func (discardStore) Each(string, func(string, []byte) error) error { return nil }
func (discardStore) Close() error                                  { return nil }

// TestOneAddressCannotFloodTheRegistry: peer IDs are free, so a flood
// comes from one address with a new peer ID per code. Before, only the
// per-peer cap applied and every one was taken.
func TestOneAddressCannotFloodTheRegistry(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	r, err := NewRegistry(newMemStore(), DefaultRegistryLimits(), clock)
	if err != nil {
		t.Fatal(err)
	}
	limit := DefaultRegistryLimits().MaxPerSource
	taken := 0
	for i := range limit + 50 {
		o := newOwner(t)
		_, err := r.Register(o.id, "198.51.100.7", o.record(t, fmt.Sprintf("%05d", i), clock.Now().Add(time.Hour), 1))
		if err == nil {
			taken++
		} else if !errors.Is(err, ErrFull) {
			t.Fatal(err)
		}
	}
	if taken != limit {
		t.Fatalf("one address registered %d codes under fresh peer IDs, limit %d", taken, limit)
	}
	o := newOwner(t)
	if _, err := r.Register(o.id, "203.0.113.9", o.record(t, "77777", clock.Now().Add(time.Hour), 1)); err != nil {
		t.Fatalf("another address was refused: %v", err)
	}
	// Codes that ended free their address's places.
	clock.Advance(2 * time.Hour)
	if _, err := r.Register(o.id, "198.51.100.7", o.record(t, "88888", clock.Now().Add(time.Hour), 1)); err != nil {
		t.Fatalf("after the flood's codes expired: %v", err)
	}
}

// TestARecordIsParsedAndBounded: addresses must parse, and a record has
// at most a dozen of them, each short: the node keeps every record in
// memory. Before, addresses were length-checked only (up to 32 × 512
// bytes of anything).
func TestARecordIsParsedAndBounded(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	r, err := NewRegistry(newMemStore(), DefaultRegistryLimits(), clock)
	if err != nil {
		t.Fatal(err)
	}
	o := newOwner(t)
	seal1 := func(addrs []string) []byte {
		env, err := seal(&CodeRecord{Lookup: "12345", Owner: o.id, Addrs: addrs, Expires: clock.Now().Add(time.Hour).Unix(), Seq: 1}, o.key)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	many := make([]string, maxRecordAddrs+1)
	for i := range many {
		many[i] = fmt.Sprintf("/ip4/10.0.0.%d/tcp/4001", i)
	}
	for name, addrs := range map[string][]string{
		"not a multiaddr": {"hello, world"},
		"too many":        many,
		"too long":        {"/dns4/" + strings.Repeat("a", maxAddrLen) + ".example/tcp/1"},
	} {
		if _, err := r.Register(o.id, "", seal1(addrs)); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: %v, want a bad request", name, err)
		}
	}
	if _, err := r.Register(o.id, "", seal1(many[:maxRecordAddrs])); err != nil {
		t.Fatalf("the largest record allowed: %v", err)
	}
}

// fillRegistry registers n codes of the largest size allowed, each from
// its own owner (so no per-owner or per-source cap applies).
func fillRegistry(b *testing.B, n int) (*Registry, *fakeClock) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	limits := DefaultRegistryLimits()
	limits.MaxCodes = n + 1000
	// The disk keeps the records, not the heap: a store that keeps
	// nothing measures the registry alone.
	r, err := NewRegistry(discardStore{}, limits, clock)
	if err != nil {
		b.Fatal(err)
	}
	addrs := make([]string, maxRecordAddrs)
	for i := range addrs {
		tail := fmt.Sprintf("%04d.example/tcp/4001", i)
		addrs[i] = "/dns4/" + strings.Repeat("a", maxAddrLen-len("/dns4/")-len(tail)) + tail
	}
	owners := make([]owner, 64)
	for i := range owners {
		owners[i] = newOwner(b)
	}
	for i := range n {
		o := owners[i%len(owners)]
		env, err := seal(&CodeRecord{Lookup: fmt.Sprintf("%06d", i), Owner: o.id, Addrs: addrs, Expires: clock.Now().Add(time.Hour).Unix(), Seq: 1}, o.key)
		if err != nil {
			b.Fatal(err)
		}
		r.mu.Lock()
		err = r.put(fmt.Sprintf("%06d", i), &entry{Envelope: env, Owner: o.id, Source: fmt.Sprint("src", i), Expires: clock.Now().Add(time.Hour).Unix(), Seq: 1})
		r.mu.Unlock()
		if err != nil {
			b.Fatal(err)
		}
	}
	return r, clock
}

// BenchmarkRegisterAmong200k: a registration in a registry of 200,000
// records (the default cap). Before, each scanned every record under the
// lock (12.5 ms at 200k).
func BenchmarkRegisterAmong200k(b *testing.B) {
	r, clock := fillRegistry(b, 200_000)
	o := newOwner(b)
	envs := make([][]byte, 0, 1024)
	for i := range cap(envs) {
		envs = append(envs, o.record(b, fmt.Sprintf("9%07d", i), clock.Now().Add(time.Hour), 1))
	}
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if i == len(envs) {
			b.StopTimer()
			for l := range 1024 {
				r.forget(fmt.Sprintf("9%07d", l))
			}
			i = 0
			b.StartTimer()
		}
		if _, err := r.Register(o.id, "", envs[i]); err != nil && !errors.Is(err, ErrFull) {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRegistryMemoryPerCode: the heap one live code of the largest
// size costs the node, measured over 20,000 of them.
func BenchmarkRegistryMemoryPerCode(b *testing.B) {
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r, _ := fillRegistry(b, 20_000)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/20_000, "bytes/code")
		runtime.KeepAlive(r)
	}
}
