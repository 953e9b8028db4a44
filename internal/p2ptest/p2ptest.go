// Package p2ptest builds real libp2p hosts on loopback for tests.
package p2ptest

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"assist/p2p"
)

// LoopbackListen listens on 127.0.0.1, random ports, QUIC and TCP.
var LoopbackListen = []string{"/ip4/127.0.0.1/udp/0/quic-v1", "/ip4/127.0.0.1/tcp/0"}

// NewHost starts a peer host on loopback with a fresh identity and closes
// it when the test ends. listen overrides LoopbackListen.
func NewHost(t testing.TB, relays []peer.AddrInfo, listen ...string) host.Host {
	t.Helper()
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(listen) == 0 {
		listen = LoopbackListen
	}
	h, err := p2p.NewHost(p2p.HostConfig{Identity: key, Listen: listen, Relays: relays})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// Info returns h's address info, for Connect.
func Info(h host.Host) peer.AddrInfo { return peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()} }
