package rep

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"assist/internal/p2ptest"
	"assist/internal/rvtest"
	"assist/internal/sessiontest"
	"assist/portal"
	"assist/rendezvous"
	"assist/rights"
	"assist/session"
)

// fakeClock is a test's clock: time moves only when the test says so.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves time on by d and runs every timer due, in order, each to
// completion before the next (timers they set that fall due run too).
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		slices.SortFunc(c.timers, func(a, b *fakeTimer) int { return a.at.Compare(b.at) })
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			c.now = end
			c.mu.Unlock()
			return
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		c.now = t.at
		run := !t.stopped
		c.mu.Unlock()
		if run {
			t.f()
		}
	}
}

// lab is a rendezvous node and a portal whose manager enrolls reps, on
// loopback, with one fake clock for every rep process.
type lab struct {
	t      *testing.T
	ctx    context.Context
	rv     []peer.AddrInfo
	mgrDir string
	clock  *fakeClock
}

func newLab(t *testing.T) *lab {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	_, rv := rvtest.StartNode(t, func(cfg *rendezvous.NodeConfig) {
		cfg.LookupPerPeer = rendezvous.Rate{Per: 100, Burst: 100}
		cfg.LookupPerIP, cfg.LookupPerNet = rendezvous.Rate{Per: 100000, Burst: 100000}, rendezvous.Rate{Per: 100000, Burst: 100000}
		cfg.RegisterPerPeer = rendezvous.Rate{Per: 100, Burst: 100}
	})
	dir := t.TempDir()
	if _, err := portal.CreatePortal(dir, "Acme"); err != nil {
		t.Fatal(err)
	}
	return &lab{t: t, ctx: ctx, rv: rv, mgrDir: dir, clock: newFakeClock()}
}

// member is one rep's running process and what it reports.
type member struct {
	name   string
	host   host.Host
	p      *Process
	events chan Event
}

// rep starts an enrolled rep's process (enrolled == false: in no portal).
func (l *lab) rep(name string, enrolled bool) *member {
	l.t.Helper()
	h := p2ptest.NewHost(l.t, l.rv)
	m := &member{name: name, host: h, events: make(chan Event, 1024)}
	cfg := Config{Host: h, Rendezvous: rendezvous.NewClient(h, l.rv), ConfigDir: l.t.TempDir(), Clock: l.clock,
		OnEvent: m.record, Memberships: []*portal.Membership{}, PresenceInterval: 300 * time.Millisecond, RefreshInterval: time.Second}
	if enrolled {
		ms, err := portal.Enroll(l.mgrDir, "Acme", h.ID(), name, time.Hour, time.Now())
		if err != nil {
			l.t.Fatal(err)
		}
		cfg.Memberships = []*portal.Membership{ms}
	}
	p, err := Open(l.ctx, cfg)
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(p.Close)
	m.p = p
	return m
}

func (m *member) record(e Event) {
	select {
	case m.events <- e:
	default:
	}
}

// allowSpecialists has the portal's manager allow external specialists
// with control rights, published at the rendezvous node.
func (l *lab) allowSpecialists() {
	l.t.Helper()
	signed, _, err := portal.UpdateSettings(l.mgrDir, "Acme", func(s *portal.Settings) {
		s.ExternalsAllowed, s.MaxRights = true, rights.Control
	})
	if err != nil {
		l.t.Fatal(err)
	}
	h := p2ptest.NewHost(l.t, nil)
	if err := rendezvous.NewClient(h, l.rv).PublishPortal(l.ctx, signed); err != nil {
		l.t.Fatal(err)
	}
}

// customer starts a customer who allows viewing and returns its key.
func (l *lab) customer() string {
	l.t.Helper()
	return sessiontest.StartCustomer(l.t, l.ctx, l.rv)
}

// terminal is a session m hosts or attends, seen from its terminal.
type terminal struct {
	events   chan Event
	commands chan Command
	done     chan error
}

func (m *member) join(l *lab, r JoinRequest) *terminal {
	t := &terminal{events: make(chan Event, 1024), commands: make(chan Command, 16), done: make(chan error, 1)}
	r.NoBrowser = true
	go func() {
		t.done <- m.p.Join(l.ctx, r, Terminal{Show: func(e Event) {
			select {
			case t.events <- e:
			default:
			}
		}, Commands: t.commands})
	}()
	return t
}

// host has m host a new customer's session, and waits until it is live.
func (m *member) hostSession(l *lab) *terminal {
	l.t.Helper()
	t := m.join(l, JoinRequest{Code: l.customer()})
	t.wait(l, func(e Event) bool { return e.Kind == EvSession && e.Session.Kind == session.EvConsent })
	return t
}

// wait returns the first event match accepts; the session must not end first.
func (t *terminal) wait(l *lab, match func(Event) bool) Event {
	l.t.Helper()
	return waitFor(l, t.events, t.done, match)
}

func (m *member) wait(l *lab, match func(Event) bool) Event {
	l.t.Helper()
	return waitFor(l, m.events, nil, match)
}

func waitFor(l *lab, events chan Event, done chan error, match func(Event) bool) Event {
	l.t.Helper()
	for {
		select {
		case e := <-events:
			if match(e) {
				return e
			}
		case err := <-done:
			l.t.Fatalf("the session ended first: %v", err)
		case <-l.ctx.Done():
			l.t.Fatal("timed out waiting for an event")
		}
	}
}

// eventually waits for cond, checking as events happen elsewhere.
func eventually(l *lab, what string, cond func() bool) {
	l.t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-l.ctx.Done():
			l.t.Fatalf("never: %s", what)
		}
	}
}

// sees waits until m lists every one of names online.
func (m *member) sees(l *lab, names ...string) {
	l.t.Helper()
	eventually(l, m.name+" sees "+names[0], func() bool {
		reps, _ := m.p.Reps("", "")
		n := 0
		for _, r := range reps {
			if slices.Contains(names, r.Name) {
				n++
			}
		}
		return n == len(names)
	})
}

func isUpdate(id string, c Change) func(Event) bool {
	return func(e Event) bool {
		return e.Kind == EvInvitation && e.Update.Invitation.ID == id && e.Update.Change == c
	}
}

func isAlert(e Event) bool { return e.Kind == EvAlert }
