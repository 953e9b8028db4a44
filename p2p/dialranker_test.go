package p2p

import (
	"testing"

	ma "github.com/multiformats/go-multiaddr"
)

func TestDialRankerHoldsRelayBackBehindLANAddresses(t *testing.T) {
	relay := ma.StringCast("/ip4/203.0.113.9/udp/4001/quic-v1/p2p/12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE/p2p-circuit")
	lan := ma.StringCast("/ip4/192.168.1.20/udp/5000/quic-v1")
	loop := ma.StringCast("/ip4/127.0.0.1/udp/5000/quic-v1")
	delayOf := func(addrs ...ma.Multiaddr) (d int64) {
		for _, r := range dialRanker(addrs) {
			if IsRelayed(r.Addr) {
				return r.Delay.Milliseconds()
			}
		}
		t.Fatal("relay address dropped")
		return 0
	}
	if d := delayOf(lan, relay); d < LANRelayDelay.Milliseconds() {
		t.Fatalf("relay dialled after %d ms next to a LAN address", d)
	}
	if d := delayOf(loop, relay); d < LANRelayDelay.Milliseconds() {
		t.Fatalf("relay dialled after %d ms next to a loopback address", d)
	}
	public := ma.StringCast("/ip4/203.0.113.20/udp/5000/quic-v1")
	if d := delayOf(public, relay); d < 500 {
		t.Fatalf("libp2p's own relay delay behind a public address lost: %d ms", d)
	}
	if d := delayOf(relay); d != 0 {
		t.Fatalf("a relay-only peer waits %d ms", d)
	}
}
