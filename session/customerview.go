package session

import (
	"context"
	"sync"

	"github.com/libp2p/go-libp2p/core/network"

	"assist/input"
	"assist/internal/fanout"
	"assist/rights"
	"assist/screen"
)

// EvSharedView (customer): a shared screen can be watched; OnSharedView
// is told once so the UI can open a viewer.
const EvSharedView = "shared_view"

// SharedView is what the customer's viewer shows: a specialist's shared
// screen, the customer's chat; no input goes anywhere from it.
type SharedView struct {
	c      *Customer
	mirror *screen.Mirror
	fan    fanout.Fanout[Event]

	mu        sync.Mutex
	history   []Chat
	attendees []Attendee
	view      bool
	control   bool
	sharer    string
	ended     bool
}

func newSharedView(c *Customer) *SharedView {
	return &SharedView{c: c, mirror: screen.NewMirror()}
}

// event records what the customer's viewer page shows.
func (v *SharedView) event(e Event) {
	v.mu.Lock()
	if e.Kind == EvChat && e.Chat != nil {
		v.history = append(v.history, *e.Chat)
	}
	switch e.Kind {
	case EvEnded:
		v.ended = true
	case EvAttendees:
		v.attendees = e.Attendees
	case EvConsent:
		v.view, v.control = *e.View, *e.Control
	case EvSharing:
		v.sharer = e.Name
		if e.Reason != "" {
			v.sharer = ""
		}
	}
	v.mu.Unlock()
	v.fan.Publish(e)
	if e.Kind == EvEnded {
		v.fan.Close()
	}
}

// Screen is the shared screen.
func (v *SharedView) Screen() *screen.Mirror { return v.mirror }

// Subscribe returns the customer's events for the page.
func (v *SharedView) Subscribe() (<-chan Event, func()) { return v.fan.Subscribe() }

// Snapshot is the state for a page that just opened.
func (v *SharedView) Snapshot() Event {
	v.mu.Lock()
	defer v.mu.Unlock()
	e := Event{Kind: EvState, History: append([]Chat(nil), v.history...), Frames: v.mirror.Frames(), Rights: rights.View,
		Attendees: v.attendees, View: boolp(v.view), Control: boolp(v.control), Sharer: v.sharer}
	if v.ended {
		e.Reason = "the session has ended"
	}
	return e
}

// SharedScreenOnly tells the viewer this page shows a specialist's screen.
func (v *SharedView) SharedScreenOnly() bool { return true }

// Chat is the customer's chat (never internal).
func (v *SharedView) Chat(text string, _ bool) error { return v.c.Chat(text) }

// RequestControl: the customer controls nothing through this view.
func (v *SharedView) RequestControl() error { return ErrViewOnly }

// Input: nothing goes anywhere from the customer's view of a shared screen.
func (v *SharedView) Input(input.Event) error { return ErrViewOnly }

// handleSharedView receives the shared screen from the host.
func (c *Customer) handleSharedView(s network.Stream) {
	if !c.isHost(s.Conn().RemotePeer()) {
		s.Reset()
		return
	}
	c.mu.Lock()
	first := !c.sharedShown
	c.sharedShown = true
	c.mu.Unlock()
	if first {
		c.cfg.OnEvent(Event{Kind: EvSharedView, Text: "a specialist's screen can be watched"})
	}
	ack := acknowledger(s, s.Protocol() == SharedViewProtocol)
	_ = screen.Receive(s, func(m screen.Message) {
		c.shared.mirror.Apply(m)
		if m.Kind == screen.MsgFrameEnd {
			ack()
		}
	})
	s.Reset()
	// The host ends this stream when the share ends: the customer's page
	// clears the picture (the terminal already has the host's notice).
	c.shared.mirror.Reset()
	c.shared.event(Event{Kind: EvSharing, Reason: "stopped", Text: "the shared screen has ended"})
}

// SharedView is the customer's view of a specialist's shared screen.
func (c *Customer) SharedView() *SharedView { return c.shared }

// pushSharedView sends the shared screen to the customer while it lasts.
func (h *Host) pushSharedView(ctx context.Context) {
	s, err := h.cfg.Host.NewStream(network.WithAllowLimitedConn(ctx, "shared-view"), h.cfg.Customer.ID, SharedViewProtocol, sharedViewProtocol20)
	if err != nil {
		return
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	pump(ctx, s, h.share.mirror, s.Protocol() == SharedViewProtocol)
	s.Reset()
}
