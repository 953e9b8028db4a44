// Package p2p builds the libp2p hosts every assist process runs, frames the
// messages of assist's protocols, and reports how each peer is reached
// (direct or relayed, QUIC or TCP, round-trip time) so a UI can show it.
package p2p

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// DefaultListen are the addresses a peer listens on: every interface, a
// random port, QUIC first (it hole-punches best) and TCP as fallback.
var DefaultListen = []string{
	"/ip4/0.0.0.0/udp/0/quic-v1",
	"/ip4/0.0.0.0/tcp/0",
	"/ip6/::/udp/0/quic-v1",
	"/ip6/::/tcp/0",
}

// HostConfig configures a peer host.
type HostConfig struct {
	// Identity is the peer's key; its peer ID is how others know it.
	Identity crypto.PrivKey
	// Listen overrides DefaultListen.
	Listen []string
	// Relays are the rendezvous nodes, used as static circuit relays when
	// this peer is behind a NAT, and as AutoNAT servers.
	Relays []peer.AddrInfo
	// HolePunchTracer, if set, sees every hole-punching attempt.
	HolePunchTracer holepunch.EventTracer
	// ExtraOptions are appended last (for the rendezvous node's services).
	ExtraOptions []libp2p.Option
}

// NewHost builds a libp2p host: QUIC and TCP, Noise and TLS, identify, the
// relay client, hole punching (DCUtR) and AutoNAT (v1 and v2).
func NewHost(cfg HostConfig) (host.Host, error) {
	listen := cfg.Listen
	if len(listen) == 0 {
		listen = DefaultListen
	}
	var hpOpts []holepunch.Option
	if cfg.HolePunchTracer != nil {
		hpOpts = append(hpOpts, holepunch.WithTracer(cfg.HolePunchTracer))
	}
	opts := []libp2p.Option{
		libp2p.Identity(cfg.Identity),
		libp2p.ListenAddrStrings(listen...),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.Transport(quic.NewTransport),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DefaultMuxers,
		libp2p.EnableRelay(),
		libp2p.EnableHolePunching(hpOpts...),
		libp2p.EnableAutoNATv2(),
		libp2p.SwarmOpts(swarm.WithDialRanker(dialRanker)),
		libp2p.UserAgent("assist"),
	}
	if len(cfg.Relays) > 0 {
		opts = append(opts, libp2p.EnableAutoRelayWithStaticRelays(cfg.Relays,
			autorelay.WithBootDelay(0), autorelay.WithBackoff(10*time.Second)))
	}
	opts = append(opts, cfg.ExtraOptions...)
	h, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("start libp2p host: %w", err)
	}
	return h, nil
}

// FullAddrs returns the host's addresses with /p2p/ID appended: the form a
// user copies into --rendezvous.
func FullAddrs(h host.Host) []ma.Multiaddr {
	addrs, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()})
	if err != nil {
		return nil
	}
	return addrs
}

// ParseAddrInfos groups full multiaddrs by peer.
func ParseAddrInfos(addrs []ma.Multiaddr) ([]peer.AddrInfo, error) {
	// Grouped by peer in the order given: a person lists nodes by
	// preference (the nearest first). libp2p's AddrInfosFromP2pAddrs
	// groups through a map, and so shuffled them.
	var infos []peer.AddrInfo
	index := map[peer.ID]int{}
	for _, a := range addrs {
		transport, id := peer.SplitAddr(a)
		if id == "" {
			return nil, fmt.Errorf("parse peer addresses: %w", peer.ErrInvalidAddr)
		}
		i, ok := index[id]
		if !ok {
			i = len(infos)
			index[id] = i
			infos = append(infos, peer.AddrInfo{ID: id})
		}
		if transport != nil {
			infos[i].Addrs = append(infos[i].Addrs, transport)
		}
	}
	return infos, nil
}
