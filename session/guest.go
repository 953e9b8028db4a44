package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
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

// GuestConfig configures an attendee's side of a session it was invited to.
type GuestConfig struct {
	Host host.Host
	// Session is the host rep's peer and addresses.
	Session    peer.AddrInfo
	Invite     string
	Ticket     []byte
	Credential []byte
	Name       string
	// OnEvent receives everything the attendee's terminal shows; must not block.
	OnEvent func(Event)
}

// Guest is an attendee's side: it follows the host's screen, chat and
// attendee list, and sends chat and (with rights) input through the host.
type Guest struct {
	cfg    GuestConfig
	l      *link
	mirror *screen.Mirror
	shared *screen.Mirror // a specialist's shared screen, through the host
	fan    fanout.Fanout[Event]
	done   chan struct{}
	// linkPath and linkTransport: how the attendee link was opened.
	linkPath, linkTransport string

	stats frameStats // of the customer's screen as it arrives here

	mu        sync.Mutex
	path      p2p.Path // how this attendee reaches the host
	welcome   Msg
	attendees []Attendee
	history   []Chat
	view      bool
	control   bool
	rights    string
	sharer    string // who shares a screen now
	ended     bool
	reason    string
}

// JoinSession asks the host to admit this peer and returns the joined
// session; a refusal is a *DeniedError.
func JoinSession(ctx context.Context, cfg GuestConfig) (*Guest, error) {
	if cfg.OnEvent == nil {
		cfg.OnEvent = func(Event) {}
	}
	ctx = network.WithAllowLimitedConn(ctx, "attendee")
	if err := cfg.Host.Connect(ctx, cfg.Session); err != nil {
		return nil, fmt.Errorf("reach the session's host: %w", err)
	}
	s, err := cfg.Host.NewStream(ctx, cfg.Session.ID, AttendeeProtocol)
	if err != nil {
		return nil, fmt.Errorf("reach the session's host: %w", err)
	}
	l := newLink(s)
	if err := l.send(Msg{Type: TypeJoin, Invite: cfg.Invite, Ticket: cfg.Ticket, Credential: cfg.Credential, Name: cfg.Name}); err != nil {
		s.Reset()
		return nil, err
	}
	w, err := l.recv()
	if err != nil {
		s.Reset()
		return nil, fmt.Errorf("the session's host did not answer: %w", err)
	}
	switch w.Type {
	case TypeWelcome:
	case TypeDenied:
		s.Reset()
		return nil, &DeniedError{Reason: w.Reason, TakenBy: w.Name}
	default:
		s.Reset()
		return nil, fmt.Errorf("the session's host answered %q", w.Type)
	}
	g := &Guest{cfg: cfg, l: l, mirror: screen.NewMirror(), shared: screen.NewMirror(), done: make(chan struct{}), welcome: w, view: w.View, control: w.Control, rights: w.Rights}
	g.stats.report = g.emit
	g.linkPath = "direct"
	if p2p.IsRelayed(s.Conn().RemoteMultiaddr()) {
		g.linkPath = "relayed"
	}
	g.linkTransport = p2p.TransportOf(s.Conn().RemoteMultiaddr())
	return g, nil
}

// Run follows the session until it ends or ctx is cancelled (which leaves it).
func (g *Guest) Run(ctx context.Context) error {
	go g.l.pinger(g.done)
	feedCtx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	g.emit(Event{Kind: EvLink, Path: g.linkPath, Transport: g.linkTransport})
	go g.follow(feedCtx, g.mirror, true, FeedProtocol, feedProtocolNoAcks)
	go g.follow(feedCtx, g.shared, false, SharedFeedProtocol, sharedFeedProtocolNoAcks)
	go followPath(feedCtx, g.cfg.Host, g.cfg.Session.ID, func(p p2p.Path) {
		g.mu.Lock()
		g.path = p
		g.mu.Unlock()
	}, func(p, _ p2p.Path) { g.emit(connectionEvent(p)) })

	go func() {
		select {
		case <-ctx.Done():
			g.Leave()
		case <-g.done:
		}
	}()
	g.emit(Event{Kind: EvJoined, Session: g.welcome.Session, Name: g.cfg.Name,
		Text: fmt.Sprintf("joined %s's session (%s)", g.welcome.Name, g.describeRights())})
	for {
		m, err := g.l.recv()
		if err != nil {
			g.finish("lost the connection to the session's host")
			return nil
		}
		switch m.Type {
		case TypeChat:
			if m.Chat != nil {
				g.addHistory(*m.Chat)
				g.emit(Event{Kind: EvChat, Chat: m.Chat})
			}
		case TypeAttendees:
			g.mu.Lock()
			g.attendees = m.Attendees
			g.mu.Unlock()
			g.emit(Event{Kind: EvAttendees, Attendees: m.Attendees})
		case TypeNotice:
			if m.Rights != "" {
				g.mu.Lock()
				g.rights = m.Rights
				g.mu.Unlock()
			}
			g.emit(Event{Kind: EvNotice, Text: m.Text, Rights: m.Rights})
		case TypeSharing:
			g.mu.Lock()
			g.sharer = m.Name
			if m.Reason != "" {
				g.sharer = ""
			}
			g.mu.Unlock()
			if m.Reason != "" {
				g.shared.Reset()
			}
			g.emit(Event{Kind: EvSharing, Name: m.Name, Reason: m.Reason, Text: m.Text})
		case TypeConsent:
			g.mu.Lock()
			g.view, g.control = m.View, m.Control
			g.mu.Unlock()
			g.emit(Event{Kind: EvConsent, View: boolp(m.View), Control: boolp(m.Control)})
		case TypeEnd:
			g.finish(orDefault(m.Reason, "the session has ended"))
			return nil
		}
	}
}

func (g *Guest) describeRights() string {
	s := "view only"
	if r, _ := g.Rights(); r == rights.Control {
		s = "may control with the customer's consent"
	}
	if g.welcome.Masked {
		s += ", masked: the customer does not see you"
	}
	return s
}

// follow keeps a feed of one of the host's mirrors open; counted, its
// frames are reported (frame events, at most once a second).
func (g *Guest) follow(ctx context.Context, m *screen.Mirror, counted bool, pids ...protocol.ID) {
	for ctx.Err() == nil && !g.isEnded() {
		s, err := g.cfg.Host.NewStream(network.WithAllowLimitedConn(ctx, "feed"), g.cfg.Session.ID, pids...)
		if err == nil {
			stop := context.AfterFunc(ctx, func() { s.Reset() })
			var r io.Reader = s
			if counted {
				r = g.stats.counting(s)
			}
			_ = screen.Receive(r, g.applier(s, m, counted, s.Protocol() == pids[0]))
			stop()
			s.Reset()
		}
		select {
		case <-ctx.Done():
		case <-g.done:
		case <-time.After(time.Second):
		}
	}
}

// applier takes a feed's messages into m, counting its frames if counted
// and acknowledging each frame end (how many there were) if acks: the
// host paces the feed by them.
func (g *Guest) applier(s network.Stream, m *screen.Mirror, counted, acks bool) func(screen.Message) {
	ack := acknowledger(s, acks)
	return func(msg screen.Message) {
		m.Apply(msg)
		if msg.Kind != screen.MsgFrameEnd {
			return
		}
		if counted {
			g.stats.frame(msg.End)
		}
		ack()
	}
}

// acknowledger returns what a receiver of a paced feed calls at each
// frame end: it writes on s how many frame ends there were, if on.
func acknowledger(s network.Stream, on bool) func() {
	if !on {
		return func() {}
	}
	var ends uint64
	ack := ackWriter(s)
	return func() {
		ends++
		ack(ends)
	}
}

// ackWriter returns what writes an acknowledgement of n (a frame count or
// a sequence number, as the stream's protocol says) on s.
func ackWriter(s network.Stream) func(n uint64) {
	w := p2p.Deadlined{S: s, WriteTimeout: ScreenTimeout}
	var buf []byte
	return func(n uint64) {
		buf = screen.AppendAck(buf[:0], n)
		_ = p2p.WriteFrame(w, buf)
	}
}

func (g *Guest) emit(e Event) {
	if e.Session == "" {
		e.Session = g.welcome.Session
	}
	g.cfg.OnEvent(e)
	g.fan.Publish(e)
}

func (g *Guest) addHistory(c Chat) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.history = append(g.history, c)
	if len(g.history) > maxUnacked {
		g.history = g.history[len(g.history)-maxUnacked:]
	}
}

// Rights the host gives this attendee now, and whether it is masked.
func (g *Guest) Rights() (rights string, masked bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rights, g.welcome.Masked
}

// ID is the session's ID.
func (g *Guest) ID() string { return g.welcome.Session }

// Screen is the customer's screen as the host forwards it.
func (g *Guest) Screen() *screen.Mirror { return g.mirror }

// MayShare reports whether the host lets this attendee share a screen.
func (g *Guest) MayShare() bool { return g.welcome.Share }

// SharedScreen is a specialist's shared screen, as the host forwards it.
func (g *Guest) SharedScreen() *screen.Mirror { return g.shared }

// ShareScreen shares src into the session until ctx ends, the host stops
// it, or the session ends. The host refuses unless the portal and it allow
// this attendee to share.
func (g *Guest) ShareScreen(ctx context.Context, src screen.Source) error {
	s, err := g.cfg.Host.NewStream(network.WithAllowLimitedConn(ctx, "share"), g.cfg.Session.ID, SharedScreenProtocol, sharedScreenProtocol20)
	if err != nil {
		return fmt.Errorf("share your screen: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cfg := screen.DefaultSenderConfig()
	if s.Protocol() == SharedScreenProtocol { // paced by the host, tiles compact
		cfg.Link, cfg.CompactJPEG, cfg.Indexed, cfg.Dictionary = screen.NewLink(), true, true, true
	}
	go func() { // the host closing the stream (stop, refusal) ends the share
		readAcks(s, cfg.Link)
		cancel()
	}()
	stop := context.AfterFunc(g.doneCtx(), cancel)
	defer stop()
	err = screen.NewSender(src, cfg).Run(ctx, p2p.Deadlined{S: s, WriteTimeout: ScreenTimeout}, nil, nil)
	s.Reset()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// doneCtx is cancelled when the session ends for this attendee.
func (g *Guest) doneCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-g.done
		cancel()
	}()
	return ctx
}

// Subscribe returns the session's events for a viewer page.
func (g *Guest) Subscribe() (<-chan Event, func()) { return g.fan.Subscribe() }

// Done is closed when the session has ended for this attendee.
func (g *Guest) Done() <-chan struct{} { return g.done }

// Snapshot is the session's state for a viewer page that just opened.
func (g *Guest) Snapshot() Event {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := withPath(Event{Kind: EvState, Session: g.welcome.Session, View: boolp(g.view), Control: boolp(g.control),
		Attendees: g.attendees, History: append([]Chat(nil), g.history...), Name: g.cfg.Name,
		Frames: g.mirror.Frames(), Rights: g.rights, Sharer: g.sharer}, g.path)
	if g.ended {
		e.Reason = g.reason
	}
	return e
}

// Chat sends a message through the host; a masked attendee's messages are
// always internal (the host enforces it too).
func (g *Guest) Chat(text string, internal bool) error {
	if text == "" || len(text) > MaxChatText {
		return fmt.Errorf("a chat message has 1 to %d characters", MaxChatText)
	}
	return g.l.send(Msg{Type: TypeChat, Chat: &Chat{Text: text, Internal: internal || g.welcome.Masked}})
}

// RequestControl asks the host to ask the customer for control.
func (g *Guest) RequestControl() error {
	if r, _ := g.Rights(); r != rights.Control {
		return ErrViewOnly
	}
	return g.l.send(Msg{Type: TypeRequest, What: "control"})
}

// ErrViewOnly is returned for input from a view-only attendee.
var ErrViewOnly = errors.New("you are in this session view only")

// Input sends an input event to the host, which forwards it to the
// customer if this attendee has control rights and the customer consents.
func (g *Guest) Input(e input.Event) error {
	if err := e.Validate(); err != nil {
		return err
	}
	// No checks of rights or consent here: the host enforces both, and
	// a modified attendee could skip anything checked on this side.
	return g.l.send(Msg{Type: TypeInput, Input: &e})
}

// Leave leaves the session; the others stay.
func (g *Guest) Leave() {
	if g.isEnded() {
		return
	}
	g.l.sayGoodbye("left")
	g.finish("you left the session")
}

func (g *Guest) isEnded() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ended
}

func (g *Guest) finish(reason string) {
	g.mu.Lock()
	if g.ended {
		g.mu.Unlock()
		return
	}
	g.ended, g.reason = true, reason
	g.mu.Unlock()
	g.l.close()
	g.emit(Event{Kind: EvEnded, Reason: reason})
	close(g.done)
	g.fan.Close()
}
