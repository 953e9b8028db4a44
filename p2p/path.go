package p2p

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	ma "github.com/multiformats/go-multiaddr"
)

// Path says how this host reaches a peer right now.
type Path struct {
	Peer      peer.ID
	Connected bool
	// Relayed is true while the only connections go through a circuit relay.
	Relayed bool
	// Transport of the best connection ("quic", "tcp"); for a relayed
	// connection, the transport of the hop to the relay.
	Transport string
	// Remote is the peer's address on the best connection.
	Remote ma.Multiaddr
	// RTT is the latest round-trip time measured with ping; 0 if unknown.
	RTT time.Duration
}

// Kind is "direct", "relayed" or "disconnected", as the UI shows it.
func (p Path) Kind() string {
	switch {
	case !p.Connected:
		return "disconnected"
	case p.Relayed:
		return "relayed"
	default:
		return "direct"
	}
}

// SameRoute reports whether two paths differ only in round-trip time.
func (p Path) SameRoute(o Path) bool {
	return p.Connected == o.Connected && p.Relayed == o.Relayed && p.Transport == o.Transport
}

// IsRelayed reports whether an address goes through a circuit relay.
func IsRelayed(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

// TransportOf names the transport an address uses.
func TransportOf(a ma.Multiaddr) string {
	for _, c := range a {
		switch c.Protocol().Code {
		case ma.P_QUIC_V1, ma.P_QUIC:
			return "quic"
		case ma.P_TCP:
			return "tcp"
		case ma.P_WEBRTC_DIRECT, ma.P_WEBRTC:
			return "webrtc"
		case ma.P_CIRCUIT:
			return "unknown"
		}
	}
	return "unknown"
}

// CurrentPath inspects the open connections to p and picks the one the
// stack prefers: direct over relayed, QUIC over TCP.
func CurrentPath(h host.Host, p peer.ID) Path {
	path := Path{Peer: p}
	best := -1
	for _, c := range h.Network().ConnsToPeer(p) {
		addr := c.RemoteMultiaddr()
		score := 0
		if !IsRelayed(addr) {
			score += 2
		}
		if TransportOf(addr) == "quic" {
			score++
		}
		if score > best {
			best = score
			path.Connected = true
			path.Relayed = IsRelayed(addr)
			path.Transport = TransportOf(addr)
			path.Remote = addr
		}
	}
	if path.Connected {
		path.RTT = h.Peerstore().LatencyEWMA(p)
	}
	return path
}

// WatchPath sends the path to p whenever a connection to p opens or closes,
// and after every round-trip measurement (one ping per interval). The path
// is computed inside libp2p's connection callback, in the order the
// connections appear, so a relayed connection that is upgraded a few
// milliseconds later is still reported first. If the reader falls behind,
// the oldest states are dropped, never the latest. The channel is closed
// when ctx ends.
func WatchPath(ctx context.Context, h host.Host, p peer.ID, interval time.Duration) <-chan Path {
	out := make(chan Path, 16)
	var mu sync.Mutex
	closed := false
	send := func(cur Path) {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return
		}
		for {
			select {
			case out <- cur:
				return
			default:
				select { // full: drop the oldest state
				case <-out:
				default:
				}
			}
		}
	}
	var rtt pinger
	poke := func(_ network.Network, c network.Conn) {
		if c.RemotePeer() == p {
			rtt.renew.Store(true) // ping on the connection that is best now
			send(CurrentPath(h, p))
		}
	}
	notifee := &network.NotifyBundle{ConnectedF: poke, DisconnectedF: poke}
	h.Network().Notify(notifee)
	send(CurrentPath(h, p))
	go func() {
		defer func() {
			h.Network().StopNotify(notifee)
			rtt.stop()
			mu.Lock()
			closed = true
			close(out)
			mu.Unlock()
		}()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if h.Network().Connectedness(p) == network.Connected {
					rtt.measure(ctx, h, p, interval)
				}
				send(CurrentPath(h, p))
			}
		}
	}()
	return out
}

// pinger measures the round trip to a peer on one ping stream, reused
// from one measurement to the next: a stream per measurement cost its
// opening, protocol negotiation and closing every time, about 250 bytes
// each way, four times what the ping itself carries; on a still screen
// that was most of what a session sent.
type pinger struct {
	renew   atomic.Bool
	results <-chan ping.Result
	cancel  context.CancelFunc
}

// measure takes one round trip; the ping service records it in the
// peerstore, where CurrentPath reads it. The stream is opened again when
// it fails, when it takes longer than timeout, or when the connections
// to the peer changed since the last one.
func (r *pinger) measure(ctx context.Context, h host.Host, p peer.ID, timeout time.Duration) {
	if r.renew.Swap(false) {
		r.stop()
	}
	if r.results == nil {
		pctx, cancel := context.WithCancel(network.WithAllowLimitedConn(ctx, "rtt"))
		r.results, r.cancel = ping.Ping(pctx, h, p), cancel
	}
	wait := time.NewTimer(timeout)
	defer wait.Stop()
	select {
	case res, ok := <-r.results:
		if !ok || res.Error != nil {
			r.stop()
		}
	case <-wait.C:
		r.stop()
	case <-ctx.Done():
	}
}

func (r *pinger) stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.results, r.cancel = nil, nil
}
