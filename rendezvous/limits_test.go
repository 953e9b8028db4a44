package rendezvous

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestOneIPv6NetworkCannotOutguessTheLimits: an attacker holding a /56
// (256 /64s, each a "host") sends 2,000 lookups, on the join page and over
// libp2p, each from a fresh address. Before, each /64 had its own bucket
// and every request was answered; now the /56 shares one. The clock
// stands still: the bucket refills with time, and a slow run (the race
// detector, a busy machine) let more through than the burst.
func TestOneIPv6NetworkCannotOutguessTheLimits(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	node := startNode(t, func(c *NodeConfig) { c.HTTPListen = "127.0.0.1:0"; c.Clock = clock })
	net56 := func(i int) string { return fmt.Sprintf("2001:db8:0:%x::1", i%256) }

	answered := 0
	for i := range 2000 {
		r := httptest.NewRequest(http.MethodGet, "/status?lookup=1234", nil)
		r.RemoteAddr = net.JoinHostPort(net56(i), "40000")
		w := httptest.NewRecorder()
		node.codeStatus(w, r)
		if w.Code == http.StatusOK {
			answered++
		}
	}
	burst := node.cfg.LookupPerNet.Burst
	if answered != burst {
		t.Fatalf("join page: %d of 2,000 lookups from one /56 answered, the /56's burst is %d", answered, burst)
	}

	clock.Advance(time.Hour) // the bucket full again
	answered = 0
	for i := range 2000 {
		src := sourceOf(net.ParseIP(net56(i)).To16())
		resp := node.serve(peer.ID(fmt.Sprint("peer-", i)), src, request{Op: opResolve, Lookup: "1234"})
		if resp.Status != StatusRateLimited {
			answered++
		}
	}
	if answered != burst {
		t.Fatalf("libp2p: %d of 2,000 lookups from one /56 answered, the /56's burst is %d", answered, burst)
	}
	// Another network is served meanwhile.
	if resp := node.serve(peer.ID("another"), sourceOf(net.ParseIP("2001:db8:1::1")), request{Op: opResolve, Lookup: "1234"}); resp.Status == StatusRateLimited {
		t.Fatal("a lookup from another /56 was rate-limited")
	}
}
