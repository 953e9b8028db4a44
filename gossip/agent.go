package gossip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"assist/portal"
)

// Bootstrap is what the rendezvous node does for a portal's gossip: it
// joins the topic (so the mesh forms through it, and peer exchange
// introduces reps to each other) and keeps the newest revocation list.
type Bootstrap interface {
	JoinPortal(ctx context.Context, credential []byte) error
	// Nodes are the rendezvous nodes' peer IDs.
	Nodes() []peer.ID
	Revocations(ctx context.Context, p portal.ID) ([]byte, error)
	Settings(ctx context.Context, p portal.ID) ([]byte, error)
}

// Config configures an Agent.
type Config struct {
	Host        host.Host
	Memberships []*portal.Membership
	Bootstrap   Bootstrap
	// Sessions is how many sessions this rep is in now, for presence.
	Sessions func() int
	// OnEvent receives alerts and changes; must not block.
	OnEvent func(Event)
	// OnMembership is told when a membership changed (a rotated key) so it
	// can be stored.
	OnMembership func(*portal.Membership)
	Logger       *slog.Logger
	// PresenceInterval is how often presence is announced (default 5 s);
	// a rep unheard for four intervals is gone.
	PresenceInterval time.Duration
	// RefreshInterval is how often revocation lists are fetched (default 30 s).
	RefreshInterval time.Duration
	// StaleAfter is how old the node's last answer about a revocation
	// list may be for a decision to rest on it when the node cannot be
	// asked now (default 10 minutes).
	StaleAfter time.Duration
}

// Event kinds.
const (
	EvAlert       = "alert"        // a new alert for this rep (Alert)
	EvAlertClosed = "alert_closed" // an alert went away (AlertID, By or Reason)
	EvDeclined    = "declined"     // a rep declined this host's alert (AlertID, Name)
	EvRevoked     = "revoked"      // this rep's own membership was revoked (Portal)
	EvNode        = "node"         // the rendezvous node went away (Reason "unreachable") or came back ("back")
	EvStale       = "stale"        // a decision rested on a revocation list that could not be checked now (Portal, Reason)
)

// Event is something the rep's agent shows.
type Event struct {
	Kind    string `json:"event"`
	Alert   *Alert `json:"alert,omitempty"`
	AlertID string `json:"alert_id,omitempty"`
	By      string `json:"by,omitempty"`
	Name    string `json:"name,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Portal  string `json:"portal,omitempty"`
}

// Rep is a rep seen online.
type Rep struct {
	Name       string    `json:"name"`
	Peer       peer.ID   `json:"peer"`
	Portal     portal.ID `json:"portal"`
	PortalName string    `json:"portal_name"`
	Sessions   int       `json:"sessions"`
	Seen       time.Time `json:"seen"`
}

// member is this rep's standing in one portal.
type member struct {
	ms      *portal.Membership
	cred    *portal.Credential
	revoked *portal.Revocations
	// checked is when the rendezvous node last answered for the list.
	checked time.Time
	topic   *pubsub.Topic
	sub     *pubsub.Subscription
}

// ownAlert is an alert this process published and keeps republishing until
// it is answered or expires, so a rep who comes online late still sees it;
// then its closing is republished for a while, so a rep who missed it (a
// peer outside the mesh for a moment) still learns the alert is gone.
type ownAlert struct {
	portal   portal.ID
	alert    Alert
	closing  *Payload // set once taken or withdrawn
	closeFor int      // republications of the closing left
}

// closingRepeats is how many presence intervals a closing is republished.
const closingRepeats = 3

// Agent keeps a rep logged in to its portals: presence, alerts, invites.
type Agent struct {
	cfg Config
	ps  *pubsub.PubSub
	log *slog.Logger

	mu      sync.Mutex
	members map[portal.ID]*member
	reps    map[string]Rep       // portal/peer -> rep
	alerts  map[string]*Alert    // open alerts for this rep
	heard   map[string]time.Time // when each open alert was last republished
	closed  map[string]closedAlert
	own     map[string]*ownAlert
	lastAns time.Time
	nodeOff bool        // the rendezvous node was found gone and not back yet
	keeping atomic.Bool // a keepNode runs
	ctx     context.Context
	cancel  context.CancelFunc
}

// Start joins the topic of every membership and starts announcing presence.
func Start(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.OnEvent == nil {
		cfg.OnEvent = func(Event) {}
	}
	if cfg.Sessions == nil {
		cfg.Sessions = func() int { return 0 }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.PresenceInterval == 0 {
		cfg.PresenceInterval = 5 * time.Second
	}
	if cfg.StaleAfter == 0 {
		cfg.StaleAfter = 10 * time.Minute
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = 30 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	ps, err := NewPubSub(ctx, cfg.Host)
	if err != nil {
		cancel()
		return nil, err
	}
	a := &Agent{cfg: cfg, ps: ps, log: cfg.Logger.With("component", "gossip"), members: map[portal.ID]*member{},
		reps: map[string]Rep{}, alerts: map[string]*Alert{}, heard: map[string]time.Time{}, closed: map[string]closedAlert{}, own: map[string]*ownAlert{},
		ctx: ctx, cancel: cancel}
	for _, ms := range cfg.Memberships {
		err := a.join(ctx, ms)
		if lostMembership(err) {
			// One portal revoking or expiring this rep leaves the others.
			a.cfg.OnEvent(Event{Kind: EvRevoked, Portal: membershipName(ms), Reason: err.Error()})
			continue
		}
		if err != nil {
			cancel()
			return nil, err
		}
	}
	go a.presenceLoop(ctx)
	go a.refreshLoop(ctx)
	return a, nil
}

// NewPubSub is gossipsub as every assist peer runs it: peer exchange on
// (so a rep pruned from the rendezvous node's mesh learns other reps),
// messages bounded.
func NewPubSub(ctx context.Context, h host.Host) (*pubsub.PubSub, error) {
	return pubsub.NewGossipSub(ctx, h,
		pubsub.WithPeerExchange(true),
		pubsub.WithMaxMessageSize(MaxMessageSize+4096),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign))
}

func (a *Agent) join(ctx context.Context, ms *portal.Membership) error {
	c, err := ms.Verify(time.Now())
	if err != nil {
		return err
	}
	if c.Rep != a.cfg.Host.ID() {
		return fmt.Errorf("portal %s: %w", c.PortalName, portal.ErrNotForYou)
	}
	m := &member{ms: ms, cred: c}
	if err := a.refresh(ctx, m); err != nil {
		return err
	}
	if a.cfg.Bootstrap != nil {
		if err := a.cfg.Bootstrap.JoinPortal(ctx, ms.Credential); err != nil {
			return fmt.Errorf("portal %s: join its gossip at the rendezvous node: %w", c.PortalName, err)
		}
	}
	topic := Topic(c.Portal)
	if err := a.ps.RegisterTopicValidator(topic, a.validate); err != nil {
		return err
	}
	if m.topic, err = a.ps.Join(topic); err != nil {
		return err
	}
	if m.sub, err = m.topic.Subscribe(); err != nil {
		return err
	}
	a.mu.Lock()
	a.members[c.Portal] = m
	a.mu.Unlock()
	go a.readLoop(ctx, m)
	return nil
}

// refresh fetches the portal's newest settings and revocation list and
// applies them.
func (a *Agent) refresh(ctx context.Context, m *member) error {
	if a.cfg.Bootstrap == nil {
		return nil
	}
	if signed, err := a.cfg.Bootstrap.Settings(ctx, m.cred.Portal); err == nil && len(signed) > 0 {
		a.mu.Lock()
		if err := m.ms.ApplySettings(m.cred.Portal, signed); err != nil {
			a.log.Warn("portal settings", "portal", m.cred.PortalName, "err", err)
		}
		a.mu.Unlock()
	}
	signed, err := a.cfg.Bootstrap.Revocations(ctx, m.cred.Portal)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err == nil { // an answer, a list or none published yet
		m.checked = time.Now()
	}
	if err != nil || len(signed) == 0 {
		a.log.Debug("revocations", "portal", m.cred.PortalName, "err", err)
		return nil // none published yet, or the node is away: keep what we have
	}
	before := m.ms.Epoch
	list, err := m.ms.Apply(signed)
	if errors.Is(err, portal.ErrRevoked) {
		return fmt.Errorf("portal %s: %w", m.cred.PortalName, err)
	}
	if err != nil {
		a.log.Warn("revocation list", "portal", m.cred.PortalName, "err", err)
		return nil
	}
	m.revoked = list
	if m.ms.Epoch != before && a.cfg.OnMembership != nil {
		a.cfg.OnMembership(m.ms)
	}
	return nil
}

func (a *Agent) refreshLoop(ctx context.Context) {
	every(ctx, a.cfg.RefreshInterval, func() {
		for _, m := range a.memberList() {
			if err := a.refresh(ctx, m); errors.Is(err, portal.ErrRevoked) {
				a.leave(m)
				a.cfg.OnEvent(Event{Kind: EvRevoked, Portal: m.cred.PortalName, Reason: err.Error()})
			}
		}
	})
}

// lostMembership: the portal no longer has this rep (revoked, expired).
func lostMembership(err error) bool {
	return errors.Is(err, portal.ErrRevoked) || errors.Is(err, portal.ErrExpired)
}

// membershipName names a membership's portal for a message, even when
// its credential no longer verifies.
func membershipName(ms *portal.Membership) string {
	if c, err := portal.DescribeCredential(ms.Credential); err == nil {
		return c.PortalName
	}
	return "?"
}

// leave takes this rep out of a portal that revoked it: off its topic, its
// reps and open alerts forgotten (pages are told the alerts closed).
func (a *Agent) leave(m *member) {
	pid := m.cred.Portal
	a.mu.Lock()
	delete(a.members, pid)
	for k, r := range a.reps {
		if r.Portal == pid {
			delete(a.reps, k)
		}
	}
	var closed []string
	for id, al := range a.alerts {
		if al.Portal == pid {
			delete(a.alerts, id)
			closed = append(closed, id)
		}
	}
	a.mu.Unlock()
	m.sub.Cancel()
	_ = m.topic.Close()
	_ = a.ps.UnregisterTopicValidator(Topic(pid))
	for _, id := range closed {
		a.cfg.OnEvent(Event{Kind: EvAlertClosed, AlertID: id, Reason: "revoked"})
	}
}

// every runs fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

func (a *Agent) memberList() []*member {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*member, 0, len(a.members))
	for _, m := range a.members {
		out = append(out, m)
	}
	return out
}

// received is what the validator hands on to the read loop.
type received struct {
	cred    *portal.Credential
	payload *Payload
}

// validate drops, before anything is relayed or delivered: malformed,
// stale or replayed messages, authors who are not unrevoked reps of the
// portal, and payloads that do not open with the portal's key.
func (a *Agent) validate(_ context.Context, from peer.ID, msg *pubsub.Message) pubsub.ValidationResult {
	pid, err := PortalOf(msg.GetTopic())
	if err != nil {
		return pubsub.ValidationReject
	}
	a.mu.Lock()
	m := a.members[pid]
	var ms portal.Membership
	var revoked *portal.Revocations
	if m != nil {
		ms, revoked = *m.ms, m.revoked
	}
	a.mu.Unlock()
	if m == nil {
		return pubsub.ValidationIgnore
	}
	author, err := peer.IDFromBytes(msg.From)
	if err != nil {
		return pubsub.ValidationReject
	}
	now := time.Now()
	env, c, err := Check(msg.GetTopic(), author, msg.Data, revokedFn(revoked), now)
	if err != nil {
		a.log.Debug("dropped message", "from", from, "author", author, "err", err)
		return pubsub.ValidationReject
	}
	if env.Epoch != ms.Epoch {
		// A key this rep does not have (yet): not the sender's fault.
		if env.Epoch > ms.Epoch {
			go a.refresh(a.ctx, m) //nolint:errcheck // best effort; the loop retries
		}
		return pubsub.ValidationIgnore
	}
	p, err := Open(msg.GetTopic(), author, env, &ms, now)
	if err != nil {
		a.log.Debug("dropped payload", "author", author, "err", err)
		return pubsub.ValidationReject
	}
	msg.ValidatorData = &received{cred: c, payload: p}
	return pubsub.ValidationAccept
}

func revokedFn(r *portal.Revocations) func(uint64) bool {
	return func(serial uint64) bool { return r != nil && r.Revoked(serial) }
}

func (a *Agent) readLoop(ctx context.Context, m *member) {
	for {
		msg, err := m.sub.Next(ctx)
		if err != nil {
			return
		}
		r, ok := msg.ValidatorData.(*received)
		if !ok {
			continue
		}
		a.handle(m, r)
	}
}

func (a *Agent) handle(m *member, r *received) {
	self := a.cfg.Host.ID()
	from := r.cred.Rep
	p := r.payload
	switch p.Type {
	case TypePresence:
		a.sawRep(r.cred, p.Sessions)
		if p.Query && from != self {
			a.answerQuery(m)
		}
	case TypeOffline:
		a.mu.Lock()
		delete(a.reps, repKey(r.cred.Portal, from))
		a.mu.Unlock()
	case TypeAlert:
		if from == self || (p.Alert.Target != "" && p.Alert.Target != self) {
			return // a rep invite for someone else is not shown here
		}
		al := *p.Alert
		if al.Target == self {
			if err := openForTarget(&al, a.cfg.Host.Peerstore().PrivKey(self)); err != nil {
				a.log.Debug("rep invite", "err", err)
				return
			}
		}
		al.HostName, al.Portal, al.PortalName = r.cred.Name, r.cred.Portal, r.cred.PortalName
		a.mu.Lock()
		_, known := a.alerts[al.ID]
		c, gone := a.closed[al.ID]
		gone = gone && c.host == al.Host
		if !known && !gone {
			a.alerts[al.ID] = &al
		}
		if !gone {
			a.heard[al.ID] = time.Now()
		}
		a.mu.Unlock()
		if !known && !gone {
			a.cfg.OnEvent(Event{Kind: EvAlert, Alert: &al})
		}
	case TypeTaken, TypeWithdrawn:
		a.closeFrom(from, p.AlertID, p.By, p.Reason)
	case TypeDeclined:
		a.mu.Lock()
		o, mine := a.own[p.AlertID]
		mine = mine && o.closing == nil
		a.mu.Unlock()
		if mine {
			a.cfg.OnEvent(Event{Kind: EvDeclined, AlertID: p.AlertID, Name: r.cred.Name})
		}
	}
}

func repKey(p portal.ID, r peer.ID) string { return p.String() + "/" + r.String() }

func (a *Agent) sawRep(c *portal.Credential, sessions int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reps[repKey(c.Portal, c.Rep)] = Rep{Name: c.Name, Peer: c.Rep, Portal: c.Portal, PortalName: c.PortalName,
		Sessions: sessions, Seen: time.Now()}
}

// answerQuery answers a newcomer's query with this rep's presence and any
// alert still open, at most once a second whatever the number of newcomers.
func (a *Agent) answerQuery(m *member) {
	a.mu.Lock()
	if time.Since(a.lastAns) < time.Second {
		a.mu.Unlock()
		return
	}
	a.lastAns = time.Now()
	a.mu.Unlock()
	go func() {
		// Jitter: twenty reps answering at once would all collide.
		time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond)
		a.announce(m, false)
		a.republish(m.cred.Portal)
	}()
}

// closedAlert remembers an alert that was closed, and by whose word, so a
// republication already on its way does not open it again.
type closedAlert struct {
	at   time.Time
	host peer.ID
}

// closeFrom closes an alert on its host's word only: another member of
// the portal cannot close someone else's alert, nor say who "took" it.
// A closing for an alert not seen yet is remembered for that host alone.
func (a *Agent) closeFrom(author peer.ID, id, by, reason string) {
	a.mu.Lock()
	al, open := a.alerts[id]
	if open && al.Host != author {
		a.mu.Unlock()
		a.log.Debug("dropped a closing by someone not the alert's host", "alert", id, "author", author)
		return
	}
	if !open {
		if _, known := a.closed[id]; !known {
			a.closed[id] = closedAlert{at: time.Now(), host: author}
		}
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	a.closeAlert(id, by, reason)
}

func (a *Agent) closeAlert(id, by, reason string) {
	a.mu.Lock()
	al, open := a.alerts[id]
	delete(a.alerts, id)
	delete(a.heard, id)
	if open {
		a.closed[id] = closedAlert{at: time.Now(), host: al.Host}
	}
	a.mu.Unlock()
	if open {
		a.cfg.OnEvent(Event{Kind: EvAlertClosed, AlertID: id, By: by, Reason: reason})
	}
}

// publish seals p and publishes it once the topic has a peer to take it:
// a message published before the mesh formed would be lost.
func (a *Agent) publish(ctx context.Context, m *member, p Payload) error {
	a.mu.Lock()
	ms := *m.ms
	a.mu.Unlock()
	data, err := Seal(m.topic.String(), &ms, a.cfg.Host.ID(), p, time.Now())
	if err != nil {
		return err
	}
	return m.topic.Publish(ctx, data, pubsub.WithReadiness(pubsub.MinTopicSize(1)))
}

func (a *Agent) announce(m *member, query bool) {
	ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
	defer cancel()
	if err := a.publish(ctx, m, Payload{Type: TypePresence, Sessions: a.cfg.Sessions(), Query: query}); err != nil {
		a.log.Debug("presence", "err", err)
	}
}

func (a *Agent) presenceLoop(ctx context.Context) {
	for _, m := range a.memberList() {
		go a.announce(m, true)
	}
	every(ctx, a.cfg.PresenceInterval, func() {
		// Off the presence loop: reaching a node that is down takes a
		// while, and presence and expiry must go on meanwhile.
		if a.keeping.CompareAndSwap(false, true) {
			go func() {
				defer a.keeping.Store(false)
				a.keepNode(ctx)
			}()
		}
		a.AnnounceNow()
		a.expire()
	})
}

// keepNode joins the portals' topics at the rendezvous node again when
// this rep lost its connection to the node (a restart forgets who relays
// what): without it, reps who met through the node no longer hear each
// other. The rep is told when the node goes and when it is back.
func (a *Agent) keepNode(ctx context.Context) {
	b := a.cfg.Bootstrap
	if b == nil || len(b.Nodes()) == 0 {
		return
	}
	for _, n := range b.Nodes() {
		if a.cfg.Host.Network().Connectedness(n) == network.Connected {
			return
		}
	}
	var err error
	for _, m := range a.memberList() {
		jctx, cancel := context.WithTimeout(ctx, a.cfg.PresenceInterval)
		err = b.JoinPortal(jctx, m.ms.Credential)
		cancel()
		if err != nil {
			break
		}
	}
	a.mu.Lock()
	was := a.nodeOff
	a.nodeOff = err != nil
	a.mu.Unlock()
	switch {
	case err != nil && !was:
		a.log.Warn("rendezvous node unreachable", "err", err)
		a.cfg.OnEvent(Event{Kind: EvNode, Reason: "unreachable"})
	case err == nil && was:
		a.cfg.OnEvent(Event{Kind: EvNode, Reason: "back"})
	}
}

// AnnounceNow publishes presence at once (the session count changed).
func (a *Agent) AnnounceNow() {
	for _, m := range a.memberList() {
		go a.announce(m, false)
	}
}

// expire forgets reps unheard for three intervals, alerts past their
// expiry, and closed alert IDs old enough that no republish can come.
func (a *Agent) expire() {
	now := time.Now()
	var gone []string
	a.mu.Lock()
	for k, r := range a.reps {
		// Four intervals: a presence or two lost while the mesh reshuffles
		// must not make a rep flicker out of the list.
		if now.Sub(r.Seen) > 4*a.cfg.PresenceInterval {
			delete(a.reps, k)
		}
	}
	for id, al := range a.alerts {
		// An alert its host stopped republishing is gone too (the host
		// quit, or its closing never reached this rep).
		if !now.Before(al.Expires) || now.Sub(a.heard[id]) > 3*a.cfg.PresenceInterval {
			gone = append(gone, id)
		}
	}
	for id, c := range a.closed {
		if now.Sub(c.at) > 10*time.Minute {
			delete(a.closed, id)
		}
	}
	a.mu.Unlock()
	for _, id := range gone {
		a.closeAlert(id, "", "expired")
	}
}

// Reps lists the reps online now, this one included, filtered by portal
// name and by text in the rep's or portal's name (both optional).
func (a *Agent) Reps(portalName, text string) []Rep {
	a.mu.Lock()
	defer a.mu.Unlock()
	text = strings.ToLower(text)
	var out []Rep
	for _, r := range a.reps {
		if portalName != "" && !strings.EqualFold(r.PortalName, portalName) {
			continue
		}
		if text != "" && !strings.Contains(strings.ToLower(r.Name), text) && !strings.Contains(strings.ToLower(r.PortalName), text) {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PortalName != out[j].PortalName {
			return out[i].PortalName < out[j].PortalName
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Standing is this rep's name in one of its portals.
type Standing struct {
	Name       string    `json:"name"`
	Portal     portal.ID `json:"portal"`
	PortalName string    `json:"portal_name"`
}

// Standings lists the portals this rep is online in, by portal name.
func (a *Agent) Standings() []Standing {
	out := []Standing{}
	for _, m := range a.memberList() {
		out = append(out, Standing{Name: m.cred.Name, Portal: m.cred.Portal, PortalName: m.cred.PortalName})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PortalName < out[j].PortalName })
	return out
}

// Alerts lists the alerts open for this rep.
func (a *Agent) Alerts() []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Alert, 0, len(a.alerts))
	for _, al := range a.alerts {
		out = append(out, *al)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Expires.Before(out[j].Expires) })
	return out
}

// Alert returns the open alert whose ID starts with prefix.
func (a *Agent) Alert(prefix string) (Alert, error) {
	var found []Alert
	for _, al := range a.Alerts() {
		if strings.HasPrefix(al.ID, prefix) {
			found = append(found, al)
		}
	}
	switch len(found) {
	case 0:
		return Alert{}, fmt.Errorf("no open alert %q (taken, withdrawn or expired?)", prefix)
	case 1:
		return found[0], nil
	}
	return Alert{}, fmt.Errorf("%q matches %d alerts: give more of the ID", prefix, len(found))
}

// Membership returns this rep's membership of a portal, by name or ID.
func (a *Agent) Membership(nameOrID string) (*portal.Membership, *portal.Credential, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var names []string
	for id, m := range a.members {
		if strings.EqualFold(m.cred.PortalName, nameOrID) || id.String() == nameOrID {
			ms := *m.ms
			return &ms, m.cred, nil
		}
		names = append(names, m.cred.PortalName)
	}
	if len(names) == 0 {
		return nil, nil, errors.New("you are logged in to no portal: ask your manager for an enrollment and run 'assist login'")
	}
	sort.Strings(names)
	return nil, nil, fmt.Errorf("you are not in portal %q (yours: %s)", nameOrID, strings.Join(names, ", "))
}

// Refresh fetches a portal's newest settings and revocations now, for a
// decision that must not rest on a list up to RefreshInterval old.
func (a *Agent) Refresh(ctx context.Context, p portal.ID) error {
	a.mu.Lock()
	m := a.members[p]
	a.mu.Unlock()
	if m == nil {
		return errors.New("not a member of that portal")
	}
	return a.refresh(ctx, m)
}

// checkFresh asks the node for a portal's newest revocation list before a
// decision a revoked rep must not profit from (admitting a rep, sealing
// an alert the portal's reps can read). If the node cannot answer, the
// list it answered last serves, with a warning, for Config.StaleAfter.
func (a *Agent) checkFresh(m *member) error {
	if a.cfg.Bootstrap == nil { // no node: the lists come with memberships only
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := a.refresh(ctx, m); err != nil {
		return err
	}
	a.mu.Lock()
	checked := m.checked
	a.mu.Unlock()
	if age := time.Since(checked); age > time.Second {
		if age > a.cfg.StaleAfter {
			return fmt.Errorf("portal %s: its revocation list could not be checked for %v (the rendezvous node does not answer): refusing to rely on it", m.cred.PortalName, age.Round(time.Second))
		}
		a.cfg.OnEvent(Event{Kind: EvStale, Portal: m.cred.PortalName,
			Reason: fmt.Sprintf("the revocation list of portal %s could not be checked now; relying on the one from %s", m.cred.PortalName, checked.Format("15:04"))})
	}
	return nil
}

// Settings are the newest settings of a portal this rep is in.
func (a *Agent) Settings(p portal.ID) portal.Settings {
	a.mu.Lock()
	defer a.mu.Unlock()
	if m := a.members[p]; m != nil {
		return m.ms.PortalSettings(p)
	}
	return portal.DefaultSettings(p)
}

// VerifyRep checks that cred makes p an unrevoked rep of one of this rep's
// portals, and returns the name it gives: a host admits invited reps this way.
func (a *Agent) VerifyRep(p peer.ID, cred []byte) (string, error) {
	c, err := portal.VerifyCredential(cred, time.Now())
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	m := a.members[c.Portal]
	a.mu.Unlock()
	if m == nil {
		return "", fmt.Errorf("%s is in portal %q, which you are not in", c.Name, c.PortalName)
	}
	// Not on the list of up to RefreshInterval ago: on the newest.
	if err := a.checkFresh(m); err != nil {
		return "", err
	}
	a.mu.Lock()
	revoked := m.revoked
	a.mu.Unlock()
	if _, err := CheckCredential(c.Portal, p, cred, revokedFn(revoked), time.Now()); err != nil {
		return "", err
	}
	return c.Name, nil
}

// Invite publishes an alert to a portal's reps (or to al.Target only) and
// republishes it until CloseAlert or its expiry.
func (a *Agent) Invite(ctx context.Context, portalID portal.ID, al Alert) error {
	a.mu.Lock()
	m := a.members[portalID]
	a.mu.Unlock()
	if m == nil {
		return errors.New("not a member of that portal")
	}
	// A revocation rotates the portal's alert key: seal with the newest,
	// or a rep revoked since the last refresh could read the alert.
	if err := a.checkFresh(m); err != nil {
		return err
	}
	al.Host = a.cfg.Host.ID()
	if al.Target != "" {
		if err := sealForTarget(&al); err != nil {
			return err
		}
	}
	a.mu.Lock()
	a.own[al.ID] = &ownAlert{portal: portalID, alert: al}
	a.mu.Unlock()
	if err := a.publish(ctx, m, Payload{Type: TypeAlert, Alert: &al}); err != nil {
		return fmt.Errorf("publish the alert: %w", err)
	}
	go a.keepAlive(al.ID, m)
	return nil
}

// keepAlive republishes an open alert now and then until it is closed or
// expires, and then its closing a few times.
func (a *Agent) keepAlive(id string, m *member) {
	t := time.NewTicker(a.cfg.PresenceInterval)
	defer t.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		}
		a.mu.Lock()
		o, ok := a.own[id]
		expired := ok && o.closing == nil && !time.Now().Before(o.alert.Expires)
		a.mu.Unlock()
		if !ok {
			return
		}
		if expired {
			a.CloseAlert(id, "", "expired")
			continue
		}
		a.sendOwn(m, id)
	}
}

// sendOwn publishes an own alert, or its closing, once more.
func (a *Agent) sendOwn(m *member, id string) {
	a.mu.Lock()
	o, ok := a.own[id]
	var p Payload
	if ok && o.closing != nil {
		p = *o.closing
		if o.closeFor--; o.closeFor <= 0 {
			delete(a.own, id)
		}
	} else if ok {
		al := o.alert
		p = Payload{Type: TypeAlert, Alert: &al}
	}
	a.mu.Unlock()
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
	defer cancel()
	if err := a.publish(ctx, m, p); err != nil {
		a.log.Debug("republish", "alert", id, "err", err)
	}
}

// republish sends the portal's own alerts (or their closings) again at once.
func (a *Agent) republish(pid portal.ID) {
	a.mu.Lock()
	m := a.members[pid]
	if m == nil { // left: revoked
		a.mu.Unlock()
		return
	}
	var ids []string
	for id, o := range a.own {
		if o.portal == pid {
			ids = append(ids, id)
		}
	}
	a.mu.Unlock()
	for _, id := range ids {
		a.sendOwn(m, id)
	}
}

// CloseAlert ends one of this host's alerts: taken by someone (by), or
// withdrawn for reason; every rep's alert disappears.
func (a *Agent) CloseAlert(id, by, reason string) {
	p := Payload{Type: TypeWithdrawn, AlertID: id, Reason: reason}
	if by != "" {
		p = Payload{Type: TypeTaken, AlertID: id, By: by}
	}
	a.mu.Lock()
	o, ok := a.own[id]
	var m *member
	if ok && o.closing == nil {
		o.closing, o.closeFor = &p, closingRepeats+1
		m = a.members[o.portal]
	}
	a.mu.Unlock()
	if m != nil {
		a.sendOwn(m, id)
	}
}

// Decline tells the alert's host that this rep will not come.
func (a *Agent) Decline(ctx context.Context, id string) error {
	al, err := a.Alert(id)
	if err != nil {
		return err
	}
	a.mu.Lock()
	m := a.members[al.Portal]
	a.mu.Unlock()
	a.closeAlert(al.ID, "", "declined")
	if m == nil {
		return nil
	}
	return a.publish(ctx, m, Payload{Type: TypeDeclined, AlertID: al.ID})
}

// Forget drops an alert locally (after accepting it, say).
func (a *Agent) Forget(id string) { a.closeAlert(id, "", "") }

// Close says goodbye on every topic and stops.
func (a *Agent) Close() {
	var wg sync.WaitGroup
	for _, m := range a.memberList() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(a.ctx, time.Second)
			defer cancel()
			_ = a.publish(ctx, m, Payload{Type: TypeOffline})
		}()
	}
	wg.Wait()
	a.cancel()
}
