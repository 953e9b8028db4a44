package rendezvous

import (
	"bufio"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	ratelimit "github.com/libp2p/go-libp2p/x/rate"
)

// NodeLimits size what the node holds for strangers, for its role rather
// than for the machine's memory (libp2p's defaults scale with it and left
// a 24 GiB machine at 96–252 inbound connections): a public node serves
// many peers that each hold little, and must keep serving while some of
// them misbehave.
type NodeLimits struct {
	// Conns bounds inbound connections; ConnsPerIP those from one IPv4
	// address or IPv6 /56.
	Conns, ConnsPerIP int
	// StreamsPerPeer bounds the inbound streams one peer holds open.
	StreamsPerPeer int
	// RequestsPerIP bounds the registry requests one IP address (or IPv6
	// /64) has in flight; more are reset at once, unread.
	RequestsPerIP int
	// RequestsPerPeer bounds those of one peer: a client asks one thing
	// at a time, so a peer that opens more is cut off (its connections
	// closed; reconnecting is rate-limited per address).
	RequestsPerPeer int
	// ConnRate bounds new connections per IPv4 address or IPv6 /56.
	ConnRate Rate
	// FirstByte is how long a request stream may stay silent.
	FirstByte time.Duration
	// LimitLoopback applies the per-IP limits to loopback addresses too
	// (libp2p exempts them): for tests that attack from 127.0.0.x.
	LimitLoopback bool
}

// DefaultNodeLimits suit a public node with the default relay settings.
func DefaultNodeLimits() NodeLimits {
	return NodeLimits{Conns: 8192, ConnsPerIP: 256, StreamsPerPeer: 64, RequestsPerIP: 32, RequestsPerPeer: 16,
		ConnRate: Rate{Per: 2, Burst: 64}, FirstByte: 2 * time.Second}
}

// options are the libp2p options that apply the limits: a resource
// manager with fixed limits and a connection manager that keeps room for
// every relay reservation (the relay tags reserved peers, so they are the
// last to be trimmed).
func (l NodeLimits) options(relay RelayConfig) ([]libp2p.Option, error) {
	scaling := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&scaling)
	base := scaling.Scale(4<<30, 65536)
	role := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{
			Conns: rcmgr.LimitVal(l.Conns + 1024), ConnsInbound: rcmgr.LimitVal(l.Conns),
			Streams: rcmgr.Unlimited, StreamsInbound: rcmgr.Unlimited, FD: rcmgr.LimitVal(l.Conns + 1024),
			Memory: rcmgr.Unlimited64, // bounded by the counts above, per peer and per address
		},
		// Connections still in their handshake, streams still negotiating
		// their protocol: as many as the node takes at all (the per-IP
		// limits bound a stranger's share), so a reconnecting flood
		// cannot fill them.
		Transient: rcmgr.ResourceLimits{Streams: rcmgr.LimitVal(8 * l.Conns), StreamsInbound: rcmgr.LimitVal(8 * l.Conns),
			Conns: rcmgr.LimitVal(l.Conns), ConnsInbound: rcmgr.LimitVal(l.Conns), FD: rcmgr.LimitVal(l.Conns)},
		PeerDefault: rcmgr.ResourceLimits{
			StreamsInbound: rcmgr.LimitVal(l.StreamsPerPeer), Streams: rcmgr.LimitVal(2 * l.StreamsPerPeer),
			ConnsInbound: rcmgr.LimitVal(l.ConnsPerIP), Conns: rcmgr.LimitVal(l.ConnsPerIP),
		},
		ProtocolDefault: rcmgr.ResourceLimits{Streams: rcmgr.Unlimited, StreamsInbound: rcmgr.Unlimited},
		// Every stream reserves its receive window: the registry protocol
		// as a whole is bounded by what each peer may hold (twice the
		// requests after which the node cuts a peer off), not by one
		// budget a few thousand stalled streams exhaust for everyone.
		Protocol: map[protocol.ID]rcmgr.ResourceLimits{ProtocolID: {Memory: rcmgr.Unlimited64}},
		ProtocolPeer: map[protocol.ID]rcmgr.ResourceLimits{ProtocolID: {
			Streams: rcmgr.LimitVal(2 * l.RequestsPerPeer), StreamsInbound: rcmgr.LimitVal(2 * l.RequestsPerPeer)}},
	}
	connRate := ratelimit.Limit{RPS: l.ConnRate.Per, Burst: l.ConnRate.Burst}
	rateLimiter := &ratelimit.Limiter{SubnetRateLimiter: ratelimit.SubnetLimiter{
		IPv4SubnetLimits: []ratelimit.SubnetLimit{{PrefixLength: 32, Limit: connRate}},
		IPv6SubnetLimits: []ratelimit.SubnetLimit{{PrefixLength: 56, Limit: connRate}},
		GracePeriod:      time.Minute,
	}}
	perSubnet := []rcmgr.Option{rcmgr.WithLimitPerSubnet(
		[]rcmgr.ConnLimitPerSubnet{{PrefixLength: 32, ConnCount: l.ConnsPerIP}},
		[]rcmgr.ConnLimitPerSubnet{{PrefixLength: 56, ConnCount: l.ConnsPerIP}},
	), rcmgr.WithConnRateLimiters(rateLimiter)}
	if l.LimitLoopback {
		perSubnet = append(perSubnet, rcmgr.WithNetworkPrefixLimit([]rcmgr.NetworkPrefixLimit{}, []rcmgr.NetworkPrefixLimit{}))
	} else {
		rateLimiter.NetworkPrefixLimits = []ratelimit.PrefixLimit{
			{Prefix: netip.MustParsePrefix("127.0.0.0/8")}, {Prefix: netip.MustParsePrefix("::1/128")}}
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(role.Build(base)), perSubnet...)
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	low := relay.MaxReservations + 256
	cm, err := connmgr.NewConnManager(low, max(low+256, l.Conns), connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("connection manager: %w", err)
	}
	return []libp2p.Option{libp2p.ResourceManager(rm), libp2p.ConnectionManager(cm)}, nil
}

// inflight counts the registry requests each source and peer has open.
type inflight struct {
	perSource, perPeer int
	mu                 sync.Mutex
	n                  map[string]int
}

func newInflight(perSource, perPeer int) *inflight {
	return &inflight{perSource: perSource, perPeer: perPeer, n: map[string]int{}}
}

type admission int

const (
	admitted      admission = iota
	sourceFull              // the source holds enough: this one is reset
	peerMisbehave           // the peer holds more than a client ever does
)

// enter takes a place for a request of p from src.
func (f *inflight) enter(src source, p peer.ID) admission {
	f.mu.Lock()
	defer f.mu.Unlock()
	peerKey := "peer/" + string(p)
	switch {
	case f.perPeer > 0 && f.n[peerKey] >= f.perPeer:
		return peerMisbehave
	case f.perSource > 0 && f.n[src.host] >= f.perSource:
		return sourceFull
	}
	f.n[src.host]++
	f.n[peerKey]++
	return admitted
}

func (f *inflight) leave(src source, p peer.ID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range []string{src.host, "peer/" + string(p)} {
		if f.n[k]--; f.n[k] <= 0 {
			delete(f.n, k)
		}
	}
}

// awaitFirstByte gives a stream FirstByte to start its request, then the
// rest of its stream timeout to finish it: a stream that sends nothing is
// gone in FirstByte, one that starts and stalls in the stream timeout, and
// one source holds RequestsPerIP such streams at most.
func awaitFirstByte(s network.Stream, r *bufio.Reader, first, whole time.Duration) error {
	start := time.Now()
	if err := s.SetReadDeadline(start.Add(first)); err != nil {
		return err
	}
	if _, err := r.Peek(1); err != nil {
		return err
	}
	return s.SetDeadline(start.Add(whole))
}
