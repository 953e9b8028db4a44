package gossip

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"assist/portal"
)

func testMember(t testing.TB) (*portal.Membership, peer.ID, string) {
	t.Helper()
	m, err := portal.NewManager("Acme")
	if err != nil {
		t.Fatal(err)
	}
	k, _, _ := crypto.GenerateEd25519Key(nil)
	id, _ := peer.IDFromPrivateKey(k)
	cred, err := m.Issue(id, "Alice", 1, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, portal.KeySize)
	return &portal.Membership{Credential: cred, Epoch: 1, AlertKey: key, RepSecret: key}, id, Topic(m.ID)
}

func TestStaleAndFutureMessagesAreRefused(t *testing.T) {
	ms, id, topic := testMember(t)
	now := time.Now()
	for _, at := range []time.Time{now.Add(-MaxAge - time.Second), now.Add(MaxSkew + time.Second)} {
		data, err := Seal(topic, ms, id, Payload{Type: TypePresence}, at)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := Check(topic, id, data, nil, now); !errors.Is(err, ErrStale) {
			t.Fatalf("message at %v: %v", at.Sub(now), err)
		}
	}
	// An expired alert inside a fresh message.
	al := Alert{ID: "a", Host: id, Ticket: []byte("t"), Expires: now.Add(-time.Second)}
	data, _ := Seal(topic, ms, id, Payload{Type: TypeAlert, Alert: &al}, now)
	env, _, err := Check(topic, id, data, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(topic, id, env, ms, now); !errors.Is(err, ErrStale) {
		t.Fatalf("expired alert: %v", err)
	}
	// Moved to another portal's topic: the credential does not match.
	_, _, other := testMember(t)
	if _, _, err := Check(other, id, data, nil, now); !errors.Is(err, ErrNotMember) {
		t.Fatalf("message on another portal's topic: %v", err)
	}
}

func FuzzCheckAndOpen(f *testing.F) {
	ms, id, topic := testMember(f)
	now := time.Now()
	al := Alert{ID: "a", Host: id, Ticket: []byte("t"), Expires: now.Add(time.Minute), Addrs: []string{"/ip4/1.2.3.4/tcp/1"}}
	for _, p := range []Payload{{Type: TypePresence, Sessions: 2, Query: true}, {Type: TypeAlert, Alert: &al},
		{Type: TypeTaken, AlertID: "a", By: "Bob"}} {
		data, err := Seal(topic, ms, id, p, now)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"credential":"AAAA","epoch":1,"time":0,"box":"AAAA"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, c, err := Check(topic, id, b, nil, now)
		if err != nil {
			return
		}
		if c.Rep != id {
			t.Fatal("accepted a credential for another peer")
		}
		if p, err := Open(topic, id, env, ms, now); err == nil && p.Type == "" {
			t.Fatal("accepted a payload without type")
		}
	})
}

func TestRepInviteIsSealedToItsRepAlone(t *testing.T) {
	keyOf := func() (crypto.PrivKey, peer.ID) {
		k, _, err := crypto.GenerateEd25519Key(nil)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := peer.IDFromPrivateKey(k)
		return k, id
	}
	bobKey, bob := keyOf()
	carolKey, _ := keyOf()
	_, host := keyOf()
	al := Alert{ID: "x1", Host: host, Target: bob, Ticket: []byte("the-ticket"), Comment: "customer details", Expires: time.Now().Add(time.Minute)}
	if err := sealForTarget(&al); err != nil {
		t.Fatal(err)
	}
	wire, _ := json.Marshal(al)
	if strings.Contains(string(wire), "customer details") || strings.Contains(string(wire), base64.StdEncoding.EncodeToString([]byte("the-ticket"))) {
		t.Fatalf("a rep invite carries its secrets for every rep: %s", wire)
	}
	if err := (&Payload{Type: TypeAlert, Alert: &al}).validate(host, time.Now()); err != nil {
		t.Fatalf("sealed rep invite refused: %v", err)
	}
	other := al
	if err := openForTarget(&other, carolKey); err == nil {
		t.Fatal("another rep opened the invite")
	}
	tampered := al
	tampered.ID = "x2" // bound to the alert
	if err := openForTarget(&tampered, bobKey); err == nil {
		t.Fatal("opened an invite moved to another alert ID")
	}
	if err := openForTarget(&al, bobKey); err != nil || string(al.Ticket) != "the-ticket" || al.Comment != "customer details" {
		t.Fatalf("the invited rep cannot open it: %v %+v", err, al)
	}
}
