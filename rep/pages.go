package rep

import (
	"context"

	"assist/gossip"
	"assist/viewer"
)

// pages is what the viewer pages of this process see of its portals.
type pages struct{ p *Process }

// pagePortal is a page's view of the portals: nil for a rep in none.
func (p *Process) pagePortal() viewer.Portal {
	if p.agent == nil {
		return nil
	}
	return pages{p}
}

// ConsolePage serves the console's own page (no session, the portals).
func (p *Process) ConsolePage() (*viewer.Server, error) {
	if p.agent == nil {
		return nil, ErrNoPortal
	}
	return viewer.StartConsole(pages{p}, p.cfg.Logger)
}

func (pg pages) Reps(text string) []viewer.Colleague {
	hub, _ := pg.p.hostedHub()
	out := []viewer.Colleague{}
	for _, r := range pg.p.agent.Reps("", text) {
		out = append(out, viewer.Colleague{Rep: r, You: r.Peer == pg.p.cfg.Host.ID(), InSession: hub != nil && hub.Present(r.Peer)})
	}
	return out
}

// Invite from the page does not wait: the page hears the answer as events.
func (pg pages) Invite(ctx context.Context, r viewer.InviteRequest) error {
	_, err := pg.p.Invite(context.WithoutCancel(ctx), InviteRequest{Rep: r.Rep, Portal: r.Portal, Mask: r.Mask, Comment: r.Comment, NoWait: true})
	return err
}

// Accept joins the alert's session; the page opens the new viewer itself.
func (pg pages) Accept(ctx context.Context, id string) (string, error) {
	j, err := pg.p.Accept(ctx, id, true)
	return j.URL, err
}

func (pg pages) Decline(ctx context.Context, id string) error { return pg.p.Decline(ctx, id) }

func (pg pages) Alerts() []gossip.Alert { return pg.p.Alerts() }

func (pg pages) Me() []gossip.Standing { return pg.p.Standings() }

func (pg pages) InviteExternal(ctx context.Context, access string, maxUses int) (viewer.Code, error) {
	inv, err := pg.p.InviteCode(ctx, CodeRequest{Access: access, MaxUses: maxUses})
	if err != nil {
		return viewer.Code{}, err
	}
	return viewer.Code{Code: inv.Code, Link: inv.Link, Rights: inv.Rights, MaxUses: inv.MaxUses, JoinPage: inv.JoinPage}, nil
}

func (pg pages) CancelCode(ctx context.Context, code string) error { return pg.p.CancelCode(ctx, code) }

// Subscribe turns the process's events into the page's portal news.
func (pg pages) Subscribe() (<-chan viewer.PortalEvent, func()) {
	events, stop := pg.p.Subscribe()
	out := make(chan viewer.PortalEvent, 64)
	go func() {
		defer close(out)
		for e := range events {
			if pe, ok := pageEvent(e); ok {
				out <- pe
			}
		}
	}()
	return out, func() {
		stop()
		for range out { // let the forwarder finish
		}
	}
}

// pageEvent is the page's word for a process event, if it has one.
func pageEvent(e Event) (viewer.PortalEvent, bool) {
	switch e.Kind {
	case EvAlert:
		return viewer.PortalEvent{Event: "alert", Alert: e.Alert}, true
	case EvAlertClosed:
		return viewer.PortalEvent{Event: "alert_closed", AlertID: e.AlertID, By: e.By, Reason: e.Reason}, true
	case EvInvitation:
		return invitationPageEvent(*e.Update)
	}
	return viewer.PortalEvent{}, false
}

func invitationPageEvent(u Update) (viewer.PortalEvent, bool) {
	inv := u.Invitation
	if inv.Kind == KindCode {
		if !inv.State.Final() {
			return viewer.PortalEvent{}, false
		}
		return viewer.PortalEvent{Event: "code_closed", Code: inv.Code, Reason: string(inv.State)}, true
	}
	name := inv.By
	kind := "invite_" + string(u.Change)
	switch u.Change {
	case ChangeAlerted:
		kind, name = "invited", inv.To
	case ChangeEnded, ChangeCancelled:
		kind = "invite_withdrawn"
	}
	return viewer.PortalEvent{Event: kind, AlertID: inv.ID, Name: name}, true
}
