package rendezvous

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"assist/internal/p2ptest"
)

// stallAttack is a flood of request streams that each send one byte of a
// length prefix and stall, reopened as soon as the node resets them: the
// cheapest way to hold a node's streams. Its peers sit on several
// loopback addresses (TCP dials leave from the address a host listens on).
type stallAttack struct {
	tried, opened, held atomic.Int64
	stop                context.CancelFunc
	wg                  sync.WaitGroup
}

func startStallAttack(t testing.TB, node *Node, peers, addrs, streams int) *stallAttack {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	a := &stallAttack{stop: stop}
	t.Cleanup(a.end)
	target := peer.AddrInfo{ID: node.Host.ID(), Addrs: tcpAddrs(node.Host)}
	seen := map[string]bool{}
	var attackers []host.Host
	for i := range peers {
		ip := fmt.Sprintf("127.0.0.%d", 2+i%addrs)
		h := p2ptest.NewHost(t, nil, "/ip4/"+ip+"/tcp/0")
		if err := h.Connect(ctx, target); err != nil {
			t.Fatal(err)
		}
		for _, c := range node.Host.Network().ConnsToPeer(h.ID()) {
			if from, err := manet.ToIP(c.RemoteMultiaddr()); err == nil {
				seen[from.String()] = true
			}
		}
		attackers = append(attackers, h)
	}
	if len(seen) != addrs {
		t.Fatalf("the attack reaches the node from %d addresses, want %d: %v", len(seen), addrs, seen)
	}
	for _, h := range attackers {
		for range streams / peers {
			a.wg.Go(func() { a.hold(ctx, h, target.ID) })
		}
	}
	return a
}

func (a *stallAttack) hold(ctx context.Context, h host.Host, node peer.ID) {
	for ctx.Err() == nil {
		a.tried.Add(1)
		s, err := h.NewStream(ctx, node, ProtocolID)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		a.opened.Add(1)
		if _, err := s.Write([]byte{0x80}); err == nil { // a varint that never ends
			a.held.Add(1)
			stop := context.AfterFunc(ctx, func() { s.Reset() })
			_, _ = s.Read(make([]byte, 1)) // until the node gives up on it
			stop()
			a.held.Add(-1)
		}
		s.Reset()
	}
}

func (a *stallAttack) end() {
	a.stop()
	a.wg.Wait()
}

func tcpAddrs(h host.Host) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, addr := range h.Addrs() {
		if _, err := addr.ValueForProtocol(ma.P_TCP); err == nil {
			out = append(out, addr)
		}
	}
	return out
}

// TestStalledStreamsDoNotDenyService: 3,000 stalled request streams from
// 48 peers on 8 addresses, reopened whenever reset. Before, about 1,300
// such streams from three addresses made every registration and lookup
// fail; now a customer and a rep on another address are served within
// 2 s each, round after round.
func TestStalledStreamsDoNotDenyService(t *testing.T) {
	if testing.Short() || raceDetector {
		t.Skip("floods a node with 3,000 streams within a time bound: run without -race or -short")
	}
	node := startNode(t, func(c *NodeConfig) {
		c.Listen = []string{"/ip4/127.0.0.1/tcp/0"}
		c.Limits.LimitLoopback = true
	})
	attack := startStallAttack(t, node, 48, 8, 3000)
	deadline := time.Now().Add(20 * time.Second)
	for attack.opened.Load() < 3000 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("attack under way: %d streams opened, %d held", attack.opened.Load(), attack.held.Load())

	info := []peer.AddrInfo{{ID: node.Host.ID(), Addrs: tcpAddrs(node.Host)}}
	customer := NewClient(p2ptest.NewHost(t, nil, "/ip4/127.0.0.10/tcp/0"), info)
	rep := NewClient(p2ptest.NewHost(t, nil, "/ip4/127.0.0.11/tcp/0"), info)
	var slowest time.Duration
	for round := range 8 {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		reg, err := customer.Register(ctx, time.Minute)
		if err != nil {
			cancel()
			t.Fatalf("round %d: registering a code under attack: %v (after %v)", round, err, time.Since(start))
		}
		registered := time.Since(start)
		start = time.Now()
		_, err = rep.Resolve(ctx, reg.Code.Lookup)
		cancel()
		if err != nil {
			t.Fatalf("round %d: resolving a code under attack: %v (after %v)", round, err, time.Since(start))
		}
		slowest = max(slowest, registered, time.Since(start))
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("slowest request under attack: %v; attack opened %d streams, holds %d", slowest, attack.opened.Load(), attack.held.Load())
	if attack.opened.Load() < 3000 {
		t.Fatalf("the attack opened only %d streams: it did not test anything", attack.opened.Load())
	}
}
