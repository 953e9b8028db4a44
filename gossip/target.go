package gossip

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"

	"filippo.io/edwards25519"
	"github.com/libp2p/go-libp2p/core/crypto"

	"assist/portal"
)

// A rep invite travels on the portal's topic like any alert, so every
// enrolled rep could open it with the portal key. Its ticket and comment
// are therefore sealed once more, to the invited rep alone: X25519 between
// a fresh key and the rep's Ed25519 identity key in its Montgomery form
// (the peer ID holds the public key), then XChaCha20-Poly1305.

// targeted is what only the invited rep reads.
type targeted struct {
	Ticket  []byte `json:"ticket"`
	Comment string `json:"comment,omitempty"`
}

// sealForTarget moves al's ticket and comment into al.Private, readable by
// al.Target only.
func sealForTarget(al *Alert) error {
	pub, err := al.Target.ExtractPublicKey()
	if err != nil {
		return fmt.Errorf("invited rep's key: %w", err)
	}
	raw, err := pub.Raw()
	if err != nil || pub.Type() != crypto.Ed25519 {
		return errors.New("invited rep's key is not Ed25519")
	}
	point, err := new(edwards25519.Point).SetBytes(raw)
	if err != nil {
		return err
	}
	theirs, err := ecdh.X25519().NewPublicKey(point.BytesMontgomery())
	if err != nil {
		return err
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	shared, err := eph.ECDH(theirs)
	if err != nil {
		return err
	}
	plain, err := json.Marshal(targeted{Ticket: al.Ticket, Comment: al.Comment})
	if err != nil {
		return err
	}
	al.EphKey = eph.PublicKey().Bytes()
	box, err := portal.Seal(targetKey(shared, al.EphKey, theirs.Bytes()), plain, targetAAD(al))
	if err != nil {
		return err
	}
	al.Private, al.Ticket, al.Comment = box, nil, ""
	return nil
}

// openForTarget restores the ticket and comment of a rep invite to self.
func openForTarget(al *Alert, self crypto.PrivKey) error {
	raw, err := self.Raw()
	if err != nil || self.Type() != crypto.Ed25519 || len(raw) < 32 {
		return errors.New("this rep's key is not Ed25519")
	}
	// The X25519 scalar of an Ed25519 key: SHA-512 of the seed, clamped
	// (ecdh clamps).
	h := sha512.Sum512(raw[:32])
	mine, err := ecdh.X25519().NewPrivateKey(h[:32])
	if err != nil {
		return err
	}
	eph, err := ecdh.X25519().NewPublicKey(al.EphKey)
	if err != nil {
		return fmt.Errorf("%w: invite key", ErrMalformed)
	}
	shared, err := mine.ECDH(eph)
	if err != nil {
		return err
	}
	plain, err := portal.Open(targetKey(shared, al.EphKey, mine.PublicKey().Bytes()), al.Private, targetAAD(al))
	if err != nil {
		return fmt.Errorf("%w: not sealed to this rep", ErrMalformed)
	}
	var t targeted
	if err := json.Unmarshal(plain, &t); err != nil || len(t.Ticket) == 0 || len(t.Ticket) > 64 || len(t.Comment) > MaxComment {
		return ErrMalformed
	}
	al.Ticket, al.Comment = t.Ticket, t.Comment
	return nil
}

func targetKey(shared, eph, theirs []byte) []byte {
	h := sha256.New()
	h.Write([]byte("assist-rep-invite/1"))
	h.Write(shared)
	h.Write(eph)
	h.Write(theirs)
	return h.Sum(nil)
}

func targetAAD(al *Alert) []byte {
	return []byte(al.ID + "\x00" + string(al.Host) + "\x00" + string(al.Target))
}
