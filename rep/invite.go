package rep

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"assist/gossip"
	"assist/rendezvous"
	"assist/session"
)

// DefaultInviteTTL is how long an invitation to a rep or a portal stays
// open unless the inviter says otherwise.
const DefaultInviteTTL = 2 * time.Minute

// InviteRequest invites a rep by name or every rep of a portal into the
// hosted session.
type InviteRequest struct {
	Rep     string        `json:"rep,omitempty"`
	Portal  string        `json:"portal,omitempty"`
	Mask    bool          `json:"mask,omitempty"`
	Comment string        `json:"comment,omitempty"`
	TTL     time.Duration `json:"ttl,omitempty"`
	// NoWait: the socket answers once the alert is out, and the invitation
	// stays open when the caller goes (otherwise it is withdrawn).
	NoWait bool `json:"no_wait,omitempty"`
}

// Invite opens an invitation in the hosted session and alerts the portal
// (or the one rep). It returns the invitation, alerted; its answer arrives
// as updates (Updates, or EvInvitation events).
func (p *Process) Invite(ctx context.Context, r InviteRequest) (Invitation, error) {
	hub, err := p.hostedHub()
	if err != nil {
		return Invitation{}, err
	}
	if p.agent == nil {
		return Invitation{}, ErrNoPortal
	}
	if len(r.Comment) > gossip.MaxComment {
		return Invitation{}, fmt.Errorf("the comment has more than %d characters", gossip.MaxComment)
	}
	inv := Invitation{ID: randomHex(8), Kind: KindPortal, Masked: r.Mask, Comment: r.Comment, Portal: r.Portal}
	switch {
	case r.Rep != "" && r.Portal == "":
		target, err := p.findRep(r.Rep, hub)
		if err != nil {
			return Invitation{}, err
		}
		inv.Kind, inv.To, inv.Portal, inv.target = KindRep, target.Name, target.PortalName, target.Peer
	case r.Rep == "" && r.Portal != "":
	default:
		return Invitation{}, errors.New("give exactly one of --rep NAME or --portal NAME")
	}
	_, cred, err := p.agent.Membership(inv.Portal)
	if err != nil {
		return Invitation{}, err
	}
	inv.Portal = cred.PortalName
	if inv.Kind == KindPortal {
		inv.To = "every rep of portal " + cred.PortalName
	}
	ttl := r.TTL
	if ttl <= 0 {
		ttl = DefaultInviteTTL
	}
	inv.Expires = p.cfg.Clock.Now().Add(ttl)
	ticket := make([]byte, 16)
	_, _ = rand.Read(ticket)
	p.book.add(inv)
	hub.AddInvitation(session.Invitation{ID: inv.ID, Ticket: ticket, Target: inv.target, Masked: inv.Masked,
		Expires: inv.Expires, Comment: inv.Comment})
	al := gossip.Alert{ID: inv.ID, Session: hub.ID(), Addrs: p.dialAddrs(), Target: inv.target, Masked: inv.Masked,
		Comment: inv.Comment, Ticket: ticket, Expires: inv.Expires}
	// Alerted before it is published: an answer can then never arrive
	// before the state it answers (the state machine would drop it).
	alerted, _ := p.change(inv.ID, ChangeAlerted, "")
	if err := p.agent.Invite(ctx, cred.Portal, al); err != nil {
		p.change(inv.ID, ChangeCancelled, "")
		return Invitation{}, err
	}
	p.cfg.Clock.AfterFunc(ttl, func() { p.change(inv.ID, ChangeExpired, "") })
	return alerted, nil
}

// findRep finds one online rep to invite by name (case-insensitive, an
// exact match first): not this rep, nor one already in the session.
func (p *Process) findRep(name string, hub *session.Host) (gossip.Rep, error) {
	var exact, partial []gossip.Rep
	for _, r := range p.agent.Reps("", "") {
		switch {
		case strings.EqualFold(r.Name, name):
			exact = append(exact, r)
		case strings.Contains(strings.ToLower(r.Name), strings.ToLower(name)):
			partial = append(partial, r)
		}
	}
	found := exact
	if len(found) == 0 {
		found = partial
	}
	switch len(found) {
	case 0:
		return gossip.Rep{}, fmt.Errorf("no rep named %q is online (see 'assist reps')", name)
	case 1:
	default:
		names := make([]string, len(found))
		for i, r := range found {
			names[i] = r.Name + " (" + r.PortalName + ")"
		}
		return gossip.Rep{}, fmt.Errorf("%q matches %s: be more precise", name, strings.Join(names, ", "))
	}
	r := found[0]
	switch {
	case r.Peer == p.cfg.Host.ID():
		return gossip.Rep{}, fmt.Errorf("%s is you: invite a colleague, or the whole portal with --portal", r.Name)
	case hub.Present(r.Peer):
		return gossip.Rep{}, fmt.Errorf("%s is already in this session", r.Name)
	}
	return r, nil
}

// Updates follows every change of this process's invitations from now on.
func (p *Process) Updates() (<-chan Update, func()) { return p.book.subscribe() }

// Invitations lists the hosted session's invitations, open and answered.
func (p *Process) Invitations() []Invitation { return p.book.list() }

// Withdraw withdraws an invitation nobody has answered yet: its alert
// closes everywhere.
func (p *Process) Withdraw(id string) (Invitation, bool) { return p.change(id, ChangeWithdrawn, "") }

// change applies one change to an invitation and logs what its
// consequences could not do.
func (p *Process) change(id string, c Change, by string) (Invitation, bool) {
	inv, ok, err := p.book.apply(id, c, by)
	if err != nil {
		p.log.Warn("invitation", "id", id, "change", c, "err", err)
	}
	return inv, ok
}

// invitationChanged shows a change on the hosting terminal and the pages.
func (p *Process) invitationChanged(u Update) {
	e := Event{Kind: EvInvitation, Update: &u}
	p.hostShow()(e)
	p.pages.Publish(e)
}

// finalized does what an invitation's final answer entails, once: the
// session stops admitting with it, its alert closes on every rep's
// console, a code stops answering at this host and at the rendezvous node.
func (p *Process) finalized(inv Invitation) error {
	hub, _ := p.hostedHub()
	if hub != nil && inv.State != StateAccepted {
		hub.CancelInvitation(inv.ID)
	}
	if inv.Kind == KindCode {
		return p.retireCode(inv)
	}
	if p.agent == nil {
		return nil
	}
	by, reason := "", string(inv.State)
	if inv.State == StateAccepted {
		by, reason = inv.By, ""
	}
	go p.agent.CloseAlert(inv.ID, by, reason)
	return nil
}

// invitationUsed is the session's word that someone came in with an
// invitation.
func (p *Process) invitationUsed(inv session.Invitation, name string) {
	c := ChangeAccepted
	if inv.Specialist {
		c = ChangeJoined
	}
	p.change(inv.ID, c, name)
}

// endInvitations answers every open invitation when the hosted session
// ends: alerts close, codes are retired at the rendezvous node (so a later
// join hears "the session has ended") before this returns.
func (p *Process) endInvitations() {
	for _, inv := range p.book.open() {
		p.change(inv.ID, ChangeEnded, "")
	}
	p.book.prune()
}

// dialAddrs are the addresses an invited peer dials this host at: its own
// and, so a peer outside this host's NAT gets in too, circuit addresses at
// the rendezvous nodes' relays (reserved on the first invitation, then kept).
func (p *Process) dialAddrs() []string {
	p.ensureRelay()
	var out []string
	for _, a := range p.cfg.Rendezvous.DialAddrs() {
		out = append(out, a.String())
	}
	return out
}

// ensureRelay reserves relay slots at the rendezvous nodes the first time
// someone is invited, and keeps them for as long as this process runs
// (sessions outlast one reservation).
func (p *Process) ensureRelay() {
	p.mu.Lock()
	reserve := !p.relayed
	p.relayed = true
	p.mu.Unlock()
	if !reserve {
		return
	}
	renewed := func(expires time.Time, err error) {
		if err != nil {
			p.log.Warn("relay slot renewal failed, retrying in 30 s", "err", err)
			return
		}
		p.log.Debug("relay slot renewed", "until", expires)
	}
	if err := p.cfg.Rendezvous.KeepRelay(p.ctx, renewed); err != nil {
		p.log.Warn("no relay slot: invited peers outside this network may not reach the session", "err", err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// reasonFor is the rendezvous node's word for a code's final state.
func reasonFor(s State) rendezvous.Reason {
	switch s {
	case StateUsed:
		return rendezvous.ReasonUsed
	case StateBurned:
		return rendezvous.ReasonBurned
	case StateEnded:
		return rendezvous.ReasonEnded
	}
	return rendezvous.ReasonCancelled
}
