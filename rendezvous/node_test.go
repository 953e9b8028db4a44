package rendezvous

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	relayclient "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	ma "github.com/multiformats/go-multiaddr"

	"assist/internal/p2ptest"
	"assist/p2p"
	"assist/pairing"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startNode(t *testing.T, mutate func(*NodeConfig)) *Node {
	t.Helper()
	cfg := DefaultNodeConfig()
	cfg.DataDir = t.TempDir()
	cfg.Listen = p2ptest.LoopbackListen
	if mutate != nil {
		mutate(&cfg)
	}
	n, err := NewNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func nodeInfo(n *Node) []peer.AddrInfo {
	return []peer.AddrInfo{{ID: n.Host.ID(), Addrs: n.Host.Addrs()}}
}

func TestRegisterResolveAndPair(t *testing.T) {
	node := startNode(t, nil)
	ctx := testContext(t)
	owner, joiner := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)

	paired := make(chan peer.ID, 1)
	guard := pairing.NewGuard(owner, pairing.Hooks{Paired: func(p pairing.Pairing) { paired <- p.Peer }})
	reg, err := NewClient(owner, nodeInfo(node)).Register(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	guard.Add(reg.Code, pairing.KindSupport, 1)
	if n := len(reg.Code.Digits()); n != 12 {
		t.Fatalf("code has %d digits at ordinary load, want 12", n)
	}

	rec, err := NewClient(joiner, nodeInfo(node)).Resolve(ctx, reg.Code.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Owner != owner.ID() {
		t.Fatalf("resolved %+v", rec)
	}
	if _, err := pairing.Claim(ctx, joiner, peer.AddrInfo{ID: rec.Owner, Addrs: rec.Multiaddrs()}, reg.Code); err != nil {
		t.Fatalf("claim: %v", err)
	}
	if got := <-paired; got != joiner.ID() {
		t.Fatalf("owner paired with %s", got)
	}
	if p := p2p.CurrentPath(joiner, owner.ID()); p.Kind() != "direct" {
		t.Fatalf("path %+v, want direct on loopback", p)
	}
}

func TestLookupFloodIsLimitedWhileOthersAreServed(t *testing.T) {
	node := startNode(t, func(c *NodeConfig) {
		c.Listen = append(c.Listen, "/ip4/127.0.0.2/tcp/0")
		c.LookupPerPeer = Rate{Per: 1, Burst: 5}
		c.LookupPerIP = Rate{Per: 1, Burst: 20}
	})
	ctx := testContext(t)
	owner := p2ptest.NewHost(t, nil)
	reg, err := NewClient(owner, nodeInfo(node)).Register(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	// One peer floods: it is cut off after its burst.
	flooder := NewClient(p2ptest.NewHost(t, nil), nodeInfo(node))
	limited := 0
	for range 30 {
		if _, err := flooder.Resolve(ctx, reg.Code.Lookup); errors.Is(err, ErrRateLimited) {
			limited++
		}
	}
	if limited < 20 {
		t.Fatalf("only %d of 30 flood lookups were limited", limited)
	}
	// Many fresh peer IDs from the same IP hit the per-IP limit.
	ipLimited := false
	for range 20 {
		c := NewClient(p2ptest.NewHost(t, nil), nodeInfo(node))
		if _, err := c.Resolve(ctx, reg.Code.Lookup); errors.Is(err, ErrRateLimited) {
			ipLimited = true
			break
		}
	}
	if !ipLimited {
		t.Fatal("per-IP limit never applied to a swarm of peer IDs on one address")
	}
	// A client from another address is still served at once. It dials the
	// node's 127.0.0.2 TCP address from its own 127.0.0.2 TCP listener (TCP
	// port reuse binds the dial to it; a QUIC dial would leave from an
	// unbound socket, that is from 127.0.0.1).
	second := peer.AddrInfo{ID: node.Host.ID()}
	for _, a := range node.Host.Addrs() {
		if ip, _ := a.ValueForProtocol(ma.P_IP4); ip == "127.0.0.2" && p2p.TransportOf(a) == "tcp" {
			second.Addrs = append(second.Addrs, a)
		}
	}
	other := NewClient(p2ptest.NewHost(t, nil, "/ip4/127.0.0.2/tcp/0"), []peer.AddrInfo{second})
	if _, err := other.Resolve(ctx, reg.Code.Lookup); err != nil {
		t.Fatalf("well-behaved client refused during flood: %v", err)
	}
}

func rawStream(t *testing.T, ctx context.Context, h host.Host, node *Node) network.Stream {
	t.Helper()
	if err := h.Connect(ctx, nodeInfo(node)[0]); err != nil {
		t.Fatal(err)
	}
	s, err := h.NewStream(ctx, node.Host.ID(), ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMisbehavingClientsDoNotStopTheNode(t *testing.T) {
	node := startNode(t, func(c *NodeConfig) { c.StreamTimeout = 2 * time.Second })
	ctx := testContext(t)
	bad := p2ptest.NewHost(t, nil)

	// A stream that never finishes its request.
	stalled := rawStream(t, ctx, bad, node)
	if _, err := stalled.Write([]byte{0x10}); err != nil { // declares 16 bytes, sends none
		t.Fatal(err)
	}
	// An oversized message.
	big := rawStream(t, ctx, bad, node)
	_ = p2p.WriteFrame(big, make([]byte, MaxMessageSize+1))
	var resp response
	if err := p2p.ReadJSON(bufio.NewReader(big), MaxMessageSize, &resp); err != nil || resp.Status != StatusBadRequest {
		t.Fatalf("oversized request: %+v %v, want bad_request", resp, err)
	}
	// Garbage.
	junk := rawStream(t, ctx, bad, node)
	_ = p2p.WriteFrame(junk, []byte("{not json"))
	if err := p2p.ReadJSON(bufio.NewReader(junk), MaxMessageSize, &resp); err != nil || resp.Status != StatusBadRequest {
		t.Fatalf("junk request: %+v %v", resp, err)
	}

	// Meanwhile a normal client registers and resolves.
	start := time.Now()
	owner := p2ptest.NewHost(t, nil)
	reg, err := NewClient(owner, nodeInfo(node)).Register(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewClient(p2ptest.NewHost(t, nil), nodeInfo(node)).Resolve(ctx, reg.Code.Lookup); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) >= 2*time.Second {
		t.Fatal("normal client had to wait for the stalled stream's timeout")
	}
	// The stalled stream is cut by the node's deadline (2 s), not left open.
	_ = stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadAll(stalled)
	var timeout interface{ Timeout() bool }
	if errors.As(err, &timeout) && timeout.Timeout() {
		t.Fatal("the node left a stalled stream open past its stream timeout")
	}
}

func TestResolveErrorsAreDistinct(t *testing.T) {
	node := startNode(t, nil)
	ctx := testContext(t)
	owner := p2ptest.NewHost(t, nil)
	oc := NewClient(owner, nodeInfo(node))
	jc := NewClient(p2ptest.NewHost(t, nil), nodeInfo(node))

	if _, err := jc.Resolve(ctx, "99999"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	for _, tc := range []struct {
		reason Reason
		want   error
	}{{ReasonCancelled, ErrCancelled}, {ReasonBurned, ErrBurned}, {ReasonUsed, ErrUsed}, {ReasonEnded, ErrEnded}} {
		reg, err := oc.Register(ctx, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := oc.Cancel(ctx, reg, tc.reason); err != nil {
			t.Fatal(err)
		}
		if _, err := jc.Resolve(ctx, reg.Code.Lookup); !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.reason, err, tc.want)
		}
	}
	// Cancelling someone else's code is refused.
	reg, err := oc.Register(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := jc.Cancel(ctx, reg, ReasonCancelled); !errors.Is(err, ErrForbidden) {
		t.Fatalf("foreign cancel: %v", err)
	}
	if _, err := jc.Resolve(ctx, reg.Code.Lookup); err != nil {
		t.Fatalf("code died after foreign cancel: %v", err)
	}
}

func TestRelayCarriesMoreThanDefaultLimits(t *testing.T) {
	node := startNode(t, nil)
	ctx := testContext(t)
	relay := nodeInfo(node)[0]
	owner, joiner := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	if err := owner.Connect(ctx, relay); err != nil {
		t.Fatal(err)
	}
	if _, err := relayclient.Reserve(ctx, owner, relay); err != nil {
		t.Fatalf("reserve: %v", err)
	}
	const payload = 1 << 20 // 8x the libp2p default relay data limit
	done := make(chan int64, 1)
	owner.SetStreamHandler("/assist/test-sink/1.0.0", func(s network.Stream) {
		n, _ := io.Copy(io.Discard, s)
		s.Close()
		done <- n
	})
	circuit := ma.StringCast("/p2p/" + relay.ID.String() + "/p2p-circuit")
	var addrs []ma.Multiaddr
	for _, a := range relay.Addrs {
		addrs = append(addrs, a.Encapsulate(circuit))
	}
	if err := joiner.Connect(ctx, peer.AddrInfo{ID: owner.ID(), Addrs: addrs}); err != nil {
		t.Fatalf("connect through relay: %v", err)
	}
	if p := p2p.CurrentPath(joiner, owner.ID()); p.Kind() != "relayed" {
		t.Fatalf("path %+v, want relayed", p)
	}
	s, err := joiner.NewStream(network.WithAllowLimitedConn(ctx, "test"), owner.ID(), "/assist/test-sink/1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(make([]byte, payload)); err != nil {
		t.Fatalf("write through relay: %v", err)
	}
	s.CloseWrite()
	select {
	case n := <-done:
		if n != payload {
			t.Fatalf("relay carried %d of %d bytes", n, payload)
		}
	case <-ctx.Done():
		t.Fatal("relayed transfer did not finish")
	}
}

func FuzzAnswer(f *testing.F) {
	f.Add([]byte(`{"op":"resolve","lookup":"12345"}`))
	f.Add([]byte(`{"op":"register","envelope":"AAAA"}`))
	f.Add([]byte(`{"op":"cancel","envelope":null}`))
	f.Add([]byte(`{"op":"portal_join","envelope":"AAAA"}`))
	f.Add([]byte(`{"op":"portal_put","envelope":"AAAA"}`))
	f.Add([]byte(`{"op":"portal_get","portal":"12D3KooWLf6X5PNqmFdWiFQKn2nD3ki7bbaZcyGmwftdj3i5j92f"}`))
	f.Add([]byte(`[]`))
	cfg := DefaultNodeConfig()
	cfg.DataDir = f.TempDir()
	cfg.Listen = p2ptest.LoopbackListen
	// Limits off: with the defaults, 99 % of the fuzzer's inputs were
	// answered "rate_limited" before reaching the code under test.
	unlimited := Rate{Per: 1e9, Burst: 1e9}
	cfg.LookupPerPeer, cfg.LookupPerIP, cfg.LookupPerNet, cfg.RegisterPerPeer = unlimited, unlimited, unlimited, unlimited
	n, err := NewNode(cfg)
	if err != nil {
		f.Fatal(err)
	}
	defer n.Close()
	f.Fuzz(func(t *testing.T, raw []byte) {
		resp := n.answer("fuzzer", sourceOf(net.IPv4(127, 0, 0, 1)), raw)
		if resp.Status == "" {
			t.Fatal("empty status")
		}
		if resp.Status == StatusRateLimited {
			t.Fatal("the fuzz target is rate-limited: it no longer reaches the code")
		}
	})
}

// TestExtendKeepsACodeAlive: the owner of a live code moves its expiry on
// (an invitation code lives as long as its session); past the node's
// limit, or once cancelled, it cannot.
func TestExtendKeepsACodeAlive(t *testing.T) {
	node := startNode(t, nil)
	ctx := testContext(t)
	owner := p2ptest.NewHost(t, nil)
	c := NewClient(owner, nodeInfo(node))
	reg, err := c.Register(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Extend(ctx, reg, 12*time.Hour); err != nil {
		t.Fatal(err)
	}
	rec, err := NewClient(p2ptest.NewHost(t, nil), nodeInfo(node)).Resolve(ctx, reg.Code.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(rec.ExpiresAt()); left < 11*time.Hour || !rec.ExpiresAt().Equal(reg.Expires) {
		t.Fatalf("after extending by 12 h the node says %v left (registration says %v)", left, reg.Expires)
	}
	before := reg.Expires
	if err := c.Extend(ctx, reg, 48*time.Hour); !errors.Is(err, ErrBadRequest) || !reg.Expires.Equal(before) {
		t.Fatalf("extending past the node's limit: %v, expiry now %v", err, reg.Expires)
	}
	if err := c.Cancel(ctx, reg, ReasonCancelled); err != nil {
		t.Fatal(err)
	}
	if err := c.Extend(ctx, reg, time.Hour); !errors.Is(err, ErrCancelled) {
		t.Fatalf("extending a cancelled code: %v", err)
	}
}

// TestKeepRelayRenewsBeforeTheSlotExpires: with 6 s reservations (a
// real relay), the slot is renewed before it runs out, and again.
func TestKeepRelayRenewsBeforeTheSlotExpires(t *testing.T) {
	node := startNode(t, func(c *NodeConfig) { c.Relay.ReservationTTL = 6 * time.Second })
	ctx := testContext(t)
	c := NewClient(p2ptest.NewHost(t, nil), nodeInfo(node))
	first, err := c.ReserveRelay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type renewal struct {
		at, expires time.Time
		err         error
	}
	renewals := make(chan renewal, 16)
	if err := c.KeepRelay(ctx, func(expires time.Time, err error) { renewals <- renewal{time.Now(), expires, err} }); err != nil {
		t.Fatal(err)
	}
	prev := first
	for range 2 {
		select {
		case r := <-renewals:
			if r.err != nil || !r.expires.After(prev) || !r.at.Before(prev.Add(time.Second)) {
				t.Fatalf("renewal at %v: expires %v (%v); the slot before expired %v", r.at, r.expires, r.err, prev)
			}
			prev = r.expires
		case <-ctx.Done():
			t.Fatal("the relay slot was not renewed")
		}
	}
}

func TestRelayRenewalSchedule(t *testing.T) {
	for left, want := range map[time.Duration]time.Duration{
		12 * time.Hour:  12*time.Hour - 2*time.Minute,
		time.Hour:       58 * time.Minute,
		3 * time.Minute: 90 * time.Second,
		3 * time.Second: 1500 * time.Millisecond,
		0:               time.Second,
	} {
		if got := relayRenewIn(left); got != want {
			t.Errorf("renew a slot with %v left in %v, want %v", left, got, want)
		}
	}
}

// TestARelaySlotLostWithItsNodeIsGoneFromTheAddresses: a host holds
// slots at two nodes; one dies, and at once (not at the next renewal,
// an hour on) the host re-reserves and its addresses name only the
// relay left, for the owner to re-publish.
func TestARelaySlotLostWithItsNodeIsGoneFromTheAddresses(t *testing.T) {
	a, b := startNode(t, nil), startNode(t, nil)
	ctx := testContext(t)
	c := NewClient(p2ptest.NewHost(t, nil), append(nodeInfo(a), nodeInfo(b)...))
	renewed := make(chan error, 16)
	if err := c.KeepRelay(ctx, func(_ time.Time, err error) { renewed <- err }); err != nil {
		t.Fatal(err)
	}
	through := func(n *Node) bool {
		for _, addr := range c.DialAddrs() {
			if strings.Contains(addr.String(), n.Host.ID().String()+"/p2p-circuit") {
				return true
			}
		}
		return false
	}
	if !through(a) || !through(b) {
		t.Fatalf("addresses %v lack a relay", c.DialAddrs())
	}
	a.Close()
	select {
	case err := <-renewed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no new reservation after a node died")
	}
	if through(a) || !through(b) {
		t.Fatalf("after node A died the addresses are %v", c.DialAddrs())
	}
}
