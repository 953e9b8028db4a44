package session

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"assist/input"
	"assist/internal/p2ptest"
	"assist/internal/rvtest"
	"assist/p2p"
	"assist/pairing"
	"assist/rendezvous"
	"assist/screen"
	"assist/shortcode"
)

// recordingInjector stands in for the X display in these protocol tests
// (the X injector itself is tested against Xvfb in package input).
type recordingInjector struct{ applied chan input.Event }

func (r *recordingInjector) Apply(e input.Event) error { r.applied <- e; return nil }

type blankScreen struct{}

func (blankScreen) Capture(f *screen.Frame) error {
	if f.W != 64 {
		*f = *screen.NewFrame(64, 64)
	}
	return nil
}

func startCustomer(t *testing.T, ctx context.Context) (*Customer, *recordingInjector, []peer.AddrInfo, <-chan Event) {
	t.Helper()
	return startCustomerOn(t, ctx, p2ptest.NewHost(t, nil))
}

// startCustomerOn runs a customer on h, with its own rendezvous node.
func startCustomerOn(t *testing.T, ctx context.Context, h host.Host) (*Customer, *recordingInjector, []peer.AddrInfo, <-chan Event) {
	t.Helper()
	_, rv := rvtest.StartNode(t, nil)
	inj := &recordingInjector{applied: make(chan input.Event, 16)}
	events := make(chan Event, 256)
	c := NewCustomer(CustomerConfig{
		Host: h, Rendezvous: rendezvous.NewClient(h, rv), KeyTTL: time.Minute,
		Screen: blankScreen{}, Injector: inj, Sender: screen.DefaultSenderConfig(),
		OnEvent: func(e Event) { events <- e },
	})
	go func() { _ = c.Run(ctx) }()
	return c, inj, rv, events
}

// claimKey is a rep proving a customer's support key: it returns the
// rep's host and the customer it may now open a session with.
func claimKey(t *testing.T, ctx context.Context, rv []peer.AddrInfo, code shortcode.Code) (host.Host, peer.AddrInfo) {
	t.Helper()
	rep := p2ptest.NewHost(t, nil)
	rec, err := rendezvous.NewClient(rep, rv).Resolve(ctx, code.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	owner := peer.AddrInfo{ID: rec.Owner, Addrs: rec.Multiaddrs()}
	if _, err := pairing.Claim(ctx, rep, owner, code); err != nil {
		t.Fatal(err)
	}
	return rep, owner
}

func waitKind(t *testing.T, events <-chan Event, kind string) Event {
	t.Helper()
	for {
		select {
		case e := <-events:
			if e.Kind == kind {
				return e
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("no %s event", kind)
		}
	}
}

// TestCustomerGateHoldsAgainstAHostThatIgnoresConsent plays a modified
// host that sends input without asking, and a stranger who never paired.
func TestCustomerGateHoldsAgainstAHostThatIgnoresConsent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, inj, rv, events := startCustomer(t, ctx)
	code, err := shortcode.Parse(waitKind(t, events, EvKey).Key)
	if err != nil {
		t.Fatal(err)
	}
	rep, owner := claimKey(t, ctx, rv, code)
	// A real host opens the session (view only; the customer answers).
	hostEvents := make(chan Event, 256)
	hub := NewHost(HostConfig{Host: rep, Name: "Mallory", Customer: owner, OnEvent: func(e Event) { hostEvents <- e }})
	go func() { _ = hub.Run(ctx) }()
	waitKind(t, events, EvConsentRequest)
	c.Answer("view", true)
	waitKind(t, hostEvents, EvConsent)

	// A stranger's input stream is reset at once.
	stranger := p2ptest.NewHost(t, nil)
	if err := stranger.Connect(ctx, owner); err != nil {
		t.Fatal(err)
	}
	if s, err := stranger.NewStream(ctx, owner.ID, InputProtocol); err == nil {
		_ = p2p.WriteJSON(s, input.Event{Type: input.Click, X: 1, Y: 1})
		if _, err := s.Read(make([]byte, 1)); err == nil {
			t.Fatal("stranger's input stream was not reset")
		}
	}

	// The host's peer sends input on its own, without control consent,
	// as a modified host could: the customer drops it and says so.
	s, err := rep.NewStream(ctx, owner.ID, InputProtocol)
	if err != nil {
		t.Fatal(err)
	}
	refusedAfter := func(e input.Event) {
		t.Helper()
		if err := p2p.WriteJSON(s, e); err != nil {
			t.Fatal(err)
		}
		waitKind(t, hostEvents, EvRefused)
	}
	refusedAfter(input.Event{Type: input.Click, X: 5, Y: 5})
	// Grant control as the customer's answer does; a marker must be the
	// first event the display sees.
	c.gate.SetControl(true)
	applied := func(want int) {
		t.Helper()
		if err := p2p.WriteJSON(s, input.Event{Type: input.Click, X: want, Y: want}); err != nil {
			t.Fatal(err)
		}
		select {
		case e := <-inj.applied:
			if e.X != want {
				t.Fatalf("refused input reached the display: %+v", e)
			}
		case <-ctx.Done():
			t.Fatal("input never applied")
		}
	}
	applied(42)
	// Control taken back: dropped again, even from the host.
	c.TakeControlBack()
	refusedAfter(input.Event{Type: input.Click, X: 7, Y: 7})
	c.gate.SetControl(true)
	applied(99)
}

func TestHostRefusesInputWithoutControl(t *testing.T) {
	h := NewHost(HostConfig{Host: p2ptest.NewHost(t, nil)})
	if err := h.Input(input.Event{Type: input.Click, X: 1, Y: 1}); !errors.Is(err, ErrNoControl) {
		t.Fatalf("err = %v, want ErrNoControl", err)
	}
	if err := h.Input(input.Event{Type: "nonsense"}); !errors.Is(err, input.ErrInvalid) {
		t.Fatalf("bad event: %v", err)
	}
}

func FuzzDecodeMsg(f *testing.F) {
	f.Add([]byte(`{"type":"hello","session":"ab","name":"Alice","resume":true,"last_seq":3}`))
	f.Add([]byte(`{"type":"chat","chat":{"seq":1,"from":"x","role":"rep","text":"hi","time":"2026-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"type":"attendees","attendees":[{"name":"a","role":"customer"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMsg(b)
		if err == nil && m.Type == "" {
			t.Fatal("accepted a message without type")
		}
	})
}

// TestATranscriptThatCannotBeWrittenIsSaidAndMarked: on a full disk the
// host says once that the transcript is incomplete, and when writing works
// again the transcript marks how many entries it lost.
func TestATranscriptThatCannotBeWrittenIsSaidAndMarked(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full here")
	}
	events := make(chan Event, 16)
	h := NewHost(HostConfig{OnEvent: func(e Event) { events <- e }})
	tr := &Transcript{f: full, Path: "/dev/full"}
	for _, text := range []string{"one", "two"} {
		h.record(tr, Event{Kind: EvChat, Chat: &Chat{From: "Alice", Text: text}})
	}
	if e := <-events; e.Kind != EvError || !strings.Contains(e.Text, "transcript cannot be written") {
		t.Fatalf("said %+v", e)
	}
	select {
	case e := <-events:
		t.Fatalf("said twice: %+v", e)
	default:
	}
	path := filepath.Join(t.TempDir(), "t.jsonl")
	tr.f, _ = os.Create(path)
	h.record(tr, Event{Kind: EvChat, Chat: &Chat{From: "Alice", Text: "three"}})
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"event":"transcript_gap"`) || !strings.Contains(lines[0], "2 events could not be written") || !strings.Contains(lines[1], "three") {
		t.Fatalf("transcript after the gap:\n%s", b)
	}
}

// TestAnEndWhileTheCustomerIsAskedSaysWhy: the host ends the session
// (going offline) while the customer is still asked to allow viewing, and
// its context is cancelled at once too: the customer hears the End's
// reason, not "left before you answered", whichever comes first.
func TestAnEndWhileTheCustomerIsAskedSaysWhy(t *testing.T) {
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		_, _, rv, events := startCustomerOn(t, ctx, p2ptest.NewHost(t, nil))
		code, err := shortcode.Parse(waitKind(t, events, EvKey).Key)
		if err != nil {
			t.Fatal(err)
		}
		rep, owner := claimKey(t, ctx, rv, code)
		runCtx, stopRun := context.WithCancel(ctx)
		hub := NewHost(HostConfig{Host: rep, Name: "Alice", Customer: owner})
		done := make(chan error, 1)
		go func() { done <- hub.Run(runCtx) }()
		waitKind(t, events, EvConsentRequest)
		hub.End("Alice went offline")
		stopRun()
		if got := waitKind(t, events, EvEnded).Reason; got != "Alice went offline" {
			t.Fatalf("the customer was told %q", got)
		}
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		cancel()
	}
}

// desk is a screen and what performs input on it, standing in for a
// desktop.
type desk interface {
	screen.Source
	input.Injector
}

// watchedDesk starts a customer sharing d with sender settings cfg and a
// host watching it with the customer's consent; both end with ctx.
func watchedDesk(t *testing.T, ctx context.Context, d desk, cfg screen.SenderConfig) (*Customer, chan Event, *Host) {
	t.Helper()
	_, rv := rvtest.StartNode(t, nil)
	h := p2ptest.NewHost(t, nil)
	events := make(chan Event, 256)
	c := NewCustomer(CustomerConfig{
		Host: h, Rendezvous: rendezvous.NewClient(h, rv), KeyTTL: time.Minute,
		Screen: d, Injector: d, Sender: cfg,
		OnEvent: func(e Event) { events <- e },
	})
	go func() { _ = c.Run(ctx) }()
	code, err := shortcode.Parse(waitKind(t, events, EvKey).Key)
	if err != nil {
		t.Fatal(err)
	}
	rep, owner := claimKey(t, ctx, rv, code)
	hostEvents := make(chan Event, 256)
	hub := NewHost(HostConfig{Host: rep, Name: "Alice", Customer: owner, OnEvent: func(e Event) {
		select {
		case hostEvents <- e:
		default:
		}
	}})
	go func() { _ = hub.Run(ctx) }()
	waitKind(t, events, EvConsentRequest)
	c.Answer("view", true)
	waitKind(t, hostEvents, EvConsent)
	return c, events, hub
}

// drawingScreen is a screen without damage reports that the host's input
// draws on: each event applied changes a pixel.
type drawingScreen struct {
	mu sync.Mutex
	n  byte
}

func (d *drawingScreen) Capture(f *screen.Frame) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f.W != 64 {
		*f = *screen.NewFrame(64, 64)
	}
	f.Pix[0] = d.n
	return nil
}

func (d *drawingScreen) Apply(input.Event) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	return nil
}

// TestTheHostsInputIsCapturedAtOnce: a still screen without damage
// reports is captured only now and then (here once an hour), but the
// host's input pokes the capture, so what the rep does shows at once.
func TestTheHostsInputIsCapturedAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := screen.DefaultSenderConfig()
	cfg.StillPoll, cfg.StillAfter = time.Hour, 200*time.Millisecond
	c, _, hub := watchedDesk(t, ctx, &drawingScreen{}, cfg)
	c.gate.SetControl(true)
	hub.setConsent(true, true)
	frames := func() uint64 { return hub.mirror.Frames() }
	for frames() == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("no first frame")
		case <-time.After(20 * time.Millisecond):
		}
	}
	time.Sleep(cfg.StillAfter + 100*time.Millisecond) // still: polled once an hour now
	before := frames()
	if err := hub.Input(input.Event{Type: input.Move, X: 1, Y: 1}); err != nil {
		t.Fatal(err)
	}
	for frames() == before {
		select {
		case <-ctx.Done():
			t.Fatal("the host's input was not captured")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// lockableScreen is a screen that cannot be captured while locked, as
// Windows' is while its secure desktop (a UAC prompt) is shown.
type lockableScreen struct {
	mu     sync.Mutex
	locked bool
	n      byte
	failed int // captures refused
}

func (l *lockableScreen) Capture(f *screen.Frame) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.locked {
		l.failed++
		return errors.New("capture screen: BitBlt failed")
	}
	if f.W != 64 {
		*f = *screen.NewFrame(64, 64)
	}
	l.n++
	f.Pix[0] = l.n // a new picture each time: frames keep going
	return nil
}

func (l *lockableScreen) lock(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.locked = on
}

func (l *lockableScreen) refused() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

func (l *lockableScreen) Apply(input.Event) error { return nil }

// TestAScreenThatCannotBeCapturedIsSaidOnce: while the screen cannot be
// captured the host asks for it every second; the customer is told why
// once, the picture comes back when the screen does, and a later outage
// is told again.
func TestAScreenThatCannotBeCapturedIsSaidOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d := &lockableScreen{}
	_, events, hub := watchedDesk(t, ctx, d, screen.DefaultSenderConfig())
	waitFrames := func(what string) {
		t.Helper()
		before := hub.mirror.Frames()
		for hub.mirror.Frames() < before+3 {
			select {
			case <-ctx.Done():
				t.Fatal("no frames " + what)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	stopped := func() int {
		n := 0
		for {
			select {
			case e := <-events:
				if e.Kind == EvError && strings.Contains(e.Text, "screen sharing stopped") {
					n++
				}
			default:
				return n
			}
		}
	}
	for round := range 2 {
		waitFrames("while the screen can be captured")
		d.lock(true)
		// The host asks again every second: by the fourth refusal, what
		// the third caused has been said.
		for from := d.refused(); d.refused() < from+4; {
			select {
			case <-ctx.Done():
				t.Fatal("the host stopped asking for the screen")
			case <-time.After(20 * time.Millisecond):
			}
		}
		if n := stopped(); n != 1 {
			t.Fatalf("outage %d: the customer was told %d times that sharing stopped, want once", round+1, n)
		}
		d.lock(false)
	}
	waitFrames("after the screen came back")
}
