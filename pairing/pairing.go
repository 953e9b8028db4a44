// Package pairing proves a code's secret part between the peer that
// registered the code (the owner: a customer sharing, a host rep inviting)
// and the peer that typed it (the joiner), without sending the secret.
//
// The owner runs a Guard that holds its live codes, counts wrong guesses
// and burns a code after MaxAttempts. The joiner calls Claim. A successful
// pairing tells the owner that this peer ID may now join.
package pairing

import (
	"bufio"
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/schollz/pake/v3"

	"assist/p2p"
	"assist/shortcode"
)

// ProtocolID is the pairing protocol.
//
// Wire layout, version 1.0.0: p2p frames of JSON, at most maxMessageSize
// bytes each, on one stream.
//
//	joiner -> owner  {"lookup":"48219","kind":"support","pake":<SPAKE2 message A>}
//	owner  -> joiner {"status":"continue","pake":<SPAKE2 message B>}
//	                 or {"status":"unknown"|"burned"|"used"|"busy"}
//	joiner -> owner  {"confirm":<HMAC(key, "joiner", ids, A, B)>}
//	owner  -> joiner {"status":"ok","confirm":<HMAC(key, "owner", ids, A, B)>}
//	                 or {"status":"wrong","attempts_left":2} or {"status":"burned"}
//
// The joiner confirms first, so an owner impostor learns nothing it can
// test offline beyond its one guess; the owner confirms last, so a joiner
// knows it reached the real owner.
const ProtocolID = "/assist/pair/1.0.0"

// MaxAttempts is how many wrong secrets burn a code.
const MaxAttempts = 3

const maxMessageSize = 4 << 10

// Errors a joiner acts on.
var (
	ErrWrongCode = errors.New("wrong code")
	ErrBurned    = shortcode.ErrBurned
	ErrUsed      = shortcode.ErrUsed
	ErrNotActive = errors.New("this code is no longer active")
	ErrBusy      = errors.New("too many attempts with this code at once: try again in a moment")
	ErrImpostor  = errors.New("the peer behind this code could not prove it knows the code (someone may be impersonating it): check the code and try again")
	ErrProtocol  = errors.New("pairing protocol error")
)

// WrongCodeError is a wrong secret; it says how many attempts remain.
type WrongCodeError struct{ AttemptsLeft int }

func (e *WrongCodeError) Error() string {
	return fmt.Sprintf("wrong code: check the digits with the person who gave it (%d attempts left before it is blocked)", e.AttemptsLeft)
}

// Is makes errors.Is(err, ErrWrongCode) true.
func (e *WrongCodeError) Is(target error) bool { return target == ErrWrongCode }

type hello struct {
	Lookup string `json:"lookup"`
	Kind   string `json:"kind"`
	Pake   []byte `json:"pake"`
}

type reply struct {
	Status       string `json:"status"`
	Pake         []byte `json:"pake,omitempty"`
	Confirm      []byte `json:"confirm,omitempty"`
	AttemptsLeft int    `json:"attempts_left,omitempty"`
}

type confirm struct {
	Confirm []byte `json:"confirm"`
}

// Pairing is a successful proof: Peer knows the code.
type Pairing struct {
	Peer   peer.ID
	Lookup string
	Kind   string
	// Key is a fresh secret both sides share; later protocols may use it.
	Key []byte
}

// Hooks tell the owner what happens to its codes. They are called
// synchronously, so a peer is authorized before Claim returns to it.
type Hooks struct {
	// Paired is called for each successful pairing.
	Paired func(Pairing)
	// Burned is called once when a code reaches MaxAttempts wrong guesses.
	Burned func(lookup string)
	// UsedUp is called once when a code has admitted its last peer.
	UsedUp func(lookup string)
	// WrongGuess is called for each failed attempt.
	WrongGuess func(lookup string, from peer.ID, attemptsLeft int)
}

type guarded struct {
	code     shortcode.Code
	kind     string
	usesLeft int
	failures int
	inFlight int
}

// Guard is the owner's side: it answers pairing attempts for its codes.
type Guard struct {
	host    host.Host
	hooks   Hooks
	timeout time.Duration

	mu    sync.Mutex
	codes map[string]*guarded
	ended map[string]string // lookup -> "burned" | "used"
}

// NewGuard registers the pairing protocol on h.
func NewGuard(h host.Host, hooks Hooks) *Guard {
	g := &Guard{host: h, hooks: hooks, timeout: 15 * time.Second, codes: map[string]*guarded{}, ended: map[string]string{}}
	h.SetStreamHandler(ProtocolID, g.handle)
	return g
}

// Close stops answering pairing attempts.
func (g *Guard) Close() { g.host.RemoveStreamHandler(ProtocolID) }

// Unlimited, as Add's maxUses, leaves counting uses to the owner: a code
// whose use is an admission the owner may refuse (a full session) must
// not be used up by a proof alone. The owner ends it with Retire.
const Unlimited = -1

// Add starts accepting code; it admits maxUses peers, then is used up.
func (g *Guard) Add(code shortcode.Code, kind string, maxUses int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	uses := max(1, maxUses)
	if maxUses == Unlimited {
		uses = Unlimited
	}
	g.codes[code.Lookup] = &guarded{code: code, kind: kind, usesLeft: uses}
	delete(g.ended, code.Lookup)
}

// Retire stops accepting a code the owner counted as used up: later
// attempts are told "used", not "unknown".
func (g *Guard) Retire(lookup string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.endLocked(lookup, "used")
}

// Remove stops accepting a code (cancelled, session ended).
func (g *Guard) Remove(lookup string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.codes, lookup)
}

// begin reserves an attempt. Attempts in flight count against the limit,
// so parallel guesses cannot exceed MaxAttempts between them.
func (g *Guard) begin(lookup string) (*guarded, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if why, ok := g.ended[lookup]; ok {
		return nil, why
	}
	c, ok := g.codes[lookup]
	switch {
	case !ok:
		return nil, "unknown"
	case c.failures+c.inFlight >= MaxAttempts:
		return nil, "busy"
	}
	c.inFlight++
	return c, ""
}

// finish settles an attempt and reports the code's state afterwards.
func (g *Guard) finish(c *guarded, ok bool, from peer.ID) (status string, attemptsLeft int) {
	g.mu.Lock()
	c.inFlight--
	var hook func()
	if ok {
		status = "ok"
		if c.usesLeft != Unlimited {
			c.usesLeft--
		}
		if c.usesLeft == 0 {
			g.endLocked(c.code.Lookup, "used")
			if g.hooks.UsedUp != nil {
				hook = func() { g.hooks.UsedUp(c.code.Lookup) }
			}
		}
	} else {
		c.failures++
		attemptsLeft = MaxAttempts - c.failures
		status = "wrong"
		if attemptsLeft <= 0 {
			status = "burned"
			g.endLocked(c.code.Lookup, "burned")
			if g.hooks.Burned != nil {
				hook = func() { g.hooks.Burned(c.code.Lookup) }
			}
		}
		if g.hooks.WrongGuess != nil {
			prev := hook
			hook = func() {
				g.hooks.WrongGuess(c.code.Lookup, from, max(0, attemptsLeft))
				if prev != nil {
					prev()
				}
			}
		}
	}
	g.mu.Unlock()
	if hook != nil {
		hook()
	}
	return status, attemptsLeft
}

func (g *Guard) endLocked(lookup, why string) {
	if g.codes[lookup] != nil {
		delete(g.codes, lookup)
		g.ended[lookup] = why
	}
}

func (g *Guard) handle(s network.Stream) {
	defer s.Close()
	if err := s.SetDeadline(time.Now().Add(g.timeout)); err != nil {
		s.Reset()
		return
	}
	r := bufio.NewReader(s)
	var h hello
	if err := p2p.ReadJSON(r, maxMessageSize, &h); err != nil {
		s.Reset()
		return
	}
	c, refusal := g.begin(h.Lookup)
	if c == nil {
		_ = p2p.WriteJSON(s, reply{Status: refusal})
		return
	}
	ok, key := g.prove(s, r, c, h)
	status, left := g.finish(c, ok, s.Conn().RemotePeer())
	if ok {
		// Authorize before the joiner hears "ok" and opens its next stream.
		if g.hooks.Paired != nil {
			g.hooks.Paired(Pairing{Peer: s.Conn().RemotePeer(), Lookup: c.code.Lookup, Kind: c.kind, Key: key.session})
		}
		_ = p2p.WriteJSON(s, reply{Status: status, Confirm: key.ownerMAC})
		return
	}
	_ = p2p.WriteJSON(s, reply{Status: status, AttemptsLeft: left})
}

type proven struct{ session, ownerMAC []byte }

// prove runs the owner's half of the exchange. Any failure, including a
// joiner that hangs up before confirming, counts as a wrong guess: the
// joiner may have learned enough to test one guess.
func (g *Guard) prove(s network.Stream, r *bufio.Reader, c *guarded, h hello) (bool, proven) {
	joiner, owner := s.Conn().RemotePeer(), g.host.ID()
	p, err := pake.InitCurve(password(c.kind, c.code, joiner, owner), 1, curve)
	if err != nil {
		return false, proven{}
	}
	key, err := update(p, h.Pake, 0)
	if err != nil {
		return false, proven{}
	}
	msgB := p.Bytes()
	if err := p2p.WriteJSON(s, reply{Status: "continue", Pake: msgB}); err != nil {
		return false, proven{}
	}
	var conf confirm
	if err := p2p.ReadJSON(r, maxMessageSize, &conf); err != nil {
		return false, proven{}
	}
	want := confirmation(key, "joiner", joiner, owner, h.Pake, msgB)
	if !hmac.Equal(conf.Confirm, want) {
		return false, proven{}
	}
	return true, proven{session: key, ownerMAC: confirmation(key, "owner", joiner, owner, h.Pake, msgB)}
}

// Claim proves code to its owner and returns the pairing. The owner's
// addresses come from the code's record at the rendezvous node.
func Claim(ctx context.Context, h host.Host, owner peer.AddrInfo, kind string, code shortcode.Code) (*Pairing, error) {
	if err := h.Connect(ctx, owner); err != nil {
		return nil, fmt.Errorf("connect to the code's owner: %w", err)
	}
	s, err := h.NewStream(network.WithAllowLimitedConn(ctx, "pairing"), owner.ID, ProtocolID)
	if err != nil {
		return nil, fmt.Errorf("open pairing stream: %w", err)
	}
	defer s.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(dl)
	} else {
		_ = s.SetDeadline(time.Now().Add(30 * time.Second))
	}
	pairing, err := claim(s, h.ID(), owner.ID, kind, code)
	if err != nil {
		s.Reset()
	}
	return pairing, err
}

func claim(s network.Stream, joiner, owner peer.ID, kind string, code shortcode.Code) (*Pairing, error) {
	r := bufio.NewReader(s)
	p, err := pake.InitCurve(password(kind, code, joiner, owner), 0, curve)
	if err != nil {
		return nil, fmt.Errorf("start PAKE: %w", err)
	}
	msgA := p.Bytes()
	if err := p2p.WriteJSON(s, hello{Lookup: code.Lookup, Kind: kind, Pake: msgA}); err != nil {
		return nil, fmt.Errorf("send pairing request: %w", err)
	}
	var rep reply
	if err := p2p.ReadJSON(r, maxMessageSize, &rep); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	if rep.Status != "continue" {
		return nil, statusErr(rep)
	}
	key, err := update(p, rep.Pake, 1)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrImpostor, err)
	}
	if err := p2p.WriteJSON(s, confirm{Confirm: confirmation(key, "joiner", joiner, owner, msgA, rep.Pake)}); err != nil {
		return nil, fmt.Errorf("send confirmation: %w", err)
	}
	var final reply
	if err := p2p.ReadJSON(r, maxMessageSize, &final); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	if final.Status != "ok" {
		return nil, statusErr(final)
	}
	if !hmac.Equal(final.Confirm, confirmation(key, "owner", joiner, owner, msgA, rep.Pake)) {
		return nil, ErrImpostor
	}
	return &Pairing{Peer: owner, Lookup: code.Lookup, Kind: kind, Key: key}, nil
}

func statusErr(r reply) error {
	switch r.Status {
	case "wrong":
		return &WrongCodeError{AttemptsLeft: r.AttemptsLeft}
	case "burned":
		return ErrBurned
	case "used":
		return ErrUsed
	case "unknown":
		return ErrNotActive
	case "busy":
		return ErrBusy
	}
	return fmt.Errorf("%w: unexpected status %q", ErrProtocol, r.Status)
}
