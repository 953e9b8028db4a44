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
	"slices"
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
// Wire layout, version 2.0.0: p2p frames of JSON, at most maxMessageSize
// bytes each, on one stream.
//
//	joiner -> owner  {"lookup":"4821","accepts":["support","invitation"],"pake":<SPAKE2 message A>}
//	owner  -> joiner {"status":"continue","pake":<SPAKE2 message B>}
//	                 or {"status":"unknown"|"burned"|"used"}
//	joiner -> owner  {"confirm":<HMAC(key, "joiner", ids, A, B)>}
//	owner  -> joiner {"status":"ok","kind":"support","confirm":<HMAC(key, "owner", ids, A, B)>}
//	                 or {"status":"not_accepted","kind":"support","confirm":...} (nothing used)
//	                 or {"status":"wrong","attempts_left":2} or {"status":"burned"}
//
// The joiner confirms first, so an owner impostor learns nothing it can
// test offline beyond its one guess; the owner confirms last, so a joiner
// knows it reached the real owner. The code's kind is told only to a
// joiner that proved the code: nobody else learns whether a code opens a
// customer's machine or an invitation.
const ProtocolID = "/assist/pair/2.0.0"

// What a code opens: its owner's business, told to a joiner that proved it.
const (
	// KindSupport is a support key: a customer waiting for a rep.
	KindSupport = "support"
	// KindInvitation is an invitation into a running session.
	KindInvitation = "invitation"
)

// MaxAttempts is how many wrong secrets burn a code.
const MaxAttempts = 3

// MaxPending bounds the attempts on one code that have not confirmed yet.
// A new attempt pushes the oldest out: such an attempt has tested no
// guess (SPAKE2's message B lets nobody test one offline), so stalled
// attempts can neither lock the real joiner out nor pile up.
const MaxPending = 4

const maxMessageSize = 4 << 10

// Errors a joiner acts on.
var (
	ErrWrongCode = errors.New("wrong code")
	ErrBurned    = shortcode.ErrBurned
	ErrUsed      = shortcode.ErrUsed
	ErrNotActive = errors.New("this code is no longer active")
	ErrImpostor  = errors.New("the peer behind this code could not prove it knows the code (someone may be impersonating it): check the code and try again")
	ErrProtocol  = errors.New("pairing protocol error")
	// ErrPushedOut: too many attempts on the code at once pushed this one
	// out before it finished; nothing was used. Trying again works.
	ErrPushedOut = errors.New("the code's owner is answering many attempts at once (someone may be guessing): try again")
)

// NotAcceptedError: the code is right but opens a kind the joiner said it
// cannot take now (a support key while this joiner already hosts a
// session). Nothing was used.
type NotAcceptedError struct{ Kind string }

func (e *NotAcceptedError) Error() string {
	return fmt.Sprintf("the code is right but opens a %s, which cannot be taken now", e.Kind)
}

// WrongCodeError is a wrong secret; it says how many attempts remain.
type WrongCodeError struct{ AttemptsLeft int }

func (e *WrongCodeError) Error() string {
	return fmt.Sprintf("wrong code: check the digits with the person who gave it (%d attempts left before it is blocked)", e.AttemptsLeft)
}

// Is makes errors.Is(err, ErrWrongCode) true.
func (e *WrongCodeError) Is(target error) bool { return target == ErrWrongCode }

type hello struct {
	Lookup  string   `json:"lookup"`
	Accepts []string `json:"accepts,omitempty"` // empty: any kind
	Pake    []byte   `json:"pake"`
}

type reply struct {
	Status       string `json:"status"`
	Kind         string `json:"kind,omitempty"`
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
	// Kind is what the code opens, as its owner says.
	Kind string
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
	pending  []network.Stream // attempts that have not confirmed, oldest first
}

// Guard is the owner's side: it answers pairing attempts for its codes.
type Guard struct {
	host host.Host
	// helloTimeout bounds the wait for an attempt's first message and
	// stepTimeout the wait for its confirmation.
	helloTimeout, stepTimeout time.Duration
	hooks                     Hooks

	mu    sync.Mutex
	codes map[string]*guarded
	ended map[string]string // lookup -> "burned" | "used"
}

// NewGuard registers the pairing protocol on h.
func NewGuard(h host.Host, hooks Hooks) *Guard {
	g := &Guard{host: h, hooks: hooks, helloTimeout: 5 * time.Second, stepTimeout: 10 * time.Second,
		codes: map[string]*guarded{}, ended: map[string]string{}}
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
	g.dropPendingLocked(g.codes[lookup])
	delete(g.codes, lookup)
}

// begin enters an attempt as pending, pushing the oldest pending attempt
// out when there are MaxPending already.
func (g *Guard) begin(lookup string, s network.Stream) (*guarded, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if why, ok := g.ended[lookup]; ok {
		return nil, why
	}
	c, ok := g.codes[lookup]
	if !ok {
		return nil, "unknown"
	}
	if len(c.pending) >= MaxPending {
		c.pending[0].Reset()
		c.pending = c.pending[1:]
	}
	c.pending = append(c.pending, s)
	return c, ""
}

// abandon forgets an attempt that ended before it confirmed: it tested
// no guess, so it costs the code nothing.
func (g *Guard) abandon(c *guarded, s network.Stream) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c.pending = slices.DeleteFunc(c.pending, func(p network.Stream) bool { return p == s })
}

// settle tests a confirmation and counts the outcome. Tests run one at a
// time under the lock, so parallel attempts never test more than
// MaxAttempts guesses between them: once a code is burned, the
// confirmations still in flight are not even looked at.
func (g *Guard) settle(c *guarded, s network.Stream, right bool, accepts []string) (status string, attemptsLeft int) {
	g.mu.Lock()
	c.pending = slices.DeleteFunc(c.pending, func(p network.Stream) bool { return p == s })
	if why, ok := g.ended[c.code.Lookup]; ok || g.codes[c.code.Lookup] != c {
		g.mu.Unlock()
		return orDefault(why, "unknown"), 0
	}
	var hook func()
	switch {
	case right && len(accepts) > 0 && !slices.Contains(accepts, c.kind):
		status = "not_accepted"
	case right:
		status, hook = g.useLocked(c)
	default:
		status, attemptsLeft, hook = g.failLocked(c, s.Conn().RemotePeer())
	}
	g.mu.Unlock()
	if hook != nil {
		hook()
	}
	return status, attemptsLeft
}

func (g *Guard) useLocked(c *guarded) (string, func()) {
	if c.usesLeft != Unlimited {
		c.usesLeft--
	}
	if c.usesLeft != 0 {
		return "ok", nil
	}
	g.endLocked(c.code.Lookup, "used")
	if g.hooks.UsedUp == nil {
		return "ok", nil
	}
	return "ok", func() { g.hooks.UsedUp(c.code.Lookup) }
}

func (g *Guard) failLocked(c *guarded, from peer.ID) (status string, left int, hook func()) {
	c.failures++
	left = MaxAttempts - c.failures
	status = "wrong"
	burned := left <= 0
	if burned {
		status = "burned"
		g.endLocked(c.code.Lookup, "burned")
	}
	return status, max(0, left), func() {
		if g.hooks.WrongGuess != nil {
			g.hooks.WrongGuess(c.code.Lookup, from, max(0, left))
		}
		if burned && g.hooks.Burned != nil {
			g.hooks.Burned(c.code.Lookup)
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (g *Guard) endLocked(lookup, why string) {
	if c := g.codes[lookup]; c != nil {
		g.dropPendingLocked(c)
		delete(g.codes, lookup)
		g.ended[lookup] = why
	}
}

// dropPendingLocked ends the attempts still waiting on a code that ended.
func (g *Guard) dropPendingLocked(c *guarded) {
	if c == nil {
		return
	}
	for _, s := range c.pending {
		s.Reset()
	}
	c.pending = nil
}

func (g *Guard) handle(s network.Stream) {
	defer s.Close()
	if err := s.SetDeadline(time.Now().Add(g.helloTimeout)); err != nil {
		s.Reset()
		return
	}
	r := bufio.NewReader(s)
	var h hello
	if err := p2p.ReadJSON(r, maxMessageSize, &h); err != nil {
		s.Reset()
		return
	}
	c, refusal := g.begin(h.Lookup, s)
	if c == nil {
		_ = p2p.WriteJSON(s, reply{Status: refusal})
		return
	}
	_ = s.SetDeadline(time.Now().Add(g.stepTimeout))
	key, right, err := g.prove(s, r, c, h)
	if err != nil { // gone before confirming: no guess was tested
		g.abandon(c, s)
		s.Reset()
		return
	}
	status, left := g.settle(c, s, right, h.Accepts)
	switch status {
	case "ok":
		// Authorize before the joiner hears "ok" and opens its next stream.
		if g.hooks.Paired != nil {
			g.hooks.Paired(Pairing{Peer: s.Conn().RemotePeer(), Lookup: c.code.Lookup, Kind: c.kind, Key: key.session})
		}
		fallthrough
	case "not_accepted":
		_ = p2p.WriteJSON(s, reply{Status: status, Kind: c.kind, Confirm: key.ownerMAC})
	default:
		_ = p2p.WriteJSON(s, reply{Status: status, AttemptsLeft: left})
	}
}

type proven struct{ session, ownerMAC []byte }

// prove runs the owner's half of the exchange up to the joiner's
// confirmation and says whether it is right. An error means the joiner
// never confirmed (it stalled, hung up, or sent garbage): without a
// confirmation it has tested no guess.
func (g *Guard) prove(s network.Stream, r *bufio.Reader, c *guarded, h hello) (proven, bool, error) {
	joiner, owner := s.Conn().RemotePeer(), g.host.ID()
	p, err := pake.InitCurve(password(c.code, joiner, owner), 1, curve)
	if err != nil {
		return proven{}, false, err
	}
	key, err := update(p, h.Pake, 0)
	if err != nil {
		return proven{}, false, err
	}
	msgB := p.Bytes()
	if err := p2p.WriteJSON(s, reply{Status: "continue", Pake: msgB}); err != nil {
		return proven{}, false, err
	}
	var conf confirm
	if err := p2p.ReadJSON(r, maxMessageSize, &conf); err != nil {
		return proven{}, false, err
	}
	want := confirmation(key, "joiner", joiner, owner, h.Pake, msgB)
	if !hmac.Equal(conf.Confirm, want) {
		return proven{}, false, nil
	}
	return proven{session: key, ownerMAC: confirmation(key, "owner", joiner, owner, h.Pake, msgB)}, true, nil
}

// Claim proves code to its owner and returns the pairing. The owner's
// addresses come from the code's record at the rendezvous node.
// accepts lists the kinds the joiner can take now (nil: any); the owner
// says a code of another kind is right without using it.
//
// An attempt the owner pushed out (others crowded the code) is tried
// again, a few times: it used nothing.
func Claim(ctx context.Context, h host.Host, owner peer.AddrInfo, code shortcode.Code, accepts ...string) (*Pairing, error) {
	if err := h.Connect(ctx, owner); err != nil {
		return nil, fmt.Errorf("connect to the code's owner: %w", err)
	}
	for try := 1; ; try++ {
		p, err := claimOnce(ctx, h, owner, code, accepts)
		if !errors.Is(err, ErrPushedOut) || try == 5 || ctx.Err() != nil {
			return p, err
		}
	}
}

func claimOnce(ctx context.Context, h host.Host, owner peer.AddrInfo, code shortcode.Code, accepts []string) (*Pairing, error) {
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
	pairing, err := claim(s, h.ID(), owner.ID, code, accepts)
	if err != nil {
		s.Reset()
	}
	return pairing, err
}

func claim(s network.Stream, joiner, owner peer.ID, code shortcode.Code, accepts []string) (*Pairing, error) {
	r := bufio.NewReader(s)
	p, err := pake.InitCurve(password(code, joiner, owner), 0, curve)
	if err != nil {
		return nil, fmt.Errorf("start PAKE: %w", err)
	}
	msgA := p.Bytes()
	if err := p2p.WriteJSON(s, hello{Lookup: code.Lookup, Accepts: accepts, Pake: msgA}); err != nil {
		return nil, fmt.Errorf("send pairing request: %w", err)
	}
	var rep reply
	if err := p2p.ReadJSON(r, maxMessageSize, &rep); err != nil {
		return nil, readErr(err)
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
		return nil, readErr(err)
	}
	if final.Status != "ok" && final.Status != "not_accepted" {
		return nil, statusErr(final)
	}
	if !hmac.Equal(final.Confirm, confirmation(key, "owner", joiner, owner, msgA, rep.Pake)) {
		return nil, ErrImpostor
	}
	if final.Status == "not_accepted" {
		return nil, &NotAcceptedError{Kind: final.Kind}
	}
	return &Pairing{Peer: owner, Lookup: code.Lookup, Kind: final.Kind, Key: key}, nil
}

// readErr: the owner resets an attempt only to push it out (or because
// the code just ended, which the next try says).
func readErr(err error) error {
	if errors.Is(err, network.ErrReset) {
		return fmt.Errorf("%w (%v)", ErrPushedOut, err)
	}
	return fmt.Errorf("%w: %v", ErrProtocol, err)
}

// statusErr turns a refusal into the joiner's error.
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
	}
	return fmt.Errorf("%w: unexpected status %q", ErrProtocol, r.Status)
}
