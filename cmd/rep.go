package cmd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"assist/config"
	"assist/gossip"
	"assist/ipc"
	"assist/pairing"
	"assist/portal"
	"assist/rendezvous"
	"assist/session"
	"assist/viewer"
)

// repProcess is a rep's running assist (the console, or a join hosting a
// session): its libp2p host, its portals' gossip, the sessions it is in,
// and the local socket through which 'assist invite', 'assist reps' and
// 'assist accept' reach it.
type repProcess struct {
	ctx   context.Context // the process's: sessions end with it
	node  *peerNode
	agent *gossip.Agent // nil when logged in to no portal
	ev    *Events
	log   *slog.Logger

	mu     sync.Mutex
	hosted *session.Host
	// hostedEv prints to the hosted session's terminal (which, for a join
	// delegated to the console, is not the console's).
	hostedEv *Events
	guests   map[*session.Guest]struct{}
	pending  map[string]*pendingInvite
	relayed  bool // a relay slot was reserved for invited reps
	// noBrowser: print viewer addresses instead of opening them (console).
	noBrowser bool
	pages     *pagePortal
	// consolePage is the console's page address ('assist console' only).
	consolePage string
	// External specialists: the pairing guard answering this host's
	// invitation codes, and the codes' registrations.
	guard *pairing.Guard
	codes map[string]*rendezvous.Registration
	// keepingCodes: keepCodes runs (started with the first code).
	keepingCodes bool
}

// pendingInvite is an invitation this process's session is waiting on.
type pendingInvite struct {
	alert    gossip.Alert
	outcomes chan inviteOutcome
	done     bool
}

type inviteOutcome struct {
	Event  string `json:"event"` // invite_accepted, invite_declined, invite_expired
	Alert  string `json:"alert"`
	Name   string `json:"name,omitempty"`
	Reason string `json:"reason,omitempty"`
}

var errNoPortal = errors.New("you are logged in to no portal: ask your portal manager for an enrollment token, then run 'assist login TOKEN'")

// errBusy: another assist process already runs for this identity.
type errBusy struct {
	dir string
	err error
}

func (e *errBusy) Error() string { return e.err.Error() }

// openRepProcess is how every long-running rep command starts: claim this
// identity's local socket (one process per identity), start the libp2p
// host, log in to the portals (show gets their news) and answer the other
// commands on the socket. close undoes it all.
func openRepProcess(ctx context.Context, io *IO, f *PeerFlags, ev *Events, show func(gossip.Event)) (rp *repProcess, close func(), err error) {
	log, err := newLogger(io.ErrOut, f.LogLevel)
	if err != nil {
		return nil, nil, err
	}
	dir, err := config.Dir()
	if err != nil {
		return nil, nil, err
	}
	srv, err := ipc.Listen(dir)
	if err != nil {
		return nil, nil, &errBusy{dir: dir, err: err}
	}
	node, err := startPeer(f)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	rp = newRepProcess(ctx, node, ev, log)
	if err := rp.startGossip(ctx, show); err != nil {
		node.close()
		srv.Close()
		return nil, nil, err
	}
	go srv.Serve(ctx, rp.serveLocal)
	return rp, func() {
		rp.close()
		node.close()
		srv.Close()
	}, nil
}

func newRepProcess(ctx context.Context, node *peerNode, ev *Events, log *slog.Logger) *repProcess {
	rp := &repProcess{ctx: ctx, node: node, ev: ev, log: log, guests: map[*session.Guest]struct{}{}, pending: map[string]*pendingInvite{},
		codes: map[string]*rendezvous.Registration{}}
	rp.pages = &pagePortal{rp: rp}
	return rp
}

// startGossip logs in to every portal this rep has a membership of; with
// none it does nothing (a rep without portals can still host sessions).
func (rp *repProcess) startGossip(ctx context.Context, onEvent func(gossip.Event)) error {
	ms, err := portal.Memberships(rp.node.configDir, time.Now())
	if err != nil || len(ms) == 0 {
		return err
	}
	a, err := gossip.Start(ctx, gossip.Config{
		Host: rp.node.host, Memberships: ms, Bootstrap: rp.node.rv, Sessions: rp.sessions, Logger: rp.log,
		OnEvent: func(e gossip.Event) {
			rp.gossipEvent(e)
			if onEvent != nil {
				onEvent(e)
			}
		},
		OnMembership: func(m *portal.Membership) {
			if err := portal.SaveMembership(rp.node.configDir, m); err != nil {
				rp.log.Warn("store rotated portal key", "err", err)
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
	rp.agent = a
	for _, st := range standings {
		rp.ev.Emit("portal", map[string]any{"portal": st.PortalName, "name": st.Name},
			fmt.Sprintf("Logged in to portal %s as %s", st.PortalName, st.Name))
	}
	return nil
}

func (rp *repProcess) close() {
	if rp.agent != nil {
		rp.agent.Close()
	}
}

// sessions is how many sessions this rep is in now, for presence.
func (rp *repProcess) sessions() int {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	n := len(rp.guests)
	if rp.hosted != nil {
		n++
	}
	return n
}

func (rp *repProcess) addGuest(g *session.Guest) {
	rp.mu.Lock()
	rp.guests[g] = struct{}{}
	rp.mu.Unlock()
	rp.sessionsChanged()
}

func (rp *repProcess) removeGuest(g *session.Guest) {
	rp.mu.Lock()
	delete(rp.guests, g)
	rp.mu.Unlock()
	rp.sessionsChanged()
}

func (rp *repProcess) sessionsChanged() {
	if rp.agent != nil {
		rp.agent.AnnounceNow()
	}
}

// hostConfig adds what a hosted session needs from the portals.
func (rp *repProcess) hostConfig(cfg session.HostConfig) session.HostConfig {
	if rp.agent != nil {
		cfg.VerifyRep = rp.agent.VerifyRep
	}
	cfg.OnInvitationUsed = func(inv session.Invitation, name string) {
		rp.outcome(inv.ID, inviteOutcome{Event: "invite_accepted", Alert: inv.ID, Name: name})
		if rp.agent != nil {
			go rp.agent.CloseAlert(inv.ID, name, "")
		}
	}
	return cfg
}

func (rp *repProcess) setHosted(h *session.Host, ev *Events) {
	rp.mu.Lock()
	rp.hosted, rp.hostedEv = h, ev
	rp.mu.Unlock()
	rp.sessionsChanged()
}

// gossipEvent shows the portal's news on the viewer pages and routes
// answers to the invitations waiting here.
func (rp *repProcess) gossipEvent(e gossip.Event) {
	rp.pages.publish(map[string]any{"event": e.Kind, "alert": e.Alert, "alert_id": e.AlertID, "by": e.By, "name": e.Name, "reason": e.Reason})
	if e.Kind == gossip.EvDeclined {
		rp.outcome(e.AlertID, inviteOutcome{Event: "invite_declined", Alert: e.AlertID, Name: e.Name})
	}
}

// outcome records an answer to a pending invitation and tells whoever waits.
func (rp *repProcess) outcome(id string, o inviteOutcome) {
	rp.mu.Lock()
	p := rp.pending[id]
	final := o.Event != "invite_declined" || (p != nil && p.alert.Target != "")
	if p != nil && !p.done {
		select {
		case p.outcomes <- o:
		default:
		}
		p.done = final
	}
	hosted, ev := rp.hosted, rp.sessionEvents()
	rp.mu.Unlock()
	if p == nil {
		return
	}
	text := map[string]string{
		"invite_accepted": o.Name + " accepted the invitation",
		"invite_declined": o.Name + " declined the invitation",
		"invite_expired":  "Nobody answered the invitation: it expired",
	}[o.Event]
	ev.Emit(o.Event, map[string]any{"alert": id, "name": o.Name}, text)
	rp.pages.publish(map[string]any{"event": o.Event, "alert_id": id, "name": o.Name})
	if final && o.Event != "invite_accepted" && hosted != nil {
		hosted.CancelInvitation(id)
		if rp.agent != nil {
			go rp.agent.CloseAlert(id, "", strings.TrimPrefix(o.Event, "invite_"))
		}
	}
}

// sessionEvents is where the hosted session's news is printed; rp.mu held.
func (rp *repProcess) sessionEvents() *Events {
	if rp.hostedEv != nil {
		return rp.hostedEv
	}
	return rp.ev
}

// inviteArgs are 'assist invite' options as they cross the socket.
type inviteArgs struct {
	// External: an invitation code for specialists, with Access rights.
	External   bool          `json:"external,omitempty"`
	AllowShare bool          `json:"allow_share,omitempty"`
	Access     string        `json:"access,omitempty"`
	MaxUses    int           `json:"max_uses,omitempty"`
	Rep        string        `json:"rep,omitempty"`
	Portal     string        `json:"portal,omitempty"`
	Mask       bool          `json:"mask,omitempty"`
	Comment    string        `json:"comment,omitempty"`
	TTL        time.Duration `json:"ttl,omitempty"`
}

// invite opens an invitation in the hosted session and alerts the portal
// (or the one rep).
func (rp *repProcess) invite(ctx context.Context, a inviteArgs) (*pendingInvite, error) {
	hub, err := rp.hostedOrErr()
	if err != nil {
		return nil, err
	}
	if rp.agent == nil {
		return nil, errNoPortal
	}
	if len(a.Comment) > gossip.MaxComment {
		return nil, fmt.Errorf("the comment has more than %d characters", gossip.MaxComment)
	}
	var target gossip.Rep
	portalName := a.Portal
	switch {
	case a.Rep != "" && a.Portal == "":
		r, err := rp.findRep(a.Rep)
		if err != nil {
			return nil, err
		}
		target, portalName = r, r.PortalName
	case a.Rep == "" && a.Portal != "":
	default:
		return nil, fmt.Errorf("give exactly one of --rep NAME or --portal NAME")
	}
	_, cred, err := rp.agent.Membership(portalName)
	if err != nil {
		return nil, err
	}
	if a.TTL <= 0 {
		a.TTL = 2 * time.Minute
	}
	id := randomHex(8)
	ticket := make([]byte, 16)
	_, _ = rand.Read(ticket)
	expires := time.Now().Add(a.TTL)
	hub.AddInvitation(session.Invitation{ID: id, Ticket: ticket, Target: target.Peer, Masked: a.Mask, Expires: expires, Comment: a.Comment})
	al := gossip.Alert{ID: id, Session: hub.ID(), Addrs: rp.dialAddrs(), Target: target.Peer, Masked: a.Mask,
		Comment: a.Comment, Ticket: ticket, Expires: expires}
	p := &pendingInvite{alert: al, outcomes: make(chan inviteOutcome, 64)}
	rp.mu.Lock()
	rp.pending[id] = p
	rp.mu.Unlock()
	if err := rp.agent.Invite(ctx, cred.Portal, al); err != nil {
		hub.CancelInvitation(id)
		return nil, err
	}
	time.AfterFunc(a.TTL, func() { rp.outcome(id, inviteOutcome{Event: "invite_expired", Alert: id}) })
	who := "every rep of portal " + cred.PortalName
	if target.Peer != "" {
		who = target.Name
	}
	rp.mu.Lock()
	ev := rp.sessionEvents()
	rp.mu.Unlock()
	ev.Emit("invited", map[string]any{"alert": id, "to": who, "masked": a.Mask, "expires": expires},
		fmt.Sprintf("Invited %s (alert %s, open for %v)", who, id, a.TTL.Round(time.Second)))
	rp.pages.publish(map[string]any{"event": "invited", "alert_id": id, "name": who})
	return p, nil
}

// findRep finds one online rep by name (case-insensitive, exact first).
func (rp *repProcess) findRep(name string) (gossip.Rep, error) {
	var exact, partial []gossip.Rep
	for _, r := range rp.agent.Reps("", "") {
		if r.Peer == rp.node.host.ID() {
			continue
		}
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
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, r := range found {
		names[i] = r.Name + " (" + r.PortalName + ")"
	}
	return gossip.Rep{}, fmt.Errorf("%q matches %s: be more precise", name, strings.Join(names, ", "))
}

// dialAddrs are the addresses an invited rep dials this host at: its own
// and, so a rep outside this host's NAT gets in too, circuit addresses at
// the rendezvous nodes' relays (reserved on the first invitation, then kept).
func (rp *repProcess) dialAddrs() []string {
	rp.ensureRelay()
	var out []string
	for _, a := range rp.node.rv.DialAddrs() {
		out = append(out, a.String())
	}
	return out
}

// ensureRelay reserves relay slots at the rendezvous nodes the first time
// someone is invited, and keeps them for as long as this process runs
// (sessions outlast one reservation).
func (rp *repProcess) ensureRelay() {
	rp.mu.Lock()
	reserve := !rp.relayed
	rp.relayed = true
	rp.mu.Unlock()
	if !reserve {
		return
	}
	renewed := func(expires time.Time, err error) {
		if err != nil {
			rp.log.Warn("relay slot renewal failed, retrying in 30 s", "err", err)
			return
		}
		rp.log.Debug("relay slot renewed", "until", expires)
	}
	if err := rp.node.rv.KeepRelay(rp.ctx, renewed); err != nil {
		rp.log.Warn("no relay slot: invited peers outside this network may not reach the session", "err", err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// accept joins the session of an open alert and opens a viewer.
func (rp *repProcess) accept(ctx context.Context, id string, noBrowser bool) (*session.Guest, *viewer.Server, error) {
	if rp.agent == nil {
		return nil, nil, errNoPortal
	}
	al, err := rp.agent.Alert(id)
	if err != nil {
		return nil, nil, err
	}
	ms, _, err := rp.agent.Membership(al.Portal.String())
	if err != nil {
		return nil, nil, err
	}
	info := peer.AddrInfo{ID: al.Host}
	for _, s := range al.Addrs {
		if ai, err := peer.AddrInfoFromString(s + "/p2p/" + al.Host.String()); err == nil {
			info.Addrs = append(info.Addrs, ai.Addrs...)
		}
	}
	g, err := session.JoinSession(ctx, session.GuestConfig{Host: rp.node.host, Session: info, Invite: al.ID, Ticket: al.Ticket,
		Credential: ms.Credential, OnEvent: func(e session.Event) { rp.ev.Emit(e.Kind, eventFields(e), joinText(e)) }})
	if err != nil {
		return nil, nil, err
	}
	rp.agent.Forget(al.ID)
	v, err := viewer.Start(g, rp.viewerPortal(), rp.log)
	if err != nil {
		g.Leave()
		return nil, nil, err
	}
	rp.addGuest(g)
	rp.ev.Emit("viewer", map[string]any{"url": v.URL(), "session": g.ID()}, "Viewer: "+v.URL())
	if !noBrowser {
		openBrowser(v.URL(), rp.log)
	}
	go func() {
		_ = g.Run(rp.ctx)
		v.Close()
		rp.removeGuest(g)
	}()
	return g, v, nil
}

// serveLocal answers the other commands on the local socket.
func (rp *repProcess) serveLocal(ctx context.Context, req ipc.Request, in io.Reader, send func(any) error) error {
	switch req.Op {
	case "reps":
		var a repsArgs
		_ = json.Unmarshal(req.Args, &a)
		if rp.agent == nil {
			return errNoPortal
		}
		for _, r := range rp.agent.Reps(a.Portal, a.Text) {
			if err := send(r); err != nil {
				return err
			}
		}
		return nil
	case "invite_cancel":
		var a acceptArgs
		_ = json.Unmarshal(req.Args, &a)
		return rp.cancelCode(ctx, a.ID)
	case "stop_share":
		hub, err := rp.hostedOrErr()
		if err != nil {
			return err
		}
		return hub.StopShare()
	case "remove", "rights":
		var a attendeeArgs
		_ = json.Unmarshal(req.Args, &a)
		hub, err := rp.hostedOrErr()
		if err != nil {
			return err
		}
		if req.Op == "remove" {
			return hub.Remove(a.Name)
		}
		return hub.SetRights(a.Name, a.Rights)
	case "invite":
		var a inviteArgs
		if err := json.Unmarshal(req.Args, &a); err != nil {
			return err
		}
		if a.External {
			inv, err := rp.inviteExternal(ctx, a)
			if err != nil {
				return err
			}
			return send(inv)
		}
		p, err := rp.invite(ctx, a)
		if err != nil {
			return err
		}
		if err := send(inviteOutcome{Event: "invited", Alert: p.alert.ID}); err != nil {
			return err
		}
		for {
			select {
			case <-ctx.Done():
				return nil
			case o := <-p.outcomes:
				if err := send(o); err != nil {
					return nil
				}
				if o.Event != "invite_declined" || p.alert.Target != "" {
					return nil
				}
			}
		}
	case "accept":
		var a acceptArgs
		_ = json.Unmarshal(req.Args, &a)
		g, v, err := rp.accept(ctx, a.ID, a.NoBrowser || rp.noBrowser)
		if err != nil {
			return err
		}
		return send(map[string]string{"session": g.ID(), "url": v.URL()})
	case "join":
		var a joinArgs
		if err := json.Unmarshal(req.Args, &a); err != nil {
			return err
		}
		// The client's terminal: its stdin arrives on in, and the session
		// ends when it goes away (Ctrl-C there closes the socket).
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ev := NewEvents(lineSender(send), a.JSON)
		return rp.hostSession(ctx, a, ev, &cancelOnEOF{r: in, cancel: cancel})
	case "decline":
		var a acceptArgs
		_ = json.Unmarshal(req.Args, &a)
		if rp.agent == nil {
			return errNoPortal
		}
		return rp.agent.Decline(ctx, a.ID)
	case "alerts":
		if rp.agent == nil {
			return nil
		}
		for _, al := range rp.agent.Alerts() {
			if err := send(al); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown request %q: is the running assist older than this one?", req.Op)
}

// lineSender writes each line of a delegated command's output as a reply.
type lineSender func(any) error

func (s lineSender) Write(p []byte) (int, error) {
	if err := s(string(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// cancelOnEOF cancels when the client's stream ends: the client is gone.
type cancelOnEOF struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelOnEOF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil {
		c.cancel()
	}
	return n, err
}

type repsArgs struct {
	Portal string `json:"portal,omitempty"`
	Text   string `json:"text,omitempty"`
}

type acceptArgs struct {
	ID        string `json:"id"`
	NoBrowser bool   `json:"no_browser,omitempty"`
}

// notifyDesktop shows a desktop notification where one can be shown.
func notifyDesktop(title, body string) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return
	}
	path, err := exec.LookPath("notify-send")
	if err != nil {
		return
	}
	c := exec.Command(path, "--app-name=assist", title, body)
	if c.Start() == nil {
		go func() { _ = c.Wait() }()
	}
}
