package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"assist/input"
	"assist/internal/fanout"
	"assist/p2p"
	"assist/rights"
	"assist/screen"
)

// Errors of the host's actions.
var (
	// ErrNoControl is returned for input sent while the customer has not
	// granted control.
	ErrNoControl = errors.New("the customer has not granted control")
	// ErrNotConnected is returned while the session is not (or no longer)
	// connected to the customer.
	ErrNotConnected = errors.New("not connected to the customer right now")
	// ErrCustomerLost ends a session whose link did not come back in time.
	ErrCustomerLost = errors.New("lost the connection to the customer")
)

// endedError is the customer's "no" before the session opened.
type endedError struct{ reason string }

func (e *endedError) Error() string { return e.reason }

// HostConfig configures the host rep's side.
type HostConfig struct {
	Host host.Host
	// Name is the rep's name as attendees see it.
	Name     string
	Customer peer.AddrInfo
	// TranscriptDir gets one transcript file per session.
	TranscriptDir string
	// ResumeWindow is how long to keep dialling after the link is lost.
	ResumeWindow time.Duration
	// OnEvent receives everything the rep's terminal shows; must not block.
	OnEvent func(Event)
	// VerifyRep checks the portal credential a joining rep presents and
	// returns the rep's verified name; nil admits no reps.
	VerifyRep func(p peer.ID, credential []byte) (name string, err error)
	// OnInvitationUsed is told who came in with an invitation.
	OnInvitationUsed func(inv Invitation, name string)
	// OnInvitationRefused is told who could not come in with a valid
	// invitation, and why (ErrSessionFull).
	OnInvitationRefused func(inv Invitation, name string, err error)
}

// Host is the hub of a session: it talks to the customer and owns the
// attendee list, the chat, the permissions and the transcript.
type Host struct {
	cfg    HostConfig
	id     string
	mirror *screen.Mirror
	chat   chatLog
	fan    fanout.Fanout[Event]
	stats  frameStats
	share  sharedScreen // a specialist's shared screen
	// transcript is set when Run starts; events (the path watcher's) may
	// come before it.
	transcript atomic.Pointer[Transcript]

	migrateMu   sync.Mutex // one migration at a time
	mu          sync.Mutex
	link        *link
	view        bool
	control     bool
	inputMu     sync.Mutex // serialises input writes, which never hold mu
	input       network.Stream
	screenRun   context.CancelFunc
	path        p2p.Path
	history     []Chat
	ended       bool
	ending      bool
	endErr      error
	endReason   string     // what everyone was told, for a link that opens late
	customerSaw []Attendee // the attendee list last sent to the customer
	// welcomeBye says goodbye to a customer still being asked (once).
	welcomeBye func(gaveUp string)
	// transcriptFailing: the last transcript write failed (said once).
	transcriptFailing bool
	done              chan struct{}
	attendees         map[peer.ID]*attendee
	invitations       map[string]*Invitation
}

// NewHost prepares the host's side; Run starts it.
func NewHost(cfg HostConfig) *Host {
	if cfg.OnEvent == nil {
		cfg.OnEvent = func(Event) {}
	}
	if cfg.ResumeWindow == 0 {
		cfg.ResumeWindow = 60 * time.Second
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	h := &Host{cfg: cfg, id: hex.EncodeToString(b[:]), mirror: screen.NewMirror(), done: make(chan struct{})}
	h.share.mirror = screen.NewMirror()
	h.stats.report = h.emit
	return h
}

// ID is the session's ID.
func (h *Host) ID() string { return h.id }

// Name is the host rep's name as attendees see it.
func (h *Host) Name() string { return h.cfg.Name }

// Screen is the customer's screen as the host has it.
func (h *Host) Screen() *screen.Mirror { return h.mirror }

// Snapshot is the session's state for a viewer page that just opened.
func (h *Host) Snapshot() Event {
	view, control := h.Consent()
	p := h.Path()
	e := withPath(Event{Kind: EvState, Session: h.id, View: boolp(view), Control: boolp(control), Attendees: h.Attendees(),
		History: h.History(), Name: h.cfg.Name, Frames: h.mirror.Frames(), Sharer: h.share.by()}, p)
	if h.isEnded() {
		e.Reason = "the session has ended"
	}
	return e
}

// Done is closed when the session has ended.
func (h *Host) Done() <-chan struct{} { return h.done }

// Subscribe returns the host's events for a viewer page.
func (h *Host) Subscribe() (<-chan Event, func()) { return h.fan.Subscribe() }

func (h *Host) emit(e Event) {
	if e.Session == "" {
		e.Session = h.id
	}
	h.cfg.OnEvent(e)
	h.fan.Publish(e)
	if t := h.transcript.Load(); t != nil && e.Kind != EvFrame {
		h.record(t, e)
	}
}

// record appends e to the transcript; the first failure of a run of them
// is said (not recorded: it could not be), and the transcript marks the gap.
func (h *Host) record(t *Transcript, e Event) {
	err := t.Append(e)
	h.mu.Lock()
	first := err != nil && !h.transcriptFailing
	h.transcriptFailing = err != nil
	h.mu.Unlock()
	if first {
		warn := Event{Kind: EvError, Session: h.id, Text: "the session's transcript cannot be written (" + err.Error() + "); it is incomplete until it can"}
		h.cfg.OnEvent(warn)
		h.fan.Publish(warn)
	}
}

// Run opens the session with the customer (already paired) and serves it
// until it ends; a lost link is redialled for up to ResumeWindow.
func (h *Host) Run(ctx context.Context) error {
	if h.cfg.TranscriptDir != "" {
		t, err := OpenTranscript(h.cfg.TranscriptDir, h.id)
		if err != nil {
			return err
		}
		h.transcript.Store(t)
		defer func() {
			h.transcript.Store(nil)
			t.Close()
		}()
	}
	// Attendees may come as soon as there are invitations, even while
	// the customer is still answering.
	for pid, handler := range map[protocol.ID]network.StreamHandler{AttendeeProtocol: h.handleAttendee,
		FeedProtocol: h.handleFeed, feedProtocolNoAcks: h.handleFeed,
		SharedScreenProtocol: h.handleSharedScreen, sharedScreenProtocol20: h.handleSharedScreen,
		SharedFeedProtocol: h.handleSharedFeed, sharedFeedProtocolNoAcks: h.handleSharedFeed} {
		h.cfg.Host.SetStreamHandler(pid, handler)
		defer h.cfg.Host.RemoveStreamHandler(pid)
	}
	l, err := h.open(ctx, false)
	var ended *endedError
	switch {
	case errors.As(err, &ended): // the customer said no, or it ended while opening
		h.finish(ended.reason, nil)
		return nil
	case err != nil && ctx.Err() != nil: // the rep gave up waiting
		h.finish("you left before the customer answered", nil)
		return nil
	case err != nil:
		return fmt.Errorf("open session: %w", err)
	}
	// Hole punching may have finished while the session was opening.
	go h.migrate(ctx)
	go func() {
		<-ctx.Done()
		h.End("the representative ended the session")
	}()
	for {
		h.serve(l)
		if h.isEnded() {
			break
		}
		h.mu.Lock()
		moved := h.link
		h.mu.Unlock()
		if moved != nil && moved != l { // migrated to a better connection
			l = moved
			continue
		}
		h.emit(Event{Kind: EvReconnecting, Text: "connection to the customer lost; reconnecting"})
		if l, err = h.reconnect(ctx); err != nil {
			h.finish(ErrCustomerLost.Error(), ErrCustomerLost)
			break
		}
		h.emit(Event{Kind: EvResumed, Text: "connection to the customer restored"})
	}
	// An End in progress may still be saying goodbye: Run returns once
	// everyone has been told (the ended event included).
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.endErr
}

// open dials the customer and runs the hello/welcome handshake.
func (h *Host) open(ctx context.Context, resume bool) (*link, error) {
	ctx = network.WithAllowLimitedConn(ctx, "session")
	if err := h.cfg.Host.Connect(ctx, h.cfg.Customer); err != nil {
		return nil, err
	}
	s, err := h.cfg.Host.NewStream(ctx, h.cfg.Customer.ID, ControlProtocol)
	if err != nil {
		return nil, err
	}
	l := newLink(s)
	if err := l.send(Msg{Type: TypeHello, Session: h.id, Name: h.cfg.Name, Resume: resume, LastSeq: h.chat.seen()}); err != nil {
		s.Reset()
		return nil, err
	}
	go l.pinger(h.done)
	w, err := h.awaitWelcome(ctx, l, resume)
	if err != nil {
		s.Reset()
		return nil, err
	}
	h.mu.Lock()
	over, reason := h.ended || h.ending, h.endReason
	if !over {
		h.link = l
	}
	h.mu.Unlock()
	if over { // ended while the customer was answering: tell the customer too
		l.sayGoodbye(reason)
		s.Reset()
		return nil, &endedError{reason: reason}
	}
	h.linked(l, w, resume)
	return l, nil
}

// awaitWelcome waits for the customer's welcome. The customer may take a
// while to answer the view question; its pings keep recv from timing out
// meanwhile. On a first open, a rep who gives up (ctx) or an End says
// goodbye, so the question is withdrawn at once; a resume's timeout must
// not end the session.
func (h *Host) awaitWelcome(ctx context.Context, l *link, resume bool) (Msg, error) {
	if !resume {
		// One goodbye, whoever ends it: an End's reason if there was one
		// (it may also cancel ctx), else the rep gave up waiting.
		var once sync.Once
		bye := func(gaveUp string) {
			once.Do(func() {
				h.mu.Lock()
				reason := orDefault(h.endReason, gaveUp)
				h.mu.Unlock()
				l.sayGoodbye(reason)
				l.s.Reset()
			})
		}
		stop := context.AfterFunc(ctx, func() { bye(h.cfg.Name + " left before you answered") })
		defer stop()
		// End says it itself, and returns once it is said: a process
		// that ends its sessions and exits must not outrun the goodbye.
		h.mu.Lock()
		h.welcomeBye = bye
		h.mu.Unlock()
		defer func() {
			h.mu.Lock()
			h.welcomeBye = nil
			h.mu.Unlock()
		}()
		opened := make(chan struct{})
		defer close(opened)
		go func() {
			select {
			case <-h.done:
				bye("the session has ended")
			case <-opened:
			}
		}()
	}
	for {
		w, err := l.recv()
		switch {
		case err != nil && h.isEnded(): // End said goodbye and closed the link
			h.mu.Lock()
			reason := h.endReason
			h.mu.Unlock()
			return Msg{}, &endedError{reason: reason}
		case err != nil && ctx.Err() != nil:
			return Msg{}, ctx.Err()
		case err != nil:
			return Msg{}, err
		case w.Type == TypePing:
			continue
		case w.Type == TypeEnd && !resume:
			return Msg{}, &endedError{reason: orDefault(w.Reason, "the customer ended the session")}
		case w.Type != TypeWelcome || w.Session != h.id:
			return Msg{}, fmt.Errorf("customer answered %q, not welcome", w.Type)
		}
		return w, nil
	}
}

// linked tells everyone the link to the customer is up, and catches the
// customer up on consent, chat and attendees.
func (h *Host) linked(l *link, w Msg, resume bool) {
	linkPath := "direct"
	if p2p.IsRelayed(l.s.Conn().RemoteMultiaddr()) {
		linkPath = "relayed"
	}
	h.emit(Event{Kind: EvLink, Path: linkPath, Transport: p2p.TransportOf(l.s.Conn().RemoteMultiaddr())})
	if !resume {
		h.emit(Event{Kind: EvJoined, Name: "Customer", Peer: h.cfg.Customer.ID.String(), Text: "connected to the customer"})
	}
	h.setConsent(w.View, w.Control)
	for _, m := range h.chat.since(w.LastSeq) {
		_ = l.send(Msg{Type: TypeChat, Chat: &m})
	}
	h.mu.Lock()
	h.customerSaw = nil // a new link gets the list again
	h.mu.Unlock()
	h.sendAttendees()
}

// migrate moves the session's streams onto a new direct connection after
// hole punching succeeded: streams stay on the connection they were opened
// on, and the relayed one may be cut (relay limits, relay going away).
func (h *Host) migrate(ctx context.Context) {
	if h.isEnded() {
		return
	}
	mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	h.migrateMu.Lock()
	defer h.migrateMu.Unlock()
	h.mu.Lock()
	old := h.link
	h.mu.Unlock()
	if old == nil || !p2p.IsRelayed(old.s.Conn().RemoteMultiaddr()) || p2p.CurrentPath(h.cfg.Host, h.cfg.Customer.ID).Relayed {
		// Not open yet or resuming (the next open picks the best
		// connection by itself), already direct, or nothing better yet.
		return
	}
	if _, err := h.open(mctx, true); err != nil {
		return // the old link goes on; a failure there resumes as usual
	}
	if old != nil {
		old.close() // Run sees the new link in place and serves it
	}
	h.dropInput() // the next input opens on the direct connection
	h.mu.Lock()
	if h.screenRun != nil {
		h.restartScreenLocked()
	}
	h.mu.Unlock()
	h.emit(Event{Kind: EvNotice, Text: "session moved to the direct connection"})
}

func (h *Host) reconnect(ctx context.Context) (*link, error) {
	deadline := time.Now().Add(h.cfg.ResumeWindow)
	for time.Now().Before(deadline) && !h.isEnded() {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		l, err := h.open(dctx, true)
		cancel()
		if err == nil {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-h.done:
			return nil, ErrCustomerLost
		case <-time.After(time.Second):
		}
	}
	return nil, ErrCustomerLost
}

func (h *Host) serve(l *link) {
	for {
		m, err := l.recv()
		if err != nil {
			h.mu.Lock()
			if h.link == l {
				h.link = nil
			}
			h.mu.Unlock()
			return
		}
		switch m.Type {
		case TypeChat:
			if m.Chat != nil && h.chat.received(*m.Chat) {
				// The customer speaks as the customer, whatever it sends.
				m.Chat.From, m.Chat.Role, m.Chat.Internal = "Customer", RoleCustomer, false
				h.addHistory(*m.Chat)
				h.emit(Event{Kind: EvChat, Chat: m.Chat}) // in the transcript first
				h.toAttendees(Msg{Type: TypeChat, Chat: m.Chat}, "")
			}
		case TypeConsent:
			h.setConsent(m.View, m.Control)
			if m.Answer != "" && m.Name != "" {
				h.controlAnswered(m.Name, m.Control && m.Answer == "allowed")
			}
		case TypeRefused:
			h.emit(Event{Kind: EvRefused, Text: m.Text})
		case TypeEnd:
			h.finish(orDefault(m.Reason, "the customer ended the session"), nil)
			return
		}
	}
}

func (h *Host) setConsent(view, control bool) {
	h.mu.Lock()
	changed := view != h.view || control != h.control
	started := view && h.screenRun == nil
	h.view, h.control = view, control
	if !control {
		h.forgetControlAnswersLocked()
	}
	if started {
		h.restartScreenLocked()
	}
	if !view {
		h.stopScreenLocked()
	}
	h.mu.Unlock()
	if !control {
		h.dropInput()
	}
	if changed || started {
		h.emit(Event{Kind: EvConsent, View: boolp(view), Control: boolp(control)})
		h.toAttendees(Msg{Type: TypeConsent, View: view, Control: control}, "")
	}
}

// restartScreenLocked replaces the screen receiver: there is never more
// than one, since the customer serves only the newest screen stream.
func (h *Host) restartScreenLocked() {
	h.stopScreenLocked()
	ctx, cancel := context.WithCancel(context.Background())
	h.screenRun = cancel
	go func() {
		for ctx.Err() == nil && !h.isEnded() {
			h.receiveScreen(ctx)
			select {
			case <-ctx.Done():
			case <-h.done:
			case <-time.After(time.Second): // the link is down or resuming
			}
		}
	}()
}

func (h *Host) stopScreenLocked() {
	if h.screenRun != nil {
		h.screenRun()
		h.screenRun = nil
	}
}

func (h *Host) stopScreen() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopScreenLocked()
}

func (h *Host) receiveScreen(ctx context.Context) {
	s, err := h.cfg.Host.NewStream(network.WithAllowLimitedConn(ctx, "screen"), h.cfg.Customer.ID, ScreenProtocol, screenProtocol22, screenProtocol21, screenProtocolNoAcks)
	if err != nil {
		return
	}
	go func() {
		<-ctx.Done()
		s.Reset()
	}()
	ack := func(screen.FrameEnd) {}
	if s.Protocol() != screenProtocolNoAcks {
		ack = acknowledgeSeq(s)
	}
	_ = screen.Receive(h.stats.counting(p2p.Deadlined{S: s, ReadTimeout: ScreenTimeout}), func(m screen.Message) {
		h.mirror.Apply(m)
		if m.Kind == screen.MsgFrameEnd {
			h.stats.frame(m.End)
			ack(m.End)
		}
	})
	s.Reset()
}

// acknowledgeSeq returns what the receiver of a screen.Sender's stream
// calls at each frame end: it writes the frame's sequence number back,
// which the sender's Link measures the path by.
func acknowledgeSeq(s network.Stream) func(screen.FrameEnd) {
	ack := ackWriter(s)
	return func(e screen.FrameEnd) { ack(e.Seq) }
}

// WatchPath follows how this host reaches the customer, reporting each
// change as a connection event and moving the session onto a direct
// connection when hole punching succeeds. Start it before pairing, so the
// first (often relayed) connection is reported too; it runs until ctx ends.
func (h *Host) WatchPath(ctx context.Context) { go h.watchPath(ctx) }

func (h *Host) watchPath(ctx context.Context) {
	followPath(ctx, h.cfg.Host, h.cfg.Customer.ID, func(p p2p.Path) {
		h.mu.Lock()
		h.path = p
		h.mu.Unlock()
	}, func(p, before p2p.Path) {
		h.emit(connectionEvent(p))
		if before.Connected && before.Relayed && !p.Relayed {
			go h.migrate(ctx)
		}
	})
}

// followPath follows how h reaches p until ctx ends: store gets every
// reading, changed each new route, with the one before it.
func followPath(ctx context.Context, h host.Host, p peer.ID, store func(p2p.Path), changed func(now, before p2p.Path)) {
	var last p2p.Path
	for cur := range p2p.WatchPath(ctx, h, p, 2*time.Second) {
		store(cur)
		if cur.Connected && !cur.SameRoute(last) {
			changed(cur, last)
		}
		if cur.Connected {
			last = cur
		}
	}
}

func connectionEvent(p p2p.Path) Event {
	return Event{Kind: EvConnection, Peer: p.Peer.String(), Path: p.Kind(), Transport: p.Transport,
		RTTMs: float64(p.RTT.Microseconds()) / 1000}
}

// withPath adds a connection's path to a snapshot.
func withPath(e Event, p p2p.Path) Event {
	if p.Connected {
		e.Path, e.Transport, e.RTTMs = p.Kind(), p.Transport, float64(p.RTT.Microseconds())/1000
	}
	return e
}

// Path is how the host reaches the customer now.
func (h *Host) Path() p2p.Path {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.path
}

// Consent returns the customer's current consents.
func (h *Host) Consent() (view, control bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.view, h.control
}

// Attendees lists who is in the session, masked reps included.
func (h *Host) Attendees() []Attendee {
	list := []Attendee{
		{Name: "Customer", Role: RoleCustomer, Peer: h.cfg.Customer.ID.String()},
		{Name: h.cfg.Name, Role: RoleHost, Peer: h.cfg.Host.ID().String(), Rights: rights.Control},
	}
	for _, a := range h.attendeeList() {
		list = append(list, a.Attendee)
	}
	return list
}

// sendAttendees tells everyone who is in the session; the customer's copy
// leaves out every masked rep, the attendees' the customer's peer ID.
func (h *Host) sendAttendees() {
	list := h.Attendees()
	seen := customerAttendees(list)
	h.mu.Lock()
	l := h.link
	// The customer's list changes only when what it may see changes: a
	// masked rep coming or going must not show as a list sent again.
	changed := !slices.Equal(seen, h.customerSaw)
	if l != nil && changed {
		h.customerSaw = seen
	}
	h.mu.Unlock()
	if l != nil && changed {
		_ = l.send(Msg{Type: TypeAttendees, Attendees: seen})
	}
	h.toAttendees(Msg{Type: TypeAttendees, Attendees: forAttendees(list)}, "")
	h.emit(Event{Kind: EvAttendees, Attendees: list})
}

// History returns the chat so far, for a viewer that just opened.
func (h *Host) History() []Chat {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Chat(nil), h.history...)
}

func (h *Host) addHistory(m Chat) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.history = append(h.history, m)
	if len(h.history) > maxUnacked {
		h.history = h.history[len(h.history)-maxUnacked:]
	}
}

// Chat sends a message to everyone in the session; internal messages go
// to reps and specialists only, never to the customer.
func (h *Host) Chat(text string, internal bool) error {
	if text == "" || len(text) > MaxChatText {
		return fmt.Errorf("a chat message has 1 to %d characters", MaxChatText)
	}
	h.postChat(Chat{From: h.cfg.Name, Role: RoleHost, Text: text, Time: time.Now().UTC(), Internal: internal})
	return nil
}

// RequestControl asks the customer for control.
func (h *Host) RequestControl() error { return h.requestControl("") }

// requestControl asks the customer for control on behalf of an attendee
// the customer can see (by), or of the host ("").
func (h *Host) requestControl(by string) error {
	h.mu.Lock()
	l := h.link
	h.mu.Unlock()
	if l == nil {
		return ErrNotConnected
	}
	text := "asked the customer for control"
	if by != "" {
		text = "asked the customer for control for " + by
	}
	h.emit(Event{Kind: EvNotice, Text: text})
	return l.send(Msg{Type: TypeRequest, What: "control", Name: by})
}

// Input forwards an input event to the customer. It is refused here when
// the customer has not granted control, and the customer checks again.
func (h *Host) Input(e input.Event) error {
	if err := e.Validate(); err != nil {
		return err
	}
	h.mu.Lock()
	control := h.control
	h.mu.Unlock()
	if !control {
		return ErrNoControl
	}
	// Writes take a lock of their own, never mu: a customer that stops
	// reading stalls input for InputTimeout at most, and nothing else.
	h.inputMu.Lock()
	defer h.inputMu.Unlock()
	s, err := h.inputStream()
	if err != nil {
		return err
	}
	_ = s.SetWriteDeadline(time.Now().Add(InputTimeout))
	if err := p2p.WriteJSON(s, e); err != nil {
		h.mu.Lock()
		if h.input == s {
			h.input = nil
		}
		h.mu.Unlock()
		s.Reset()
		return fmt.Errorf("the customer's machine is not taking input: %w", err)
	}
	return nil
}

// inputStream returns the open input stream or opens one. inputMu held.
func (h *Host) inputStream() (network.Stream, error) {
	h.mu.Lock()
	s := h.input
	h.mu.Unlock()
	if s != nil {
		return s, nil
	}
	ctx, cancel := context.WithTimeout(network.WithAllowLimitedConn(context.Background(), "input"), InputTimeout)
	defer cancel()
	s, err := h.cfg.Host.NewStream(ctx, h.cfg.Customer.ID, InputProtocol)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.input = s
	h.mu.Unlock()
	return s, nil
}

// dropInput closes the input stream (control was taken back, the link
// moved, the session ended); a write blocked on it returns at once.
func (h *Host) dropInput() {
	h.mu.Lock()
	s := h.input
	h.input = nil
	h.mu.Unlock()
	if s != nil {
		s.Reset()
	}
}

// End ends the session for everyone.
func (h *Host) End(reason string) {
	h.mu.Lock()
	l, bye := h.link, h.welcomeBye
	h.ending = true
	if h.endReason == "" {
		h.endReason = reason
	}
	h.mu.Unlock()
	h.sayGoodbyeToAttendees(reason)
	switch {
	case l != nil:
		l.sayGoodbye(reason)
	case bye != nil: // the customer is still being asked
		bye(reason)
	}
	h.finish(reason, nil)
}

func (h *Host) isEnded() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ended || h.ending
}

// finish ends the session once; reason is what people are told, err is
// set when the session failed rather than ended normally.
func (h *Host) finish(reason string, err error) {
	h.mu.Lock()
	if h.ended {
		h.mu.Unlock()
		return
	}
	h.ended, h.endErr = true, err
	if h.endReason == "" {
		h.endReason = reason
	}
	if h.link != nil {
		h.link.close()
	}
	h.mu.Unlock()
	h.dropInput()
	for _, a := range h.attendeeList() {
		_ = a.link.send(Msg{Type: TypeEnd, Reason: reason})
		a.link.close()
	}
	_ = h.StopShare()
	h.stopScreen()
	h.emit(Event{Kind: EvEnded, Reason: reason})
	close(h.done)
	h.fan.Close()
}
