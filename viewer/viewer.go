// Package viewer serves the rep's viewer: a web page on 127.0.0.1 that
// shows the customer's screen, the chat, the attendees and the connection
// state, and sends mouse, keyboard and chat back to the session host. The
// same page without a session is the rep's console: the reps online in the
// rep's portals and the invitations to answer.
//
// Only the person who started 'assist join' may use it: the address has a
// random port and an unguessable token; every request must carry the token,
// name 127.0.0.1 or localhost as its Host (DNS rebinding), and, where the
// browser sends one, an Origin of this very server.
package viewer

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"assist/gossip"
	"assist/input"
	"assist/screen"
	"assist/session"
)

//go:embed page.html
var page []byte

// Session is what the viewer needs from the host.
type Session interface {
	Subscribe() (<-chan session.Event, func())
	Snapshot() session.Event
	Screen() *screen.Mirror
	Chat(text string, internal bool) error
	RequestControl() error
	Input(input.Event) error
}

// Portal is the rep's standing in its portals, for the page's invite
// dialog and invitation alerts.
type Portal interface {
	// Reps lists the reps online whose name or portal contains text.
	Reps(text string) []Colleague
	Invite(ctx context.Context, req InviteRequest) error
	Accept(ctx context.Context, id string) (viewerURL string, err error)
	Decline(ctx context.Context, id string) error
	Alerts() []gossip.Alert
	// Me names the rep in each of its portals.
	Me() []gossip.Standing
	// Subscribe follows the portal's news for the page.
	Subscribe() (<-chan PortalEvent, func())
	// External specialists: create an invitation code (the page gets it
	// as an "invitation" event) or cancel one.
	InviteExternal(ctx context.Context, access string, maxUses int) (Code, error)
	CancelCode(ctx context.Context, code string) error
}

// Colleague is a rep online, as the invite dialog lists them.
type Colleague struct {
	gossip.Rep
	// You: this rep, who cannot invite itself.
	You bool `json:"you,omitempty"`
	// InSession: already in the session this process hosts.
	InSession bool `json:"in_session,omitempty"`
}

// Code is an invitation code for external specialists.
type Code struct {
	Code     string `json:"code"`
	Link     string `json:"link"`
	Rights   string `json:"rights"`
	MaxUses  int    `json:"max_uses"`
	JoinPage string `json:"join_page,omitempty"`
}

// PortalEvent is portal news as a page gets it (JSON, as it is): "alert",
// "alert_closed", "invited", "invite_accepted", "invite_declined",
// "invite_expired", "invite_withdrawn", "code_closed".
type PortalEvent struct {
	Event   string        `json:"event"`
	Alert   *gossip.Alert `json:"alert,omitempty"`
	AlertID string        `json:"alert_id,omitempty"`
	By      string        `json:"by,omitempty"`
	Name    string        `json:"name,omitempty"`
	Reason  string        `json:"reason,omitempty"`
	Code    string        `json:"code,omitempty"`
}

// Moderator is a session whose host can change attendees' rights and
// remove them; the page offers it on the host's viewer.
type Moderator interface {
	SetRights(name, rights string) error
	Remove(name string) error
	StopShare() error
}

// Sharer is an attendee's session that may share a screen of its own: the
// page shares one the browser captures (getDisplayMedia).
type Sharer interface {
	MayShare() bool
	ShareScreen(ctx context.Context, src screen.Source) error
}

// SharedScreener is a session that can show a specialist's shared screen
// (?screen=shared) besides the customer's.
type SharedScreener interface {
	SharedScreen() *screen.Mirror
}

// SharedViewOnly is a session that is nothing but a specialist's shared
// screen (the customer's view of it): its page says so and clears when
// the share ends.
type SharedViewOnly interface {
	SharedScreenOnly() bool
}

// InviteRequest is the invite dialog's form.
type InviteRequest struct {
	Rep     string `json:"rep,omitempty"`
	Portal  string `json:"portal,omitempty"`
	Mask    bool   `json:"mask,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// Server is a running viewer.
type Server struct {
	sess   Session // nil: the console page
	portal Portal  // nil: no invite dialog, no alerts
	token  string
	port   int
	ln     net.Listener
	srv    *http.Server
	log    *slog.Logger
}

// Start serves a session's viewer on 127.0.0.1, a random port. portal may
// be nil.
func Start(sess Session, portal Portal, log *slog.Logger) (*Server, error) {
	return start(sess, portal, log)
}

// StartConsole serves the rep's console page: no session, only the portal.
func StartConsole(portal Portal, log *slog.Logger) (*Server, error) {
	if portal == nil {
		return nil, errors.New("the console page needs a portal")
	}
	return start(nil, portal, log)
}

func start(sess Session, portal Portal, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("viewer listen: %w", err)
	}
	s := &Server{sess: sess, portal: portal, token: base64.RawURLEncoding.EncodeToString(b[:]), port: ln.Addr().(*net.TCPAddr).Port, ln: ln, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.guard(s.servePage))
	mux.HandleFunc("GET /ws", s.guard(s.serveSocket))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the address to open, token included.
func (s *Server) URL() string { return fmt.Sprintf("http://127.0.0.1:%d/?t=%s", s.port, s.token) }

// Close stops the server and closes every page's connection.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	return s.srv.Close()
}

// guard refuses requests without the token, for another host name, or
// from another origin.
func (s *Server) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.check(r); err != nil {
			s.log.Warn("viewer request refused", "err", err, "remote", r.RemoteAddr)
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		next(w, r)
	}
}

var (
	errToken  = errors.New("missing or wrong viewer token")
	errHost   = errors.New("wrong Host header")
	errOrigin = errors.New("cross-origin request refused")
)

func (s *Server) check(r *http.Request) error {
	local := map[string]bool{fmt.Sprintf("127.0.0.1:%d", s.port): true, fmt.Sprintf("localhost:%d", s.port): true}
	if !local[r.Host] {
		return errHost
	}
	if o := r.Header.Get("Origin"); o != "" && !local[trimScheme(o)] {
		return errOrigin
	}
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("t")), []byte(s.token)) != 1 {
		return errToken
	}
	return nil
}

func trimScheme(origin string) string {
	const p = "http://"
	if len(origin) > len(p) && origin[:len(p)] == p {
		return origin[len(p):]
	}
	return ""
}

func (s *Server) servePage(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src blob:; connect-src 'self'")
	_, _ = w.Write(page)
}

// clientMsg is what the page sends.
type clientMsg struct {
	// "input", "chat", "request_control"; with a portal also "reps",
	// "invite", "accept", "decline".
	Type     string         `json:"type"`
	Input    *input.Event   `json:"input,omitempty"`
	Text     string         `json:"text,omitempty"`
	Internal bool           `json:"internal,omitempty"` // chat for reps and specialists only
	Invite   *InviteRequest `json:"invite,omitempty"`
	ID       string         `json:"id,omitempty"` // an alert, for accept and decline
	// External invitations and moderation (host only).
	Access  string `json:"access,omitempty"`
	MaxUses int    `json:"max_uses,omitempty"`
	Code    string `json:"code,omitempty"`
	Name    string `json:"name,omitempty"`
	Rights  string `json:"rights,omitempty"`
}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	// Origin was checked in guard, against this server's own address.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	c.SetReadLimit(input.MaxEventSize + session.MaxChatText + 256)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	if s.sess == nil {
		s.serveConsole(ctx, c)
		return
	}
	events, unsubscribe := s.sess.Subscribe()
	defer unsubscribe()
	mirror := s.sess.Screen()
	// ?screen=shared: a specialist's shared screen instead of the customer's.
	if sh, ok := s.sess.(SharedScreener); ok && r.URL.Query().Get("screen") == "shared" {
		mirror = sh.SharedScreen()
	}
	feed := mirror.Subscribe()
	defer feed.Close()

	if err := writeJSON(ctx, c, s.sess.Snapshot()); err != nil {
		return
	}
	// The page of an attendee who may share a screen sends its pictures.
	var share *pageShare
	if sh, ok := s.sess.(Sharer); ok && sh.MayShare() {
		share = &pageShare{sh: sh, ended: func(text string) {
			_ = writeJSON(ctx, c, map[string]any{"event": "share_ended", "text": text})
		}}
		defer share.stop()
		c.SetReadLimit(screen.MaxPictureBytes + 1024)
	}
	// The host's page moderates attendees; an attendee's does not. A page
	// of a specialist's shared screen says so and clears when it ends.
	_, host := s.sess.(Moderator)
	shared := mirror != s.sess.Screen()
	customer := false // the customer's own page of a specialist's screen
	if sv, ok := s.sess.(SharedViewOnly); ok && sv.SharedScreenOnly() {
		shared, customer = true, true
	}
	if err := writeJSON(ctx, c, map[string]any{"event": "role", "host": host, "shared": shared, "customer": customer, "can_share": share != nil}); err != nil {
		return
	}
	if s.portal != nil {
		portalEvents, stop := s.portal.Subscribe()
		defer stop()
		// Only the host invites: an attendee's page shows alerts only.
		if err := writeJSON(ctx, c, map[string]any{"event": "portal", "alerts": s.portal.Alerts(), "can_invite": host}); err != nil {
			return
		}
		go s.pumpPortal(ctx, c, portalEvents)
	}
	go s.pumpScreen(ctx, cancel, c, feed)
	go s.pumpEvents(ctx, cancel, c, events)
	s.readLoop(ctx, c, share)
	c.Close(websocket.StatusNormalClosure, "")
}

// serveConsole is the console page's connection: portal news and requests.
func (s *Server) serveConsole(ctx context.Context, c *websocket.Conn) {
	portalEvents, stop := s.portal.Subscribe()
	defer stop()
	if writeJSON(ctx, c, map[string]any{"event": "role", "console": true, "me": s.portal.Me()}) != nil {
		return
	}
	if writeJSON(ctx, c, map[string]any{"event": "portal", "alerts": s.portal.Alerts()}) != nil {
		return
	}
	go s.pumpPortal(ctx, c, portalEvents)
	s.readLoop(ctx, c, nil)
	c.Close(websocket.StatusNormalClosure, "")
}

func writeJSON(ctx context.Context, c *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.Write(wctx, websocket.MessageText, b)
}

// pumpScreen writes screen updates as fast as the page takes them; the
// feed coalesces what the page is too slow for.
func (s *Server) pumpScreen(ctx context.Context, cancel context.CancelFunc, c *websocket.Conn, feed *screen.Subscriber) {
	defer cancel()
	for {
		msgs, err := feed.Next(ctx)
		if err != nil {
			return
		}
		for _, m := range msgs {
			wctx, done := context.WithTimeout(ctx, 30*time.Second)
			err := c.Write(wctx, websocket.MessageBinary, m)
			done()
			if err != nil {
				return
			}
		}
	}
}

func (s *Server) pumpEvents(ctx context.Context, cancel context.CancelFunc, c *websocket.Conn, events <-chan session.Event) {
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				_ = writeJSON(ctx, c, session.Event{Kind: session.EvEnded, Reason: "the session has ended"})
				return
			}
			if writeJSON(ctx, c, e) != nil {
				return
			}
		}
	}
}

func (s *Server) pumpPortal(ctx context.Context, c *websocket.Conn, events <-chan PortalEvent) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok || writeJSON(ctx, c, e) != nil {
				return
			}
		}
	}
}

// portalRequest serves the invite dialog and the alerts' buttons.
func (s *Server) portalRequest(ctx context.Context, c *websocket.Conn, m clientMsg) error {
	if s.portal == nil {
		return errors.New("you are logged in to no portal")
	}
	switch m.Type {
	case "reps":
		return writeJSON(ctx, c, map[string]any{"event": "reps", "reps": s.portal.Reps(m.Text)})
	case "invite":
		if m.Invite == nil {
			return errors.New("invite: nothing to invite")
		}
		return s.portal.Invite(ctx, *m.Invite)
	case "accept":
		u, err := s.portal.Accept(ctx, m.ID)
		if err != nil {
			return err
		}
		return writeJSON(ctx, c, map[string]any{"event": "accepted", "id": m.ID, "url": u})
	case "decline":
		return s.portal.Decline(ctx, m.ID)
	case "invite_external":
		inv, err := s.portal.InviteExternal(ctx, m.Access, m.MaxUses)
		if err != nil {
			return err
		}
		return writeJSON(ctx, c, map[string]any{"event": "invitation", "invitation": inv})
	case "cancel_code":
		if err := s.portal.CancelCode(ctx, m.Code); err != nil {
			return err
		}
		return writeJSON(ctx, c, map[string]any{"event": "code_cancelled", "code": m.Code})
	}
	return nil
}

// moderate serves the host page's attendee buttons.
func (s *Server) moderate(m clientMsg) error {
	mod, ok := s.sess.(Moderator)
	if !ok {
		return errors.New("only the session's host can do that")
	}
	switch m.Type {
	case "remove":
		return mod.Remove(m.Name)
	case "stop_share":
		return mod.StopShare()
	}
	return mod.SetRights(m.Name, m.Rights)
}

// readLoop serves what the page sends; share, if not nil, takes the
// pictures of a screen the page shares (binary messages).
func (s *Server) readLoop(ctx context.Context, c *websocket.Conn, share *pageShare) {
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			return
		}
		if typ == websocket.MessageBinary {
			if share == nil {
				continue
			}
			if err := share.picture(ctx, b); err != nil {
				_ = writeJSON(ctx, c, session.Event{Kind: session.EvError, Text: "screen share: " + err.Error()})
			}
			continue
		}
		var m clientMsg
		if err := json.Unmarshal(b, &m); err != nil {
			continue
		}
		var opErr error
		switch m.Type {
		case "input", "chat", "request_control":
			if s.sess == nil {
				opErr = errNoSession
				break
			}
			opErr = s.sessionRequest(m)
		case "reps", "invite", "accept", "decline", "invite_external", "cancel_code":
			opErr = s.portalRequest(ctx, c, m)
		case "remove", "set_rights", "stop_share":
			opErr = s.moderate(m)
		case "share_stop":
			if share != nil {
				share.stop()
			}
		}
		if opErr != nil && !errors.Is(opErr, session.ErrNoControl) && !errors.Is(opErr, session.ErrViewOnly) {
			_ = writeJSON(ctx, c, session.Event{Kind: session.EvError, Text: opErr.Error()})
		}
	}
}

var errNoSession = errors.New("this page is the console: join a session to chat or control")

// sessionRequest passes the page's input, chat and control request on.
func (s *Server) sessionRequest(m clientMsg) error {
	switch m.Type {
	case "input":
		if m.Input == nil {
			return nil
		}
		return s.sess.Input(*m.Input)
	case "chat":
		return s.sess.Chat(m.Text, m.Internal)
	}
	return s.sess.RequestControl()
}
