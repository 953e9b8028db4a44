package rendezvous

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"
	"sync/atomic"
	"testing"
	"time"

	"assist/internal/p2ptest"
)

// BenchmarkResolveOverNetwork measures the lookups per second one node
// answers: 8 clients, each its own libp2p host, resolve over QUIC on
// loopback, each lookup on a fresh stream as in real use. Rate limits off.
func BenchmarkResolveOverNetwork(b *testing.B) {
	benchmarkResolve(b, []string{"/ip4/127.0.0.1/udp/0/quic-v1"}, nil)
}

// BenchmarkResolveUnderStalledStreams is the same over TCP while 48 peers
// on 8 other addresses hold 3,000 stalled request streams, reopening each
// as soon as the node resets it.
func BenchmarkResolveUnderStalledStreams(b *testing.B) {
	benchmarkResolve(b, []string{"/ip4/127.0.0.20/tcp/0"}, func(n *Node) {
		a := startStallAttack(b, n, 48, 8, 3000)
		for a.opened.Load() < 3000 {
			time.Sleep(50 * time.Millisecond)
		}
	})
}

func benchmarkResolve(b *testing.B, clientListen []string, attack func(*Node)) {
	cfg := DefaultNodeConfig()
	cfg.DataDir = b.TempDir()
	cfg.Listen = []string{"/ip4/127.0.0.1/udp/0/quic-v1", "/ip4/127.0.0.1/tcp/0"}
	cfg.Limits.LimitLoopback = true
	cfg.LookupPerPeer, cfg.LookupPerIP, cfg.LookupPerNet = Rate{}, Rate{}, Rate{}
	node, err := NewNode(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer node.Close()
	if attack != nil {
		attack(node)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	info := []peer.AddrInfo{{ID: node.Host.ID(), Addrs: node.Host.Addrs()}}
	if attack != nil { // from the clients' own address, over TCP like the attack
		info[0].Addrs = tcpAddrs(node.Host)
	}
	owner := NewClient(p2ptest.NewHost(b, nil, clientListen...), info)
	reg, err := owner.Register(ctx, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	measureLookups(b, ctx, reg.Code.Lookup, func(int) *Client {
		return NewClient(p2ptest.NewHost(b, nil, clientListen...), info)
	})
}

// measureLookups runs 8 clients (client(i) makes the i-th) resolving
// lookup in parallel, each connected once first, and reports lookups/s.
func measureLookups(b *testing.B, ctx context.Context, lookup string, client func(i int) *Client) {
	const clients = 8
	pool := make(chan *Client, clients)
	for i := range clients {
		c := client(i)
		if _, err := c.Resolve(ctx, lookup); err != nil { // connect once
			b.Fatal(err)
		}
		pool <- c
	}
	var failed atomic.Int64
	b.SetParallelism(clients)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		c := <-pool
		defer func() { pool <- c }()
		for pb.Next() {
			if _, err := c.Resolve(ctx, lookup); err != nil {
				failed.Add(1)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lookups/s")
	if failed.Load() > 0 {
		b.Fatalf("%d lookups failed", failed.Load())
	}
}

// BenchmarkRegistryResolve is the registry alone, without the network.
func BenchmarkRegistryResolve(b *testing.B) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	r, err := OpenRegistry(b.TempDir(), DefaultRegistryLimits(), clock)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	alice := newOwner(b)
	if _, err := r.Register(alice.id, "", alice.record(b, "12345", clock.Now().Add(time.Hour), 1)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Resolve("12345"); err != nil {
			b.Fatal(err)
		}
	}
}
