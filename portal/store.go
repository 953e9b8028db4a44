package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"assist/config"
)

// On disk, in the config directory:
//
//	portals/<name>/portal.key    the manager's portal key (0600)
//	portals/<name>/state.json    issued credentials, revocations, settings
//	credentials/<portal ID>.json a rep's memberships, one per portal (0600)

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$`)

// Issued is a credential the manager handed out.
type Issued struct {
	Serial  uint64    `json:"serial"`
	Name    string    `json:"name"`
	Peer    peer.ID   `json:"peer"`
	Expires time.Time `json:"expires"`
	// Secret seals rotated alert keys to this rep.
	Secret []byte `json:"secret"`
}

// State is what the manager keeps about a portal besides its key.
type State struct {
	NextSerial  uint64      `json:"next_serial"`
	Issued      []Issued    `json:"issued"`
	Revocations Revocations `json:"revocations"`
	Settings    Settings    `json:"settings"`
	// Epoch and AlertKey: the key reps seal the portal's alerts with now.
	Epoch    uint32 `json:"epoch"`
	AlertKey []byte `json:"alert_key"`
}

func portalDir(configDir, name string) string { return filepath.Join(configDir, "portals", name) }

// Managed lists the portals whose key is in configDir (this user manages them).
func Managed(configDir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(configDir, "portals"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(configDir, "portals", e.Name(), "portal.key")); err == nil {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// CreatePortal makes a new portal under configDir; an existing one is
// never overwritten (its reps' credentials would all become worthless).
func CreatePortal(configDir, name string) (*Manager, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("portal name %q: use letters, digits, space, '.', '_' or '-', at most 64", name)
	}
	dir := portalDir(configDir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	m, err := NewManager(name)
	if err != nil {
		return nil, err
	}
	b, err := crypto.MarshalPrivateKey(m.Key)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "portal.key"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("portal %q already exists in %s", name, dir)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	st := &State{NextSerial: 1, Settings: DefaultSettings(m.ID), Revocations: Revocations{Portal: m.ID, Version: 1, Epoch: 1},
		Epoch: 1, AlertKey: newKey()}
	return m, SaveState(configDir, name, st)
}

// LoadPortal opens a portal this user manages.
func LoadPortal(configDir, name string) (*Manager, *State, error) {
	dir := portalDir(configDir, name)
	b, err := os.ReadFile(filepath.Join(dir, "portal.key"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("you manage no portal %q (create it with 'assist portal create %s')", name, name)
	}
	if err != nil {
		return nil, nil, err
	}
	key, err := crypto.UnmarshalPrivateKey(b)
	if err != nil {
		return nil, nil, fmt.Errorf("portal key of %q is corrupt: %w", name, err)
	}
	m, err := managerFromKey(name, key)
	if err != nil {
		return nil, nil, err
	}
	sb, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, nil, err
	}
	var st State
	if err := json.Unmarshal(sb, &st); err != nil {
		return nil, nil, fmt.Errorf("portal state of %q is corrupt: %w", name, err)
	}
	return m, &st, nil
}

// SaveState writes a portal's state atomically.
func SaveState(configDir, name string, st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(portalDir(configDir, name), "state.json"), b)
}

// writeAtomic replaces a state or credential file whole: flushed to disk
// before it is renamed into place, so a crash leaves the old or the new.
func writeAtomic(path string, b []byte) error { return config.WriteFileAtomic(path, b, 0o600) }

// Enroll issues a credential for a rep, records it, and returns the rep's
// membership: the credential with the portal's alert key.
func Enroll(configDir, portalName string, rep peer.ID, repName string, ttl time.Duration, now time.Time) (*Membership, error) {
	m, st, err := LoadPortal(configDir, portalName)
	if err != nil {
		return nil, err
	}
	for _, is := range st.Issued {
		if strings.EqualFold(is.Name, repName) && is.Peer != rep && now.Before(is.Expires) && !st.Revocations.Revoked(is.Serial) {
			return nil, fmt.Errorf("%w: portal %q already has a rep named %q (peer %s): revoke that one first ('assist portal revoke %q --name %q'), or enroll under another name",
				ErrNameTaken, portalName, is.Name, is.Peer, portalName, is.Name)
		}
	}
	serial := st.NextSerial
	signed, err := m.Issue(rep, repName, serial, ttl, now)
	if err != nil {
		return nil, err
	}
	revs, err := m.SignRevocations(st.Revocations)
	if err != nil {
		return nil, err
	}
	settings, err := m.SignSettings(st.Settings)
	if err != nil {
		return nil, err
	}
	secret := newKey()
	st.NextSerial++
	st.Issued = append(st.Issued, Issued{Serial: serial, Name: repName, Peer: rep, Expires: now.Add(ttl).UTC(), Secret: secret})
	ms := &Membership{Credential: signed, Epoch: st.Epoch, AlertKey: st.AlertKey, RepSecret: secret, Revocations: revs, Settings: settings}
	return ms, SaveState(configDir, portalName, st)
}

// Revoke withdraws every credential issued to repName and returns the
// newly signed revocation list.
func Revoke(configDir, portalName, repName string) ([]byte, int, error) {
	m, st, err := LoadPortal(configDir, portalName)
	if err != nil {
		return nil, 0, err
	}
	n := 0
	for _, is := range st.Issued {
		if is.Name == repName && !st.Revocations.Revoked(is.Serial) {
			st.Revocations.Serials = append(st.Revocations.Serials, is.Serial)
			n++
		}
	}
	if n == 0 {
		return nil, 0, fmt.Errorf("portal %q has no active credential for %q", portalName, repName)
	}
	rotateAlertKey(m, st)
	st.Revocations.Version++
	signed, err := m.SignRevocations(st.Revocations)
	if err != nil {
		return nil, 0, err
	}
	return signed, n, SaveState(configDir, portalName, st)
}

// rotateAlertKey starts a new epoch whose key only the remaining reps can
// open: a revoked rep keeps the old key but reads nothing sealed after.
func rotateAlertKey(m *Manager, st *State) {
	st.Epoch++
	st.AlertKey = newKey()
	st.Revocations.Epoch = st.Epoch
	st.Revocations.Keys = map[uint64][]byte{}
	for _, is := range st.Issued {
		if st.Revocations.Revoked(is.Serial) || len(is.Secret) != KeySize {
			continue
		}
		sealed, err := Seal(is.Secret, st.AlertKey, rekeyAAD(m.ID, st.Epoch, is.Serial))
		if err == nil {
			st.Revocations.Keys[is.Serial] = sealed
		}
	}
}

// UpdateSettings changes a portal's settings and returns them signed.
func UpdateSettings(configDir, portalName string, change func(*Settings)) ([]byte, *Settings, error) {
	m, st, err := LoadPortal(configDir, portalName)
	if err != nil {
		return nil, nil, err
	}
	change(&st.Settings)
	st.Settings.Version++
	signed, err := m.SignSettings(st.Settings)
	if err != nil {
		return nil, nil, err
	}
	return signed, &st.Settings, SaveState(configDir, portalName, st)
}

// Login stores a membership for self after checking that the portal
// signed its credential, that it names self and that it is still valid.
func Login(configDir string, ms *Membership, self peer.ID, now time.Time) (*Credential, error) {
	c, err := ms.Verify(now)
	if err != nil {
		return nil, err
	}
	if c.Rep != self {
		return nil, fmt.Errorf("%w (it names %s, you are %s): send the manager your ID from 'assist id'", ErrNotForYou, c.Rep, self)
	}
	return c, SaveMembership(configDir, ms)
}

// SaveMembership stores ms (after a key rotation, say) where Memberships finds it.
func SaveMembership(configDir string, ms *Membership) error {
	c, err := VerifyCredential(ms.Credential, time.Now())
	if err != nil {
		return err
	}
	dir := filepath.Join(configDir, "credentials")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(ms, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, c.Portal.String()+".json"), b)
}

// Memberships returns this user's memberships whose credential is valid at now.
func Memberships(configDir string, now time.Time) ([]*Membership, error) {
	all, err := storedMemberships(configDir)
	if err != nil {
		return nil, err
	}
	var out []*Membership
	for _, st := range all {
		if _, err := st.ms.Verify(now); err == nil {
			out = append(out, st.ms)
		}
	}
	return out, nil
}

// Logout forgets this user's membership of a portal (by name or ID),
// valid or not: after a revocation, or to leave a portal.
func Logout(configDir, portal string) (*Credential, error) {
	all, err := storedMemberships(configDir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, st := range all {
		c, err := DescribeCredential(st.ms.Credential)
		if err != nil {
			continue
		}
		if strings.EqualFold(c.PortalName, portal) || c.Portal.String() == portal {
			return c, os.Remove(st.path)
		}
		names = append(names, c.PortalName)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("you are logged in to no portal")
	}
	return nil, fmt.Errorf("you are not logged in to a portal %q (you are in: %s)", portal, strings.Join(names, ", "))
}

type storedMembership struct {
	path string
	ms   *Membership
}

// storedMemberships reads every membership file that parses.
func storedMemberships(configDir string) ([]storedMembership, error) {
	paths, err := filepath.Glob(filepath.Join(configDir, "credentials", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []storedMembership
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if ms, err := ParseMembership(b); err == nil {
			out = append(out, storedMembership{path: p, ms: ms})
		}
	}
	return out, nil
}

// Credentials returns the valid credentials stored for this user.
func Credentials(configDir string, now time.Time) ([]*Credential, error) {
	ms, err := Memberships(configDir, now)
	if err != nil {
		return nil, err
	}
	out := make([]*Credential, 0, len(ms))
	for _, m := range ms {
		c, _ := m.Verify(now)
		out = append(out, c)
	}
	return out, nil
}
