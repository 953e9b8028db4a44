package cmd

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"assist/internal/p2ptest"
	"assist/internal/rvtest"
	"assist/rendezvous"
)

// TestOpenCodesAreKeptAliveWhileTheSessionRuns: a code close to its
// expiry is extended at the rendezvous node by another codeTTL; one with
// time left is left alone.
func TestOpenCodesAreKeptAliveWhileTheSessionRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, rv := rvtest.StartNode(t, nil)
	h := p2ptest.NewHost(t, nil)
	rp := newRepProcess(ctx, &peerNode{host: h, rv: rendezvous.NewClient(h, rv)}, NewEvents(io.Discard, true), slog.New(slog.DiscardHandler))

	soon, err := rp.node.rv.Register(ctx, rendezvous.KindInvitation, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	later, err := rp.node.rv.Register(ctx, rendezvous.KindInvitation, codeTTL)
	if err != nil {
		t.Fatal(err)
	}
	laterExpires := later.Expires
	rp.codes[soon.Code.Lookup], rp.codes[later.Code.Lookup] = soon, later

	rp.renewCodes(ctx, time.Now().Add(codeRenewBefore))
	joiner := rendezvous.NewClient(p2ptest.NewHost(t, nil), rv)
	rec, err := joiner.Resolve(ctx, soon.Code.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(rec.ExpiresAt()); left < codeTTL-time.Minute {
		t.Fatalf("the code due for renewal has %v left at the node", left)
	}
	if rec, err := joiner.Resolve(ctx, later.Code.Lookup); err != nil || !rec.ExpiresAt().Equal(laterExpires) {
		t.Fatalf("the code with time left was touched: %v, %v", rec, err)
	}
}
