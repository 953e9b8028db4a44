package cmd

import (
	"assist/rights"
	"context"
	"fmt"
	"time"

	"assist/pairing"
	"assist/portal"
	"assist/rendezvous"
	"assist/session"
)

// externalInvitation is what 'assist invite --external' gets back.
type externalInvitation struct {
	Code     string `json:"code"`
	Link     string `json:"link"`
	Rights   string `json:"rights"`
	MaxUses  int    `json:"max_uses"`
	HostName string `json:"host_name"`
	Portal   string `json:"portal"`
	JoinPage string `json:"join_page,omitempty"`
}

// inviteExternal opens an invitation code for external specialists in the
// hosted session, as far as the portal's signed settings allow.
func (rp *repProcess) inviteExternal(ctx context.Context, a inviteArgs) (*externalInvitation, error) {
	hub, err := rp.hostedOrErr()
	if err != nil {
		return nil, err
	}
	if rp.agent == nil {
		return nil, fmt.Errorf("external specialists are allowed by a portal's manager, and %v", errNoPortal)
	}
	_, cred, err := rp.agent.Membership(orDefaultPortal(rp, a.Portal))
	if err != nil {
		return nil, err
	}
	// The manager may have just changed them: ask the rendezvous node.
	if err := rp.agent.Refresh(ctx, cred.Portal); err != nil {
		return nil, err
	}
	st := rp.agent.Settings(cred.Portal)
	if !st.ExternalsAllowed {
		return nil, fmt.Errorf("portal %s does not allow external specialists: a manager of the portal enables them with 'assist portal settings %q --externals on'", cred.PortalName, cred.PortalName)
	}
	access := a.Access
	if access == "" {
		access = rights.View
	}
	if !rights.Valid(access) {
		return nil, usageErrorf("--access is view or control, not %q", access)
	}
	if access == rights.Control && st.MaxRights != rights.Control {
		return nil, fmt.Errorf("portal %s allows specialists at most view rights: a manager can raise it with 'assist portal settings %q --max-rights control'", cred.PortalName, cred.PortalName)
	}
	if a.AllowShare && !st.SpecialistShare {
		return nil, fmt.Errorf("portal %s does not let specialists share their screen: a manager enables it with 'assist portal settings %q --specialist-share on'", cred.PortalName, cred.PortalName)
	}
	uses := max(1, a.MaxUses)
	rp.ensureRelay() // so specialists outside this network get in
	reg, err := rp.node.rv.Register(ctx, rendezvous.KindInvitation, codeTTL)
	if err != nil {
		return nil, fmt.Errorf("register the invitation code: %w", err)
	}
	rp.mu.Lock()
	rp.ensureGuardLocked(hub)
	rp.codes[reg.Code.Lookup] = reg
	if !rp.keepingCodes {
		rp.keepingCodes = true
		go rp.keepCodes(rp.ctx)
	}
	rp.mu.Unlock()
	// The code lives as long as the session (endInvitations, keepCodes),
	// or until it is used up or cancelled.
	hub.AddInvitation(session.Invitation{ID: reg.Code.Lookup, Specialist: true, Rights: access, MaxUses: uses,
		AllowShare: a.AllowShare})
	rp.guard.Add(reg.Code, string(reg.Kind), uses)
	inv := &externalInvitation{Code: reg.Code.String(), Link: "assist://join/" + reg.Code.String(), Rights: access,
		MaxUses: uses, HostName: hub.Name(), Portal: cred.PortalName, JoinPage: reg.JoinPage}
	rp.mu.Lock()
	ev := rp.sessionEvents()
	rp.mu.Unlock()
	ev.Emit("invitation_code", map[string]any{"code": inv.Code, "rights": access, "max_uses": uses},
		fmt.Sprintf("Invitation code %s for %s (%s) — the specialist runs 'assist join %s'", inv.Code, plural(uses, "specialist"), access, inv.Code))
	return inv, nil
}

// An invitation code is registered for codeTTL and extended while its
// session runs: checked every codeCheckEvery, extended once less than
// codeRenewBefore is left. The rendezvous node allows 24 h at most.
const (
	codeTTL         = 12 * time.Hour
	codeRenewBefore = 6 * time.Hour
	codeCheckEvery  = 30 * time.Minute
)

// keepCodes keeps this process's invitation codes registered for as long
// as they are open, however long the session runs.
func (rp *repProcess) keepCodes(ctx context.Context) {
	t := time.NewTicker(codeCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rp.renewCodes(ctx, time.Now().Add(codeRenewBefore))
		}
	}
}

// renewCodes extends every open code that expires before due.
func (rp *repProcess) renewCodes(ctx context.Context, due time.Time) {
	rp.mu.Lock()
	var regs []*rendezvous.Registration
	for _, reg := range rp.codes {
		if reg.Expires.Before(due) {
			regs = append(regs, reg)
		}
	}
	rp.mu.Unlock()
	for _, reg := range regs {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := rp.node.rv.Extend(cctx, reg, codeTTL)
		cancel()
		if err != nil {
			rp.log.Warn("keep invitation code", "code", reg.Code.String(), "err", err)
		}
	}
}

// orDefaultPortal is the portal named, or this rep's only one.
func orDefaultPortal(rp *repProcess, name string) string {
	if name != "" {
		return name
	}
	if creds, err := portal.Credentials(rp.node.configDir, time.Now()); err == nil && len(creds) == 1 {
		return creds[0].Portal.String()
	}
	return "" // Membership explains which portals there are
}

// ensureGuardLocked answers pairing attempts for this host's invitation
// codes; a peer that proves one is let in by the session. rp.mu held.
func (rp *repProcess) ensureGuardLocked(hub *session.Host) {
	if rp.guard != nil {
		return
	}
	rp.guard = pairing.NewGuard(rp.node.host, pairing.Hooks{
		Paired: func(p pairing.Pairing) { hub.Paired(p.Lookup, p.Peer) },
		UsedUp: func(lookup string) { go rp.retireCode(lookup, rendezvous.ReasonUsed) },
		Burned: func(lookup string) {
			go rp.retireCode(lookup, rendezvous.ReasonBurned)
			rp.ev.Emit("notice", nil, "An invitation code was blocked after too many wrong attempts")
		},
	})
}

// cancelCode invalidates one of this host's invitation codes at once:
// here, in the session and at the rendezvous node.
func (rp *repProcess) cancelCode(ctx context.Context, typed string) error {
	code, err := parseJoinCode(typed)
	if err != nil {
		return err
	}
	rp.mu.Lock()
	_, ok := rp.codes[code.Lookup]
	hub := rp.hosted
	rp.mu.Unlock()
	if !ok {
		return fmt.Errorf("no open invitation code %s in this session", code)
	}
	if hub != nil {
		hub.CancelInvitation(code.Lookup)
	}
	return rp.retireCodeCtx(ctx, code.Lookup, rendezvous.ReasonCancelled)
}

func (rp *repProcess) retireCode(lookup string, why rendezvous.Reason) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rp.retireCodeCtx(ctx, lookup, why); err != nil {
		rp.log.Warn("retire invitation code", "err", err)
	}
}

func (rp *repProcess) retireCodeCtx(ctx context.Context, lookup string, why rendezvous.Reason) error {
	rp.mu.Lock()
	reg := rp.codes[lookup]
	delete(rp.codes, lookup)
	g := rp.guard
	rp.mu.Unlock()
	if g != nil {
		g.Remove(lookup)
	}
	if reg == nil {
		return nil
	}
	rp.pages.publish(map[string]any{"event": "code_closed", "code": reg.Code.String(), "reason": string(why)})
	return rp.node.rv.Cancel(ctx, reg, why)
}

// endInvitations retires every code when the hosted session ends, so a
// later join hears "the session has ended".
func (rp *repProcess) endInvitations() {
	rp.mu.Lock()
	var lookups []string
	for l := range rp.codes {
		lookups = append(lookups, l)
	}
	rp.mu.Unlock()
	for _, l := range lookups {
		rp.retireCode(l, rendezvous.ReasonEnded)
	}
}

// attendeeArgs name an attendee for 'assist remove' and 'assist rights'.
type attendeeArgs struct {
	Name   string `json:"name"`
	Rights string `json:"rights,omitempty"`
}

func (rp *repProcess) hostedOrErr() (*session.Host, error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.hosted == nil {
		return nil, fmt.Errorf("this process hosts no session: run it where 'assist join KEY' runs")
	}
	return rp.hosted, nil
}
