package portal

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// Membership is what an enrolled rep holds for one portal: the signed
// credential (public: it travels with everything the rep publishes) and the
// portal's alert key of the current epoch (secret: only enrolled reps get
// it, so only they can read the portal's alerts; the rendezvous node that
// relays them cannot). RepSecret is shared with the manager alone and
// opens the new alert key a revocation rotates in, so a revoked rep, who
// keeps the old key, can read no alert sealed after it.
//
// The enrollment token carries a Membership and is therefore a secret:
// hand it to the rep privately.
type Membership struct {
	Credential []byte `json:"credential"`
	Epoch      uint32 `json:"epoch"`
	AlertKey   []byte `json:"alert_key"`
	RepSecret  []byte `json:"rep_secret"`
	// Revocations is the newest signed revocation list applied.
	Revocations []byte `json:"revocations,omitempty"`
	// Settings are the newest signed portal settings seen.
	Settings []byte `json:"settings,omitempty"`
}

// PortalSettings are the newest settings this membership has seen (the
// defaults, which allow no specialists, if none).
func (m *Membership) PortalSettings(portal ID) Settings {
	if len(m.Settings) > 0 {
		if s, err := VerifySettings(m.Settings, portal); err == nil {
			return *s
		}
	}
	return DefaultSettings(portal)
}

// ApplySettings keeps signed settings if they are the portal's and newer.
func (m *Membership) ApplySettings(portal ID, signed []byte) error {
	s, err := VerifySettings(signed, portal)
	if err != nil {
		return err
	}
	if cur := m.PortalSettings(portal); len(m.Settings) == 0 || s.Version > cur.Version {
		m.Settings = signed
	}
	return nil
}

// KeySize is the size of alert keys and rep secrets.
const KeySize = chacha20poly1305.KeySize

// ErrStaleKey: a rotated key for this rep is missing from a revocation list.
var ErrStaleKey = errors.New("the portal's alert key was rotated without a key for you: ask your manager for a new enrollment")

// MembershipToken is the text a manager hands a rep.
func MembershipToken(m *Membership) (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ParseMembership reads a token (or the stored JSON) and checks its shape;
// Verify checks the credential.
func ParseMembership(b []byte) (*Membership, error) {
	var m Membership
	if raw, err := base64.RawURLEncoding.DecodeString(string(b)); err == nil {
		b = raw
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	if len(m.AlertKey) != KeySize || len(m.RepSecret) != KeySize || len(m.Credential) == 0 {
		return nil, fmt.Errorf("%w: incomplete enrollment", ErrBadToken)
	}
	return &m, nil
}

// Verify checks the membership's credential at now.
func (m *Membership) Verify(now time.Time) (*Credential, error) {
	return VerifyCredential(m.Credential, now)
}

// Apply takes a newer signed revocation list: it fails with ErrRevoked if
// this rep is on it, and moves to the rotated alert key if there is one.
// A list that is not newer than the one applied changes nothing.
func (m *Membership) Apply(signed []byte) (*Revocations, error) {
	c, err := VerifyCredential(m.Credential, time.Now())
	if err != nil {
		return nil, err
	}
	r, err := VerifyRevocations(signed, c.Portal)
	if err != nil {
		return nil, err
	}
	if cur, err := m.RevocationList(c.Portal); err == nil && r.Version <= cur.Version {
		return cur, nil
	}
	if r.Revoked(c.Serial) {
		return r, ErrRevoked
	}
	if r.Epoch > m.Epoch {
		sealed, ok := r.Keys[c.Serial]
		if !ok {
			return r, ErrStaleKey
		}
		key, err := Open(m.RepSecret, sealed, rekeyAAD(c.Portal, r.Epoch, c.Serial))
		if err != nil || len(key) != KeySize {
			return r, fmt.Errorf("%w: %v", ErrStaleKey, err)
		}
		m.Epoch, m.AlertKey = r.Epoch, key
	}
	m.Revocations = signed
	return r, nil
}

// RevocationList is the newest list applied (an empty one if none).
func (m *Membership) RevocationList(portal ID) (*Revocations, error) {
	if len(m.Revocations) == 0 {
		return &Revocations{Portal: portal}, errors.New("no revocation list yet")
	}
	return VerifyRevocations(m.Revocations, portal)
}

func rekeyAAD(portal ID, epoch uint32, serial uint64) []byte {
	b := append([]byte("assist-portal-rekey/"), portal...)
	b = binary.BigEndian.AppendUint32(b, epoch)
	return binary.BigEndian.AppendUint64(b, serial)
}

// newKey returns KeySize random bytes.
func newKey() []byte {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return k
}

// Seal encrypts plaintext with key (XChaCha20-Poly1305, random nonce)
// bound to aad; the nonce leads the result.
func Seal(key, plaintext, aad []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plaintext, aad), nil
}

// Open reverses Seal; it fails for any other key, aad or a changed byte.
func Open(key, sealed, aad []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("sealed message too short")
	}
	n := aead.NonceSize()
	return aead.Open(nil, sealed[:n], sealed[n:], aad)
}
