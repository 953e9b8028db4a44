// Package rvtest runs a real rendezvous node on loopback for tests.
package rvtest

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"assist/internal/p2ptest"
	"assist/rendezvous"
)

// StartNode starts a rendezvous node with its default limits (tune may
// change them) and stops it when the test ends. It returns the node and
// the address list clients are given.
func StartNode(t testing.TB, tune func(*rendezvous.NodeConfig)) (*rendezvous.Node, []peer.AddrInfo) {
	t.Helper()
	cfg := rendezvous.DefaultNodeConfig()
	cfg.DataDir = t.TempDir()
	cfg.Listen = p2ptest.LoopbackListen
	if tune != nil {
		tune(&cfg)
	}
	node, err := rendezvous.NewNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	return node, []peer.AddrInfo{{ID: node.Host.ID(), Addrs: node.Host.Addrs()}}
}
