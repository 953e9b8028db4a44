package p2p_test

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"assist/internal/p2ptest"
	"assist/p2p"
)

// TestAStalledReaderFreesTheWriter: a peer that takes a stream and stops
// reading (alive, but stalled). Before, a screen sender wrote to it with
// no deadline and blocked for good; a Deadlined stream gives up.
func TestAStalledReaderFreesTheWriter(t *testing.T) {
	a, b := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	stalled := make(chan struct{})
	defer close(stalled)
	b.SetStreamHandler("/stall", func(s network.Stream) { <-stalled; s.Reset() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Connect(ctx, p2ptest.Info(b)); err != nil {
		t.Fatal(err)
	}
	s, err := a.NewStream(ctx, b.ID(), "/stall")
	if err != nil {
		t.Fatal(err)
	}
	w := p2p.Deadlined{S: s, WriteTimeout: 300 * time.Millisecond}
	chunk := make([]byte, 64<<10)
	failed := make(chan error, 1)
	go func() {
		for {
			if _, err := w.Write(chunk); err != nil {
				failed <- err
				return
			}
		}
	}()
	select {
	case err := <-failed:
		t.Logf("the writer gave up: %v", err)
	case <-ctx.Done():
		t.Fatal("a write to a peer that stopped reading never returned")
	}
}
