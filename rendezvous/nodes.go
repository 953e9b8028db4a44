package rendezvous

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Nodes that share a store find each other through it: each announces
// its addresses every PeerInterval and connects to the others it sees.
// Connected, their pubsub routers mesh on every portal topic both relay,
// so an alert published by a rep attached to one node reaches the reps
// attached to another.

// nodeTag protects the connections between nodes from the connection
// manager's trimming.
const nodeTag = "assist-rendezvous-node"

// followNodes keeps this node announced and connected to its peers until
// ctx ends; it also re-reads the revocation lists of relayed portals.
func (n *Node) followNodes(ctx context.Context) {
	t := time.NewTicker(n.cfg.PeerInterval)
	defer t.Stop()
	healthy := true
	for {
		err := n.meetNodes(ctx)
		if err == nil {
			err = n.portals.reloadRelayed()
		}
		switch {
		case err != nil && healthy:
			n.log.Error("the shared store does not answer; clients are told so until it does", "err", err)
		case err == nil && !healthy:
			n.log.Info("the shared store answers again")
		}
		healthy = err == nil
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// meetNodes announces this node and connects to the other live ones.
func (n *Node) meetNodes(ctx context.Context) error {
	self := peer.AddrInfo{ID: n.Host.ID(), Addrs: n.Host.Addrs()}
	if err := n.shared.Announce(self); err != nil {
		return err
	}
	others, err := n.shared.Nodes(3 * n.cfg.PeerInterval)
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.ID == self.ID || n.Host.Network().Connectedness(o.ID) == network.Connected {
			continue
		}
		n.Host.ConnManager().Protect(o.ID, nodeTag)
		go func(o peer.AddrInfo) {
			cctx, cancel := context.WithTimeout(ctx, n.cfg.PeerInterval)
			defer cancel()
			if err := n.Host.Connect(cctx, o); err != nil {
				n.log.Debug("cannot reach another node of the store", "node", o.ID, "err", err)
			}
		}(o)
	}
	return nil
}

func (n *Node) serveMetrics(ln net.Listener) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", n.MetricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	_ = srv.Serve(ln)
}
