package rep

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"assist/p2p"
	"assist/pairing"
	"assist/rendezvous"
	"assist/session"
	"assist/shortcode"
	"assist/viewer"
)

// JoinRequest is what 'assist join' asks: a customer's support key to
// host its session, or an invitation code to attend one as a specialist.
type JoinRequest struct {
	Code      string `json:"code"`
	Name      string `json:"name,omitempty"`
	NoBrowser bool   `json:"no_browser,omitempty"`
	// A specialist shares a monitor of their own into the session.
	ShareScreen bool `json:"share_screen,omitempty"`
	Display     int  `json:"display,omitempty"`
}

// Command is one thing typed at a session's terminal.
type Command struct {
	Chat     string `json:"chat,omitempty"`
	Internal bool   `json:"internal,omitempty"` // chat for reps and specialists only
	Control  bool   `json:"control,omitempty"`  // ask the customer for control
	End      bool   `json:"end,omitempty"`      // the host ends the session; an attendee leaves
	Name     string `json:"name,omitempty"`     // the answer to EvNameRequired
}

// Terminal is where a session is shown and steered from.
type Terminal struct {
	// Show gets the session's events; must not block.
	Show func(Event)
	// Commands brings what is typed; closed when nothing more will come
	// (the session goes on until ctx ends or it ends by itself).
	Commands <-chan Command
}

// Join resolves a code and hosts the customer's session (a support key) or
// attends the session the code invites to, until it ends or ctx does.
func (p *Process) Join(ctx context.Context, r JoinRequest, term Terminal) error {
	code, err := ParseCode(r.Code)
	if err != nil {
		return err
	}
	term.Show(Event{Kind: EvResolving})
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	rec, err := p.cfg.Rendezvous.Resolve(rctx, code.Lookup)
	cancel()
	switch {
	case errors.Is(err, rendezvous.ErrCancelled):
		// The node does not say which kind of code it was: neither do we.
		return fmt.Errorf("code %s is no longer valid: the support key was withdrawn or the invitation cancelled; ask whoever gave it to you for a new one", code)
	case errors.Is(err, rendezvous.ErrEnded):
		return fmt.Errorf("code %s: the session has ended", code)
	case err != nil:
		return fmt.Errorf("code %s: %w", code, err)
	}
	owner := peer.AddrInfo{ID: rec.Owner, Addrs: rec.Multiaddrs()}
	// Ready to host before the claim, in case the code is a support key:
	// the session follows its path to the customer from the first
	// (perhaps relayed) connection on. Its news waits until the owner
	// says what the code opens. A console that already hosts a session
	// takes invitations only, and a support key it cannot take stays
	// unused.
	held := &heldShow{to: term.Show}
	hub, hostErr := p.claimHosting(r, owner, held.show)
	accepts := []string{pairing.KindInvitation}
	watch, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if hostErr == nil {
		accepts = append(accepts, pairing.KindSupport)
		hub.WatchPath(watch)
	}
	kind, err := p.claim(ctx, owner, code, term, accepts)
	if hostErr == nil && (err != nil || kind != pairing.KindSupport) {
		stopWatch()
		held.discard()
		p.stopHosting()
	}
	switch {
	case err != nil:
		return err
	case kind == pairing.KindInvitation:
		return p.attend(ctx, owner, code, r, term)
	}
	defer p.stopHosting()
	held.release()
	return p.host(ctx, hub, owner, r, term)
}

// heldShow holds a terminal's events until release passes them on (and
// all that follow), or discard drops them (and all that follow).
type heldShow struct {
	to   func(Event)
	mu   sync.Mutex
	held []Event
	pass bool
	drop bool
}

func (h *heldShow) show(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.pass:
		h.to(e)
	case !h.drop:
		h.held = append(h.held, e)
	}
}

func (h *heldShow) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.held {
		h.to(e)
	}
	h.held, h.pass = nil, true
}

func (h *heldShow) discard() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.held, h.drop = nil, true
}

// claim proves the code to its owner, who says then what it opens: the
// rendezvous node does not know.
func (p *Process) claim(ctx context.Context, owner peer.AddrInfo, code shortcode.Code, term Terminal, accepts []string) (string, error) {
	// Talking to the rendezvous node told this host its public address;
	// give libp2p a moment to enable hole punching before the first,
	// possibly relayed, connection to the code's owner.
	p2p.WaitHolePunchReady(ctx, p.cfg.Host, 3*time.Second)
	term.Show(Event{Kind: EvConnecting, Peer: owner.ID.String(), Name: "person who gave you the code"})
	pctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	paired, err := pairing.Claim(pctx, p.cfg.Host, owner, code, accepts...)
	cancel()
	var refused *pairing.NotAcceptedError
	switch {
	case errors.As(err, &refused):
		return "", fmt.Errorf("support key %s is right, but this console already hosts a session (it stays unused): end that session first, or join from another console: %w", code, ErrAlreadyHosting)
	case err != nil:
		return "", claimError(code, err)
	case paired.Kind != pairing.KindSupport && paired.Kind != pairing.KindInvitation:
		return "", fmt.Errorf("code %s opens %q, which this version of assist does not know: update it", code, paired.Kind)
	}
	return paired.Kind, nil
}

// host hosts the session of the customer whose key was just proven,
// until it ends.
func (p *Process) host(ctx context.Context, hub *session.Host, customer peer.AddrInfo, r JoinRequest, term Terminal) error {
	term.Show(Event{Kind: EvPaired, Peer: customer.ID.String()})
	view, err := viewer.Start(hub, p.pagePortal(), p.cfg.Logger)
	if err != nil {
		return err
	}
	defer view.Close()
	term.Show(Event{Kind: EvViewer, URL: view.URL(), SessionID: hub.ID()})
	p.openPage(view.URL(), r.NoBrowser)
	go steer(hub, term, func() { hub.End("the representative ended the session") })
	return hub.Run(ctx)
}

// claimHosting makes this process the host of a new session.
func (p *Process) claimHosting(r JoinRequest, customer peer.AddrInfo, show func(Event)) (*session.Host, error) {
	hub := session.NewHost(session.HostConfig{
		Host:                p.cfg.Host,
		Name:                p.DisplayName(r.Name),
		Customer:            customer,
		TranscriptDir:       filepath.Join(p.cfg.ConfigDir, "transcripts"),
		OnEvent:             func(e session.Event) { show(sessionEvent(e)) },
		VerifyRep:           p.verifyRep(),
		OnInvitationUsed:    func(inv session.Invitation, name string) { go p.invitationUsed(inv, name) },
		OnInvitationRefused: func(inv session.Invitation, name string, _ error) { go p.change(inv.ID, ChangeRefused, name) },
	})
	p.mu.Lock()
	if p.hosted != nil {
		p.mu.Unlock()
		return nil, ErrAlreadyHosting
	}
	p.hosted = &hosting{hub: hub, show: show}
	p.mu.Unlock()
	p.sessionsChanged()
	return hub, nil
}

// stopHosting answers the session's open invitations and frees the slot.
func (p *Process) stopHosting() {
	p.endInvitations()
	p.mu.Lock()
	p.hosted = nil
	p.mu.Unlock()
	p.sessionsChanged()
}

func (p *Process) verifyRep() func(peer.ID, []byte) (string, error) {
	if p.agent == nil {
		return nil
	}
	return p.agent.VerifyRep
}

// steerable is a session a terminal steers: the host's or an attendee's.
type steerable interface {
	RequestControl() error
	Chat(text string, internal bool) error
}

// steer carries out what is typed at a session's terminal; end ends the
// session (the host) or leaves it (an attendee).
func steer(s steerable, term Terminal, end func()) {
	for c := range term.Commands {
		var err error
		switch {
		case c.End:
			end()
			return
		case c.Control:
			err = s.RequestControl()
		case c.Chat != "":
			err = s.Chat(c.Chat, c.Internal)
		}
		if err != nil {
			term.Show(Event{Kind: EvError, Text: err.Error()})
		}
	}
}

// claimError turns a pairing failure into what the person should do next.
func claimError(code shortcode.Code, err error) error {
	var wc *pairing.WrongCodeError
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.As(err, &wc), errors.Is(err, pairing.ErrBurned), errors.Is(err, pairing.ErrUsed), errors.Is(err, pairing.ErrNotActive):
		return fmt.Errorf("code %s: %w", code, err)
	}
	return fmt.Errorf("could not reach the person who gave you code %s: %w", code, err)
}
