package rep

import (
	"slices"
	"testing"
)

func TestAJoinLinkCarriesItsRendezvousNodes(t *testing.T) {
	rv := []string{"/ip4/198.51.100.7/tcp/4001/p2p/12D3KooWGTYiaTY1x8SJK5vkjBs7TDyrcduA2PjqZjide6SCfB3S", "/dns4/rv.example.com/udp/4001/quic-v1/p2p/12D3KooWGTYiaTY1x8SJK5vkjBs7TDyrcduA2PjqZjide6SCfB3S"}
	code, err := ParseCode("482-193-775-125")
	if err != nil {
		t.Fatal(err)
	}
	link := JoinLink(code.String(), rv)
	got, gotRV, err := ParseJoin(link)
	if err != nil || got != code || !slices.Equal(gotRV, rv) {
		t.Fatalf("%s: %v %v %v", link, got, gotRV, err)
	}
	if got, gotRV, err := ParseJoin(code.String()); err != nil || got != code || gotRV != nil {
		t.Fatalf("a bare code: %v %v %v", got, gotRV, err)
	}
	if cmd := JoinCommand(code.String(), rv[:1]); cmd != "assist join --rendezvous "+rv[0]+" "+code.String() {
		t.Fatalf("command %q", cmd)
	}
	if _, _, err := ParseJoin("assist://join/12345"); err == nil {
		t.Fatal("a link with a bad code parsed")
	}
}
