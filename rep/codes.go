package rep

import (
	"context"
	"fmt"
	"time"

	"assist/pairing"
	"assist/portal"
	"assist/rendezvous"
	"assist/rights"
	"assist/session"
	"assist/shortcode"
)

// CodeRequest asks for an invitation code for external specialists.
type CodeRequest struct {
	// Access is view (the default) or control.
	Access     string `json:"access,omitempty"`
	MaxUses    int    `json:"max_uses,omitempty"`
	AllowShare bool   `json:"allow_share,omitempty"`
	// Portal whose settings allow it; default: this rep's only portal.
	Portal string `json:"portal,omitempty"`
}

// ErrUsage marks a request that is wrong as asked (a bad flag value).
type ErrUsage struct{ Msg string }

func (e *ErrUsage) Error() string { return e.Msg }

// An invitation code is registered for codeTTL and extended while its
// session runs: checked every codeCheckEvery, extended once less than
// codeRenewBefore is left. The rendezvous node allows 24 h at most.
const (
	codeTTL         = 12 * time.Hour
	codeRenewBefore = 6 * time.Hour
	codeCheckEvery  = 30 * time.Minute
)

// InviteCode opens an invitation code for external specialists in the
// hosted session, as far as the portal's signed settings allow. The code
// lives until the session ends, it is used up, or it is cancelled.
func (p *Process) InviteCode(ctx context.Context, r CodeRequest) (Invitation, error) {
	hub, err := p.hostedHub()
	if err != nil {
		return Invitation{}, err
	}
	if p.agent == nil {
		return Invitation{}, fmt.Errorf("external specialists are allowed by a portal's manager, and %v", ErrNoPortal)
	}
	_, cred, err := p.agent.Membership(p.defaultPortal(r.Portal))
	if err != nil {
		return Invitation{}, err
	}
	access, err := p.allowedAccess(ctx, cred, r)
	if err != nil {
		return Invitation{}, err
	}
	p.ensureRelay() // so specialists outside this network get in
	reg, err := p.cfg.Rendezvous.Register(ctx, codeTTL)
	if err != nil {
		return Invitation{}, fmt.Errorf("register the invitation code: %w", err)
	}
	uses := max(1, r.MaxUses)
	rv := p.cfg.Rendezvous.Addrs()
	inv := Invitation{ID: reg.Code.Lookup, Kind: KindCode, To: "external specialists", Portal: cred.PortalName,
		Code: reg.Code.String(), Link: JoinLink(reg.Code.String(), rv), Command: JoinCommand(reg.Code.String(), rv), JoinPage: reg.JoinPage,
		Rights: access, MaxUses: uses, AllowShare: r.AllowShare, HostName: hub.Name()}
	p.mu.Lock()
	p.codes[reg.Code.Lookup] = reg
	guard := p.ensureGuardLocked()
	if p.stopKeep == nil {
		p.stopKeep = every(p.cfg.Clock, codeCheckEvery, p.renewCodes)
	}
	p.mu.Unlock()
	p.book.add(inv)
	hub.AddInvitation(session.Invitation{ID: inv.ID, Specialist: true, Rights: access, MaxUses: uses, AllowShare: r.AllowShare})
	// The session counts the uses: a specialist refused for a full session
	// must not use the code up, as a proof at the guard would.
	// Open before the guard answers for it, so no use comes first.
	opened, _ := p.change(inv.ID, ChangeOpened, "")
	guard.Add(reg.Code, pairing.KindInvitation, pairing.Unlimited)
	return opened, nil
}

// allowedAccess checks a code request against the portal's newest settings.
func (p *Process) allowedAccess(ctx context.Context, cred *portal.Credential, r CodeRequest) (string, error) {
	// The manager may have just changed them: ask the rendezvous node.
	if err := p.agent.Refresh(ctx, cred.Portal); err != nil {
		return "", err
	}
	st := p.agent.Settings(cred.Portal)
	name := cred.PortalName
	if !st.ExternalsAllowed {
		return "", fmt.Errorf("portal %s does not allow external specialists: a manager of the portal enables them with 'assist portal settings %q --externals on'", name, name)
	}
	access := r.Access
	if access == "" {
		access = rights.View
	}
	if !rights.Valid(access) {
		return "", &ErrUsage{Msg: fmt.Sprintf("--access is view or control, not %q", access)}
	}
	if access == rights.Control && st.MaxRights != rights.Control {
		return "", fmt.Errorf("portal %s allows specialists at most view rights: a manager can raise it with 'assist portal settings %q --max-rights control'", name, name)
	}
	if r.AllowShare && !st.SpecialistShare {
		return "", fmt.Errorf("portal %s does not let specialists share their screen: a manager enables it with 'assist portal settings %q --specialist-share on'", name, name)
	}
	return access, nil
}

// defaultPortal is the portal named, or this rep's only one.
func (p *Process) defaultPortal(name string) string {
	if name != "" {
		return name
	}
	if st := p.Standings(); len(st) == 1 {
		return st[0].Portal.String()
	}
	return "" // Membership explains which portals there are
}

// ensureGuardLocked answers pairing attempts for this host's invitation
// codes; a peer that proves one is let in by the session. p.mu held.
func (p *Process) ensureGuardLocked() *pairing.Guard {
	if p.guard != nil {
		return p.guard
	}
	p.guard = pairing.NewGuard(p.cfg.Host, pairing.Hooks{
		Paired: func(pr pairing.Pairing) {
			if hub, err := p.hostedHub(); err == nil {
				hub.Paired(pr.Lookup, pr.Peer)
			}
		},
		Burned: func(lookup string) { go p.change(lookup, ChangeBurned, "") },
	})
	return p.guard
}

// CancelCode invalidates one of the hosted session's codes at once: here,
// in the session and at the rendezvous node. Specialists already in stay.
func (p *Process) CancelCode(ctx context.Context, typed string) error {
	code, err := ParseCode(typed)
	if err != nil {
		return err
	}
	inv, ok := p.book.get(code.Lookup)
	if !ok || inv.Kind != KindCode || inv.State.Final() {
		return fmt.Errorf("no open invitation code %s in this session", code)
	}
	_, _, err = p.book.apply(code.Lookup, ChangeCancelled, "")
	return err
}

// retireCode stops a code that reached a final state: the guard stops
// answering for it and the rendezvous node keeps why, so a later join is
// told "used", "cancelled", "the session has ended" in those words.
func (p *Process) retireCode(inv Invitation) error {
	p.mu.Lock()
	reg := p.codes[inv.ID]
	delete(p.codes, inv.ID)
	g := p.guard
	p.mu.Unlock()
	if g != nil {
		if inv.State == StateUsed {
			g.Retire(inv.ID)
		} else {
			g.Remove(inv.ID)
		}
	}
	if reg == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), 10*time.Second)
	defer cancel()
	if err := p.cfg.Rendezvous.Cancel(ctx, reg, reasonFor(inv.State)); err != nil {
		return fmt.Errorf("tell the rendezvous node the code is %s: %w", inv.State, err)
	}
	return nil
}

// renewCodes extends every open code that expires within codeRenewBefore.
func (p *Process) renewCodes() {
	due := p.cfg.Clock.Now().Add(codeRenewBefore)
	p.mu.Lock()
	var regs []*rendezvous.Registration
	for _, reg := range p.codes {
		if reg.Expires.Before(due) {
			regs = append(regs, reg)
		}
	}
	p.mu.Unlock()
	for _, reg := range regs {
		ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
		err := p.cfg.Rendezvous.Extend(ctx, reg, codeTTL)
		cancel()
		if err != nil {
			p.log.Warn("keep invitation code", "code", reg.Code.String(), "err", err)
		}
	}
}

// ParseCode reads a code as typed, or from an assist://join/CODE link.
func ParseCode(s string) (shortcode.Code, error) {
	code, _, err := ParseJoin(s)
	return code, err
}
