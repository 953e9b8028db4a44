package rendezvous

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/record"
	ma "github.com/multiformats/go-multiaddr"

	"assist/shortcode"
)

// Reason says why a code stopped working before it expired.
type Reason string

const (
	// ReasonCancelled: the owner withdrew the code.
	ReasonCancelled Reason = "cancelled"
	// ReasonBurned: three wrong secrets were tried.
	ReasonBurned Reason = "burned"
	// ReasonUsed: the code admitted as many peers as it allows.
	ReasonUsed Reason = "used"
	// ReasonEnded: the session the code belongs to is over.
	ReasonEnded Reason = "ended"
)

// Valid reports whether r is a known reason.
func (r Reason) Valid() bool {
	switch r {
	case ReasonCancelled, ReasonBurned, ReasonUsed, ReasonEnded:
		return true
	}
	return false
}

const (
	codeRecordDomain   = "assist-code-record"
	cancelRecordDomain = "assist-code-cancel"
	// A record names a peer's addresses: a handful (LAN, public, relay,
	// each over QUIC and TCP). The bounds keep the largest record, which
	// the node holds in memory for every code, near 2 KB.
	maxRecordAddrs = 12
	maxAddrLen     = 128
	maxEnvelope    = 3 << 10
)

// CodeRecord maps a code's lookup part to the peer that registered it. The
// owner signs it (a libp2p record envelope), so neither the rendezvous node
// nor anyone else can forge or change it, and a joiner can check the
// signature itself. It does not say what the code opens (a customer's
// machine or an invitation): the owner tells that only to a joiner that
// proved the code (package pairing).
type CodeRecord struct {
	Lookup  string   `json:"lookup"`
	Owner   peer.ID  `json:"owner"`
	Addrs   []string `json:"addrs"`
	Expires int64    `json:"expires"` // unix seconds
	// Seq orders re-publications of the same code (newer addresses).
	Seq uint64 `json:"seq"`
}

var _ record.Record = (*CodeRecord)(nil)

// Domain implements record.Record.
func (*CodeRecord) Domain() string { return codeRecordDomain }

// Codec implements record.Record.
func (*CodeRecord) Codec() []byte { return []byte("/assist/code-record/1") }

// MarshalRecord implements record.Record.
func (r *CodeRecord) MarshalRecord() ([]byte, error) { return json.Marshal(r) }

// UnmarshalRecord implements record.Record.
func (r *CodeRecord) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, r) }

// ExpiresAt returns the expiry as a time.
func (r *CodeRecord) ExpiresAt() time.Time { return time.Unix(r.Expires, 0) }

// Multiaddrs parses the record's addresses, skipping any that do not parse.
func (r *CodeRecord) Multiaddrs() []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, s := range r.Addrs {
		if a, err := ma.NewMultiaddr(s); err == nil {
			out = append(out, a)
		}
	}
	return out
}

func (r *CodeRecord) validate() error {
	if !shortcode.ValidLookup(r.Lookup) {
		return fmt.Errorf("bad lookup %q", r.Lookup)
	}
	if len(r.Addrs) > maxRecordAddrs {
		return fmt.Errorf("%d addresses, limit %d", len(r.Addrs), maxRecordAddrs)
	}
	for _, a := range r.Addrs {
		if len(a) > maxAddrLen {
			return fmt.Errorf("address of %d bytes, limit %d", len(a), maxAddrLen)
		}
		if _, err := ma.NewMultiaddr(a); err != nil {
			return fmt.Errorf("address %q: %v", a, err)
		}
	}
	return nil
}

// CancelRecord withdraws a code; only the code's owner can sign one.
type CancelRecord struct {
	Lookup string  `json:"lookup"`
	Owner  peer.ID `json:"owner"`
	Reason Reason  `json:"reason"`
	Time   int64   `json:"time"` // unix seconds
}

var _ record.Record = (*CancelRecord)(nil)

// Domain implements record.Record.
func (*CancelRecord) Domain() string { return cancelRecordDomain }

// Codec implements record.Record.
func (*CancelRecord) Codec() []byte { return []byte("/assist/code-cancel/1") }

// MarshalRecord implements record.Record.
func (r *CancelRecord) MarshalRecord() ([]byte, error) { return json.Marshal(r) }

// UnmarshalRecord implements record.Record.
func (r *CancelRecord) UnmarshalRecord(b []byte) error { return json.Unmarshal(b, r) }

// openEnvelope checks an envelope's signature, decodes its record, and
// returns the signer, which must match the owner the record names.
func openEnvelope(data []byte, rec interface {
	record.Record
	owner() peer.ID
}) (peer.ID, error) {
	env, err := record.ConsumeTypedEnvelope(data, rec)
	if err != nil {
		return "", fmt.Errorf("bad signed record: %w", err)
	}
	signer, err := peer.IDFromPublicKey(env.PublicKey)
	if err != nil {
		return "", fmt.Errorf("bad signer key: %w", err)
	}
	if signer != rec.owner() {
		return "", fmt.Errorf("record names owner %s but is signed by %s", rec.owner(), signer)
	}
	return signer, nil
}

func (r *CodeRecord) owner() peer.ID   { return r.Owner }
func (r *CancelRecord) owner() peer.ID { return r.Owner }

// seal signs rec with key and returns the envelope bytes.
func seal(rec record.Record, key crypto.PrivKey) ([]byte, error) {
	env, err := record.Seal(rec, key)
	if err != nil {
		return nil, fmt.Errorf("sign record: %w", err)
	}
	return env.Marshal()
}
