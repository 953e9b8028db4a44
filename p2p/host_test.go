package p2p

import (
	"testing"

	ma "github.com/multiformats/go-multiaddr"
)

// TestParsedPeersKeepTheOrderGiven: nodes are listed by preference, and
// each peer's addresses gather under its first mention.
func TestParsedPeersKeepTheOrderGiven(t *testing.T) {
	ids := []string{
		"12D3KooWCLWzkcv2JuxKopkgSDBYn3tu76UdqMtCKcN32xaLak6Z",
		"12D3KooWCDDbDAuAgoQfNQziyHSP8rST3ggwKSm9cy2kmFwb8FvX",
		"12D3KooWFUoMTNY9bwpuasS75PV5ajMsHDg3J7gwJMbMedBUkGAW",
	}
	for range 20 { // a map's order would show within a few tries
		var addrs []ma.Multiaddr
		for i, id := range ids {
			addrs = append(addrs, ma.StringCast("/ip4/127.0.0.1/tcp/400"+string(rune('1'+i))+"/p2p/"+id))
		}
		addrs = append(addrs, ma.StringCast("/ip4/127.0.0.1/udp/4001/quic-v1/p2p/"+ids[0]))
		infos, err := ParseAddrInfos(addrs)
		if err != nil {
			t.Fatal(err)
		}
		if len(infos) != 3 || len(infos[0].Addrs) != 2 {
			t.Fatalf("parsed %v", infos)
		}
		for i, info := range infos {
			if info.ID.String() != ids[i] {
				t.Fatalf("peer %d is %s, given %s", i, info.ID, ids[i])
			}
		}
	}
	if _, err := ParseAddrInfos([]ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/1")}); err == nil {
		t.Fatal("an address without /p2p/ID parsed")
	}
}
