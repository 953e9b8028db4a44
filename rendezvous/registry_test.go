package rendezvous

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type owner struct {
	key crypto.PrivKey
	id  peer.ID
}

func newOwner(t testing.TB) owner {
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(k)
	return owner{k, id}
}

func (o owner) record(t testing.TB, lookup string, expires time.Time, seq uint64) []byte {
	t.Helper()
	env, err := seal(&CodeRecord{Lookup: lookup, Owner: o.id, Addrs: []string{"/ip4/127.0.0.1/tcp/1"}, Expires: expires.Unix(), Seq: seq}, o.key)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func (o owner) cancel(t testing.TB, lookup string, why Reason) []byte {
	t.Helper()
	env, err := seal(&CancelRecord{Lookup: lookup, Owner: o.id, Reason: why, Time: 1}, o.key)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func openTestRegistry(t *testing.T, dir string, clock Clock) *Registry {
	t.Helper()
	r, err := OpenRegistry(dir, DefaultRegistryLimits(), clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRegistryLifecycle(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	checkLifecycle(t, openTestRegistry(t, t.TempDir(), clock), clock)
}

// checkLifecycle checks the rules every code registry keeps.
func checkLifecycle(t *testing.T, r Codes, clock Clock) {
	alice, mallory := newOwner(t), newOwner(t)

	if _, err := r.Register(alice.id, "", alice.record(t, "12345", clock.Now().Add(time.Hour), 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve("12345"); err != nil {
		t.Fatalf("resolve: %v", err)
	}
	if _, err := r.Resolve("54321"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	// Someone else can neither overwrite nor cancel it.
	if _, err := r.Register(mallory.id, "", mallory.record(t, "12345", clock.Now().Add(time.Hour), 9)); !errors.Is(err, ErrTaken) {
		t.Fatalf("overwrite by other owner: %v", err)
	}
	if err := r.Cancel(mallory.id, mallory.cancel(t, "12345", ReasonCancelled)); !errors.Is(err, ErrForbidden) {
		t.Fatalf("cancel by other owner: %v", err)
	}
	// Nor can they send alice's signed record as their own.
	if _, err := r.Register(mallory.id, "", alice.record(t, "22222", clock.Now().Add(time.Hour), 1)); !errors.Is(err, ErrForbidden) {
		t.Fatalf("replayed record: %v", err)
	}
	// Owner updates addresses with a higher seq; a stale one is refused.
	if _, err := r.Register(alice.id, "", alice.record(t, "12345", clock.Now().Add(time.Hour), 2)); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if _, err := r.Register(alice.id, "", alice.record(t, "12345", clock.Now().Add(time.Hour), 2)); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("stale refresh: %v", err)
	}
	if err := r.Cancel(alice.id, alice.cancel(t, "12345", ReasonCancelled)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve("12345"); !errors.Is(err, ErrCancelled) {
		t.Fatalf("after cancel: %v", err)
	}
	// A cancelled code cannot be brought back.
	if _, err := r.Register(alice.id, "", alice.record(t, "12345", clock.Now().Add(time.Hour), 3)); !errors.Is(err, ErrCancelled) {
		t.Fatalf("resurrect: %v", err)
	}
}

func TestRegistryExpiryAndSweep(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	r := openTestRegistry(t, t.TempDir(), clock)
	alice := newOwner(t)
	if _, err := r.Register(alice.id, "", alice.record(t, "12345", clock.Now().Add(time.Minute), 1)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if _, err := r.Resolve("12345"); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	if n, _ := r.Sweep(); n != 0 {
		t.Fatal("swept an expired code before its tombstone time")
	}
	clock.Advance(DefaultRegistryLimits().Tombstone)
	if n, err := r.Sweep(); n != 1 || err != nil {
		t.Fatalf("sweep = %d, %v", n, err)
	}
	if _, err := r.Resolve("12345"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after sweep: %v", err)
	}
}

func TestRegistryRefusesBadExpiry(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	r := openTestRegistry(t, t.TempDir(), clock)
	alice := newOwner(t)
	for _, exp := range []time.Time{clock.Now(), clock.Now().Add(48 * time.Hour)} {
		if _, err := r.Register(alice.id, "", alice.record(t, "12345", exp, 1)); !errors.Is(err, ErrBadRequest) {
			t.Fatalf("expiry %v: %v", exp, err)
		}
	}
}

func TestRegistryPersists(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	dir := t.TempDir()
	alice := newOwner(t)
	r, err := OpenRegistry(dir, DefaultRegistryLimits(), clock)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Register(alice.id, "", alice.record(t, "12345", clock.Now().Add(time.Hour), 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Register(alice.id, "", alice.record(t, "67890", clock.Now().Add(time.Hour), 1)); err != nil {
		t.Fatal(err)
	}
	if err := r.Cancel(alice.id, alice.cancel(t, "67890", ReasonBurned)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r2 := openTestRegistry(t, dir, clock)
	if _, err := r2.Resolve("12345"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
	if _, err := r2.Resolve("67890"); !errors.Is(err, ErrBurned) {
		t.Fatalf("burned after reopen: %v", err)
	}
}

func TestRegistryGrowsLookupWhenCrowded(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	r := openTestRegistry(t, t.TempDir(), clock)
	r.byLen[4] = 5_000 // half the 4-digit space in use
	alice := newOwner(t)
	res, err := r.Register(alice.id, "", alice.record(t, "1234", clock.Now().Add(time.Hour), 1))
	if !errors.Is(err, ErrTaken) || res.MinDigits != 5 {
		t.Fatalf("crowded: %+v %v, want taken with min 5", res, err)
	}
	if _, err := r.Register(alice.id, "", alice.record(t, "12345", clock.Now().Add(time.Hour), 1)); err != nil {
		t.Fatalf("5 digits: %v", err)
	}
}

func TestRegistryLimitsPerOwner(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	limits := DefaultRegistryLimits()
	limits.MaxPerOwner = 2
	r, err := OpenRegistry(t.TempDir(), limits, clock)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	alice := newOwner(t)
	for i, l := range []string{"11111", "22222", "33333"} {
		_, err := r.Register(alice.id, "", alice.record(t, l, clock.Now().Add(time.Hour), 1))
		if (i < 2) != (err == nil) {
			t.Fatalf("code %d: %v", i, err)
		}
	}
}

func FuzzRegistryRequest(f *testing.F) {
	alice := newOwner(f)
	f.Add(alice.record(f, "12345", time.Unix(1_800_000_100, 0), 1))
	f.Add(alice.cancel(f, "12345", ReasonCancelled))
	f.Add([]byte{0x0a, 0x00})
	r, err := OpenRegistry(f.TempDir(), DefaultRegistryLimits(), &fakeClock{now: time.Unix(1_800_000_000, 0)})
	if err != nil {
		f.Fatal(err)
	}
	defer r.Close()
	f.Fuzz(func(t *testing.T, env []byte) {
		_, _ = r.Register(alice.id, "", env)
		_ = r.Cancel(alice.id, env)
	})
}
