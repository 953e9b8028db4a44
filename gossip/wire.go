// Package gossip carries a portal's presence and invite alerts over one
// gossipsub topic per portal.
//
// Every message is signed by its author (gossipsub's strict signing), carries
// the author's portal credential, and is sealed with the portal's alert key
// of the current epoch. Anyone can check that the author is an enrolled,
// unrevoked rep of the topic's portal (the rendezvous node does, to relay);
// only enrolled reps can read what it says.
package gossip

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/libp2p/go-libp2p/core/peer"

	"assist/portal"
)

// Wire layout, version 1.0.0: the topic of portal P is
// "/assist/portal/1.0.0/<P>", and a message's data is a JSON Envelope of at
// most MaxMessageSize bytes:
//
//	{"credential":<signed credential>,"epoch":2,"time":<unix ms>,"box":<sealed Payload>}
//
// box is XChaCha20-Poly1305 (nonce first) under the epoch's alert key, with
// the topic, the author's peer ID, the epoch and the time as associated
// data. The Payload inside is JSON:
//
//	{"type":"presence","sessions":1,"query":true}
//	{"type":"alert","alert":{"id":..,"session":..,"host":..,"addrs":[..],"masked":true,
//	        "comment":"..","ticket":..,"expires":".."}}
//	  a rep invite instead has "target":<peer ID>,"private":..,"eph":.. and
//	  no ticket or comment: those are sealed to the target (target.go)
//	{"type":"taken","alert_id":..,"by":"Bob"}
//	{"type":"withdrawn","alert_id":..,"reason":"expired"}
//	{"type":"declined","alert_id":..}
//	{"type":"offline"}
const (
	TopicPrefix    = "/assist/portal/1.0.0/"
	MaxMessageSize = 16 << 10
	// MaxAge bounds how old (or how far ahead) a message may be. It is
	// shorter than gossipsub's seen-message cache (2 minutes), so a replay
	// is either a known duplicate or too old.
	MaxAge = 90 * time.Second
	// MaxSkew is how far in the future a message's time may be.
	MaxSkew = 30 * time.Second
)

// Payload types.
const (
	TypePresence  = "presence"
	TypeAlert     = "alert"
	TypeTaken     = "taken"
	TypeWithdrawn = "withdrawn"
	TypeDeclined  = "declined"
	TypeOffline   = "offline"
)

// Topic is the topic of a portal.
func Topic(p portal.ID) string { return TopicPrefix + p.String() }

// PortalOf reverses Topic.
func PortalOf(topic string) (portal.ID, error) {
	s, ok := strings.CutPrefix(topic, TopicPrefix)
	if !ok {
		return "", fmt.Errorf("not a portal topic: %q", topic)
	}
	return peer.Decode(s)
}

// Envelope is a message on the wire.
type Envelope struct {
	Credential []byte `json:"credential"`
	Epoch      uint32 `json:"epoch"`
	Time       int64  `json:"time"`
	Box        []byte `json:"box"`
}

// Payload is what an envelope's box holds.
type Payload struct {
	Type     string `json:"type"`
	Sessions int    `json:"sessions,omitempty"`
	// Query asks the others to answer with their presence (sent on start).
	Query   bool   `json:"query,omitempty"`
	Alert   *Alert `json:"alert,omitempty"`
	AlertID string `json:"alert_id,omitempty"`
	By      string `json:"by,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Alert invites one rep (Target set) or every rep of a portal to a session.
type Alert struct {
	ID      string    `json:"id"`
	Session string    `json:"session"`
	Host    peer.ID   `json:"host"`
	Addrs   []string  `json:"addrs"`
	Target  peer.ID   `json:"target,omitempty"`
	Masked  bool      `json:"masked,omitempty"`
	Comment string    `json:"comment,omitempty"`
	Ticket  []byte    `json:"ticket,omitempty"`
	Expires time.Time `json:"expires"`
	// A rep invite's ticket and comment, sealed to Target alone (see
	// target.go), with the sender's ephemeral X25519 key.
	Private []byte `json:"private,omitempty"`
	EphKey  []byte `json:"eph,omitempty"`

	// Filled in on receipt from the author's credential.
	HostName   string    `json:"host_name,omitempty"`
	Portal     portal.ID `json:"portal,omitempty"`
	PortalName string    `json:"portal_name,omitempty"`
}

// Limits of a payload's fields.
const (
	MaxComment = 500
	maxAddrs   = 32
)

func associatedData(topic string, from peer.ID, epoch uint32, ms int64) []byte {
	b := append([]byte(topic), 0)
	b = append(b, from...)
	b = binary.BigEndian.AppendUint32(b, epoch)
	return binary.BigEndian.AppendUint64(b, uint64(ms))
}

// Seal builds a message's data: payload sealed for the topic by the rep
// holding ms, at now.
func Seal(topic string, ms *portal.Membership, from peer.ID, p Payload, now time.Time) ([]byte, error) {
	plain, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	t := now.UnixMilli()
	box, err := portal.Seal(ms.AlertKey, plain, associatedData(topic, from, ms.Epoch, t))
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(Envelope{Credential: ms.Credential, Epoch: ms.Epoch, Time: t, Box: box})
	if err != nil {
		return nil, err
	}
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("message of %d bytes exceeds %d", len(b), MaxMessageSize)
	}
	return b, nil
}

// Errors of Check.
var (
	ErrMalformed = errors.New("malformed portal message")
	ErrNotMember = errors.New("author is not an enrolled rep of this portal")
	ErrStale     = errors.New("message too old or from the future")
)

// Check is what every peer, the rendezvous node included, verifies before
// relaying a message: the envelope parses, its credential is signed by the
// topic's portal, names the author, is valid and not revoked, and the
// message is fresh. It does not need (or use) the alert key.
func Check(topic string, from peer.ID, data []byte, revoked func(serial uint64) bool, now time.Time) (*Envelope, *portal.Credential, error) {
	if len(data) > MaxMessageSize {
		return nil, nil, ErrMalformed
	}
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil || len(env.Box) == 0 {
		return nil, nil, ErrMalformed
	}
	pid, err := PortalOf(topic)
	if err != nil {
		return nil, nil, err
	}
	c, err := CheckCredential(pid, from, env.Credential, revoked, now)
	if err != nil {
		return nil, nil, err
	}
	t := time.UnixMilli(env.Time)
	if t.Before(now.Add(-MaxAge)) || t.After(now.Add(MaxSkew)) {
		return nil, nil, ErrStale
	}
	return &env, c, nil
}

// verified remembers credentials whose signature checked out: every
// message carries its author's credential, and a portal's few hundred reps
// would otherwise cost one signature check per message per peer.
var verified, _ = lru.New[[sha256.Size]byte, portal.Credential](4096)

// CheckCredential verifies that cred makes from an unrevoked rep of pid.
func CheckCredential(pid portal.ID, from peer.ID, cred []byte, revoked func(serial uint64) bool, now time.Time) (*portal.Credential, error) {
	key := sha256.Sum256(cred)
	c, ok := verified.Get(key)
	if !ok {
		vc, err := portal.VerifyCredential(cred, now)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotMember, err)
		}
		c = *vc
		verified.Add(key, c)
	}
	if !now.Before(c.Expires) {
		return nil, fmt.Errorf("%w: %v", ErrNotMember, portal.ErrExpired)
	}
	if c.Portal != pid || c.Rep != from {
		return nil, ErrNotMember
	}
	if revoked != nil && revoked(c.Serial) {
		return nil, fmt.Errorf("%w: %v", ErrNotMember, portal.ErrRevoked)
	}
	return &c, nil
}

// Open decrypts and checks a checked envelope's payload with ms's key.
func Open(topic string, from peer.ID, env *Envelope, ms *portal.Membership, now time.Time) (*Payload, error) {
	if env.Epoch != ms.Epoch {
		return nil, fmt.Errorf("sealed under epoch %d, have %d", env.Epoch, ms.Epoch)
	}
	plain, err := portal.Open(ms.AlertKey, env.Box, associatedData(topic, from, env.Epoch, env.Time))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var p Payload
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &p, p.validate(from, now)
}

func (p *Payload) validate(from peer.ID, now time.Time) error {
	switch p.Type {
	case TypePresence, TypeOffline:
		if p.Sessions < 0 || p.Sessions > 1000 {
			return ErrMalformed
		}
	case TypeAlert:
		a := p.Alert
		switch {
		case a == nil || a.ID == "" || len(a.ID) > 64 || len(a.Session) > 64:
			return ErrMalformed
		case a.Host != from:
			return fmt.Errorf("%w: alert for another host", ErrMalformed)
		case len(a.Comment) > MaxComment || len(a.Addrs) > maxAddrs || len(a.Ticket) > 64 || len(a.Private) > 1024:
			return ErrMalformed
		case a.Target == "" && len(a.Ticket) == 0, a.Target != "" && (len(a.Private) == 0 || len(a.EphKey) != 32):
			return fmt.Errorf("%w: an alert needs a ticket (a rep invite, one sealed to its rep)", ErrMalformed)
		case !now.Before(a.Expires):
			return fmt.Errorf("%w: alert expired", ErrStale)
		}
	case TypeTaken, TypeWithdrawn, TypeDeclined:
		if p.AlertID == "" || len(p.AlertID) > 64 || len(p.By) > 200 || len(p.Reason) > 200 {
			return ErrMalformed
		}
	default:
		return fmt.Errorf("%w: type %q", ErrMalformed, p.Type)
	}
	return nil
}
