package p2p

import (
	"context"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// NetworkState is what this host knows about its own reachability.
type NetworkState struct {
	// Reachability is "public", "private" (behind NAT or firewall) or
	// "unknown", as AutoNAT found it.
	Reachability string
	// Addrs are the addresses others may dial, relay addresses included.
	Addrs []ma.Multiaddr
	// ViaRelay is true once a relay reservation gives a circuit address.
	ViaRelay bool
}

// WatchNetwork sends the host's network state at start and whenever its
// addresses or its reachability change. The channel closes with ctx.
func WatchNetwork(ctx context.Context, h host.Host) (<-chan NetworkState, error) {
	sub, err := h.EventBus().Subscribe([]any{new(event.EvtLocalAddressesUpdated), new(event.EvtLocalReachabilityChanged)})
	if err != nil {
		return nil, err
	}
	out := make(chan NetworkState, 8)
	go func() {
		defer close(out)
		defer sub.Close()
		reach := "unknown"
		send := func() {
			st := NetworkState{Reachability: reach, Addrs: h.Addrs()}
			st.ViaRelay = slices.ContainsFunc(st.Addrs, IsRelayed)
			select {
			case out <- st:
			case <-ctx.Done():
			}
		}
		send()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-sub.Out():
				if !ok {
					return
				}
				if r, isReach := ev.(event.EvtLocalReachabilityChanged); isReach {
					reach = reachabilityName(r.Reachability)
				}
				send()
			}
		}
	}()
	return out, nil
}

func reachabilityName(r network.Reachability) string {
	switch r {
	case network.ReachabilityPublic:
		return "public"
	case network.ReachabilityPrivate:
		return "private"
	}
	return "unknown"
}

// EnvLabPublic names address ranges (comma-separated CIDRs) that this
// process treats as public although they are reserved. It exists only for
// the NAT lab, whose namespaces use 198.18.0.0/15 (reserved for network
// tests): libp2p refuses to hole-punch or advertise such addresses
// otherwise. Normal runs never set it.
const EnvLabPublic = "ASSIST_LAB_PUBLIC_NETS"

// TreatAsPublic removes the given ranges from go-multiaddr's unroutable
// and private lists. Call it before any host is built.
func TreatAsPublic(cidrs string) error {
	for _, c := range strings.Split(cidrs, ",") {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		_, lab, err := net.ParseCIDR(c)
		if err != nil {
			return err
		}
		manet.Unroutable4 = without(manet.Unroutable4, lab)
		manet.Private4 = without(manet.Private4, lab)
	}
	return nil
}

// without drops the ranges that overlap lab.
func without(list []*net.IPNet, lab *net.IPNet) []*net.IPNet {
	var out []*net.IPNet
	for _, n := range list {
		if n.Contains(lab.IP) || lab.Contains(n.IP) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// HolePunchReady reports whether the host answers hole-punching requests:
// libp2p registers the DCUtR handler only once the host knows one of its
// public addresses.
func HolePunchReady(h host.Host) bool {
	return slices.Contains(h.Mux().Protocols(), holepunch.Protocol)
}

// WaitHolePunchReady waits until HolePunchReady, at most timeout. A peer
// that is dialled through a relay before it is ready cannot take part in
// hole punching for that connection, so it stays relayed.
func WaitHolePunchReady(ctx context.Context, h host.Host, timeout time.Duration) bool {
	if HolePunchReady(h) {
		return true
	}
	sub, err := h.EventBus().Subscribe(new(event.EvtLocalProtocolsUpdated))
	if err != nil {
		return false
	}
	defer sub.Close()
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		if HolePunchReady(h) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return false
		case <-sub.Out():
		}
	}
}
