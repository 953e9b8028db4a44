package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"assist/input"
	"assist/internal/p2ptest"
	"assist/portal"
	"assist/rights"
	"assist/screen"
	"assist/shortcode"
)

// tapHost records every byte the customer's process reads from streams
// that other peers open to it: everything the host rep sends it.
type tapHost struct {
	host.Host
	mu  sync.Mutex
	buf bytes.Buffer
}

func (t *tapHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	t.Host.SetStreamHandler(pid, func(s network.Stream) { handler(&tapStream{Stream: s, tap: t}) })
}

func (t *tapHost) received() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.buf.Bytes()...)
}

type tapStream struct {
	network.Stream
	tap *tapHost
}

func (s *tapStream) Read(p []byte) (int, error) {
	n, err := s.Stream.Read(p)
	s.tap.mu.Lock()
	s.tap.buf.Write(p[:n])
	s.tap.mu.Unlock()
	return n, err
}

// sessionFixture is a customer sharing, a host rep in session with it, and
// a portal whose reps the host admits.
type sessionFixture struct {
	customer   *Customer
	custEvents <-chan Event
	tap        *tapHost
	hub        *Host
	hostEvents chan Event
	portal     *portal.Manager
	inj        *recordingInjector
}

func startSession(t *testing.T, ctx context.Context) *sessionFixture {
	t.Helper()
	tap := &tapHost{Host: p2ptest.NewHost(t, nil)}
	c, inj, rv, events := startCustomerOn(t, ctx, tap)
	code, err := shortcode.Parse(waitKind(t, events, EvKey).Key)
	if err != nil {
		t.Fatal(err)
	}
	rep, owner := claimKey(t, ctx, rv, code)
	m, err := portal.NewManager("Acme")
	if err != nil {
		t.Fatal(err)
	}
	f := &sessionFixture{customer: c, custEvents: events, tap: tap, hostEvents: make(chan Event, 1024), portal: m, inj: inj}
	f.hub = NewHost(HostConfig{Host: rep, Name: "Alice", Customer: owner,
		OnEvent: func(e Event) {
			select {
			case f.hostEvents <- e:
			default:
			}
		},
		VerifyRep: func(p peer.ID, cred []byte) (string, error) {
			c, err := portal.VerifyCredential(cred, time.Now())
			if err != nil {
				return "", err
			}
			if c.Portal != m.ID || c.Rep != p {
				return "", errors.New("not a rep of this portal")
			}
			return c.Name, nil
		}})
	go func() { _ = f.hub.Run(ctx) }()
	waitKind(t, events, EvConsentRequest)
	c.Answer("view", true)
	waitKind(t, f.hostEvents, EvConsent)
	return f
}

// rep makes an enrolled rep's host and credential.
func (f *sessionFixture) rep(t *testing.T, name string) (host.Host, []byte) {
	t.Helper()
	h := p2ptest.NewHost(t, nil)
	cred, err := f.portal.Issue(h.ID(), name, uint64(time.Now().UnixNano()), time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return h, cred
}

func (f *sessionFixture) invite(id string, target peer.ID, masked bool) Invitation {
	inv := Invitation{ID: id, Ticket: []byte("ticket-" + id), Target: target, Masked: masked,
		Expires: time.Now().Add(time.Minute), Comment: "secret-comment-xyz"}
	f.hub.AddInvitation(inv)
	return inv
}

func (f *sessionFixture) join(ctx context.Context, h host.Host, cred []byte, inv Invitation, events chan Event) (*Guest, error) {
	return JoinSession(ctx, GuestConfig{Host: h, Session: peer.AddrInfo{ID: f.hub.cfg.Host.ID(), Addrs: f.hub.cfg.Host.Addrs()},
		Invite: inv.ID, Ticket: inv.Ticket, Credential: cred, Name: "ignored: the credential names the rep",
		OnEvent: func(e Event) {
			if events != nil {
				events <- e
			}
		}})
}

func waitChat(t *testing.T, events <-chan Event, text string) {
	t.Helper()
	for {
		e := waitKind(t, events, EvChat)
		if e.Chat.Text == text {
			return
		}
	}
}

func TestMaskedRepLeavesNoTraceAtTheCustomer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	f := startSession(t, ctx)
	// Everything the customer was sent so far has arrived.
	if err := f.hub.Chat("marker-before-masked-join", false); err != nil {
		t.Fatal(err)
	}
	waitChat(t, f.custEvents, "marker-before-masked-join")

	bob, bobCred := f.rep(t, "Bobby Masked")
	inv := f.invite("inv-bob", bob.ID(), true)
	bobEvents := make(chan Event, 1024)
	g, err := f.join(ctx, bob, bobCred, inv, bobEvents)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Run(ctx) }()
	// Nobody the customer cannot see touches its machine: a masked rep
	// views, and cannot be raised to control.
	if r, masked := g.Rights(); !masked || r != rights.View {
		t.Fatalf("rights %q masked %v", r, masked)
	}
	if err := f.hub.SetRights("Bobby Masked", rights.Control); err == nil {
		t.Fatal("a masked rep was given control")
	}
	// Nor can the customer count masked reps: its list is not sent again.
	for e := range f.hostEvents {
		if e.Kind == EvAttendees && len(e.Attendees) == 3 {
			break
		}
	}
	if err := f.hub.Chat("marker-after-masked-join", false); err != nil {
		t.Fatal(err)
	}
	for e := range f.custEvents {
		if e.Kind == EvAttendees {
			t.Fatalf("the customer got an attendee list again when a masked rep joined: %v", e.Attendees)
		}
		if e.Kind == EvChat && e.Chat.Text == "marker-after-masked-join" {
			break
		}
	}
	// Bob sees the customer's screen through the host.
	deadline := time.Now().Add(20 * time.Second)
	for g.Screen().Frames() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("masked rep got no frame")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Bob tries to write to the customer: the host keeps it internal.
	if err := g.Chat("bob-secret-chat", false); err != nil {
		t.Fatal(err)
	}
	waitChat(t, f.hostEvents, "bob-secret-chat")
	if err := f.hub.Chat("internal-note-abc", true); err != nil {
		t.Fatal(err)
	}
	waitChat(t, bobEvents, "internal-note-abc")
	if err := f.customer.Chat("customer-hello"); err != nil {
		t.Fatal(err)
	}
	waitChat(t, bobEvents, "customer-hello")

	// An unmasked rep: the customer is told, so the tap does see names.
	carol, carolCred := f.rep(t, "Carol Visible")
	inv2 := f.invite("inv-carol", "", false)
	cg, err := f.join(ctx, carol, carolCred, inv2, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = cg.Run(ctx) }()
	for {
		e := waitKind(t, f.custEvents, EvNotice)
		if e.Text == "Carol Visible has joined the session" {
			break
		}
	}
	g.Leave()
	waitKind(t, f.hostEvents, EvLeft)
	if err := f.hub.Chat("public-after", false); err != nil {
		t.Fatal(err)
	}
	waitChat(t, f.custEvents, "public-after")
	cg.Leave()
	for {
		e := waitKind(t, f.custEvents, EvNotice)
		if e.Text == "Carol Visible has left the session" {
			break
		}
	}

	got := f.tap.received()
	if !bytes.Contains(got, []byte("Carol Visible")) || !bytes.Contains(got, []byte("public-after")) {
		t.Fatal("the tap does not see what the customer receives")
	}
	for _, secret := range []string{"Bobby", "Masked", bob.ID().String(), string(bob.ID()), "bob-secret-chat",
		"internal-note-abc", "secret-comment-xyz", "ticket-inv-bob", "inv-bob"} {
		if bytes.Contains(got, []byte(secret)) {
			t.Errorf("the customer's process received %q", secret)
		}
	}
	if f.tap.Network().Connectedness(bob.ID()) == network.Connected || f.tap.Peerstore().Addrs(bob.ID()) != nil {
		t.Error("the customer's host knows the masked rep's peer")
	}
}

func TestOnlyOneOfManySimultaneousAcceptsIsAdmitted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	f := startSession(t, ctx)
	inv := f.invite("portal-wide", "", false)
	const n = 10
	var admitted, taken atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		h, cred := f.rep(t, fmt.Sprintf("Rep %d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			g, err := f.join(ctx, h, cred, inv, nil)
			var d *DeniedError
			switch {
			case err == nil:
				admitted.Add(1)
				go func() { _ = g.Run(ctx) }()
			case errors.As(err, &d) && errors.Is(err, ErrTaken) && strings.HasPrefix(d.TakenBy, "Rep "):
				taken.Add(1)
			default:
				t.Errorf("rep %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if admitted.Load() != 1 || taken.Load() != n-1 {
		t.Fatalf("admitted %d, told taken %d", admitted.Load(), taken.Load())
	}
}

func TestInvitationChecks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	f := startSession(t, ctx)
	bob, bobCred := f.rep(t, "Bob")
	eve, eveCred := f.rep(t, "Eve")
	inv := f.invite("for-bob", bob.ID(), false)
	// Eve is enrolled but the invitation names Bob.
	if _, err := f.join(ctx, eve, eveCred, inv, nil); err == nil || !strings.Contains(err.Error(), "another rep") {
		t.Fatalf("eve with bob's invitation: %v", err)
	}
	// Bob's credential presented by another peer.
	if _, err := f.join(ctx, p2ptest.NewHost(t, nil), bobCred, inv, nil); err == nil {
		t.Fatal("a stolen credential was accepted")
	}
	// A peer of another portal.
	other, _ := portal.NewManager("Other")
	stranger := p2ptest.NewHost(t, nil)
	strangerCred, _ := other.Issue(stranger.ID(), "Stranger", 1, time.Hour, time.Now())
	open := f.invite("open", "", false)
	if _, err := f.join(ctx, stranger, strangerCred, open, nil); err == nil {
		t.Fatal("a rep of another portal was admitted")
	}
	// A wrong ticket.
	bad := inv
	bad.Ticket = []byte("guess")
	if _, err := f.join(ctx, bob, bobCred, bad, nil); err == nil || !strings.Contains(err.Error(), "ticket") {
		t.Fatalf("wrong ticket: %v", err)
	}
	// Cancelled.
	f.hub.CancelInvitation(inv.ID)
	if _, err := f.join(ctx, bob, bobCred, inv, nil); err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("cancelled: %v", err)
	}
}

// specialist joins a specialist invitation as name, having "proved" its
// code (the pairing itself is tested in package pairing and end to end).
func (f *sessionFixture) specialist(t *testing.T, ctx context.Context, inv Invitation, name string, events ...chan Event) (*Guest, error) {
	t.Helper()
	h := p2ptest.NewHost(t, nil)
	f.hub.Paired(inv.ID, h.ID())
	return JoinSession(ctx, GuestConfig{Host: h, Session: peer.AddrInfo{ID: f.hub.cfg.Host.ID(), Addrs: f.hub.cfg.Host.Addrs()},
		Invite: inv.ID, Name: name, OnEvent: func(e Event) {
			for _, ch := range events {
				ch <- e
			}
		}})
}

func TestSpecialistRightsAreEnforcedAtTheHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	f := startSession(t, ctx)
	viewOnly := Invitation{ID: "12345", Specialist: true, Rights: rights.View, MaxUses: 10, Expires: time.Now().Add(time.Minute)}
	f.hub.AddInvitation(viewOnly)
	// Without proving the code, or without a name: refused.
	stranger := p2ptest.NewHost(t, nil)
	if _, err := JoinSession(ctx, GuestConfig{Host: stranger, Session: peer.AddrInfo{ID: f.hub.cfg.Host.ID(), Addrs: f.hub.cfg.Host.Addrs()},
		Invite: viewOnly.ID, Name: "Eve"}); err == nil || !strings.Contains(err.Error(), "prove the invitation code") {
		t.Fatalf("unproven specialist: %v", err)
	}
	if _, err := f.specialist(t, ctx, viewOnly, "  \x00 "); err == nil || !strings.Contains(err.Error(), "name") {
		t.Fatalf("nameless specialist: %v", err)
	}
	samEvents := make(chan Event, 1024)
	sam, err := f.specialist(t, ctx, viewOnly, "Sam Specialist", samEvents)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = sam.Run(ctx) }()
	for {
		if e := waitKind(t, f.custEvents, EvNotice); e.Text == "Sam Specialist has joined the session" {
			break
		}
	}
	f.customer.gate.SetControl(true) // the customer consents to control
	f.hub.setConsent(true, true)
	// View only: dropped at the host, the display never sees it.
	if err := sam.Input(input.Event{Type: input.Click, X: 3, Y: 3}); err != nil {
		t.Fatal(err)
	}
	for {
		if e := waitKind(t, samEvents, EvNotice); strings.Contains(e.Text, "view only") {
			break
		}
	}
	// The host raises Sam to control: now it reaches the display.
	if err := f.hub.SetRights("sam specialist", rights.Control); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for r, _ := sam.Rights(); r != rights.Control; r, _ = sam.Rights() {
		if time.Now().After(deadline) {
			t.Fatal("the specialist never heard of its new rights")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The customer granted control earlier, but not to Sam: Sam's first
	// input asks the customer and is dropped, whatever its rights.
	if err := sam.Input(input.Event{Type: input.Click, X: 41, Y: 41}); err != nil {
		t.Fatal(err)
	}
	for {
		if e := waitKind(t, f.custEvents, EvConsentRequest); e.What == "control" && strings.Contains(e.Name, "Sam Specialist") {
			break
		}
	}
	select {
	case e := <-f.inj.applied:
		t.Fatalf("input from a specialist the customer never allowed reached the display: %+v", e)
	case <-time.After(300 * time.Millisecond):
	}
	f.customer.Answer("control", true)
	deadline = time.Now().Add(10 * time.Second)
	for applied := false; !applied; {
		if time.Now().After(deadline) {
			t.Fatal("control specialist's input never applied after the customer allowed it")
		}
		if err := sam.Input(input.Event{Type: input.Click, X: 42, Y: 42}); err != nil {
			t.Fatal(err)
		}
		select {
		case e := <-f.inj.applied:
			if e.X != 42 {
				t.Fatalf("input dropped before the customer's yes reached the display: %+v", e)
			}
			applied = true
		case <-time.After(200 * time.Millisecond):
		}
	}

	// Five specialists at most; the sixth is refused and the host told.
	for i := 2; i <= MaxSpecialists; i++ {
		g, err := f.specialist(t, ctx, viewOnly, fmt.Sprintf("Specialist %d", i))
		if err != nil {
			t.Fatalf("specialist %d: %v", i, err)
		}
		go func() { _ = g.Run(ctx) }()
	}
	if _, err := f.specialist(t, ctx, viewOnly, "Number Six"); err == nil || !strings.Contains(err.Error(), "already has 5 external specialists") {
		t.Fatalf("sixth specialist: %v", err)
	}
	for {
		if e := waitKind(t, f.hostEvents, EvNotice); strings.Contains(e.Text, "Number Six could not join") {
			break
		}
	}
	// The host removes one: a place is free again.
	if err := f.hub.Remove("Specialist 3"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.specialist(t, ctx, viewOnly, "Number Six"); err != nil {
		t.Fatalf("after a removal: %v", err)
	}
}

func TestOneShareAtATimeAndItEndsWithItsSharer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := startSession(t, ctx)
	inv := Invitation{ID: "54321", Specialist: true, Rights: rights.View, MaxUses: 5, AllowShare: true, Expires: time.Now().Add(time.Minute)}
	f.hub.AddInvitation(inv)
	annEvents, benEvents := make(chan Event, 256), make(chan Event, 256)
	ann, err := f.specialist(t, ctx, inv, "Ann", annEvents)
	if err != nil {
		t.Fatal(err)
	}
	ben, err := f.specialist(t, ctx, inv, "Ben", benEvents)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ann.Run(ctx) }()
	go func() { _ = ben.Run(ctx) }()
	go func() { _ = ann.ShareScreen(ctx, blankScreen{}) }()
	for {
		if e := waitKind(t, f.hostEvents, EvSharing); e.Name == "Ann" && e.Reason == "" {
			break
		}
	}
	// The other attendee is told, and gets the shared picture.
	if e := waitKind(t, benEvents, EvSharing); e.Name != "Ann" || e.Reason != "" {
		t.Fatalf("Ben was told %+v", e)
	}
	for ben.SharedScreen().Frames() == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("Ben never got the shared screen")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := ben.ShareScreen(ctx, blankScreen{}); err != nil {
		t.Logf("ben's share: %v", err)
	}
	for {
		if e := waitKind(t, benEvents, EvNotice); strings.Contains(e.Text, "someone else is sharing") {
			break
		}
	}
	if err := f.hub.Remove("Ann"); err != nil {
		t.Fatal(err)
	}
	for {
		if e := waitKind(t, f.hostEvents, EvSharing); e.Name == "Ann" && e.Reason == "stopped" {
			break
		}
	}
	if err := f.hub.StopShare(); !errors.Is(err, ErrNotSharing) {
		t.Fatalf("after the sharer left: %v", err)
	}
	// The ended share leaves no stale picture, at the host or at Ben.
	if w, h := f.hub.SharedScreen().Size(); w != 0 || h != 0 {
		t.Fatalf("the host still holds a %dx%d shared picture", w, h)
	}
	if e := waitKind(t, benEvents, EvSharing); e.Reason != "stopped" {
		t.Fatalf("Ben was told %+v", e)
	}
	if w, h := ben.SharedScreen().Size(); w != 0 || h != 0 {
		t.Fatalf("Ben still holds a %dx%d shared picture", w, h)
	}
}

// TestTheCustomerSpeaksAsTheCustomer: chat the customer's process sends
// in someone else's name is recorded and passed on as the customer's.
func TestTheCustomerSpeaksAsTheCustomer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := startSession(t, ctx)
	f.customer.mu.Lock()
	l := f.customer.link
	f.customer.mu.Unlock()
	forged := Chat{Seq: 1000, From: "Alice", Role: RoleHost, Text: "forged-by-the-customer", Time: time.Now(), Internal: true}
	if err := l.send(Msg{Type: TypeChat, Chat: &forged}); err != nil {
		t.Fatal(err)
	}
	for e := range f.hostEvents {
		if e.Kind == EvChat && e.Chat.Text == forged.Text {
			if e.Chat.From != "Customer" || e.Chat.Role != RoleCustomer || e.Chat.Internal {
				t.Fatalf("recorded as %+v", *e.Chat)
			}
			return
		}
	}
}

// TestAStalledCustomerDoesNotFreezeTheHost: a customer whose machine
// stops taking input (here its injector blocks, so it stops reading)
// fills the input stream. Before, Input wrote under the host's lock with
// no deadline: Consent, the attendee list, everything waited on it.
func TestAStalledCustomerDoesNotFreezeTheHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	f := startSession(t, ctx)
	f.customer.gate.SetControl(true)
	f.hub.setConsent(true, true)
	// Nobody reads f.inj.applied: after 16 events the customer's input
	// handler blocks, then its stream's window fills.
	failed := make(chan error, 1)
	go func() {
		ev := input.Event{Type: input.Text, Text: strings.Repeat("x", 1000)}
		for ctx.Err() == nil {
			if err := f.hub.Input(ev); err != nil {
				failed <- err
				return
			}
		}
	}()
	blocked := time.Now()
	for {
		// Each round takes the host's lock while Input may be writing.
		done := make(chan struct{})
		go func() { f.hub.Consent(); f.hub.Attendees(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("the host's state is locked while an input write waits on a stalled customer")
		}
		select {
		case err := <-failed:
			t.Logf("input to the stalled customer failed after %v: %v", time.Since(blocked).Round(time.Second), err)
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Since(blocked) > 45*time.Second {
			t.Fatal("input to a stalled customer never gave up")
		}
	}
}

// TestAttendeesDoNotLearnWhereTheCustomerIs: everything an attendee is
// told leaves out the customer's peer ID, with which it could reach the
// customer's machine through its relay slot and learn its addresses.
func TestAttendeesDoNotLearnWhereTheCustomerIs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := startSession(t, ctx)
	inv := Invitation{ID: "24680", Specialist: true, Rights: rights.View, MaxUses: 1, Expires: time.Now().Add(time.Minute)}
	f.hub.AddInvitation(inv)
	events := make(chan Event, 256)
	sam, err := f.specialist(t, ctx, inv, "Sam", events)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = sam.Run(ctx) }()
	customer := f.customer.cfg.Host.ID().String()
	sawList := false
	for deadline := time.After(3 * time.Second); ; {
		select {
		case e := <-events:
			b, _ := json.Marshal(e)
			if strings.Contains(string(b), customer) {
				t.Fatalf("an attendee was told the customer's peer ID: %s", b)
			}
			sawList = sawList || e.Kind == EvAttendees && len(e.Attendees) >= 3
			continue
		case <-deadline:
		}
		break
	}
	if !sawList {
		t.Fatal("the attendee never got the attendee list")
	}
}

// TestTakingControlBackLetsGoOfAHeldButton: the host pressed a button (a
// drag) and the customer took control back before it was let go. Before,
// the button stayed down on the customer's machine.
func TestTakingControlBackLetsGoOfAHeldButton(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := startSession(t, ctx)
	f.customer.gate.SetControl(true)
	f.hub.setConsent(true, true)
	if err := f.hub.Input(input.Event{Type: input.Down, X: 10, Y: 20, Button: "left"}); err != nil {
		t.Fatal(err)
	}
	if e := <-f.inj.applied; e.Type != input.Down {
		t.Fatalf("applied %+v", e)
	}
	f.customer.TakeControlBack()
	select {
	case e := <-f.inj.applied:
		if e.Type != input.Up || e.Button != "left" || e.X != 10 || e.Y != 20 {
			t.Fatalf("after control was taken back: %+v, want the left button let go at 10,20", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the held button was never let go")
	}
}

// changingScreen is new noise at every capture, some kilobytes a frame:
// a share in motion.
type changingScreen struct{ n atomic.Uint32 }

func (s *changingScreen) Capture(f *screen.Frame) error {
	if f.W != 256 {
		*f = *screen.NewFrame(256, 128)
	}
	x := s.n.Add(1) * 2654435761
	for i := range f.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		f.Pix[i] = byte(x)
	}
	return nil
}

// TestTheCustomerWatchesAShareInMotion: the specialist's share is paced
// by the host's acknowledgements (shared screen 2.1) and the host's copy
// to the customer by the customer's (shared view 2.1), so frames keep
// coming for as long as the share moves; a paced stream whose receiver
// did not acknowledge would stop after its first window (64 KB, a dozen
// of these frames).
func TestTheCustomerWatchesAShareInMotion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := startSession(t, ctx)
	inv := Invitation{ID: "24680", Specialist: true, Rights: rights.View, MaxUses: 1, AllowShare: true, Expires: time.Now().Add(time.Minute)}
	f.hub.AddInvitation(inv)
	ann, err := f.specialist(t, ctx, inv, "Ann", make(chan Event, 256))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ann.Run(ctx) }()
	go func() { _ = ann.ShareScreen(ctx, &changingScreen{}) }()
	view := f.customer.SharedView().Screen()
	for view.Frames() < 100 {
		select {
		case <-ctx.Done():
			t.Fatalf("the customer got %d frames of a share in motion", view.Frames())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
