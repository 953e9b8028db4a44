package rep

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"

	"assist/desktop"
	"assist/session"
	"assist/shortcode"
	"assist/viewer"
)

// attend joins a session as an external specialist whose invitation code
// was just proven (the session admits this peer): give a name, follow the
// session in a viewer.
func (p *Process) attend(ctx context.Context, host peer.AddrInfo, code shortcode.Code, r JoinRequest, term Terminal) error {
	name := strings.TrimSpace(r.Name)
	if name == "" {
		var err error
		if name, err = askName(ctx, term); err != nil {
			return err
		}
	}
	g, err := session.JoinSession(ctx, session.GuestConfig{Host: p.cfg.Host, Session: host, Invite: code.Lookup, Name: name,
		OnEvent: func(e session.Event) { term.Show(sessionEvent(e)) }})
	var denied *session.DeniedError
	if errors.As(err, &denied) {
		return fmt.Errorf("the representative's session did not admit you: %s", denied.Reason)
	}
	if err != nil {
		return err
	}
	return p.follow(ctx, g, r, term)
}

// askName asks the terminal for the specialist's name.
func askName(ctx context.Context, term Terminal) (string, error) {
	term.Show(Event{Kind: EvNameRequired})
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case c, ok := <-term.Commands:
			if !ok {
				return "", &ErrUsage{Msg: "a specialist joins under a name: type it when asked, or give --name"}
			}
			if name := strings.TrimSpace(c.Name); name != "" {
				return name, nil
			}
			term.Show(Event{Kind: EvNameRequired})
		}
	}
}

// follow shows an attended session in a viewer until it ends.
func (p *Process) follow(ctx context.Context, g *session.Guest, r JoinRequest, term Terminal) error {
	rights, _ := g.Rights()
	v, err := viewer.Start(g, nil, p.cfg.Logger)
	if err != nil {
		g.Leave()
		return err
	}
	defer v.Close()
	term.Show(Event{Kind: EvViewer, URL: v.URL(), SessionID: g.ID(), Rights: rights})
	p.openPage(v.URL(), r.NoBrowser)
	p.addGuest(g)
	defer p.removeGuest(g)
	go steer(g, term, g.Leave)
	if r.ShareScreen {
		if err := shareInto(ctx, g, r.Display, term); err != nil {
			g.Leave()
			return err
		}
	}
	return g.Run(ctx)
}

// shareInto shares a monitor of this machine into the session, in the
// background, until the host stops it or the session ends.
func shareInto(ctx context.Context, g *session.Guest, display int, term Terminal) error {
	desk, err := desktop.Open()
	if err != nil {
		return fmt.Errorf("share your screen: %w", err)
	}
	capt, err := desk.OpenScreen(display)
	if err != nil {
		return fmt.Errorf("share your screen: %w", err)
	}
	term.Show(Event{Kind: EvSharing, Display: display})
	go func() {
		defer capt.Close()
		e := Event{Kind: EvShareStopped}
		if err := g.ShareScreen(ctx, capt); err != nil {
			e.Text = err.Error()
		}
		term.Show(e)
	}()
	return nil
}

func (p *Process) addGuest(g *session.Guest) {
	p.mu.Lock()
	p.guests[g] = struct{}{}
	p.mu.Unlock()
	p.sessionsChanged()
}

func (p *Process) removeGuest(g *session.Guest) {
	p.mu.Lock()
	delete(p.guests, g)
	p.mu.Unlock()
	p.sessionsChanged()
}

// Joined is a session this rep entered by accepting an alert.
type Joined struct {
	Session string `json:"session"`
	URL     string `json:"url"`
}

// Accept joins the session of an open alert, opens its viewer and follows
// it in the background; its events go to the process's terminal.
func (p *Process) Accept(ctx context.Context, id string, noBrowser bool) (Joined, error) {
	if p.agent == nil {
		return Joined{}, ErrNoPortal
	}
	al, err := p.agent.Alert(id)
	if err != nil {
		return Joined{}, err
	}
	ms, _, err := p.agent.Membership(al.Portal.String())
	if err != nil {
		return Joined{}, err
	}
	info := peer.AddrInfo{ID: al.Host}
	for _, s := range al.Addrs {
		if ai, err := peer.AddrInfoFromString(s + "/p2p/" + al.Host.String()); err == nil {
			info.Addrs = append(info.Addrs, ai.Addrs...)
		}
	}
	g, err := session.JoinSession(ctx, session.GuestConfig{Host: p.cfg.Host, Session: info, Invite: al.ID, Ticket: al.Ticket,
		Credential: ms.Credential, OnEvent: func(e session.Event) { p.emit(sessionEvent(e)) }})
	if err != nil {
		return Joined{}, err
	}
	p.agent.Forget(al.ID)
	v, err := viewer.Start(g, p.pagePortal(), p.cfg.Logger)
	if err != nil {
		g.Leave()
		return Joined{}, err
	}
	p.addGuest(g)
	p.emit(Event{Kind: EvViewer, URL: v.URL(), SessionID: g.ID()})
	p.openPage(v.URL(), noBrowser)
	go func() {
		_ = g.Run(p.ctx)
		v.Close()
		p.removeGuest(g)
	}()
	return Joined{Session: g.ID(), URL: v.URL()}, nil
}
