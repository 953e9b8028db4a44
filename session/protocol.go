// Package session runs a support session: the customer's side (share the
// screen, answer consents, accept input only from the host) and the host
// rep's side, the hub that owns the attendee list, the chat, the
// permissions and the transcript.
package session

import (
	"bufio"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"assist/input"
	"assist/p2p"
)

// Protocols between the host and the customer, all opened by the host
// after it paired with the customer's support key. Version 1.0.0.
//
// ControlProtocol carries JSON messages (type Msg), one p2p frame each, at
// most MaxControlSize bytes, both ways, for the whole session:
//
//	host     -> customer {"type":"hello","session":ID,"name":"Alice","resume":false,"last_seq":0}
//	customer -> host     {"type":"welcome","session":ID,"view":true,"control":false,"last_seq":0,"screen_w":1920,"screen_h":1080}
//	host     -> customer {"type":"request","what":"control"}
//	customer -> host     {"type":"consent","view":true,"control":true}
//	either   -> other    {"type":"chat","chat":{"seq":3,"from":"Alice","role":"rep","text":"hi","time":"..."}}
//	host     -> customer {"type":"attendees","attendees":[...]}  (only what the customer may see)
//	host     -> customer {"type":"notice","text":"Bob has joined the session"}
//	customer -> host     {"type":"refused","text":"input refused: no control consent"}
//	either   -> other    {"type":"ping"} every PingInterval; a side that hears
//	                     nothing for ReadTimeout treats the link as lost
//	either   -> other    {"type":"end","reason":"..."}
//
// On a lost link the host dials again and sends hello with resume=true and
// the same session ID; the customer, still holding its consents, answers
// welcome. Each side then resends the chat messages the other has not
// seen (seq > last_seq), so none is lost.
//
// ScreenProtocol: the customer writes screen messages (package screen's
// wire layout); each new stream starts with a full frame. Version 2 added
// copies and patches: a version 1 peer cannot play them, and libp2p's
// negotiation refuses the stream instead. In version 2.1 the host
// acknowledges every frame end ('A', package screen), from which the
// customer measures the link and keeps its queue short; a 2.0 customer
// would take the first acknowledgement for the stream's end, so a host
// asks for 2.1 first and acknowledges only from it on. 2.1 also carries
// JPEG tiles without their tables, 2.2 tiles of few colours without PNG's
// chunks: the host puts them back for everything downstream. In 2.3 the
// small ones are compressed against the stream's history (typed letters
// against the letters typed before, screen.FormatIndexedDict).
//
// InputProtocol: the host writes input events (package input), JSON, one
// p2p frame each, at most input.MaxEventSize bytes.
const (
	ControlProtocol = "/assist/session/1.0.0"
	ScreenProtocol  = "/assist/screen/2.3.0"
	// screenProtocol22 is version 2.2: tiles of few colours without PNG's
	// chunks.
	screenProtocol22 = "/assist/screen/2.2.0"
	// screenProtocol21 is version 2.1: acknowledgements and compact JPEG.
	screenProtocol21 = "/assist/screen/2.1.0"
	// screenProtocolNoAcks is version 2.0, without acknowledgements.
	screenProtocolNoAcks = "/assist/screen/2.0.0"
	InputProtocol        = "/assist/input/1.0.0"
)

// Protocols between the host and the other attendees (invited reps, later
// specialists). Version 1.0.0.
//
// AttendeeProtocol is opened by the attendee and carries the same JSON
// control messages (type Msg) as ControlProtocol, one p2p frame each:
//
//	attendee -> host {"type":"join","invite":ID,"ticket":...,"credential":...,"name":"Bob"}
//	host -> attendee {"type":"welcome","session":ID,"name":"Alice","role":"rep","rights":"control",
//	                  "masked":true,"view":true,"control":false}
//	                 or {"type":"denied","reason":"...","name":"Carol"} (Name: who took it)
//	host -> attendee {"type":"attendees"|"chat"|"notice"|"consent"|"end"|"ping"}
//	attendee -> host {"type":"chat"|"input"|"request"|"end"|"ping"}
//
// FeedProtocol is opened by an admitted attendee; the host writes the
// customer's screen on it in package screen's wire layout, starting with
// every tile. In version 2.1 the attendee acknowledges frame ends ('A',
// with how many it has had on the stream): the host keeps at most what
// the attendee's link passes in a moment in flight, and one that falls
// behind gets the latest squares, so a slow attendee sees fewer frames,
// not older ones.
const (
	AttendeeProtocol = "/assist/attendee/1.0.0"
	FeedProtocol     = "/assist/feed/2.1.0"
	// feedProtocolNoAcks is version 2.0, without acknowledgements.
	feedProtocolNoAcks = "/assist/feed/2.0.0"
)

// A specialist may share their own screen into the session, when the
// portal's settings and the host allow it: the specialist opens
// SharedScreenProtocol to the host and writes screen messages (package
// screen's wire layout, a full frame first); the host keeps them in a
// second mirror that its viewer, and the other attendees over
// SharedFeedProtocol, can watch (acknowledged from version 2.1 on, as
// FeedProtocol). One share at a time; the host can stop it. Version 2.1
// of SharedScreenProtocol is to the shared screen what ScreenProtocol 2.3
// is to the customer's: the host acknowledges every frame end, and tiles
// go compact (JPEG without tables, indexed, against the history).
const (
	SharedScreenProtocol = "/assist/shared-screen/2.1.0"
	// sharedScreenProtocol20 is version 2.0: no acknowledgements, tiles
	// as the browser draws them.
	sharedScreenProtocol20 = "/assist/shared-screen/2.0.0"
	SharedFeedProtocol     = "/assist/shared-feed/2.1.0"
	// sharedFeedProtocolNoAcks is version 2.0, without acknowledgements.
	sharedFeedProtocolNoAcks = "/assist/shared-feed/2.0.0"
)

// SharedViewProtocol: the host opens it to the customer while a specialist
// shares a screen and writes that screen on it (package screen's wire
// layout, every tile first), so the customer can watch it too.
// In version 2.1 the customer acknowledges each frame end as an attendee
// does its feed, and the host sends only what the customer's link passes.
const (
	SharedViewProtocol   = "/assist/shared-view/2.1.0"
	sharedViewProtocol20 = "/assist/shared-view/2.0.0"
)

// MaxControlSize bounds one control message.
const MaxControlSize = 64 << 10

// Link timing.
const (
	PingInterval = 3 * time.Second
	ReadTimeout  = 10 * time.Second
	// ScreenTimeout bounds each read and write of a screen stream: its
	// sender says something (a keepalive at least) every 5 s, and a
	// receiver that takes no bytes for this long has stalled.
	ScreenTimeout = 20 * time.Second
	// InputTimeout bounds writing one input event to the customer.
	InputTimeout = 5 * time.Second
)

// Message types on the control stream.
const (
	TypeHello     = "hello"
	TypeWelcome   = "welcome"
	TypeRequest   = "request"
	TypeConsent   = "consent"
	TypeChat      = "chat"
	TypeAttendees = "attendees"
	TypeNotice    = "notice"
	TypeRefused   = "refused"
	TypePing      = "ping"
	TypeEnd       = "end"
	// Attendee links.
	TypeJoin   = "join"   // attendee -> host: invitation, ticket, credential, name
	TypeDenied = "denied" // host -> attendee: not admitted (Reason; Name: who took it)
	TypeInput  = "input"  // attendee -> host: an input event for the customer
	// host -> attendee: a specialist's share started (Name) or ended (Reason).
	TypeSharing = "sharing"
)

// Msg is one control message.
type Msg struct {
	Type      string     `json:"type"`
	Session   string     `json:"session,omitempty"`
	Name      string     `json:"name,omitempty"`
	Resume    bool       `json:"resume,omitempty"`
	LastSeq   uint64     `json:"last_seq,omitempty"`
	View      bool       `json:"view,omitempty"`
	Control   bool       `json:"control,omitempty"`
	What      string     `json:"what,omitempty"`
	Chat      *Chat      `json:"chat,omitempty"`
	Attendees []Attendee `json:"attendees,omitempty"`
	Text      string     `json:"text,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	ScreenW   int        `json:"screen_w,omitempty"`
	ScreenH   int        `json:"screen_h,omitempty"`
	// Attendee links (AttendeeProtocol) only.
	Invite     string `json:"invite,omitempty"`
	Ticket     []byte `json:"ticket,omitempty"`
	Credential []byte `json:"credential,omitempty"`
	Role       string `json:"role,omitempty"`
	Rights     string `json:"rights,omitempty"`
	Masked     bool   `json:"masked,omitempty"`
	Share      bool   `json:"share,omitempty"` // welcome: this attendee may share a screen
	// Answer: a consent message that answers an attendee's request for
	// control (Name) says "allowed" or "refused".
	Answer string       `json:"answer,omitempty"`
	Input  *input.Event `json:"input,omitempty"`
}

// Chat is one chat message.
type Chat struct {
	Seq  uint64    `json:"seq"`
	From string    `json:"from"`
	Role string    `json:"role"`
	Text string    `json:"text"`
	Time time.Time `json:"time"`
	// Internal messages are for reps and specialists only: the host never
	// sends them to the customer.
	Internal bool `json:"internal,omitempty"`
}

// MaxChatText bounds a chat message.
const MaxChatText = 4000

// Attendee is someone in the session.
type Attendee struct {
	Name string `json:"name"`
	Role string `json:"role"` // "customer", "host", "rep", "specialist"
	Peer string `json:"peer,omitempty"`
	// Rights is "view" or "control" for attendees other than the customer.
	Rights string `json:"rights,omitempty"`
	// Masked attendees are invisible to the customer.
	Masked bool `json:"masked,omitempty"`
}

// Roles.
const (
	RoleCustomer = "customer"
	RoleHost     = "host"
	RoleRep      = "rep"
)

// DecodeMsg parses a control message from the network.
func DecodeMsg(b []byte) (Msg, error) {
	var m Msg
	if err := json.Unmarshal(b, &m); err != nil {
		return Msg{}, fmt.Errorf("decode control message: %w", err)
	}
	if m.Type == "" {
		return Msg{}, fmt.Errorf("control message without type")
	}
	if m.Chat != nil && (len(m.Chat.Text) > MaxChatText || len(m.Chat.From) > 200) {
		return Msg{}, fmt.Errorf("chat message too long")
	}
	return m, nil
}

// link is one control stream: serialised writes, reads with a deadline
// that pings keep from expiring while the peer is alive.
type link struct {
	s    network.Stream
	r    *bufio.Reader
	mu   sync.Mutex
	gone chan struct{} // closed when reading fails: the peer closed or vanished
	once sync.Once
}

func newLink(s network.Stream) *link {
	return &link{s: s, r: bufio.NewReader(s), gone: make(chan struct{})}
}

// sayGoodbye sends an end message and waits (briefly) until the peer has
// read it and closed the stream: exiting at once would tear down the
// connection with the message still in flight.
func (l *link) sayGoodbye(reason string) {
	if l.send(Msg{Type: TypeEnd, Reason: reason}) != nil {
		return
	}
	_ = l.s.CloseWrite()
	select {
	case <-l.gone:
	case <-time.After(2 * time.Second):
	}
}

func (l *link) send(m Msg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.s.SetWriteDeadline(time.Now().Add(ReadTimeout))
	return p2p.WriteFrame(l.s, b)
}

func (l *link) recv() (Msg, error) {
	_ = l.s.SetReadDeadline(time.Now().Add(ReadTimeout))
	b, err := p2p.ReadFrame(l.r, MaxControlSize)
	if err != nil {
		l.once.Do(func() { close(l.gone) })
		return Msg{}, err
	}
	return DecodeMsg(b)
}

// incoming reads the link's messages (pings aside) into a channel, closed
// when the link ends, so a side can wait for a person and for the other
// end at once.
func (l *link) incoming() <-chan Msg {
	ch := make(chan Msg, 16)
	go func() {
		defer close(ch)
		for {
			m, err := l.recv()
			if err != nil {
				return
			}
			if m.Type != TypePing {
				ch <- m
			}
		}
	}()
	return ch
}

// pinger keeps the link's read deadline alive at the other end.
func (l *link) pinger(done <-chan struct{}) {
	t := time.NewTicker(PingInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if l.send(Msg{Type: TypePing}) != nil {
				return
			}
		}
	}
}

func (l *link) close() { _ = l.s.Close() }

// chatLog numbers outgoing chat messages and keeps them until the other
// side has seen them, and remembers the last seq it received.
type chatLog struct {
	mu       sync.Mutex
	nextSeq  uint64
	sent     []Chat
	lastSeen uint64
}

const maxUnacked = 1000

func (c *chatLog) add(m Chat) Chat {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextSeq++
	m.Seq = c.nextSeq
	c.sent = append(c.sent, m)
	if len(c.sent) > maxUnacked {
		c.sent = c.sent[len(c.sent)-maxUnacked:]
	}
	return m
}

// since returns the messages the other side has not seen.
func (c *chatLog) since(seen uint64) []Chat {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Chat
	for _, m := range c.sent {
		if m.Seq > seen {
			out = append(out, m)
		}
	}
	return out
}

// received reports whether m is new, and records it.
func (c *chatLog) received(m Chat) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.Seq <= c.lastSeen {
		return false
	}
	c.lastSeen = m.Seq
	return true
}

func (c *chatLog) seen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastSeen
}
