package session

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"assist/input"
	"assist/p2p"
	"assist/pairing"
	"assist/rendezvous"
	"assist/rights"
	"assist/screen"
)

// Errors that end a customer's share.
var (
	ErrKeyExpired = errors.New("no representative joined before the support key expired: run 'assist share' again for a new key")
	ErrLinkLost   = errors.New("lost the connection to the representative")
)

// CustomerConfig configures the customer's side.
type CustomerConfig struct {
	Host       host.Host
	Rendezvous *rendezvous.Client
	// KeyTTL is how long the support key waits for a rep.
	KeyTTL time.Duration
	// Screen is what is shared; Injector performs the host's input.
	Screen   screen.Source
	Injector input.Injector
	Sender   screen.SenderConfig
	// AutoView and AutoControl answer the consent questions with yes
	// (for scripts and tests; a person answers with Answer).
	AutoView, AutoControl bool
	// ResumeWindow is how long a lost link may take to come back.
	ResumeWindow time.Duration
	// OnEvent receives everything the customer's UI shows. It must not block.
	OnEvent func(Event)
}

// Customer is the sharing side of a support session.
type Customer struct {
	cfg   CustomerConfig
	gate  input.Gate
	inj   *input.Holding // cfg.Injector, letting go what it left pressed
	guard *pairing.Guard
	chat  chatLog

	mu       sync.Mutex
	reg      *rendezvous.Registration
	hostPeer peer.ID
	session  string
	repName  string
	view     bool
	link     *link
	answers  map[string]chan bool
	stopView context.CancelFunc
	sender   *screen.Sender // the screen's, while the host watches
	// screenErr is the last capture error told, until a frame goes again:
	// the host asks for the screen anew every second, and a screen that
	// cannot be captured for a while (Windows' secure desktop during a
	// UAC prompt) is said once, not once a second.
	screenErr string
	ended     bool
	ending    bool // End is saying goodbye; a closing link is no loss
	endReason error
	done      chan struct{}
	lostTimer *time.Timer
	// A specialist's shared screen, when the host forwards one.
	shared      *SharedView
	sharedShown bool
	attendees   []Attendee // the latest list the host sent, for consent events
}

// NewCustomer prepares the customer's side; Run starts it.
func NewCustomer(cfg CustomerConfig) *Customer {
	if cfg.OnEvent == nil {
		cfg.OnEvent = func(Event) {}
	}
	if cfg.ResumeWindow == 0 {
		cfg.ResumeWindow = 60 * time.Second
	}
	c := &Customer{cfg: cfg, answers: map[string]chan bool{}, done: make(chan struct{})}
	if cfg.Injector != nil {
		c.inj = input.NewHolding(cfg.Injector)
	}
	c.shared = newSharedView(c)
	show := cfg.OnEvent
	c.cfg.OnEvent = func(e Event) { // the shared-screen page sees what the terminal does
		show(e)
		c.shared.event(e)
	}
	return c
}

// Run registers a support key, waits for a rep and serves the session
// until it ends: the rep or the customer ends it, the link is lost for
// longer than ResumeWindow, the key expires unused, or ctx is cancelled
// (Ctrl-C), which ends it cleanly for everyone.
func (c *Customer) Run(ctx context.Context) error {
	h := c.cfg.Host
	c.guard = pairing.NewGuard(h, pairing.Hooks{
		Paired: c.paired,
		Burned: func(string) { c.cancelKey(rendezvous.ReasonBurned) },
		UsedUp: func(string) { c.cancelKey(rendezvous.ReasonUsed) },
		WrongGuess: func(_ string, from peer.ID, left int) {
			c.cfg.OnEvent(Event{Kind: EvNotice, Peer: from.String(), Text: fmt.Sprintf("someone typed a wrong support key (%d attempts left)", left)})
		},
	})
	defer c.guard.Close()
	relayCtx, stopRelay := context.WithCancel(ctx)
	defer stopRelay()
	c.keepRelay(relayCtx)
	reg, err := c.cfg.Rendezvous.Register(ctx, c.cfg.KeyTTL)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.reg = reg
	c.mu.Unlock()
	c.guard.Add(reg.Code, pairing.KindSupport, 1)
	h.SetStreamHandler(ControlProtocol, c.handleControl)
	h.SetStreamHandler(ScreenProtocol, c.handleScreen)
	h.SetStreamHandler(screenProtocol22, c.handleScreen)
	h.SetStreamHandler(screenProtocol21, c.handleScreen)
	h.SetStreamHandler(screenProtocolNoAcks, c.handleScreen)
	h.SetStreamHandler(InputProtocol, c.handleInput)
	h.SetStreamHandler(SharedViewProtocol, c.handleSharedView)
	h.SetStreamHandler(sharedViewProtocol20, c.handleSharedView)
	defer func() {
		h.RemoveStreamHandler(ControlProtocol)
		h.RemoveStreamHandler(ScreenProtocol)
		h.RemoveStreamHandler(screenProtocol22)
		h.RemoveStreamHandler(screenProtocol21)
		h.RemoveStreamHandler(screenProtocolNoAcks)
		h.RemoveStreamHandler(InputProtocol)
		h.RemoveStreamHandler(SharedViewProtocol)
		h.RemoveStreamHandler(sharedViewProtocol20)
	}()
	exp := reg.Expires
	c.cfg.OnEvent(Event{Kind: EvKey, Key: reg.Code.String(), Expires: &exp, Peer: h.ID().String()})
	c.cfg.OnEvent(Event{Kind: EvWaiting, Text: "waiting for a representative"})

	netCtx, stopNet := context.WithCancel(ctx)
	defer stopNet()
	go c.followNetwork(netCtx)

	keyTimer := time.NewTimer(time.Until(reg.Expires))
	defer keyTimer.Stop()
	select {
	case <-ctx.Done():
		c.End("the customer ended the session")
	case <-keyTimer.C:
		if c.joined() {
			<-c.done
		} else {
			c.finish(ErrKeyExpired.Error(), ErrKeyExpired)
		}
	case <-c.done:
	}
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endReason
}

// keepRelay holds a relay reservation at the rendezvous nodes for as long
// as ctx lives, so the key's record always names a working relay address.
// A failure is shown and retried: direct connections may still work.
func (c *Customer) keepRelay(ctx context.Context) {
	// Said once when the slot is lost, not at every retry.
	var lost atomic.Bool
	lost.Store(true) // until the first reservation holds
	renewed := func(_ time.Time, err error) {
		if err != nil && !lost.Swap(true) {
			c.cfg.OnEvent(Event{Kind: EvError, Text: "relay slot lost, retrying every 30 s (a representative behind another router may not reach you): " + err.Error()})
		}
		if err == nil {
			lost.Store(false)
			c.refreshKey(ctx) // the relays may have changed (a node died)
		}
	}
	err := c.cfg.Rendezvous.KeepRelay(ctx, renewed)
	if err != nil {
		c.cfg.OnEvent(Event{Kind: EvError, Text: "no relay slot (a representative behind another router may not reach you): " + err.Error()})
		return
	}
	lost.CompareAndSwap(true, false)
}

// refreshKey re-publishes the key's record with this peer's addresses
// now, until a rep has joined.
func (c *Customer) refreshKey(ctx context.Context) {
	c.mu.Lock()
	reg := c.reg
	c.mu.Unlock()
	if reg == nil || c.joined() {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.cfg.Rendezvous.Refresh(rctx, reg); err != nil && ctx.Err() == nil {
		c.cfg.OnEvent(Event{Kind: EvError, Text: "could not update the support key's addresses: " + err.Error()})
	}
}

// followNetwork reports this peer's reachability and, until a rep has
// joined, re-publishes the key's record whenever the addresses change: a
// peer behind NAT becomes reachable only once it holds a relay address.
func (c *Customer) followNetwork(ctx context.Context) {
	states, err := p2p.WatchNetwork(ctx, c.cfg.Host)
	if err != nil {
		return
	}
	for st := range states {
		c.cfg.OnEvent(NetworkEvent(st))
		c.refreshKey(ctx)
	}
}

func (c *Customer) joined() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hostPeer != ""
}

// paired runs when a rep proved the key: that peer, and only it, may now
// open the session.
func (c *Customer) paired(p pairing.Pairing) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hostPeer == "" {
		c.hostPeer = p.Peer
		c.gate.SetHost(p.Peer)
	}
}

func (c *Customer) cancelKey(why rendezvous.Reason) {
	c.mu.Lock()
	reg := c.reg
	c.mu.Unlock()
	if reg == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.cfg.Rendezvous.Cancel(ctx, reg, why)
}

func (c *Customer) isHost(p peer.ID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hostPeer != "" && p == c.hostPeer && !c.ended
}

func (c *Customer) handleControl(s network.Stream) {
	if !c.isHost(s.Conn().RemotePeer()) {
		s.Reset()
		return
	}
	l := newLink(s)
	hello, err := l.recv()
	if err != nil || hello.Type != TypeHello {
		s.Reset()
		return
	}
	done := make(chan struct{})
	go l.pinger(done)
	defer close(done)
	msgs := l.incoming()
	if !c.attach(l, hello, msgs) {
		s.Reset()
		return
	}
	c.serve(l, msgs)
}

// attach makes l the session's link: the first hello starts the session
// (asking for view consent), a later one with the same session ID resumes
// it without asking again.
func (c *Customer) attach(l *link, hello Msg, msgs <-chan Msg) bool {
	c.mu.Lock()
	first := c.session == ""
	switch {
	case first:
		c.session, c.repName = hello.Session, hello.Name
	case hello.Session != c.session || !hello.Resume:
		c.mu.Unlock()
		return false
	}
	// A link still in place means the host moved to a better connection
	// (it closes the old link itself) or the old link died unnoticed (it
	// times out by itself).
	moved := c.link != nil
	c.link = l
	if c.lostTimer != nil {
		c.lostTimer.Stop()
		c.lostTimer = nil
	}
	c.mu.Unlock()

	if first {
		c.cfg.OnEvent(Event{Kind: EvJoined, Name: hello.Name, Peer: c.hostPeer.String(), Session: hello.Session,
			Text: hello.Name + " has joined the session"})
		view, left := c.cfg.AutoView, ""
		if !view {
			view, left = c.askWhileThere("view", hello.Name, msgs)
		}
		switch {
		case left != "":
			c.finish(left, nil)
			return false
		case !view:
			// Nothing to do for a rep who may not look: the session ends
			// for both, and both are told why.
			c.cfg.OnEvent(Event{Kind: EvConsent, View: boolp(false), Control: boolp(false)})
			l.sayGoodbye("the customer did not allow viewing")
			c.finish("you did not allow viewing: the session has ended", nil)
			return false
		}
		c.mu.Lock()
		c.view = view
		c.mu.Unlock()
		c.cfg.OnEvent(c.consentEvent(view, c.gate.Control()))
	} else if !moved {
		c.cfg.OnEvent(Event{Kind: EvResumed, Text: "connection to " + hello.Name + " restored"})
	}
	c.mu.Lock()
	view := c.view
	c.mu.Unlock()
	w, h := 0, 0
	if b, ok := c.cfg.Screen.(interface{ Size() (int, int) }); ok {
		w, h = b.Size()
	}
	if err := l.send(Msg{Type: TypeWelcome, Session: c.session, View: view, Control: c.gate.Control(), LastSeq: c.chat.seen(), ScreenW: w, ScreenH: h}); err != nil {
		return false
	}
	for _, m := range c.chat.since(hello.LastSeq) {
		if l.send(Msg{Type: TypeChat, Chat: &m}) != nil {
			return false
		}
	}
	return true
}

// askWhileThere asks the person while watching the link: if the rep
// leaves before the answer, the question is withdrawn and left says why.
func (c *Customer) askWhileThere(what, by string, msgs <-chan Msg) (yes bool, left string) {
	stop, gone := make(chan struct{}), make(chan string, 1)
	go func() {
		for {
			select {
			case <-stop:
				return
			case m, ok := <-msgs:
				if !ok || m.Type == TypeEnd {
					gone <- orDefault(m.Reason, by+" left before you answered")
					c.withdrawQuestion(what)
					return
				}
			}
		}
	}()
	yes = c.ask(what, by)
	close(stop)
	select {
	case left = <-gone:
		return false, left
	default:
		return yes, ""
	}
}

// withdrawQuestion answers a pending question "no" on the person's behalf.
func (c *Customer) withdrawQuestion(what string) { c.Answer(what, false) }

// ask puts a consent question to the person and waits for Answer.
func (c *Customer) ask(what, by string) bool {
	ch := make(chan bool, 1)
	c.mu.Lock()
	c.answers[what] = ch
	c.mu.Unlock()
	c.cfg.OnEvent(Event{Kind: EvConsentRequest, What: what, Name: by, Peer: c.hostPeer.String(),
		Text: fmt.Sprintf("%s (ID …%s) asks to %s your screen. Allow? [y/n]", by, shortID(c.hostPeer), map[string]string{"view": "see", "control": "control"}[what])})
	select {
	case yes := <-ch:
		return yes
	case <-c.done:
		return false
	}
}

// Answer answers a pending consent question ("view" or "control").
// It reports whether a question was pending.
func (c *Customer) Answer(what string, yes bool) bool {
	c.mu.Lock()
	ch, ok := c.answers[what]
	delete(c.answers, what)
	c.mu.Unlock()
	if ok {
		ch <- yes
	}
	return ok
}

// Pending returns the consent question waiting for an answer, if any.
func (c *Customer) Pending() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for what := range c.answers {
		return what
	}
	return ""
}

func (c *Customer) serve(l *link, msgs <-chan Msg) {
	for {
		m, ok := <-msgs
		if !ok {
			c.linkLost(l)
			return
		}
		switch m.Type {
		case TypeChat:
			if m.Chat != nil && c.chat.received(*m.Chat) {
				c.cfg.OnEvent(Event{Kind: EvChat, Chat: m.Chat})
			}
		case TypeRequest:
			if m.What == "control" {
				go c.requestControl(m.Name)
			}
		case TypeAttendees:
			c.mu.Lock()
			c.attendees = m.Attendees
			c.mu.Unlock()
			c.cfg.OnEvent(Event{Kind: EvAttendees, Attendees: m.Attendees})
		case TypeNotice:
			c.cfg.OnEvent(Event{Kind: EvNotice, Text: m.Text})
		case TypeEnd:
			c.finish(orDefault(m.Reason, "the representative ended the session"), nil)
			return
		}
	}
}

// shortID is the tail of a peer ID, enough for a person to compare.
func shortID(p peer.ID) string {
	s := p.String()
	return s[max(0, len(s)-6):]
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// requestControl asks the person whether by (an attendee of the rep's
// session; "" for the rep) may control the screen.
func (c *Customer) requestControl(by string) {
	c.mu.Lock()
	name := c.repName
	c.mu.Unlock()
	if by != "" && by != name {
		name = by + " (in " + name + "'s session)"
	}
	yes := c.cfg.AutoControl || c.ask("control", name)
	if by == "" {
		c.setControl(yes, Msg{})
		return
	}
	// The answer is for that attendee: a "no" leaves whoever already
	// controls as they are, and the host lets only attendees the person
	// said yes to steer.
	answer := Msg{Name: by, Answer: "refused"}
	if yes {
		answer.Answer = "allowed"
	}
	c.setControl(yes || c.gate.Control(), answer)
}

// setControl sets and tells what the person allows; answer names the
// attendee whose request this answers, if any.
func (c *Customer) setControl(allowed bool, answer Msg) {
	c.gate.SetControl(allowed)
	if !allowed {
		c.releaseInput()
	}
	c.mu.Lock()
	view, l := c.view, c.link
	c.mu.Unlock()
	if l != nil {
		_ = l.send(Msg{Type: TypeConsent, View: view, Control: allowed, Name: answer.Name, Answer: answer.Answer})
	}
	c.cfg.OnEvent(c.consentEvent(view, allowed))
}

// consentEvent tells the customer what they allow and to whom: everyone
// in the session they are shown (the host, visible reps, specialists)
// watches, and of them whoever has control rights may control.
func (c *Customer) consentEvent(view, control bool) Event {
	c.mu.Lock()
	list, rep := c.attendees, c.repName
	c.mu.Unlock()
	see, ctl := []string{}, []string{}
	for _, a := range list {
		if a.Role == RoleCustomer {
			continue
		}
		if view {
			see = append(see, a.Name)
		}
		if control && a.Rights == rights.Control {
			ctl = append(ctl, a.Name)
		}
	}
	if view && len(see) == 0 { // before the host's first list
		see = append(see, rep)
	}
	if control && len(ctl) == 0 {
		ctl = append(ctl, rep)
	}
	return Event{Kind: EvConsent, View: boolp(view), Control: boolp(control), Watching: see, Controlling: ctl}
}

// TakeControlBack withdraws control consent at once.
func (c *Customer) TakeControlBack() { c.setControl(false, Msg{}) }

// linkLost starts the resume window; the session ends if the host does
// not come back in time.
func (c *Customer) linkLost(l *link) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.link != l || c.ended || c.ending {
		return
	}
	c.link = nil
	if c.stopView != nil {
		c.stopView()
	}
	c.releaseInput() // a drag cut by the lost link
	c.cfg.OnEvent(Event{Kind: EvReconnecting, Text: "connection to the representative lost; waiting for it to come back"})
	c.lostTimer = time.AfterFunc(c.cfg.ResumeWindow, func() { c.finish(ErrLinkLost.Error(), ErrLinkLost) })
}

// Chat sends a chat message to the session.
func (c *Customer) Chat(text string) error {
	if len(text) > MaxChatText {
		return fmt.Errorf("chat message too long (%d characters, limit %d)", len(text), MaxChatText)
	}
	m := c.chat.add(Chat{From: "Customer", Role: RoleCustomer, Text: text, Time: time.Now().UTC()})
	c.cfg.OnEvent(Event{Kind: EvChat, Chat: &m})
	c.mu.Lock()
	l := c.link
	c.mu.Unlock()
	if l != nil {
		_ = l.send(Msg{Type: TypeChat, Chat: &m}) // kept for resend if the link is down
	}
	return nil
}

// End ends the session for everyone and withdraws an unused key.
func (c *Customer) End(reason string) {
	c.mu.Lock()
	l, joined := c.link, c.hostPeer != ""
	c.ending = true
	c.mu.Unlock()
	if l != nil {
		l.sayGoodbye(reason)
	}
	if !joined {
		c.cancelKey(rendezvous.ReasonCancelled)
	}
	c.finish(reason, nil)
}

// finish ends the session once; reason is what the customer is told, err
// is set when it failed rather than ended normally.
func (c *Customer) finish(reason string, err error) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	c.endReason = err
	if c.stopView != nil {
		c.stopView()
	}
	if c.link != nil {
		c.link.close()
	}
	if c.lostTimer != nil {
		c.lostTimer.Stop()
	}
	c.mu.Unlock()
	c.releaseInput()
	c.cfg.OnEvent(Event{Kind: EvEnded, Reason: reason})
	close(c.done)
}

// releaseInput lets go the buttons the host's input left pressed: control
// ended in the middle of a drag.
func (c *Customer) releaseInput() {
	if c.inj != nil {
		c.inj.ReleaseAll()
	}
}

func (c *Customer) handleScreen(s network.Stream) {
	if !c.isHost(s.Conn().RemotePeer()) {
		s.Reset()
		return
	}
	c.mu.Lock()
	if !c.view {
		c.mu.Unlock()
		s.Reset()
		return
	}
	if c.stopView != nil {
		c.stopView()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stopView = cancel
	c.mu.Unlock()
	defer cancel()
	cfg := c.cfg.Sender
	switch s.Protocol() {
	case ScreenProtocol:
		cfg.Link, cfg.CompactJPEG, cfg.Indexed, cfg.Dictionary = screen.NewLink(), true, true, true
	case screenProtocol22:
		cfg.Link, cfg.CompactJPEG, cfg.Indexed = screen.NewLink(), true, true
	case screenProtocol21:
		cfg.Link, cfg.CompactJPEG = screen.NewLink(), true
	}
	go func() { // a closed stream from the host ends the sender
		readAcks(s, cfg.Link)
		cancel()
	}()
	sender := screen.NewSender(c.cfg.Screen, cfg)
	c.mu.Lock()
	c.sender = sender
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.sender == sender {
			c.sender = nil
		}
		c.mu.Unlock()
	}()
	sent := false
	err := sender.Run(ctx, p2p.Deadlined{S: s, WriteTimeout: ScreenTimeout}, nil, func(screen.SendStats) { sent = true })
	if err != nil && ctx.Err() == nil {
		c.screenStopped(err, sent)
	}
	s.Reset()
}

// screenStopped tells the customer why the screen stopped going, unless
// that was said last time and no frame went since.
func (c *Customer) screenStopped(err error, sent bool) {
	text := "screen sharing stopped: " + err.Error()
	c.mu.Lock()
	again := text == c.screenErr && !sent
	c.screenErr = text
	c.mu.Unlock()
	if !again {
		c.cfg.OnEvent(Event{Kind: EvError, Text: text})
	}
}

// readAcks hands the host's acknowledgements of frame ends to link until
// the stream ends. Without a link (a 2.0 host), anything at all from the
// host ends it.
func readAcks(s network.Stream, link *screen.Link) {
	if link == nil {
		_, _ = s.Read(make([]byte, 1))
		return
	}
	r := bufio.NewReader(s)
	for {
		raw, err := p2p.ReadFrame(r, 16)
		if err != nil {
			return
		}
		if m, err := screen.Decode(raw); err == nil && m.Kind == screen.MsgAck {
			link.Acked(m.End.Seq)
		}
	}
}

// pokeSender has the screen captured now: the host's input probably
// changed it, and a still screen is captured only a few times a second.
func (c *Customer) pokeSender() {
	c.mu.Lock()
	sender := c.sender
	c.mu.Unlock()
	if sender != nil {
		sender.Poke()
	}
}

func (c *Customer) handleInput(s network.Stream) {
	from := s.Conn().RemotePeer()
	if !c.isHost(from) {
		s.Reset()
		return
	}
	defer s.Close()
	r := bufio.NewReader(s)
	// Tell the host about refused input at most once a second, and once
	// after every change of consent.
	var lastRefusal time.Time
	var lastGen uint64
	for {
		raw, err := p2p.ReadFrame(r, input.MaxEventSize)
		if err != nil {
			return
		}
		ev, err := input.Decode(raw)
		if err != nil {
			continue
		}
		if err := c.gate.Check(from); err != nil {
			if gen := c.gate.Generation(); time.Since(lastRefusal) > time.Second || gen != lastGen {
				lastRefusal, lastGen = time.Now(), gen
				c.mu.Lock()
				l := c.link
				c.mu.Unlock()
				if l != nil {
					_ = l.send(Msg{Type: TypeRefused, Text: "input refused: " + err.Error()})
				}
			}
			continue
		}
		if err := c.inj.Apply(ev); err != nil {
			c.cfg.OnEvent(Event{Kind: EvError, Text: err.Error()})
		}
		c.pokeSender()
	}
}
