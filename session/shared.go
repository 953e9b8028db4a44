package session

import (
	"context"
	"errors"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/libp2p/go-libp2p/core/network"

	"assist/p2p"
	"assist/screen"
)

// EvSharing: a specialist's screen share started (Name) or stopped (Reason set).
const EvSharing = "sharing"

// ErrNotSharing: nobody shares a screen now.
var ErrNotSharing = errors.New("nobody is sharing a screen")

// sharedScreen is a specialist's screen share at the host: one at a time,
// kept in a mirror of its own, which the host's viewer, the attendees
// (SharedFeedProtocol) and the customer (SharedViewProtocol) follow. It
// has its own lock: claiming, stopping and forwarding a share never waits
// for the host's.
type sharedScreen struct {
	mirror *screen.Mirror

	mu     sync.Mutex
	stop   context.CancelFunc // ends the share in progress; nil: none
	sharer peer.ID
	name   string // the sharer's, as everyone sees it
}

// claim makes p (called name) the sharer unless someone already shares.
func (s *sharedScreen) claim(p peer.ID, name string, stop context.CancelFunc) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		return false
	}
	s.stop, s.sharer, s.name = stop, p, name
	return true
}

// by names who shares now ("" nobody).
func (s *sharedScreen) by() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.name
}

// release ends the claim and forgets the picture.
func (s *sharedScreen) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil { // once: a new share's picture is not touched
		s.mirror.Reset()
	}
	s.stop, s.sharer, s.name = nil, "", ""
}

// stopBy stops the share if p is the one sharing.
func (s *sharedScreen) stopBy(p peer.ID) {
	s.mu.Lock()
	stop := s.stop
	if s.sharer != p {
		stop = nil
	}
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// end stops whatever share is in progress.
func (s *sharedScreen) end() error {
	s.mu.Lock()
	stop := s.stop
	s.mu.Unlock()
	if stop == nil {
		return ErrNotSharing
	}
	stop()
	return nil
}

// SharedScreen is the screen a specialist shares (empty when none does).
func (h *Host) SharedScreen() *screen.Mirror { return h.share.mirror }

func (h *Host) handleSharedScreen(s network.Stream) {
	from := s.Conn().RemotePeer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.mu.Lock()
	a := h.attendees[from]
	h.mu.Unlock()
	switch {
	case a == nil:
		s.Reset()
		return
	case !a.mayShare:
		_ = a.link.send(Msg{Type: TypeNotice, Text: "screen sharing is not allowed in this session"})
		s.Reset()
		return
	case !h.share.claim(from, a.Name, cancel):
		_ = a.link.send(Msg{Type: TypeNotice, Text: "someone else is sharing a screen now"})
		s.Reset()
		return
	}
	defer h.share.release()
	if !h.isAttendee(from) { // removed while claiming: its removal found no share to stop
		s.Reset()
		return
	}
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	h.shareNotice(a.Name+" is sharing their screen", Event{Kind: EvSharing, Name: a.Name, Text: a.Name + " is sharing their screen"})
	// Specialists are never masked: the customer watches along.
	go h.pushSharedView(ctx)
	ack := func(screen.FrameEnd) {}
	if s.Protocol() == SharedScreenProtocol {
		ack = acknowledgeSeq(s)
	}
	_ = screen.Receive(p2p.Deadlined{S: s, ReadTimeout: ScreenTimeout}, func(m screen.Message) {
		h.share.mirror.Apply(m)
		if m.Kind == screen.MsgFrameEnd {
			ack(m.End)
		}
	})
	s.Reset()
	h.share.release() // before the notice: pages that clear find it cleared
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
func (h *Host) StopShare() error { return h.share.end() }

// handleSharedFeed streams the shared screen to an attendee.
func (h *Host) handleSharedFeed(s network.Stream) {
	h.feed(s, h.share.mirror)
}
