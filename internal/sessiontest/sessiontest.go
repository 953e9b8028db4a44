// Package sessiontest runs a real customer for tests of the rep's side:
// a 64x64 blank screen, input that goes nowhere, viewing allowed.
package sessiontest

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"assist/input"
	"assist/internal/p2ptest"
	"assist/rendezvous"
	"assist/screen"
	"assist/session"
)

// Blank is a 64x64 black screen.
type Blank struct{}

// Capture fills f with the blank screen.
func (Blank) Capture(f *screen.Frame) error {
	if f.W != 64 {
		*f = *screen.NewFrame(64, 64)
	}
	return nil
}

// NoInput takes input events and does nothing with them.
type NoInput struct{}

// Apply does nothing.
func (NoInput) Apply(input.Event) error { return nil }

// StartCustomer runs a customer who allows viewing, on a host of its own
// registered at the rendezvous nodes rv, until ctx ends; it returns the
// support key the customer would read out.
func StartCustomer(t testing.TB, ctx context.Context, rv []peer.AddrInfo) string {
	t.Helper()
	h := p2ptest.NewHost(t, rv)
	events := make(chan session.Event, 256)
	c := session.NewCustomer(session.CustomerConfig{Host: h, Rendezvous: rendezvous.NewClient(h, rv), KeyTTL: time.Minute,
		Screen: Blank{}, Injector: NoInput{}, Sender: screen.DefaultSenderConfig(), AutoView: true,
		OnEvent: func(e session.Event) {
			select {
			case events <- e:
			default:
			}
		}})
	go func() { _ = c.Run(ctx) }()
	for {
		select {
		case e := <-events:
			if e.Key != "" {
				return e.Key
			}
		case <-ctx.Done():
			t.Fatal("the customer showed no support key")
		}
	}
}
