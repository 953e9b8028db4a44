package portal

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"assist/rights"
)

func newPeer(t testing.TB) peer.ID {
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peer.IDFromPrivateKey(k)
	return id
}

var now = time.Unix(1_800_000_000, 0)

func TestEnrollLoginRevokeSettings(t *testing.T) {
	mgrDir, repDir := t.TempDir(), t.TempDir()
	m, err := CreatePortal(mgrDir, "Acme Support")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CreatePortal(mgrDir, "Acme Support"); err == nil {
		t.Fatal("an existing portal was overwritten")
	}
	alice, mallory := newPeer(t), newPeer(t)
	ms, err := Enroll(mgrDir, "Acme Support", alice, "Alice", 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	token, err := MembershipToken(ms)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseMembership([]byte(token))
	if err != nil {
		t.Fatal(err)
	}
	// Only the peer it names can log in with it.
	if _, err := Login(repDir, back, mallory, now); !errors.Is(err, ErrNotForYou) {
		t.Fatalf("someone else's credential: %v", err)
	}
	c, err := Login(repDir, back, alice, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "Alice" || c.Portal != m.ID || c.PortalName != "Acme Support" {
		t.Fatalf("credential %+v", c)
	}
	creds, err := Credentials(repDir, now)
	if err != nil || len(creds) != 1 {
		t.Fatalf("stored credentials: %v %v", creds, err)
	}
	if _, err := VerifyCredential(back.Credential, now.Add(25*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired credential: %v", err)
	}

	rev, n, err := Revoke(mgrDir, "Acme Support", "Alice")
	if err != nil || n != 1 {
		t.Fatalf("revoke: %d %v", n, err)
	}
	list, err := VerifyRevocations(rev, m.ID)
	if err != nil || !list.Revoked(c.Serial) {
		t.Fatalf("revocation list: %+v %v", list, err)
	}

	s, settings, err := UpdateSettings(mgrDir, "Acme Support", func(s *Settings) {
		s.ExternalsAllowed, s.MaxRights = true, rights.Control
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifySettings(s, m.ID)
	if err != nil || !got.ExternalsAllowed || got.MaxRights != rights.Control || got.Version != settings.Version {
		t.Fatalf("settings: %+v %v", got, err)
	}
}

func TestForgeriesAreRefused(t *testing.T) {
	real, err := NewManager("Acme")
	if err != nil {
		t.Fatal(err)
	}
	fake, err := NewManager("Acme")
	if err != nil {
		t.Fatal(err)
	}
	alice := newPeer(t)
	// A credential signed by another key but naming the real portal.
	forged, err := sign(credentialRecord(&Credential{Portal: real.ID, Rep: alice, Name: "Alice", Expires: now.Add(time.Hour)}), fake.Key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyCredential(forged, now); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("forged credential: %v", err)
	}
	// Settings of another portal do not pass as the real one's.
	s, err := fake.SignSettings(DefaultSettings(fake.ID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifySettings(s, real.ID); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("foreign settings: %v", err)
	}
	// A credential does not pass as settings (domain separation).
	cred, err := real.Issue(alice, "Alice", 1, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifySettings(cred, real.ID); err == nil {
		t.Fatal("a credential passed as settings")
	}
	if _, err := ParseMembership([]byte("not a token")); !errors.Is(err, ErrBadToken) {
		t.Fatalf("bad membership token: %v", err)
	}
}

// TestRevocationRotatesTheAlertKey: the reps who remain move to a new key
// that the revoked rep cannot open.
func TestRevocationRotatesTheAlertKey(t *testing.T) {
	dir := t.TempDir()
	m, err := CreatePortal(dir, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	future := time.Now()
	alice, err := Enroll(dir, "Acme", newPeer(t), "Alice", time.Hour, future)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := Enroll(dir, "Acme", newPeer(t), "Bob", time.Hour, future)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(alice.AlertKey, bob.AlertKey) || alice.Epoch != 1 {
		t.Fatal("reps of one epoch must share its key")
	}
	sealed, err := Seal(alice.AlertKey, []byte("before"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Open(bob.AlertKey, sealed, []byte("aad")); err != nil || string(got) != "before" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := Open(bob.AlertKey, sealed, []byte("other aad")); err == nil {
		t.Fatal("opened with the wrong aad")
	}
	rev, _, err := Revoke(dir, "Acme", "Alice")
	if err != nil {
		t.Fatal(err)
	}
	oldKey := append([]byte(nil), bob.AlertKey...)
	list, err := bob.Apply(rev)
	if err != nil || list.Epoch != 2 || bob.Epoch != 2 || bytes.Equal(bob.AlertKey, oldKey) {
		t.Fatalf("bob after rotation: epoch %d, %v", bob.Epoch, err)
	}
	if _, err := alice.Apply(rev); !errors.Is(err, ErrRevoked) {
		t.Fatalf("alice applying her own revocation: %v", err)
	}
	if alice.Epoch != 1 || bytes.Equal(alice.AlertKey, bob.AlertKey) {
		t.Fatal("the revoked rep has the new key")
	}
	// An older list changes nothing; a forged one is refused.
	if _, err := bob.Apply(rev); err != nil || bob.Epoch != 2 {
		t.Fatalf("reapplying: %v", err)
	}
	fake, _ := NewManager("Acme")
	forged, _ := fake.SignRevocations(Revocations{Portal: m.ID, Version: 99})
	if _, err := bob.Apply(forged); err == nil {
		t.Fatal("a forged revocation list was applied")
	}
}

func FuzzVerifyCredential(f *testing.F) {
	m, err := NewManager("Acme")
	if err != nil {
		f.Fatal(err)
	}
	good, err := m.Issue(newPeer(f), "Alice", 1, time.Hour, now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{0x0a, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := VerifyCredential(b, now); err == nil && c.Portal == "" {
			t.Fatal("accepted a credential without portal")
		}
		_, _ = VerifySettings(b, m.ID)
		_, _ = VerifyRevocations(b, m.ID)
	})
}
