package cmd

import (
	"context"
	"sync"
	"time"

	"assist/gossip"
	"assist/viewer"
)

// pagePortal lets the viewer pages of a rep process show the invite
// dialog and the portal's alerts.
type pagePortal struct {
	rp *repProcess

	mu   sync.Mutex
	subs map[chan map[string]any]struct{}
}

// viewerPortal is what a viewer page gets: nil for a rep in no portal.
func (rp *repProcess) viewerPortal() viewer.Portal {
	if rp.agent == nil {
		return nil
	}
	return rp.pages
}

func (p *pagePortal) Reps(text string) any {
	reps := p.rp.agent.Reps("", text)
	if reps == nil {
		reps = []gossip.Rep{}
	}
	return reps
}

func (p *pagePortal) Invite(ctx context.Context, r viewer.InviteRequest) error {
	_, err := p.rp.invite(context.WithoutCancel(ctx), inviteArgs{Rep: r.Rep, Portal: r.Portal, Mask: r.Mask, Comment: r.Comment, TTL: 2 * time.Minute})
	return err
}

// Accept joins the alert's session; the page opens the new viewer itself.
func (p *pagePortal) Accept(ctx context.Context, id string) (string, error) {
	_, v, err := p.rp.accept(ctx, id, true)
	if err != nil {
		return "", err
	}
	return v.URL(), nil
}

func (p *pagePortal) Decline(ctx context.Context, id string) error {
	return p.rp.agent.Decline(ctx, id)
}

func (p *pagePortal) Alerts() any { return p.rp.agent.Alerts() }

func (p *pagePortal) Subscribe() (<-chan map[string]any, func()) {
	ch := make(chan map[string]any, 64)
	p.mu.Lock()
	if p.subs == nil {
		p.subs = map[chan map[string]any]struct{}{}
	}
	p.subs[ch] = struct{}{}
	p.mu.Unlock()
	return ch, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, ok := p.subs[ch]; ok {
			delete(p.subs, ch)
			close(ch)
		}
	}
}

// publish passes an event to every page; a page too slow for it misses it.
func (p *pagePortal) publish(e map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ch := range p.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

func (p *pagePortal) InviteExternal(ctx context.Context, access string, maxUses int) (any, error) {
	return p.rp.inviteExternal(ctx, inviteArgs{External: true, Access: access, MaxUses: maxUses})
}

func (p *pagePortal) CancelCode(ctx context.Context, code string) error {
	return p.rp.cancelCode(ctx, code)
}

func (p *pagePortal) Me() any { return p.rp.agent.Standings() }
