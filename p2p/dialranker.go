package p2p

import (
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// LANRelayDelay holds back relay dials while a peer's LAN addresses are
// tried. libp2p delays relays only behind public addresses; a customer on
// the rep's own network would otherwise often be reached through the
// relay first. A LAN answers in milliseconds; a customer behind NAT pays
// this delay once, on the first connection.
const LANRelayDelay = 250 * time.Millisecond

// dialRanker is libp2p's default ranking with relay addresses delayed by
// LANRelayDelay when the peer has LAN (or, on one machine, loopback)
// addresses. Records carry loopback addresses only when the rendezvous
// node itself is on loopback (rendezvous.Client), so a remote peer never
// pays the delay for them.
func dialRanker(addrs []ma.Multiaddr) []network.AddrDelay {
	ranked := swarm.DefaultDialRanker(addrs)
	lan := false
	for _, a := range addrs {
		if !IsRelayed(a) && manet.IsPrivateAddr(a) {
			lan = true
			break
		}
	}
	if !lan {
		return ranked
	}
	for i := range ranked {
		if IsRelayed(ranked[i].Addr) && ranked[i].Delay < LANRelayDelay {
			ranked[i].Delay += LANRelayDelay
		}
	}
	return ranked
}
