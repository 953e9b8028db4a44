package p2p_test

import (
	"context"
	"testing"
	"time"

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
