package rendezvous

import (
	"net"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"assist/portal"
)

// selfMadePortal is what an attacker makes for free: a portal key and its
// first signed revocation list.
func selfMadePortal(t *testing.T) (*portal.Manager, []byte) {
	t.Helper()
	m, err := portal.NewManager("Mine")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := m.SignRevocations(portal.Revocations{Version: 1, Epoch: 1})
	if err != nil {
		t.Fatal(err)
	}
	return m, signed
}

func putPortal(n *Node, from string, signed []byte) response {
	return n.serve(peer.ID("p-"+from), sourceOf(net.ParseIP(from)), request{Op: opPortalPut, Envelope: signed})
}

// TestStrangersCannotCrowdOutPortals: before, anyone filled the node's
// 4,096 portal slots with self-made portals in seconds, and a real
// portal's next revocation list was refused "full" (across restarts too).
// Now one address opens a few portals at most, a portal that has a slot
// always gets its lists in, and an idle portal's slot is freed.
func TestStrangersCannotCrowdOutPortals(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	dir := t.TempDir()
	start := func() *Node {
		return startNode(t, func(c *NodeConfig) {
			c.DataDir = dir
			c.Clock = clock
			c.RegisterPerPeer = Rate{}
		})
	}
	node := start()
	real, realList := selfMadePortal(t)
	if r := putPortal(node, "203.0.113.5", realList); r.Status != StatusOK {
		t.Fatalf("the real portal's first list: %+v", r)
	}
	opened := 0
	for range 100 {
		_, signed := selfMadePortal(t)
		switch r := putPortal(node, "198.51.100.66", signed); r.Status {
		case StatusOK:
			opened++
		case StatusFull:
		default:
			t.Fatalf("flood: %+v", r)
		}
	}
	if opened != MaxPortalsPerSource {
		t.Fatalf("one address opened %d portals, bound %d", opened, MaxPortalsPerSource)
	}
	// The bound holds across a restart; the real portal keeps working.
	node.Close()
	node = start()
	if _, signed := selfMadePortal(t); putPortal(node, "198.51.100.66", signed).Status != StatusFull {
		t.Fatal("after a restart the flooding address opened another portal")
	}
	next, err := real.SignRevocations(portal.Revocations{Version: 2, Epoch: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r := putPortal(node, "192.0.2.1", next); r.Status != StatusOK {
		t.Fatalf("the real portal's next list, from another address: %+v", r)
	}
	// Idle for PortalIdle: the flood's slots (and the real portal's, had it
	// been idle) are freed with their state.
	clock.Advance(PortalIdle - time.Hour)
	if r := putPortal(node, "192.0.2.1", next); r.Status != StatusOK {
		t.Fatal(r)
	}
	clock.Advance(2 * time.Hour)
	freed, err := node.portals.sweep()
	if err != nil || freed != MaxPortalsPerSource {
		t.Fatalf("swept %d idle portals (%v), want the flood's %d", freed, err, MaxPortalsPerSource)
	}
	if list, _ := node.portals.revocations(real.ID); list == nil {
		t.Fatal("the real portal, in use, lost its list")
	}
	if _, signed := selfMadePortal(t); putPortal(node, "198.51.100.66", signed).Status != StatusOK {
		t.Fatal("the address's slots were not freed")
	}
}
