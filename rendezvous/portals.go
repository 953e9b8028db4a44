package rendezvous

import (
	"context"
	"fmt"
	"sync"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"

	"assist/gossip"
	"assist/portal"
)

// The node's part in portal gossip: it relays (never reads) each portal's
// topic once one of its reps asks, so reps behind NAT find a mesh through
// it and learn each other by peer exchange; and it keeps each portal's
// newest signed revocation list, which reps fetch and which its own relay
// validator applies.

// MaxPortals bounds the topics one node relays.
const MaxPortals = 4096

type portalBoard struct {
	store Store
	ps    *pubsub.PubSub

	mu      sync.Mutex
	lists   map[portal.ID][]byte // signed revocation lists
	parsed  map[portal.ID]*portal.Revocations
	relayed map[portal.ID]*pubsub.Topic
	// settings: each portal's newest signed settings, and their version.
	settings  map[portal.ID][]byte
	settingsV map[portal.ID]uint64
}

func newPortalBoard(ctx context.Context, n *Node) (*portalBoard, error) {
	ps, err := gossip.NewPubSub(ctx, n.Host)
	if err != nil {
		return nil, err
	}
	b := &portalBoard{store: n.reg.store, ps: ps, lists: map[portal.ID][]byte{}, parsed: map[portal.ID]*portal.Revocations{},
		relayed: map[portal.ID]*pubsub.Topic{}, settings: map[portal.ID][]byte{}, settingsV: map[portal.ID]uint64{}}
	err = b.store.Each(tablePortals, func(k string, v []byte) error {
		id, err := peer.IDFromBytes([]byte(k))
		if err != nil {
			return nil
		}
		if r, err := portal.VerifyRevocations(v, id); err == nil {
			b.lists[id], b.parsed[id] = append([]byte(nil), v...), r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = b.store.Each(tableSettings, func(_ string, v []byte) error {
		if st, err := portal.VerifyPublishedSettings(v); err == nil {
			b.settings[st.Portal], b.settingsV[st.Portal] = append([]byte(nil), v...), st.Version
		}
		return nil
	})
	return b, err
}

// put stores a portal's signed revocation list or settings, if newer.
func (b *portalBoard) put(signed []byte) error {
	if st, err := portal.VerifyPublishedSettings(signed); err == nil {
		return b.putSettings(st, signed)
	}
	r, err := portal.VerifyPublishedRevocations(signed)
	if err != nil {
		return fmt.Errorf("%w: neither revocations nor settings of a portal: %v", ErrBadRequest, err)
	}
	pid := r.Portal
	b.mu.Lock()
	defer b.mu.Unlock()
	if cur := b.parsed[pid]; cur != nil && cur.Version >= r.Version {
		return nil // already have it (or newer)
	}
	if _, known := b.lists[pid]; !known && len(b.lists) >= MaxPortals {
		return ErrFull
	}
	if err := b.store.Put(tablePortals, string(pid), signed); err != nil {
		return err
	}
	b.lists[pid], b.parsed[pid] = signed, r
	return nil
}

func (b *portalBoard) putSettings(st *portal.Settings, signed []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.settingsV[st.Portal] >= st.Version {
		return nil
	}
	if _, known := b.settings[st.Portal]; !known && len(b.settings) >= MaxPortals {
		return ErrFull
	}
	if err := b.store.Put(tableSettings, string(st.Portal), signed); err != nil {
		return err
	}
	b.settings[st.Portal], b.settingsV[st.Portal] = signed, st.Version
	return nil
}

func (b *portalBoard) signedSettings(pid portal.ID) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.settings[pid]
}

func (b *portalBoard) revocations(pid portal.ID) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lists[pid]
}

func (b *portalBoard) revoked(pid portal.ID) func(uint64) bool {
	return func(serial uint64) bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		r := b.parsed[pid]
		return r != nil && r.Revoked(serial)
	}
}

// join starts relaying a portal's topic for a rep who proves membership.
func (b *portalBoard) join(from peer.ID, cred []byte) error {
	c, err := portal.VerifyCredential(cred, time.Now())
	if err != nil {
		return fmt.Errorf("%w: %v", ErrForbidden, err)
	}
	if _, err := gossip.CheckCredential(c.Portal, from, cred, b.revoked(c.Portal), time.Now()); err != nil {
		return fmt.Errorf("%w: %v", ErrForbidden, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.relayed[c.Portal]; ok {
		return nil
	}
	if len(b.relayed) >= MaxPortals {
		return ErrFull
	}
	name := gossip.Topic(c.Portal)
	revoked := b.revoked(c.Portal)
	validate := func(_ context.Context, _ peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
		author, err := peer.IDFromBytes(msg.From)
		if err != nil {
			return pubsub.ValidationReject
		}
		if _, _, err := gossip.Check(msg.GetTopic(), author, msg.Data, revoked, time.Now()); err != nil {
			return pubsub.ValidationReject
		}
		return pubsub.ValidationAccept
	}
	if err := b.ps.RegisterTopicValidator(name, validate); err != nil {
		return err
	}
	t, err := b.ps.Join(name)
	if err != nil {
		return err
	}
	if _, err := t.Relay(); err != nil {
		return err
	}
	b.relayed[c.Portal] = t
	return nil
}
