// Package rep is a representative's long-running assist process: the
// libp2p host's portal agent (presence, alerts), the session it hosts or
// attends, the invitations of the hosted session, and the local control
// socket through which 'assist invite', 'assist reps' and 'assist accept'
// reach it. One process per identity: two libp2p hosts with one peer ID
// would confuse the rendezvous node, relay reservations and gossipsub.
//
// A Process prints nothing. It takes a typed Config (with how to open a
// URL) and reports typed Events; package cmd words them for a terminal,
// --json writes them as they are, and the viewer pages render them.
package rep

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"

	"assist/config"
	"assist/gossip"
	"assist/internal/fanout"
	"assist/p2p"
	"assist/pairing"
	"assist/portal"
	"assist/rendezvous"
	"assist/session"
)

// Errors a caller acts on.
var (
	// ErrNoPortal: this rep is logged in to no portal.
	ErrNoPortal = errors.New("you are logged in to no portal: ask your portal manager for an enrollment token, then run 'assist login TOKEN'")
	// ErrNoSession: the request needs a hosted session and there is none.
	ErrNoSession = errors.New("this process hosts no session: run it where 'assist join KEY' runs")
	// ErrAlreadyHosting: one hosted session per process.
	ErrAlreadyHosting = errors.New("you already host a session in this process: end it first")
)

// Config is what a Process is built from.
type Config struct {
	Host       host.Host
	Rendezvous *rendezvous.Client
	// ConfigDir holds the identity, the portal memberships and transcripts.
	ConfigDir string
	Logger    *slog.Logger
	// Clock defaults to the real one.
	Clock Clock
	// OpenURL shows a page to the person (a browser); nil: pages are only
	// reported as EvViewer events.
	OpenURL func(url string)
	// OnEvent receives the process's own news: portal logins, alerts, the
	// sessions it attends. Must not block.
	OnEvent func(Event)
	// Memberships overrides the portal memberships stored in ConfigDir.
	Memberships []*portal.Membership
	// PresenceInterval and RefreshInterval tune the portal agent (tests).
	PresenceInterval, RefreshInterval time.Duration
}

// Process is a rep's running assist.
type Process struct {
	cfg   Config
	log   *slog.Logger
	ctx   context.Context // the process's: sessions end with it
	agent *gossip.Agent   // nil: in no portal
	book  *book
	pages fanout.Fanout[Event]

	mu       sync.Mutex
	hosted   *hosting
	guests   map[*session.Guest]struct{}
	relayed  bool // relay slots reserved for invited peers
	guard    *pairing.Guard
	codes    map[string]*rendezvous.Registration // open codes by lookup
	stopKeep func()                              // the codes' keep-alive
}

// hosting is the session this process hosts and the terminal it shows on.
type hosting struct {
	hub  *session.Host
	show func(Event)
}

// Open starts the process: logs in to every portal this rep has a
// membership of (none is fine: a rep without portals can host sessions).
func Open(ctx context.Context, cfg Config) (*Process, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock{}
	}
	if cfg.OnEvent == nil {
		cfg.OnEvent = func(Event) {}
	}
	p := &Process{cfg: cfg, log: cfg.Logger.With("component", "rep"), ctx: ctx,
		guests: map[*session.Guest]struct{}{}, codes: map[string]*rendezvous.Registration{}}
	p.book = newBook(p.finalized)
	p.book.notify = p.invitationChanged
	if err := p.startGossip(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// Close goes offline (a goodbye on every portal) and stops keeping codes.
func (p *Process) Close() {
	p.mu.Lock()
	stop := p.stopKeep
	p.stopKeep = nil
	guard := p.guard
	p.mu.Unlock()
	if stop != nil {
		stop()
	}
	if guard != nil {
		guard.Close()
	}
	if p.agent != nil {
		p.agent.Close()
	}
	p.pages.Close()
}

// ID is this rep's peer ID, as text.
func (p *Process) ID() string { return p.cfg.Host.ID().String() }

// InPortal reports whether this rep is online in at least one portal.
func (p *Process) InPortal() bool { return p.agent != nil }

// Subscribe follows the process's events, for a page.
func (p *Process) Subscribe() (<-chan Event, func()) { return p.pages.Subscribe() }

// emit reports process news to the process's terminal and its pages.
func (p *Process) emit(e Event) {
	p.cfg.OnEvent(e)
	p.pages.Publish(e)
}

// hostShow is where the hosted session's news goes: its terminal (for a
// join the console hosts, the terminal that ran it), else the process's.
func (p *Process) hostShow() func(Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hosted != nil {
		return p.hosted.show
	}
	return p.cfg.OnEvent
}

func (p *Process) hostedHub() (*session.Host, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hosted == nil {
		return nil, ErrNoSession
	}
	return p.hosted.hub, nil
}

func (p *Process) startGossip(ctx context.Context) error {
	ms := p.cfg.Memberships
	if ms == nil {
		var err error
		if ms, err = portal.Memberships(p.cfg.ConfigDir, p.cfg.Clock.Now()); err != nil {
			return err
		}
	}
	if len(ms) == 0 {
		return nil
	}
	a, err := gossip.Start(ctx, gossip.Config{
		Host: p.cfg.Host, Memberships: ms, Bootstrap: p.cfg.Rendezvous, Sessions: p.Sessions, Logger: p.cfg.Logger,
		OnEvent: p.gossipEvent, PresenceInterval: p.cfg.PresenceInterval, RefreshInterval: p.cfg.RefreshInterval,
		OnMembership: func(m *portal.Membership) {
			if err := portal.SaveMembership(p.cfg.ConfigDir, m); err != nil {
				p.log.Warn("store rotated portal key", "err", err)
			}
		},
	})
	if err != nil {
		return err
	}
	standings := a.Standings()
	if len(standings) == 0 { // every portal has revoked this rep
		a.Close()
		return nil
	}
	p.agent = a
	for _, st := range standings {
		p.emit(Event{Kind: EvPortal, Portal: st.PortalName, Name: st.Name})
	}
	return nil
}

// gossipEvent passes the portals' news on, and routes declines to the
// invitation they answer.
func (p *Process) gossipEvent(e gossip.Event) {
	switch e.Kind {
	case gossip.EvAlert:
		p.emit(Event{Kind: EvAlert, Alert: e.Alert})
	case gossip.EvAlertClosed:
		p.emit(Event{Kind: EvAlertClosed, AlertID: e.AlertID, By: e.By, Reason: e.Reason})
	case gossip.EvRevoked:
		p.emit(Event{Kind: EvRevoked, Portal: e.Portal, Reason: e.Reason})
	case gossip.EvDeclined:
		p.change(e.AlertID, ChangeDeclined, e.Name)
	case gossip.EvNode:
		p.emit(Event{Kind: EvNode, Reason: e.Reason})
	case gossip.EvStale:
		p.emit(Event{Kind: EvNotice, Text: e.Reason})
	}
}

// Sessions is how many sessions this rep is in now, for presence.
func (p *Process) Sessions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.guests)
	if p.hosted != nil {
		n++
	}
	return n
}

func (p *Process) sessionsChanged() {
	if p.agent != nil {
		p.agent.AnnounceNow()
	}
}

// Standings names this rep in each of its portals.
func (p *Process) Standings() []gossip.Standing {
	if p.agent == nil {
		return []gossip.Standing{}
	}
	return p.agent.Standings()
}

// DisplayName is the name this rep shows others: the one given, else its
// name in its portal (the one the portal vouches for), else config.json's,
// else the login name.
func (p *Process) DisplayName(given string) string {
	if given != "" {
		return given
	}
	if st := p.Standings(); len(st) > 0 {
		return st[0].Name
	}
	if s, err := config.LoadSettings(p.cfg.ConfigDir); err == nil && s.Name != "" {
		return s.Name
	}
	for _, env := range []string{"USER", "LOGNAME"} {
		if u := os.Getenv(env); u != "" {
			return u
		}
	}
	return "Representative"
}

// openPage reports a viewer page and opens it unless told not to.
func (p *Process) openPage(url string, noBrowser bool) {
	if !noBrowser && p.cfg.OpenURL != nil {
		p.cfg.OpenURL(url)
	}
}

// Reps lists the reps online, filtered by portal name and text.
func (p *Process) Reps(portalName, text string) ([]gossip.Rep, error) {
	if p.agent == nil {
		return nil, ErrNoPortal
	}
	return p.agent.Reps(portalName, text), nil
}

// Alerts lists the invitations open for this rep.
func (p *Process) Alerts() []gossip.Alert {
	if p.agent == nil {
		return []gossip.Alert{}
	}
	return p.agent.Alerts()
}

// SettleReps waits until the list of reps online stops growing: a process
// that just came online hears the others' presence within a second or two.
func (p *Process) SettleReps(ctx context.Context) error {
	if p.agent == nil {
		return ErrNoPortal
	}
	deadline := time.After(8 * time.Second)
	last, stable := -1, 0
	for stable < 3 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline:
			return nil
		case <-time.After(500 * time.Millisecond):
		}
		n := len(p.agent.Reps("", ""))
		if n == last && n > 0 {
			stable++
		} else {
			stable = 0
		}
		last = n
	}
	return nil
}

// Decline tells an alert's host that this rep will not come.
func (p *Process) Decline(ctx context.Context, id string) error {
	if p.agent == nil {
		return ErrNoPortal
	}
	return p.agent.Decline(ctx, id)
}

// ReportNetwork shows this peer's network state as it changes (reachable,
// behind a NAT, through the relay), until ctx ends.
func (p *Process) ReportNetwork(ctx context.Context, show func(Event)) {
	states, err := p2p.WatchNetwork(ctx, p.cfg.Host)
	if err != nil {
		return
	}
	for st := range states {
		show(sessionEvent(session.NetworkEvent(st)))
	}
}

// EndSessions ends the session this process hosts (for everyone, told
// why) and leaves the ones it attends, before the process goes away.
func (p *Process) EndSessions(why string) {
	p.mu.Lock()
	var hub *session.Host
	if p.hosted != nil {
		hub = p.hosted.hub
	}
	guests := make([]*session.Guest, 0, len(p.guests))
	for g := range p.guests {
		guests = append(guests, g)
	}
	p.mu.Unlock()
	if hub != nil {
		hub.End(why)
	}
	for _, g := range guests {
		g.Leave()
	}
}
