package session

import (
	"context"
	"errors"

	"github.com/libp2p/go-libp2p/core/network"

	"assist/screen"
)

// A specialist may share their own screen into the session, when the
// portal's settings and the host allow it: the specialist opens
// SharedScreenProtocol to the host and writes screen messages (package
// screen's wire layout, a full frame first); the host keeps them in a
// second mirror that its viewer, and the other attendees over
// SharedFeedProtocol, can watch. One share at a time; the host can stop it.
const (
	SharedScreenProtocol = "/assist/shared-screen/1.0.0"
	SharedFeedProtocol   = "/assist/shared-feed/1.0.0"
)

// EvSharing: a specialist's screen share started (Name) or stopped (Reason set).
const EvSharing = "sharing"

// ErrNotSharing: nobody shares a screen now.
var ErrNotSharing = errors.New("nobody is sharing a screen")

// SharedScreen is the screen a specialist shares (empty when none does).
func (h *Host) SharedScreen() *screen.Mirror { return h.shared }

func (h *Host) handleSharedScreen(s network.Stream) {
	from := s.Conn().RemotePeer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Checked and claimed under one lock: two shares never start at once.
	h.mu.Lock()
	a := h.attendees[from]
	busy := h.sharing != nil
	allowed := a != nil && a.mayShare
	if a != nil && allowed && !busy {
		h.sharing, h.sharer = cancel, a.peer
	}
	h.mu.Unlock()
	switch {
	case a == nil:
		s.Reset()
		return
	case !allowed:
		_ = a.link.send(Msg{Type: TypeNotice, Text: "screen sharing is not allowed in this session"})
		s.Reset()
		return
	case busy:
		_ = a.link.send(Msg{Type: TypeNotice, Text: "someone else is sharing a screen now"})
		s.Reset()
		return
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	h.shareNotice(a.Name+" is sharing their screen", Event{Kind: EvSharing, Name: a.Name, Text: a.Name + " is sharing their screen"})
	// Specialists are never masked: the customer watches along.
	go h.pushSharedView(ctx)
	_ = screen.Receive(s, h.shared.Apply)
	s.Reset()
	h.mu.Lock()
	h.sharing, h.sharer = nil, ""
	h.mu.Unlock()
	h.shared.Reset()
	h.shareNotice(a.Name+" stopped sharing their screen", Event{Kind: EvSharing, Name: a.Name, Reason: "stopped", Text: a.Name + " stopped sharing their screen"})
}

// shareNotice tells everyone a share started or ended: the host's pages
// and the attendees' follow it (a link to the shared screen, or clearing
// it), the customer's terminal reads the text.
func (h *Host) shareNotice(text string, e Event) {
	h.emit(e)
	h.toAttendees(Msg{Type: TypeSharing, Name: e.Name, Reason: e.Reason, Text: text}, "")
	h.noticeCustomer(text)
}

// StopShare ends the specialist's screen share.
func (h *Host) StopShare() error {
	h.mu.Lock()
	stop := h.sharing
	h.mu.Unlock()
	if stop == nil {
		return ErrNotSharing
	}
	stop()
	return nil
}

// handleSharedFeed streams the shared screen to an attendee.
func (h *Host) handleSharedFeed(s network.Stream) {
	h.feed(s, h.shared)
}
