package pairing

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/schollz/pake/v3"

	"assist/internal/p2ptest"
	"assist/p2p"
	"assist/shortcode"
)

type recorder struct {
	mu      sync.Mutex
	paired  []Pairing
	burned  []string
	usedUp  []string
	guesses int
}

func (r *recorder) hooks() Hooks {
	return Hooks{
		Paired:     func(p Pairing) { r.mu.Lock(); r.paired = append(r.paired, p); r.mu.Unlock() },
		Burned:     func(l string) { r.mu.Lock(); r.burned = append(r.burned, l); r.mu.Unlock() },
		UsedUp:     func(l string) { r.mu.Lock(); r.usedUp = append(r.usedUp, l); r.mu.Unlock() },
		WrongGuess: func(string, peer.ID, int) { r.mu.Lock(); r.guesses++; r.mu.Unlock() },
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustCode(t *testing.T) shortcode.Code {
	c, err := shortcode.New(shortcode.MinLookupDigits)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wrongSecret(c shortcode.Code) shortcode.Code {
	w := c
	b := []byte(c.Secret)
	b[0] = '0' + (b[0]-'0'+1)%10
	w.Secret = string(b)
	return w
}

func TestClaimSucceedsWithRightCode(t *testing.T) {
	owner, joiner := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	var rec recorder
	g := NewGuard(owner, rec.hooks())
	code := mustCode(t)
	g.Add(code, "support", 1)

	p, err := Claim(ctx(t), joiner, p2ptest.Info(owner), code)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.paired) != 1 || rec.paired[0].Peer != joiner.ID() {
		t.Fatalf("owner saw pairings %+v, want one from the joiner", rec.paired)
	}
	if !bytes.Equal(rec.paired[0].Key, p.Key) || len(p.Key) != 32 {
		t.Fatal("the two sides derived different keys")
	}
	if len(rec.usedUp) != 1 {
		t.Fatal("single-use code not reported used up")
	}
	// Used up: a second claim, even with the right code, is refused.
	if _, err := Claim(ctx(t), joiner, p2ptest.Info(owner), code); !errors.Is(err, ErrUsed) {
		t.Fatalf("second claim: %v, want ErrUsed", err)
	}
}

func TestWrongSecretCountedAndBurnedAfterThree(t *testing.T) {
	owner, joiner := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	var rec recorder
	g := NewGuard(owner, rec.hooks())
	code := mustCode(t)
	g.Add(code, "support", 1)
	bad := wrongSecret(code)

	for want := 2; want >= 1; want-- {
		_, err := Claim(ctx(t), joiner, p2ptest.Info(owner), bad)
		var wc *WrongCodeError
		if !errors.As(err, &wc) || wc.AttemptsLeft != want {
			t.Fatalf("wrong claim: %v, want WrongCodeError with %d left", err, want)
		}
	}
	if _, err := Claim(ctx(t), joiner, p2ptest.Info(owner), bad); !errors.Is(err, ErrBurned) {
		t.Fatalf("third wrong claim: %v, want ErrBurned", err)
	}
	// Burned for good: the right code no longer works either.
	if _, err := Claim(ctx(t), joiner, p2ptest.Info(owner), code); !errors.Is(err, ErrBurned) {
		t.Fatalf("claim after burn: %v, want ErrBurned", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.guesses != 3 || len(rec.burned) != 1 || len(rec.paired) != 0 {
		t.Fatalf("guesses=%d burned=%v paired=%d", rec.guesses, rec.burned, len(rec.paired))
	}
}

func TestParallelGuessesCannotExceedLimit(t *testing.T) {
	owner := p2ptest.NewHost(t, nil)
	var rec recorder
	g := NewGuard(owner, rec.hooks())
	code := mustCode(t)
	g.Add(code, "support", 1)
	bad := wrongSecret(code)

	var wg sync.WaitGroup
	for range 8 {
		joiner := p2ptest.NewHost(t, nil)
		wg.Go(func() { _, _ = Claim(ctx(t), joiner, p2ptest.Info(owner), bad) })
	}
	wg.Wait()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.guesses > MaxAttempts {
		t.Fatalf("%d guesses were evaluated, limit %d", rec.guesses, MaxAttempts)
	}
}

func TestImpostorOwnerIsDetected(t *testing.T) {
	// A malicious rendezvous node points the joiner at its own peer, which
	// knows the lookup part but must guess the secret.
	impostor, joiner := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	code := mustCode(t)
	var rec recorder
	g := NewGuard(impostor, rec.hooks())
	g.Add(wrongSecret(code), "support", 1)
	_, err := Claim(ctx(t), joiner, p2ptest.Info(impostor), code)
	if err == nil {
		t.Fatal("claim against an impostor succeeded")
	}
	if len(rec.paired) != 0 {
		t.Fatal("impostor believes it paired")
	}
}

func TestPasswordBindsBothPeerIDs(t *testing.T) {
	a, b, c := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	code := mustCode(t)
	base := password(code, a.ID(), b.ID())
	for name, other := range map[string][]byte{
		"other joiner": password(code, c.ID(), b.ID()),
		"other owner":  password(code, a.ID(), c.ID()),
		"swapped":      password(code, b.ID(), a.ID()),
	} {
		if bytes.Equal(base, other) {
			t.Errorf("%s: same password", name)
		}
	}
}

// stall opens an attempt on code at owner the way a guesser would and
// stops before confirming; it returns the owner's replies so far.
func stall(t *testing.T, owner host.Host, lookup string) (network.Stream, []byte) {
	t.Helper()
	guesser := p2ptest.NewHost(t, nil)
	c := ctx(t)
	if err := guesser.Connect(c, p2ptest.Info(owner)); err != nil {
		t.Fatal(err)
	}
	s, err := guesser.NewStream(c, owner.ID(), ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pake.InitCurve([]byte("a guess"), 0, curve)
	if err != nil {
		t.Fatal(err)
	}
	if err := p2p.WriteJSON(s, hello{Lookup: lookup, Pake: p.Bytes()}); err != nil {
		t.Fatal(err)
	}
	raw, err := p2p.ReadFrame(bufio.NewReader(s), maxMessageSize)
	if err != nil {
		t.Fatalf("no answer to a stalled attempt's hello: %v", err)
	}
	return s, raw
}

func TestStalledAttemptsDoNotLockTheJoinerOut(t *testing.T) {
	owner, joiner := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	var rec recorder
	g := NewGuard(owner, rec.hooks())
	code := mustCode(t)
	g.Add(code, "support", 1)
	// More stalled attempts than a code may have pending: each got the
	// owner's message B and went silent, as a guesser that wants to hold
	// the code would.
	for range 3 * MaxPending {
		s, raw := stall(t, owner, code.Lookup)
		defer s.Reset()
		if !bytes.Contains(raw, []byte(`"continue"`)) {
			t.Fatalf("stalled attempt answered %s", raw)
		}
	}
	p, err := Claim(ctx(t), joiner, p2ptest.Info(owner), code)
	if err != nil {
		t.Fatalf("the real joiner, after stalled attempts: %v", err)
	}
	if p.Kind != "support" {
		t.Fatalf("kind %q", p.Kind)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.guesses != 0 || len(rec.burned) != 0 {
		t.Fatalf("stalled attempts counted as %d wrong guesses (burned %v): they tested none", rec.guesses, rec.burned)
	}
}

func TestTheKindIsToldOnlyToWhoProvedTheCode(t *testing.T) {
	owner := p2ptest.NewHost(t, nil)
	g := NewGuard(owner, Hooks{})
	code := mustCode(t)
	g.Add(code, "support", 1)
	s, first := stall(t, owner, code.Lookup)
	if err := p2p.WriteJSON(s, confirm{Confirm: bytes.Repeat([]byte{1}, 32)}); err != nil {
		t.Fatal(err)
	}
	last, err := p2p.ReadFrame(bufio.NewReader(s), maxMessageSize)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range [][]byte{first, last} {
		if bytes.Contains(raw, []byte("support")) || bytes.Contains(raw, []byte("kind")) {
			t.Fatalf("a joiner without the code was told the code's kind: %s", raw)
		}
	}
	if !bytes.Contains(last, []byte(`"wrong"`)) {
		t.Fatalf("a wrong confirmation answered %s", last)
	}
}

func TestACodeOfAKindTheJoinerCannotTakeIsNotUsed(t *testing.T) {
	owner, joiner := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	var rec recorder
	g := NewGuard(owner, rec.hooks())
	code := mustCode(t)
	g.Add(code, "support", 1)
	var na *NotAcceptedError
	if _, err := Claim(ctx(t), joiner, p2ptest.Info(owner), code, "invitation"); !errors.As(err, &na) || na.Kind != "support" {
		t.Fatalf("claim accepting invitations only: %v, want NotAcceptedError{support}", err)
	}
	if _, err := Claim(ctx(t), joiner, p2ptest.Info(owner), code, "support", "invitation"); err != nil {
		t.Fatalf("the refused kind used the code up: %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.paired) != 1 {
		t.Fatalf("pairings %v, want the second only", rec.paired)
	}
}

func TestUnknownCode(t *testing.T) {
	owner, joiner := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	NewGuard(owner, Hooks{})
	if _, err := Claim(ctx(t), joiner, p2ptest.Info(owner), mustCode(t)); !errors.Is(err, ErrNotActive) {
		t.Fatalf("err = %v, want ErrNotActive", err)
	}
}

func FuzzPakeMessage(f *testing.F) {
	p, err := pake.InitCurve([]byte("seed"), 0, curve)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p.Bytes())
	f.Add([]byte(`{"Role":0,"Xᵤ":null}`))
	f.Add([]byte(`{"Role":0,"Xᵤ":1,"Xᵥ":2}`))
	f.Add([]byte(`{"Role":0,"Xᵤ":-1,"Xᵥ":99999999999999999999999999999999999999999999999999999999999999999999999999999999999}`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		owner, err := pake.InitCurve([]byte("pw"), 1, curve)
		if err != nil {
			t.Fatal(err)
		}
		// Must never panic, whatever the bytes.
		_, _ = update(owner, msg, 0)
	})
}
