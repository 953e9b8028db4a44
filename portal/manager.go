package portal

import (
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"assist/rights"
)

// Manager holds a portal's key: it issues and revokes credentials and
// signs settings. The key never leaves the manager's machine.
type Manager struct {
	Key  crypto.PrivKey
	ID   ID
	Name string
}

// NewManager makes a portal with a fresh key.
func NewManager(name string) (*Manager, error) {
	if name == "" || len(name) > 64 {
		return nil, fmt.Errorf("a portal name has 1 to 64 characters")
	}
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return nil, err
	}
	return managerFromKey(name, key)
}

func managerFromKey(name string, key crypto.PrivKey) (*Manager, error) {
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Manager{Key: key, ID: id, Name: name}, nil
}

// Issue signs a credential for rep under name, valid for ttl.
func (m *Manager) Issue(rep peer.ID, name string, serial uint64, ttl time.Duration, now time.Time) ([]byte, error) {
	if name == "" || len(name) > 100 {
		return nil, fmt.Errorf("a rep name has 1 to 100 characters")
	}
	if err := rep.Validate(); err != nil {
		return nil, fmt.Errorf("rep peer ID: %w", err)
	}
	c := &Credential{Portal: m.ID, PortalName: m.Name, Rep: rep, Name: name, Serial: serial,
		Issued: now.UTC().Truncate(time.Second), Expires: now.Add(ttl).UTC().Truncate(time.Second)}
	return sign(credentialRecord(c), m.Key)
}

// SignSettings signs s for this portal.
func (m *Manager) SignSettings(s Settings) ([]byte, error) {
	if s.MaxRights != rights.View && s.MaxRights != rights.Control {
		return nil, fmt.Errorf("max rights must be %q or %q", rights.View, rights.Control)
	}
	s.Portal = m.ID
	return sign(settingsRecord(&s), m.Key)
}

// SignRevocations signs r for this portal.
func (m *Manager) SignRevocations(r Revocations) ([]byte, error) {
	r.Portal = m.ID
	return sign(revocationsRecord(&r), m.Key)
}

// VerifyCredential checks a credential's signature against the portal it
// names and its validity at now.
func VerifyCredential(data []byte, now time.Time) (*Credential, error) {
	var c Credential
	signer, err := open(data, credentialRecord(&c))
	if err != nil {
		return nil, err
	}
	if signer != c.Portal {
		return nil, fmt.Errorf("%w: signed by %s, names portal %s", ErrBadSignature, signer, c.Portal)
	}
	if !now.Before(c.Expires) {
		return nil, ErrExpired
	}
	return &c, nil
}

// DescribeCredential reads a credential whose signature holds without
// judging its validity, to name the portal of one that no longer works
// (expired, revoked) in a message. Decide nothing on what it returns.
func DescribeCredential(data []byte) (*Credential, error) {
	var c Credential
	if _, err := open(data, credentialRecord(&c)); err != nil {
		return nil, err
	}
	return &c, nil
}

// VerifySettings checks settings signed by portal.
func VerifySettings(data []byte, portal ID) (*Settings, error) {
	return openFrom(data, settingsRecord(new(Settings)), portal)
}

// VerifyRevocations checks a revocation list signed by portal.
func VerifyRevocations(data []byte, portal ID) (*Revocations, error) {
	return openFrom(data, revocationsRecord(new(Revocations)), portal)
}

// VerifyPublishedRevocations checks a revocation list against the portal
// it names, for a relay that learns portals from the lists themselves.
func VerifyPublishedRevocations(data []byte) (*Revocations, error) {
	r := new(Revocations)
	signer, err := open(data, revocationsRecord(r))
	if err != nil {
		return nil, err
	}
	if signer != r.Portal {
		return nil, ErrBadSignature
	}
	return r, nil
}

// VerifyPublishedSettings checks settings against the portal they name.
func VerifyPublishedSettings(data []byte) (*Settings, error) {
	st := new(Settings)
	signer, err := open(data, settingsRecord(st))
	if err != nil {
		return nil, err
	}
	if signer != st.Portal {
		return nil, ErrBadSignature
	}
	return st, nil
}

// openFrom opens a portal object that must be signed by portal and name it.
func openFrom[T any, P interface {
	*T
	portalID() ID
}](data []byte, rec jsonRecord[T], portal ID) (*T, error) {
	signer, err := open(data, rec)
	if err != nil {
		return nil, err
	}
	if signer != portal || P(rec.v).portalID() != portal {
		return nil, ErrBadSignature
	}
	return rec.v, nil
}
