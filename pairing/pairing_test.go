package pairing

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/schollz/pake/v3"

	"assist/internal/p2ptest"
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

	p, err := Claim(ctx(t), joiner, p2ptest.Info(owner), "support", code)
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
	if _, err := Claim(ctx(t), joiner, p2ptest.Info(owner), "support", code); !errors.Is(err, ErrUsed) {
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
		_, err := Claim(ctx(t), joiner, p2ptest.Info(owner), "support", bad)
		var wc *WrongCodeError
		if !errors.As(err, &wc) || wc.AttemptsLeft != want {
			t.Fatalf("wrong claim: %v, want WrongCodeError with %d left", err, want)
		}
	}
	if _, err := Claim(ctx(t), joiner, p2ptest.Info(owner), "support", bad); !errors.Is(err, ErrBurned) {
		t.Fatalf("third wrong claim: %v, want ErrBurned", err)
	}
	// Burned for good: the right code no longer works either.
	if _, err := Claim(ctx(t), joiner, p2ptest.Info(owner), "support", code); !errors.Is(err, ErrBurned) {
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
		wg.Go(func() { _, _ = Claim(ctx(t), joiner, p2ptest.Info(owner), "support", bad) })
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
	_, err := Claim(ctx(t), joiner, p2ptest.Info(impostor), "support", code)
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
	base := password("support", code, a.ID(), b.ID())
	for name, other := range map[string][]byte{
		"other joiner": password("support", code, c.ID(), b.ID()),
		"other owner":  password("support", code, a.ID(), c.ID()),
		"swapped":      password("support", code, b.ID(), a.ID()),
		"other kind":   password("invitation", code, a.ID(), b.ID()),
	} {
		if bytes.Equal(base, other) {
			t.Errorf("%s: same password", name)
		}
	}
}

func TestUnknownCode(t *testing.T) {
	owner, joiner := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	NewGuard(owner, Hooks{})
	if _, err := Claim(ctx(t), joiner, p2ptest.Info(owner), "support", mustCode(t)); !errors.Is(err, ErrNotActive) {
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
