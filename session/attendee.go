package session

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"assist/p2p"
	"assist/rights"
	"assist/screen"
)

// Invitation lets someone into a running session.
type Invitation struct {
	ID string
	// Ticket is the secret the alert carries; the joiner must present it.
	Ticket []byte
	// Target, when set, is the only peer that may use the invitation.
	Target peer.ID
	Masked bool
	Rights string
	// Expires ends the invitation; zero: it lasts until the session ends
	// or it is cancelled (specialist codes, which the host keeps alive).
	Expires time.Time
	// MaxUses is how many may come in with it (default 1).
	MaxUses int
	Comment string
	// Specialist invitations admit peers that proved the invitation code
	// (see Paired) under the name they give, with Rights; no credential.
	Specialist bool
	// AllowShare lets these specialists share their own screen into the
	// session (the portal's settings and the host both said yes).
	AllowShare bool

	used    int
	takenBy string
	paired  map[peer.ID]bool
}

// MaxSpecialists is how many external specialists a session holds at once.
const MaxSpecialists = 5

// RoleSpecialist is an external specialist's role.
const RoleSpecialist = "specialist"

// ErrSessionFull refuses a sixth specialist.
var ErrSessionFull = fmt.Errorf("this session already has %d external specialists, the most it can hold", MaxSpecialists)

// DeniedError is the host's refusal to admit an attendee.
type DeniedError struct {
	Reason  string
	TakenBy string // set when someone else was admitted first
}

func (e *DeniedError) Error() string {
	if e.TakenBy != "" {
		return fmt.Sprintf("%s has already joined with this invitation", e.TakenBy)
	}
	return "not admitted: " + e.Reason
}

// ErrTaken reports that another rep was admitted first.
var ErrTaken = errors.New("invitation already taken")

func (e *DeniedError) Is(target error) bool { return target == ErrTaken && e.TakenBy != "" }

// attendee is someone in the session besides the customer and the host.
type attendee struct {
	Attendee
	peer     peer.ID
	link     *link
	joined   time.Time
	mayShare bool
	// The customer said yes to this attendee controlling (allowed), or
	// was asked and has not answered (asked). Control rights alone are
	// not enough: nobody steers the customer's machine whom the customer
	// has not let.
	controlAsked, controlAllowed bool
}

// AddInvitation opens inv for joiners until it expires or is used up.
func (h *Host) AddInvitation(inv Invitation) {
	if inv.MaxUses <= 0 {
		inv.MaxUses = 1
	}
	if inv.Rights == "" {
		inv.Rights = rights.Control
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.invitations == nil {
		h.invitations = map[string]*Invitation{}
	}
	h.invitations[inv.ID] = &inv
}

// Paired records that p proved the code of specialist invitation id.
func (h *Host) Paired(id string, p peer.ID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if inv := h.invitations[id]; inv != nil {
		if inv.paired == nil {
			inv.paired = map[peer.ID]bool{}
		}
		inv.paired[p] = true
	}
}

// CancelInvitation closes an invitation; attendees already in stay.
func (h *Host) CancelInvitation(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.invitations[id]
	delete(h.invitations, id)
	return ok
}

// handleAttendee admits an attendee and serves its link.
func (h *Host) handleAttendee(s network.Stream) {
	l := newLink(s)
	m, err := l.recv()
	if err != nil || m.Type != TypeJoin {
		s.Reset()
		return
	}
	a, inv, err := h.admit(s.Conn().RemotePeer(), m)
	if err != nil {
		var d *DeniedError
		if errors.As(err, &d) {
			_ = l.send(Msg{Type: TypeDenied, Reason: d.Reason, Name: d.TakenBy})
		}
		_ = s.CloseWrite()
		time.AfterFunc(2*time.Second, func() { s.Reset() })
		return
	}
	a.link = l
	if h.cfg.OnInvitationUsed != nil {
		h.cfg.OnInvitationUsed(*inv, a.Name)
	}
	view, control := h.Consent()
	if err := l.send(Msg{Type: TypeWelcome, Session: h.id, Name: h.cfg.Name, Role: a.Role, Rights: a.Rights,
		Masked: a.Masked, Share: a.mayShare, View: view, Control: control}); err != nil {
		h.removeAttendee(a, "")
		return
	}
	for _, c := range h.History() {
		_ = l.send(Msg{Type: TypeChat, Chat: &c})
	}
	go l.pinger(h.done)
	h.attendeeJoined(a)
	h.serveAttendee(a)
}

// admit checks a join request against the open invitations; the first
// valid request wins, under the host's lock, however many arrive at once.
func (h *Host) admit(from peer.ID, m Msg) (*attendee, *Invitation, error) {
	h.mu.Lock()
	inv := h.invitations[m.Invite]
	h.mu.Unlock()
	switch {
	case h.isEnded():
		return nil, nil, &DeniedError{Reason: "the session has ended"}
	case inv == nil:
		return nil, nil, &DeniedError{Reason: "no such invitation (cancelled or expired)"}
	case !inv.Specialist && subtle.ConstantTimeCompare(inv.Ticket, m.Ticket) != 1:
		return nil, nil, &DeniedError{Reason: "wrong invitation ticket"}
	case inv.Target != "" && inv.Target != from:
		return nil, nil, &DeniedError{Reason: "this invitation is for another rep"}
	case !inv.Expires.IsZero() && time.Now().After(inv.Expires):
		return nil, nil, &DeniedError{Reason: "the invitation has expired"}
	}
	name, role, err := h.identify(from, inv, m)
	if err != nil {
		return nil, nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if role == RoleSpecialist && h.countLocked(RoleSpecialist) >= MaxSpecialists {
		go h.refusedFull(*inv, name)
		return nil, nil, &DeniedError{Reason: ErrSessionFull.Error()}
	}
	if h.invitations[m.Invite] != inv {
		return nil, nil, &DeniedError{Reason: "no such invitation (cancelled or expired)"}
	}
	if inv.used >= inv.MaxUses {
		return nil, nil, &DeniedError{Reason: "taken", TakenBy: inv.takenBy}
	}
	if _, in := h.attendees[from]; in {
		return nil, nil, &DeniedError{Reason: "you are already in this session"}
	}
	inv.used++
	inv.takenBy = name
	masked := inv.Masked && role == RoleRep
	granted := inv.Rights
	if masked { // nobody the customer cannot see touches its machine
		granted = rights.View
	}
	a := &attendee{Attendee: Attendee{Name: name, Role: role, Peer: from.String(), Rights: granted, Masked: masked},
		peer: from, joined: time.Now(), mayShare: inv.AllowShare && role == RoleSpecialist}
	if h.attendees == nil {
		h.attendees = map[peer.ID]*attendee{}
	}
	h.attendees[from] = a
	return a, inv, nil
}

// refusedFull tells the host's UI, and whoever counts the invitation's
// uses, that a specialist could not come in: the session was full. The
// refusal uses nothing up; the same invitation works once a place frees.
func (h *Host) refusedFull(inv Invitation, name string) {
	h.emit(Event{Kind: EvNotice, Text: fmt.Sprintf("%s could not join: the session already has %d external specialists", name, MaxSpecialists)})
	if h.cfg.OnInvitationRefused != nil {
		h.cfg.OnInvitationRefused(inv, name, ErrSessionFull)
	}
}

// Present reports whether p is in the session: its host, its customer or
// an attendee.
func (h *Host) Present(p peer.ID) bool {
	return p == h.cfg.Host.ID() || p == h.cfg.Customer.ID || h.isAttendee(p)
}

// identify is who a join request comes from: a rep by its verified
// credential, a specialist (who proved the code) by the name it gives.
func (h *Host) identify(from peer.ID, inv *Invitation, m Msg) (name, role string, err error) {
	if inv.Specialist {
		h.mu.Lock()
		proved := inv.paired[from]
		h.mu.Unlock()
		if !proved {
			return "", "", &DeniedError{Reason: "prove the invitation code first"}
		}
		name := cleanName(m.Name)
		if name == "" {
			return "", "", &DeniedError{Reason: "a name is required"}
		}
		return name, RoleSpecialist, nil
	}
	if h.cfg.VerifyRep == nil {
		return "", "", &DeniedError{Reason: "this session admits no reps"}
	}
	name, err = h.cfg.VerifyRep(from, m.Credential)
	if err != nil {
		return "", "", &DeniedError{Reason: "credential refused: " + err.Error()}
	}
	return name, RoleRep, nil
}

// cleanName keeps a name a person typed printable and short.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, strings.TrimSpace(s))
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.TrimSpace(s)
}

func (h *Host) countLocked(role string) int {
	n := 0
	for _, a := range h.attendees {
		if a.Role == role {
			n++
		}
	}
	return n
}

// SetRights changes an attendee's rights (a rep's or a specialist's).
func (h *Host) SetRights(name, to string) error {
	if !rights.Valid(to) {
		return fmt.Errorf("rights are %q or %q", rights.View, rights.Control)
	}
	a, err := h.attendeeNamed(name)
	if err != nil {
		return err
	}
	if a.Masked && to == rights.Control {
		return fmt.Errorf("%s is masked: the customer cannot see them, so they cannot control the customer's screen", a.Name)
	}
	h.mu.Lock()
	a.Rights = to
	h.mu.Unlock()
	_ = a.link.send(Msg{Type: TypeNotice, Text: "your rights are now: " + to, Rights: to})
	h.sendAttendees()
	return nil
}

// Remove takes an attendee out of the session.
func (h *Host) Remove(name string) error {
	a, err := h.attendeeNamed(name)
	if err != nil {
		return err
	}
	_ = a.link.send(Msg{Type: TypeEnd, Reason: "the representative removed you from the session"})
	h.removeAttendee(a, "removed")
	return nil
}

func (h *Host) attendeeNamed(name string) (*attendee, error) {
	var found []*attendee
	for _, a := range h.attendeeList() {
		if strings.EqualFold(a.Name, name) {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("nobody named %q is in the session", name)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("%d attendees are named %q", len(found), name)
}

// attendeeJoined tells everyone who may know: the host's UI and every
// attendee always, the customer only about unmasked attendees.
func (h *Host) attendeeJoined(a *attendee) {
	text := a.Name + " has joined the session"
	if a.Masked {
		h.emit(Event{Kind: EvJoined, Name: a.Name, Peer: a.Peer, Text: text + " (masked: the customer does not see them)"})
	} else {
		h.emit(Event{Kind: EvJoined, Name: a.Name, Peer: a.Peer, Text: text})
		h.noticeCustomer(text)
	}
	h.noticeAttendees(text, a.peer)
	h.sendAttendees()
}

func (h *Host) removeAttendee(a *attendee, why string) {
	h.mu.Lock()
	if h.attendees[a.peer] != a {
		h.mu.Unlock()
		return
	}
	delete(h.attendees, a.peer)
	h.mu.Unlock()
	a.link.close()
	h.share.stopBy(a.peer) // whoever leaves stops sharing too
	if why == "" || h.isEnded() {
		return
	}
	text := a.Name + " has left the session"
	h.emit(Event{Kind: EvLeft, Name: a.Name, Peer: a.Peer, Text: text})
	if !a.Masked {
		h.noticeCustomer(text)
	}
	h.noticeAttendees(text, "")
	h.sendAttendees()
}

func (h *Host) serveAttendee(a *attendee) {
	defer h.removeAttendee(a, "left")
	for {
		m, err := a.link.recv()
		if err != nil {
			return
		}
		switch m.Type {
		case TypeChat:
			if m.Chat != nil {
				_ = h.relayChat(a, m.Chat.Text, m.Chat.Internal)
			}
		case TypeInput:
			if m.Input != nil {
				h.attendeeInput(a, m)
			}
		case TypeRequest:
			h.askControlFor(a)
		case TypeEnd:
			return
		}
	}
}

// askControlFor asks the customer to let an attendee with control rights
// steer, once until the customer answers. A masked rep never may: it has
// view rights only.
func (h *Host) askControlFor(a *attendee) (asked bool) {
	h.mu.Lock()
	ask := a.Rights == rights.Control && !a.controlAllowed && !a.controlAsked
	a.controlAsked = a.controlAsked || ask
	h.mu.Unlock()
	if ask {
		_ = h.requestControl(a.Name)
	}
	return ask
}

// controlAnswered records the customer's answer to an attendee's request
// and tells the attendee.
func (h *Host) controlAnswered(name string, allowed bool) {
	var told []*link
	h.mu.Lock()
	for _, a := range h.attendees {
		if a.Name == name && a.controlAsked {
			a.controlAsked, a.controlAllowed = false, allowed
			told = append(told, a.link)
		}
	}
	h.mu.Unlock()
	text := "the customer did not let you control"
	if allowed {
		text = "the customer allowed you to control"
	}
	for _, l := range told {
		_ = l.send(Msg{Type: TypeNotice, Text: text})
	}
}

// forgetControlAnswers: the customer took control back from everyone.
func (h *Host) forgetControlAnswersLocked() {
	for _, a := range h.attendees {
		a.controlAsked, a.controlAllowed = false, false
	}
}

// attendeeInput forwards input only from attendees with control rights
// whom the customer let steer; the customer's gate then checks its own
// consent again.
func (h *Host) attendeeInput(a *attendee, m Msg) {
	h.mu.Lock()
	may, allowed := a.Rights == rights.Control, a.controlAllowed
	h.mu.Unlock()
	if !may {
		_ = a.link.send(Msg{Type: TypeNotice, Text: "input dropped: you are view only"})
		return
	}
	if !allowed {
		if h.askControlFor(a) {
			_ = a.link.send(Msg{Type: TypeNotice, Text: "the customer is asked to let you control; your input is dropped until they allow it"})
		}
		return
	}
	if err := h.Input(*m.Input); err != nil && !errors.Is(err, ErrNoControl) {
		_ = a.link.send(Msg{Type: TypeNotice, Text: "input failed: " + err.Error()})
	}
}

// relayChat passes an attendee's message on. A masked rep's messages are
// always internal: the customer must not learn they are there.
func (h *Host) relayChat(a *attendee, text string, internal bool) error {
	if text == "" || len(text) > MaxChatText {
		return fmt.Errorf("a chat message has 1 to %d characters", MaxChatText)
	}
	internal = internal || a.Masked
	h.postChat(Chat{From: a.Name, Role: a.Role, Text: text, Time: time.Now().UTC(), Internal: internal})
	return nil
}

// postChat records a message and sends it to whoever may read it.
// It is in the transcript (fsynced) before anyone can have read it.
func (h *Host) postChat(m Chat) {
	if !m.Internal {
		m = h.chat.add(m) // numbered for resending to the customer
	}
	h.addHistory(m)
	h.emit(Event{Kind: EvChat, Chat: &m})
	if !m.Internal {
		h.mu.Lock()
		l := h.link
		h.mu.Unlock()
		if l != nil {
			_ = l.send(Msg{Type: TypeChat, Chat: &m})
		}
	}
	h.toAttendees(Msg{Type: TypeChat, Chat: &m}, "")
}

// toAttendees sends m to every attendee except skip.
func (h *Host) toAttendees(m Msg, skip peer.ID) {
	for _, a := range h.attendeeList() {
		if a.peer != skip {
			_ = a.link.send(m)
		}
	}
}

func (h *Host) attendeeList() []*attendee {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*attendee, 0, len(h.attendees))
	for _, a := range h.attendees {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].joined.Before(out[j].joined) })
	return out
}

func (h *Host) noticeCustomer(text string) {
	h.mu.Lock()
	l := h.link
	h.mu.Unlock()
	if l != nil {
		_ = l.send(Msg{Type: TypeNotice, Text: text})
	}
}

func (h *Host) noticeAttendees(text string, skip peer.ID) {
	h.toAttendees(Msg{Type: TypeNotice, Text: text}, skip)
}

// customerAttendees is the attendee list with every masked rep left out.
func customerAttendees(all []Attendee) []Attendee {
	out := make([]Attendee, 0, len(all))
	for _, a := range all {
		if !a.Masked {
			out = append(out, a)
		}
	}
	return out
}

// forAttendees is the attendee list as attendees get it: without the
// customer's peer ID, with which they could reach the customer's machine
// through its relay slot and learn its addresses. Only the host talks to
// the customer.
func forAttendees(all []Attendee) []Attendee {
	out := slices.Clone(all)
	for i := range out {
		if out[i].Role == RoleCustomer {
			out[i].Peer = ""
		}
	}
	return out
}

// handleFeed streams the customer's screen to an admitted attendee.
func (h *Host) handleFeed(s network.Stream) { h.feed(s, h.mirror) }

// feed streams a mirror to an admitted attendee until either side ends.
func (h *Host) feed(s network.Stream, m *screen.Mirror) {
	if !h.isAttendee(s.Conn().RemotePeer()) {
		s.Reset()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-h.done:
		case <-ctx.Done():
		}
		cancel()
	}()
	paced := s.Protocol() == FeedProtocol || s.Protocol() == SharedFeedProtocol
	pump(ctx, s, m, paced, func() bool { return h.isAttendee(s.Conn().RemotePeer()) })
	s.Reset()
}

// pump writes a mirror's updates to w until ctx ends, a write fails or
// still (checked after each update) says stop. Paced, the receiver
// acknowledges frame ends (how many it has had): the pump then waits
// while the link holds what it passes in TargetDelay, and the mirror
// keeps no more than that queued for it, sending the squares that changed
// whole once it falls behind.
func pump(ctx context.Context, w network.Stream, m *screen.Mirror, paced bool, still ...func() bool) {
	sub := m.Subscribe()
	defer sub.Close()
	var link *screen.Link
	if paced {
		link = screen.NewLink()
		go readAcks(w, link)
	}
	var ends uint64
	for {
		if link != nil {
			if !waitLink(ctx, link, still) {
				return
			}
			sub.SetLimit(int(link.Window()))
		}
		msgs, err := sub.Next(ctx)
		if err != nil {
			return
		}
		n, start := 0, time.Now()
		for _, msg := range msgs {
			_ = w.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if err := p2p.WriteFrame(w, msg); err != nil {
				return
			}
			n += len(msg)
			if msg[0] == screen.MsgFrameEnd && link != nil {
				ends++
				link.Sent(ends, n, start)
				n, start = 0, time.Now()
			}
		}
		for _, ok := range still {
			if !ok() {
				return
			}
		}
	}
}

// waitLink waits until link has room and reports whether to go on: not
// once ctx ends or still says stop, which it asks every second, since an
// attendee that stopped acknowledging (one that was removed, say) would
// otherwise keep the pump waiting until the session ends.
func waitLink(ctx context.Context, link *screen.Link, still []func() bool) bool {
	for {
		wait, cancel := context.WithTimeout(ctx, time.Second)
		err := link.WaitOpen(wait)
		cancel()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		for _, ok := range still {
			if !ok() {
				return false
			}
		}
	}
}

func (h *Host) isAttendee(p peer.ID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.attendees[p]
	return ok
}

// sayGoodbyeToAttendees ends every attendee's link.
func (h *Host) sayGoodbyeToAttendees(reason string) {
	for _, a := range h.attendeeList() {
		go a.link.sayGoodbye(reason)
	}
}
