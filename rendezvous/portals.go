package rendezvous

import (
	"context"
	"encoding/json"
	"errors"
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

// Portals are free to make (a key pair), so the node bounds what strangers
// can make it keep: a portal holds a slot from its first signed request
// on (a revocation list, settings, a rep joining); one source (an IPv4
// address or IPv6 /56) opens at most MaxPortalsPerSource; a slot unused
// for PortalIdle is freed with all its portal's state. A portal that has
// a slot is never refused for lack of room.
const (
	MaxPortals          = 4096
	MaxPortalsPerSource = 8
	PortalIdle          = 30 * 24 * time.Hour
)

// slot is a portal's place at the node: where it came from, when it was
// last used by its manager or a rep.
type slot struct {
	Source string `json:"source,omitempty"`
	Used   int64  `json:"used"` // unix seconds
}

// relayedTopic is a portal topic the node relays, and how to stop.
type relayedTopic struct {
	topic *pubsub.Topic
	stop  pubsub.RelayCancelFunc
}

type portalBoard struct {
	store Store
	// shared is the store when other nodes write to it too: what this
	// node holds in memory is then re-read before it is served or swept.
	shared SharedStore
	ps     *pubsub.PubSub
	clock  Clock

	mu      sync.Mutex
	slots   map[portal.ID]*slot
	lists   map[portal.ID][]byte // signed revocation lists
	parsed  map[portal.ID]*portal.Revocations
	relayed map[portal.ID]relayedTopic
	// settings: each portal's newest signed settings, and their version.
	settings  map[portal.ID][]byte
	settingsV map[portal.ID]uint64
}

func newPortalBoard(ctx context.Context, n *Node) (*portalBoard, error) {
	ps, err := gossip.NewPubSub(ctx, n.Host)
	if err != nil {
		return nil, err
	}
	b := &portalBoard{store: n.store, shared: n.shared, ps: ps, clock: n.cfg.Clock, slots: map[portal.ID]*slot{},
		lists: map[portal.ID][]byte{}, parsed: map[portal.ID]*portal.Revocations{},
		relayed: map[portal.ID]relayedTopic{}, settings: map[portal.ID][]byte{}, settingsV: map[portal.ID]uint64{}}
	if err := b.loadSlots(); err != nil {
		return nil, err
	}
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
	if err != nil {
		return nil, err
	}
	// Portals kept by a node of the version before slots get one now.
	for _, pid := range b.portalIDs() {
		if b.slots[pid] == nil {
			if err := b.takeSlotLocked(pid, ""); err != nil {
				return nil, err
			}
		}
	}
	return b, nil
}

func (b *portalBoard) loadSlots() error {
	return b.store.Each(tableSlots, func(k string, v []byte) error {
		id, err := peer.IDFromBytes([]byte(k))
		if err != nil {
			return nil
		}
		var s slot
		if json.Unmarshal(v, &s) == nil {
			b.slots[id] = &s
		}
		return nil
	})
}

func (b *portalBoard) portalIDs() []portal.ID {
	var out []portal.ID
	for pid := range b.lists {
		out = append(out, pid)
	}
	for pid := range b.settings {
		if _, dup := b.lists[pid]; !dup {
			out = append(out, pid)
		}
	}
	return out
}

// use gives pid a slot, or marks its slot used; src is where the request
// comes from. b.mu held.
func (b *portalBoard) useLocked(pid portal.ID, src string) error {
	if err := b.adoptSlotLocked(pid); err != nil {
		return err
	}
	if s := b.slots[pid]; s != nil {
		now := b.clock.Now().Unix()
		if now-s.Used < 3600 { // written at most hourly: idleness is counted in days
			return nil
		}
		s.Used = now
		return b.putSlot(pid, s)
	}
	total, fromSource, err := b.countSlotsLocked(src)
	if err != nil {
		return err
	}
	if total >= MaxPortals {
		return fmt.Errorf("%w: %d portals", ErrFull, MaxPortals)
	}
	if src != "" && fromSource >= MaxPortalsPerSource {
		return fmt.Errorf("%w: %d portals from one address", ErrFull, MaxPortalsPerSource)
	}
	if err := b.takeSlotLocked(pid, src); err != nil {
		return err
	}
	if b.shared != nil && src != "" {
		return b.shared.AddSlotSource(src, string(pid))
	}
	return nil
}

// adoptSlotLocked takes the slot another node opened for pid from a
// shared store into memory.
func (b *portalBoard) adoptSlotLocked(pid portal.ID) error {
	if b.shared == nil || b.slots[pid] != nil {
		return nil
	}
	v, err := b.shared.Get(tableSlots, string(pid))
	if err != nil || v == nil {
		return err
	}
	var s slot
	if json.Unmarshal(v, &s) == nil {
		b.slots[pid] = &s
	}
	return nil
}

// countSlotsLocked counts the slots held, and those opened from src: in
// memory for a node of its own, in the store for nodes that share one, so
// the limits hold for all of them together.
func (b *portalBoard) countSlotsLocked(src string) (total, fromSource int, err error) {
	if b.shared != nil {
		return b.shared.CountSlots(src)
	}
	if src != "" {
		fromSource = b.fromSourceLocked(src)
	}
	return len(b.slots), fromSource, nil
}

func (b *portalBoard) takeSlotLocked(pid portal.ID, src string) error {
	s := &slot{Source: src, Used: b.clock.Now().Unix()}
	if err := b.putSlot(pid, s); err != nil {
		return err
	}
	b.slots[pid] = s
	return nil
}

func (b *portalBoard) putSlot(pid portal.ID, s *slot) error {
	v, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return b.store.Put(tableSlots, string(pid), v)
}

func (b *portalBoard) fromSourceLocked(src string) int {
	n := 0
	for _, s := range b.slots {
		if s.Source == src {
			n++
		}
	}
	return n
}

// sweep frees the slots unused for PortalIdle, with their portals' lists,
// settings and topics; it returns how many.
func (b *portalBoard) sweep() (int, error) {
	cutoff := b.clock.Now().Add(-PortalIdle).Unix()
	b.mu.Lock()
	defer b.mu.Unlock()
	var gone []string
	bySource := map[string][]string{}
	for pid, s := range b.slots {
		if s.Used >= cutoff || !b.stillIdleLocked(pid, s, cutoff) {
			continue
		}
		if _, ok := b.relayed[pid]; ok && len(b.ps.ListPeers(gossip.Topic(pid))) > 0 {
			s.Used = b.clock.Now().Unix() // reps are on its topic now
			_ = b.putSlot(pid, s)
			continue
		}
		gone = append(gone, string(pid))
		bySource[s.Source] = append(bySource[s.Source], string(pid))
		delete(b.slots, pid)
		delete(b.lists, pid)
		delete(b.parsed, pid)
		delete(b.settings, pid)
		delete(b.settingsV, pid)
		if r, ok := b.relayed[pid]; ok {
			r.stop()
			_ = r.topic.Close()
			_ = b.ps.UnregisterTopicValidator(gossip.Topic(pid))
			delete(b.relayed, pid)
		}
	}
	if len(gone) == 0 {
		return 0, nil
	}
	err := errors.Join(b.store.Delete(tableSlots, gone...), b.store.Delete(tablePortals, gone...), b.store.Delete(tableSettings, gone...))
	if b.shared != nil {
		for src, pids := range bySource {
			err = errors.Join(err, b.shared.RemoveSlotSource(src, pids...))
		}
	}
	return len(gone), err
}

// put stores a portal's signed revocation list or settings, if newer.
func (b *portalBoard) put(src string, signed []byte) error {
	if st, err := portal.VerifyPublishedSettings(signed); err == nil {
		return b.putSettings(src, st, signed)
	}
	r, err := portal.VerifyPublishedRevocations(signed)
	if err != nil {
		return fmt.Errorf("%w: neither revocations nor settings of a portal: %v", ErrBadRequest, err)
	}
	pid := r.Portal
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.useLocked(pid, src); err != nil {
		return err
	}
	if err := b.reloadListLocked(pid); err != nil {
		return err
	}
	if cur := b.parsed[pid]; cur != nil && cur.Version >= r.Version {
		return nil // already have it (or newer)
	}
	if err := b.store.Put(tablePortals, string(pid), signed); err != nil {
		return err
	}
	b.lists[pid], b.parsed[pid] = signed, r
	return nil
}

func (b *portalBoard) putSettings(src string, st *portal.Settings, signed []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.useLocked(st.Portal, src); err != nil {
		return err
	}
	if err := b.reloadSettingsLocked(st.Portal); err != nil {
		return err
	}
	if b.settingsV[st.Portal] >= st.Version {
		return nil
	}
	if err := b.store.Put(tableSettings, string(st.Portal), signed); err != nil {
		return err
	}
	b.settings[st.Portal], b.settingsV[st.Portal] = signed, st.Version
	return nil
}

func (b *portalBoard) signedSettings(pid portal.ID) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.reloadSettingsLocked(pid)
	return b.settings[pid], err
}

func (b *portalBoard) revocations(pid portal.ID) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.reloadListLocked(pid)
	return b.lists[pid], err
}

// reloadListLocked takes a newer revocation list of pid from a shared
// store (another node may have stored it).
func (b *portalBoard) reloadListLocked(pid portal.ID) error {
	if b.shared == nil {
		return nil
	}
	v, err := b.shared.Get(tablePortals, string(pid))
	if err != nil || v == nil {
		return err
	}
	b.takeListLocked(pid, v)
	return nil
}

// takeListLocked keeps revocation list v of pid if it is valid and newer
// than the one held: a list read from the store may be older than one a
// message brought meanwhile.
func (b *portalBoard) takeListLocked(pid portal.ID, v []byte) {
	if r, err := portal.VerifyRevocations(v, pid); err == nil && (b.parsed[pid] == nil || b.parsed[pid].Version < r.Version) {
		b.lists[pid], b.parsed[pid] = v, r
	}
}

// reloadSettingsLocked takes newer settings of pid from a shared store.
func (b *portalBoard) reloadSettingsLocked(pid portal.ID) error {
	if b.shared == nil {
		return nil
	}
	v, err := b.shared.Get(tableSettings, string(pid))
	if err != nil || v == nil {
		return err
	}
	if st, err := portal.VerifyPublishedSettings(v); err == nil && st.Portal == pid && b.settingsV[pid] < st.Version {
		b.settings[pid], b.settingsV[pid] = v, st.Version
	}
	return nil
}

// reloadRelayed re-reads the revocation lists of the portals this node
// relays, whose validators read them for every message: a rep revoked
// through another node is refused here too within one call of this.
func (b *portalBoard) reloadRelayed() error {
	if b.shared == nil {
		return nil
	}
	b.mu.Lock()
	pids := make([]string, 0, len(b.relayed))
	for pid := range b.relayed {
		pids = append(pids, string(pid))
	}
	b.mu.Unlock()
	// One round trip for all of them, outside the lock: every portal
	// request of this node waits on it.
	lists, err := b.shared.GetMany(tablePortals, pids...)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, v := range lists {
		if v != nil {
			b.takeListLocked(portal.ID(pids[i]), v)
		}
	}
	return nil
}

// stillIdleLocked re-reads a slot from a shared store before it is
// freed: a rep may have used the portal at another node.
func (b *portalBoard) stillIdleLocked(pid portal.ID, s *slot, cutoff int64) bool {
	if b.shared == nil {
		return true
	}
	v, err := b.shared.Get(tableSlots, string(pid))
	if err != nil {
		return false // keep it; the next sweep decides
	}
	var stored slot
	if v != nil && json.Unmarshal(v, &stored) == nil && stored.Used >= cutoff {
		*s = stored
		return false
	}
	return true
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
func (b *portalBoard) join(from peer.ID, src string, cred []byte) error {
	c, err := portal.VerifyCredential(cred, time.Now())
	if err != nil {
		return fmt.Errorf("%w: %v", ErrForbidden, err)
	}
	if _, err := b.revocations(c.Portal); err != nil { // another node may hold a newer list
		return err
	}
	if _, err := gossip.CheckCredential(c.Portal, from, cred, b.revoked(c.Portal), time.Now()); err != nil {
		return fmt.Errorf("%w: %v", ErrForbidden, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.useLocked(c.Portal, src); err != nil {
		return err
	}
	if _, ok := b.relayed[c.Portal]; ok {
		return nil
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
	stop, err := t.Relay()
	if err != nil {
		return err
	}
	b.relayed[c.Portal] = relayedTopic{topic: t, stop: stop}
	return nil
}
