package rendezvous

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"assist/internal/p2ptest"
	"assist/internal/redislab"
)

// BenchmarkResolveSharedStore is BenchmarkResolveOverNetwork on nodes
// that share one Redis: the same 8 clients, each using one node, spread
// over one node or three.
func BenchmarkResolveSharedStore(b *testing.B) {
	for _, nodes := range []int{1, 3} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) { benchmarkResolveShared(b, nodes) })
	}
}

func benchmarkResolveShared(b *testing.B, count int) {
	rd := redislab.Start(b, "--appendfsync", "everysec")
	var infos []peer.AddrInfo
	for range count {
		cfg := DefaultNodeConfig()
		cfg.DataDir = b.TempDir()
		cfg.Listen = []string{"/ip4/127.0.0.1/udp/0/quic-v1"}
		cfg.Limits.LimitLoopback = true
		cfg.LookupPerPeer, cfg.LookupPerIP, cfg.LookupPerNet = Rate{}, Rate{}, Rate{}
		store, err := OpenRedisStore(context.Background(), rd.URL())
		if err != nil {
			b.Fatal(err)
		}
		cfg.Store = store
		node, err := NewNode(cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { node.Close() })
		infos = append(infos, peer.AddrInfo{ID: node.Host.ID(), Addrs: node.Host.Addrs()})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	reg, err := NewClient(p2ptest.NewHost(b, nil), infos[:1]).Register(ctx, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	measureLookups(b, ctx, reg.Code.Lookup, func(i int) *Client {
		return NewClient(p2ptest.NewHost(b, nil), infos[i%count:i%count+1])
	})
}

// BenchmarkRedisStoreRoundTrip is one lookup in Redis, as a node makes
// it: its round trip to the store.
func BenchmarkRedisStoreRoundTrip(b *testing.B) {
	rd := redislab.Start(b)
	s, err := OpenRedisStore(context.Background(), rd.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	codes := s.Codes(DefaultRegistryLimits(), nil)
	o := newOwner(b)
	if _, err := codes.Register(o.id, "", o.record(b, "12345", time.Now().Add(time.Hour), 1)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := codes.Resolve("12345"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisRegister registers codes in Redis (the Lua script), and
// reports what each live code costs in Redis's memory: its record (a
// signed envelope with six addresses, as a customer behind NAT has) and
// its entries in the indexes. Redis writes its append-only file once a
// second, as in production.
func BenchmarkRedisRegister(b *testing.B) {
	rd := redislab.Start(b, "--appendfsync", "everysec")
	s, err := OpenRedisStore(context.Background(), rd.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	codes := s.Codes(DefaultRegistryLimits(), nil)
	exp := time.Now().Add(time.Hour).Unix()
	var envs [][]byte
	var owners []owner
	for i := range b.N {
		if i%30 == 0 {
			owners = append(owners, newOwner(b))
		}
		o := owners[len(owners)-1]
		rec := &CodeRecord{Lookup: fmt.Sprintf("%08d", 10_000_000+i), Owner: o.id, Expires: exp, Seq: uint64(time.Now().UnixNano()), Addrs: []string{
			"/ip4/192.168.1.23/udp/41234/quic-v1", "/ip4/192.168.1.23/tcp/41234",
			"/ip4/203.0.113.7/udp/41234/quic-v1", "/ip4/203.0.113.7/tcp/41234",
			"/ip4/198.51.100.1/udp/4001/quic-v1/p2p/12D3KooWGbymjBYHR3NUcKkURwsXUHbY8k9rME25AamXJkmtQpKo/p2p-circuit",
			"/ip4/198.51.100.1/tcp/4001/p2p/12D3KooWGbymjBYHR3NUcKkURwsXUHbY8k9rME25AamXJkmtQpKo/p2p-circuit",
		}}
		env, err := seal(rec, o.key)
		if err != nil {
			b.Fatal(err)
		}
		envs = append(envs, env)
	}
	before, err := rd.UsedMemory(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i, env := range envs {
		if _, err := codes.Register(owners[i/30].id, "", env); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	after, err := rd.UsedMemory(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(after-before)/float64(b.N), "B/code")
	b.ReportMetric(float64(len(envs[0])), "B/envelope")
}
