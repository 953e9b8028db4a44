// Package portal is a company's group of support reps: a portal key that
// stays with the manager, credentials that bind a rep's name to the rep's
// peer ID, revocations, and settings, all signed by the portal key so any
// peer can check them without asking a server.
//
// Every signed object is a libp2p record envelope (the same machinery as
// code records), so the signature covers a domain string and the payload
// type, and an object of one kind can never pass as another.
package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"

	"assist/rights"
)

// Errors a caller acts on.
var (
	ErrBadSignature = errors.New("not signed by this portal's key")
	ErrNotForYou    = errors.New("this credential was issued to another peer ID")
	ErrExpired      = errors.New("this credential has expired: ask your portal manager for a new one")
	ErrRevoked      = errors.New("this credential was revoked by the portal manager")
	ErrBadToken     = errors.New("not a valid portal token")
	ErrNameTaken    = errors.New("name taken")
)

// ID identifies a portal: the peer ID form of the portal's public key.
type ID = peer.ID

// Credential says that a peer is a portal's rep under a name.
type Credential struct {
	Portal     ID        `json:"portal"`
	PortalName string    `json:"portal_name"`
	Rep        peer.ID   `json:"rep"`
	Name       string    `json:"name"`
	Serial     uint64    `json:"serial"` // unique per portal; revocations name it
	Issued     time.Time `json:"issued"`
	Expires    time.Time `json:"expires"`
}

// Settings are the manager's rules for a portal.
type Settings struct {
	Portal ID `json:"portal"`
	// Version orders settings; a peer keeps the highest it has seen.
	Version uint64 `json:"version"`
	// ExternalsAllowed lets reps invite external specialists.
	ExternalsAllowed bool `json:"externals_allowed"`
	// MaxRights is the most a specialist may get: "view" or "control".
	MaxRights string `json:"max_rights"`
	// SpecialistShare lets specialists share their own screen.
	SpecialistShare bool `json:"specialist_share"`
}

// DefaultSettings: no external specialists, view at most, no sharing.
func DefaultSettings(id ID) Settings {
	return Settings{Portal: id, Version: 1, MaxRights: rights.View}
}

// Revocations lists the credential serials a portal has withdrawn, and
// carries the alert key the revocation rotated in, sealed to each rep who
// remains (by serial, with that rep's secret).
type Revocations struct {
	Portal  ID       `json:"portal"`
	Version uint64   `json:"version"`
	Serials []uint64 `json:"serials"`
	Epoch   uint32   `json:"epoch"`
	// Keys maps a remaining rep's serial to the new alert key sealed with
	// the rep's secret.
	Keys map[uint64][]byte `json:"keys,omitempty"`
}

func (s *Settings) portalID() ID    { return s.Portal }
func (r *Revocations) portalID() ID { return r.Portal }

// Revoked reports whether serial is on the list.
func (r *Revocations) Revoked(serial uint64) bool {
	for _, s := range r.Serials {
		if s == serial {
			return true
		}
	}
	return false
}

// jsonRecord signs any JSON payload under a domain and codec.
type jsonRecord[T any] struct {
	domain, codec string
	v             *T
}

func (r jsonRecord[T]) Domain() string                 { return r.domain }
func (r jsonRecord[T]) Codec() []byte                  { return []byte(r.codec) }
func (r jsonRecord[T]) MarshalRecord() ([]byte, error) { return json.Marshal(r.v) }
func (r jsonRecord[T]) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, r.v) }
func credentialRecord(c *Credential) jsonRecord[Credential] {
	return jsonRecord[Credential]{"assist-portal-credential", "/assist/portal-credential/1", c}
}
func settingsRecord(s *Settings) jsonRecord[Settings] {
	return jsonRecord[Settings]{"assist-portal-settings", "/assist/portal-settings/1", s}
}
func revocationsRecord(r *Revocations) jsonRecord[Revocations] {
	return jsonRecord[Revocations]{"assist-portal-revocations", "/assist/portal-revocations/1", r}
}

// sign seals rec with the portal key.
func sign(rec record.Record, key crypto.PrivKey) ([]byte, error) {
	env, err := record.Seal(rec, key)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return env.Marshal()
}

// open checks data's signature, decodes it into rec and returns the signer.
func open(data []byte, rec record.Record) (ID, error) {
	env, err := record.ConsumeTypedEnvelope(data, rec)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return peer.IDFromPublicKey(env.PublicKey)
}

// SettingsChange reads a change of settings as a manager gives it ("on" or
// "off", a right; "" leaves a setting as it is) and returns it (nil: none).
func SettingsChange(externals, share, maxRights string) (func(*Settings), error) {
	onOff := func(flag, v string) (bool, error) {
		if v != "on" && v != "off" {
			return false, fmt.Errorf("--%s takes on or off, not %q", flag, v)
		}
		return v == "on", nil
	}
	var sets []func(*Settings)
	if externals != "" {
		on, err := onOff("externals", externals)
		if err != nil {
			return nil, err
		}
		sets = append(sets, func(s *Settings) { s.ExternalsAllowed = on })
	}
	if share != "" {
		on, err := onOff("specialist-share", share)
		if err != nil {
			return nil, err
		}
		sets = append(sets, func(s *Settings) { s.SpecialistShare = on })
	}
	if maxRights != "" {
		if !rights.Valid(maxRights) {
			return nil, fmt.Errorf("--max-rights is view or control, not %q", maxRights)
		}
		sets = append(sets, func(s *Settings) { s.MaxRights = maxRights })
	}
	if len(sets) == 0 {
		return nil, nil
	}
	return func(s *Settings) {
		for _, set := range sets {
			set(s)
		}
	}, nil
}
