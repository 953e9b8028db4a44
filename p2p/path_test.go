package p2p_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"assist/internal/p2ptest"
	"assist/p2p"
)

func TestWatchPathReportsConnectAndDisconnect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, b := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	paths := p2p.WatchPath(ctx, a, b.ID(), 100*time.Millisecond)

	next := func(want string) p2p.Path {
		t.Helper()
		for {
			select {
			case p := <-paths:
				if p.Kind() == want {
					return p
				}
			case <-ctx.Done():
				t.Fatalf("no %s path", want)
			}
		}
	}
	next("disconnected")
	if err := a.Connect(ctx, p2ptest.Info(b)); err != nil {
		t.Fatal(err)
	}
	p := next("direct")
	if p.Transport != "quic" {
		t.Fatalf("transport %q, want quic (preferred on loopback)", p.Transport)
	}
	// RTT arrives with the periodic ping.
	for p.RTT == 0 {
		p = next("direct")
	}
	if err := a.Network().ClosePeer(b.ID()); err != nil {
		t.Fatal(err)
	}
	next("disconnected")
}

// TestWatchPathMeasuresOnOneStream: the round trip is measured on one
// ping stream, not one per measurement (whose opening cost four times the
// ping's own bytes), and a connection that closes gets a new stream on
// the next one.
func TestWatchPathMeasuresOnOneStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, b := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	var opened atomic.Int32
	service := &ping.PingService{Host: b}
	b.SetStreamHandler(ping.ID, func(s network.Stream) {
		opened.Add(1)
		service.PingHandler(s)
	})
	if err := a.Connect(ctx, p2ptest.Info(b)); err != nil {
		t.Fatal(err)
	}
	paths := p2p.WatchPath(ctx, a, b.ID(), 20*time.Millisecond)
	measured := func(n int) {
		t.Helper()
		for last := time.Duration(0); n > 0; {
			select {
			case p := <-paths:
				if p.RTT != 0 && p.RTT != last {
					last = p.RTT
					n--
				}
			case <-ctx.Done():
				t.Fatal("the round trip was not measured again")
			}
		}
	}
	measured(20)
	if n := opened.Load(); n != 1 {
		t.Fatalf("%d ping streams for 20 measurements, want 1", n)
	}
	if err := a.Network().ClosePeer(b.ID()); err != nil {
		t.Fatal(err)
	}
	if err := a.Connect(ctx, p2ptest.Info(b)); err != nil {
		t.Fatal(err)
	}
	measured(5)
	if n := opened.Load(); n != 2 {
		t.Fatalf("%d ping streams after a reconnection, want 2", n)
	}
}
