package rendezvous

import (
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"assist/shortcode"
)

// Clock tells the time; tests inject their own.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// RegistryLimits bound what the registry accepts.
type RegistryLimits struct {
	// MaxTTL is the longest a code may live.
	MaxTTL time.Duration
	// Tombstone is how long a code that ended (expired, cancelled, burned,
	// used) still answers with its own reason instead of "not found", and
	// cannot be handed out again.
	Tombstone time.Duration
	// MaxPerOwner bounds the live codes of one peer, and MaxPerSource
	// those registered from one IP address (or IPv6 /64): peer IDs are
	// free, addresses are not.
	MaxPerOwner, MaxPerSource int
	// MaxCodes bounds all records, tombstones included (each is at most
	// maxEnvelope bytes of signed record plus its bookkeeping).
	MaxCodes int
}

// DefaultRegistryLimits suit a node serving one support team.
func DefaultRegistryLimits() RegistryLimits {
	return RegistryLimits{MaxTTL: 24 * time.Hour, Tombstone: 2 * time.Hour, MaxPerOwner: 32, MaxPerSource: 256, MaxCodes: 200_000}
}

// entry is what the store keeps per lookup.
type entry struct {
	Envelope []byte  `json:"envelope"`
	Owner    peer.ID `json:"owner"`
	Source   string  `json:"source,omitempty"` // where it was registered from
	Expires  int64   `json:"expires"`
	Seq      uint64  `json:"seq"`
	Ended    Reason  `json:"ended,omitempty"`
	EndedAt  int64   `json:"ended_at,omitempty"`
}

func (e *entry) live(now time.Time) bool { return e.Ended == "" && now.Unix() < e.Expires }

// Codes keeps a node's code records. Registry (in memory, written
// through to the node's file) serves one node; RedisCodes serves every
// node that shares one Redis.
type Codes interface {
	// Register stores a signed code record sent by from, from the source
	// src (an IP address or IPv6 /64; "" counts against no source).
	// Re-registering one's own live code with a higher Seq updates it.
	Register(from peer.ID, src string, envelope []byte) (RegisterResult, error)
	// Resolve returns the signed record for a lookup part, or the reason
	// it no longer works.
	Resolve(lookup string) ([]byte, error)
	// Cancel ends a code for the reason its owner signed.
	Cancel(from peer.ID, envelope []byte) error
	// Sweep deletes the records whose tombstone time has passed.
	Sweep() (int, error)
	// Count is how many records are held, tombstones included.
	Count() (int, error)
	Close() error
}

var _ Codes = (*Registry)(nil)

// checkRegister checks a registration's signed record: well formed,
// signed by the peer that sent it, and expiring within maxTTL of now.
func checkRegister(from peer.ID, envelope []byte, now time.Time, maxTTL time.Duration) (CodeRecord, error) {
	var rec CodeRecord
	if len(envelope) > maxEnvelope {
		return rec, fmt.Errorf("%w: a signed record of %d bytes, limit %d", ErrBadRequest, len(envelope), maxEnvelope)
	}
	signer, err := openEnvelope(envelope, &rec)
	if err != nil {
		return rec, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if signer != from {
		return rec, fmt.Errorf("%w: record signed by %s, sent by %s", ErrForbidden, signer, from)
	}
	if err := rec.validate(); err != nil {
		return rec, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if !rec.ExpiresAt().After(now) || rec.ExpiresAt().After(now.Add(maxTTL+time.Minute)) {
		return rec, fmt.Errorf("%w: expiry must be within %v from now", ErrBadRequest, maxTTL)
	}
	return rec, nil
}

// checkCancel checks a signed cancellation and returns it with its signer.
func checkCancel(envelope []byte) (CancelRecord, peer.ID, error) {
	var rec CancelRecord
	signer, err := openEnvelope(envelope, &rec)
	if err != nil {
		return rec, "", fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if !rec.Reason.Valid() || !shortcode.ValidLookup(rec.Lookup) {
		return rec, "", fmt.Errorf("%w: bad cancel record", ErrBadRequest)
	}
	return rec, signer, nil
}

// Registry maps lookup parts to signed code records. It keeps every record
// in memory for speed and writes each change through to its Store, so
// codes survive a restart of the node.
type Registry struct {
	store  Store
	clock  Clock
	limits RegistryLimits

	mu      sync.Mutex
	entries map[string]*entry
	byLen   map[int]int // records per lookup length, for minDigitsLocked
	// The lookups of each owner and each source: counting theirs looks
	// at their own records only, never at every entry.
	byOwner, bySource index
}

// index maps a key to the set of lookups registered under it.
type index map[string]map[string]struct{}

func (x index) add(key, lookup string) {
	if key == "" {
		return
	}
	if x[key] == nil {
		x[key] = map[string]struct{}{}
	}
	x[key][lookup] = struct{}{}
}

func (x index) remove(key, lookup string) {
	if delete(x[key], lookup); len(x[key]) == 0 {
		delete(x, key)
	}
}

// OpenRegistry opens (or creates) a registry in the node's files in
// dataDir.
func OpenRegistry(dataDir string, limits RegistryLimits, clock Clock) (*Registry, error) {
	store, err := OpenFileStore(dataDir)
	if err != nil {
		return nil, err
	}
	r, err := NewRegistry(store, limits, clock)
	if err != nil {
		store.Close()
		return nil, err
	}
	return r, nil
}

// NewRegistry is a registry kept in store; it loads what store holds.
func NewRegistry(store Store, limits RegistryLimits, clock Clock) (*Registry, error) {
	if clock == nil {
		clock = systemClock{}
	}
	r := &Registry{store: store, clock: clock, limits: limits, entries: map[string]*entry{}, byLen: map[int]int{},
		byOwner: index{}, bySource: index{}}
	err := store.Each(tableCodes, func(k string, v []byte) error {
		var e entry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("registry record %q is corrupt: %w", k, err)
		}
		r.remember(k, &e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Close closes the store.
func (r *Registry) Close() error { return r.store.Close() }

func (r *Registry) put(lookup string, e *entry) error {
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := r.store.Put(tableCodes, lookup, v); err != nil {
		return fmt.Errorf("store code: %w", err)
	}
	r.remember(lookup, e)
	return nil
}

// remember puts e in memory and in the indexes.
func (r *Registry) remember(lookup string, e *entry) {
	if old, ok := r.entries[lookup]; ok {
		r.byOwner.remove(string(old.Owner), lookup)
		r.bySource.remove(old.Source, lookup)
	} else {
		r.byLen[len(lookup)]++
	}
	r.entries[lookup] = e
	r.byOwner.add(string(e.Owner), lookup)
	r.bySource.add(e.Source, lookup)
}

// forget takes a swept record out of memory and the indexes.
func (r *Registry) forget(lookup string) {
	if e, ok := r.entries[lookup]; ok {
		r.byOwner.remove(string(e.Owner), lookup)
		r.bySource.remove(e.Source, lookup)
		delete(r.entries, lookup)
		r.byLen[len(lookup)]--
	}
}

// minDigitsLocked is the shortest lookup length whose space is under half
// full, so a random pick is free at least every other time. Lookups are
// public (anyone may resolve them), so a full space costs no security:
// the secret part carries all of it.
func (r *Registry) minDigitsLocked() int {
	for n := shortcode.MinLookupDigits; n < shortcode.MaxLookupDigits; n++ {
		if float64(r.byLen[n]) < math.Pow10(n)/2 {
			return n
		}
	}
	return shortcode.MaxLookupDigits
}

// RegisterResult tells a registering client what happened.
type RegisterResult struct {
	// MinDigits is set when the lookup was refused as taken or too short.
	MinDigits int
}

// Register stores a signed code record sent by from, from the source src
// (an IP address or IPv6 /64; "" counts against no source).
// Re-registering one's own live code with a higher Seq updates its
// addresses.
func (r *Registry) Register(from peer.ID, src string, envelope []byte) (RegisterResult, error) {
	now := r.clock.Now()
	rec, err := checkRegister(from, envelope, now, r.limits.MaxTTL)
	if err != nil {
		return RegisterResult{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.entries[rec.Lookup]; ok {
		return RegisterResult{}, r.updateLocked(rec, old, envelope)
	}
	if minDigits := r.minDigitsLocked(); len(rec.Lookup) < minDigits {
		return RegisterResult{MinDigits: minDigits}, ErrTaken
	}
	if len(r.entries) >= r.limits.MaxCodes {
		return RegisterResult{}, ErrFull
	}
	if r.liveLocked(r.byOwner[string(from)], now) >= r.limits.MaxPerOwner {
		return RegisterResult{}, fmt.Errorf("%w: %d live codes for one peer", ErrFull, r.limits.MaxPerOwner)
	}
	if src != "" && r.liveLocked(r.bySource[src], now) >= r.limits.MaxPerSource {
		return RegisterResult{}, fmt.Errorf("%w: %d live codes from one address", ErrFull, r.limits.MaxPerSource)
	}
	return RegisterResult{}, r.put(rec.Lookup, &entry{Envelope: envelope, Owner: rec.Owner, Source: src, Expires: rec.Expires, Seq: rec.Seq})
}

func (r *Registry) updateLocked(rec CodeRecord, old *entry, envelope []byte) error {
	switch {
	case old.Owner != rec.Owner:
		return ErrTaken
	case old.Ended != "":
		return reasonErr(old.Ended)
	case rec.Seq <= old.Seq:
		return fmt.Errorf("%w: stale record (seq %d <= %d)", ErrBadRequest, rec.Seq, old.Seq)
	}
	return r.put(rec.Lookup, &entry{Envelope: envelope, Owner: rec.Owner, Source: old.Source, Expires: rec.Expires, Seq: rec.Seq})
}

// liveLocked counts the live codes among lookups.
func (r *Registry) liveLocked(lookups map[string]struct{}, now time.Time) int {
	n := 0
	for l := range lookups {
		if r.entries[l].live(now) {
			n++
		}
	}
	return n
}

// Resolve returns the signed record for a lookup part, or the reason it no
// longer works.
func (r *Registry) Resolve(lookup string) ([]byte, error) {
	if !shortcode.ValidLookup(lookup) {
		return nil, fmt.Errorf("%w: bad lookup", ErrBadRequest)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[lookup]
	switch {
	case !ok:
		return nil, ErrNotFound
	case e.Ended != "":
		return nil, reasonErr(e.Ended)
	case !e.live(r.clock.Now()):
		return nil, ErrExpired
	}
	return e.Envelope, nil
}

// Cancel ends a code for the reason the owner signed. The first reason
// sticks: a burned code stays burned.
func (r *Registry) Cancel(from peer.ID, envelope []byte) error {
	rec, signer, err := checkCancel(envelope)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[rec.Lookup]
	switch {
	case !ok:
		return ErrNotFound
	case e.Owner != signer || signer != from:
		return ErrForbidden
	case e.Ended != "":
		return nil
	}
	ended := *e
	ended.Ended, ended.EndedAt = rec.Reason, r.clock.Now().Unix()
	return r.put(rec.Lookup, &ended)
}

// Sweep deletes records whose tombstone time has passed and returns how
// many it removed.
func (r *Registry) Sweep() (int, error) {
	now := r.clock.Now().Unix()
	keep := int64(r.limits.Tombstone / time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	var gone []string
	for k, e := range r.entries {
		end := e.Expires
		if e.Ended != "" && e.EndedAt < end {
			end = e.EndedAt
		}
		if now >= end+keep {
			gone = append(gone, k)
		}
	}
	if len(gone) == 0 {
		return 0, nil
	}
	err := r.store.Delete(tableCodes, gone...)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	for _, k := range gone {
		r.forget(k)
	}
	return len(gone), nil
}

// Count is how many records the registry holds, tombstones included.
func (r *Registry) Count() (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.entries), nil
}
