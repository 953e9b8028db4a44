package rep

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"assist/internal/p2ptest"
	"assist/ipc"
	"assist/rendezvous"
)

// noUpdate fails if t already holds an update of change for id: changes
// apply synchronously, so anything a clock advance caused is there now.
func noUpdate(l *lab, t *terminal, id string, c Change) {
	l.t.Helper()
	for {
		select {
		case e := <-t.events:
			if isUpdate(id, c)(e) {
				l.t.Fatalf("unexpected %s update: %+v", c, e.Update.Invitation)
			}
		default:
			return
		}
	}
}

// TestAnAcceptedInvitationStaysAccepted: Bob accepts at once; when the
// invitation's time runs out, nothing says it expired (it used to).
func TestAnAcceptedInvitationStaysAccepted(t *testing.T) {
	l := newLab(t)
	alice, bob := l.rep("Alice", true), l.rep("Bob", true)
	host := alice.hostSession(l)
	alice.sees(l, "Bob")
	inv, err := alice.p.Invite(l.ctx, InviteRequest{Rep: "bob", TTL: 20 * time.Second, Comment: "printer driver"})
	if err != nil {
		t.Fatal(err)
	}
	if inv.State != StateAlerted || inv.To != "Bob" || inv.Kind != KindRep {
		t.Fatalf("invitation %+v", inv)
	}
	if al := bob.wait(l, isAlert).Alert; al.ID != inv.ID || al.Comment != "printer driver" || al.HostName != "Alice" {
		t.Fatalf("bob's alert %+v", al)
	}
	j, err := bob.p.Accept(l.ctx, inv.ID[:6], true)
	if err != nil || j.URL == "" {
		t.Fatalf("accept: %+v %v", j, err)
	}
	if e := host.wait(l, isUpdate(inv.ID, ChangeAccepted)); e.Update.Invitation.By != "Bob" || e.Update.Invitation.State != StateAccepted {
		t.Fatalf("accepted update %+v", e.Update)
	}
	l.clock.Advance(30 * time.Second)
	noUpdate(l, host, inv.ID, ChangeExpired)
	if got, _ := alice.p.book.get(inv.ID); got.State != StateAccepted {
		t.Fatalf("after its expiry the accepted invitation is %s", got.State)
	}
	if n := bob.p.Sessions(); n != 1 {
		t.Fatalf("bob is in %d sessions", n)
	}
}

// TestDeclineEndsARepsInvitationButNotAPortals: one rep's decline is the
// answer; in a portal invitation the others may still accept.
func TestDeclineEndsARepsInvitationButNotAPortals(t *testing.T) {
	l := newLab(t)
	alice, bob, carol := l.rep("Alice", true), l.rep("Bob", true), l.rep("Carol", true)
	host := alice.hostSession(l)
	alice.sees(l, "Bob", "Carol")

	toBob, err := alice.p.Invite(l.ctx, InviteRequest{Rep: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	bob.wait(l, isAlert)
	if err := bob.p.Decline(l.ctx, toBob.ID); err != nil {
		t.Fatal(err)
	}
	if e := host.wait(l, isUpdate(toBob.ID, ChangeDeclined)); e.Update.Invitation.State != StateDeclined || e.Update.Invitation.By != "Bob" {
		t.Fatalf("bob's decline: %+v", e.Update.Invitation)
	}

	all, err := alice.p.Invite(l.ctx, InviteRequest{Portal: "acme", Mask: true})
	if err != nil {
		t.Fatal(err)
	}
	bob.wait(l, func(e Event) bool { return isAlert(e) && e.Alert.ID == all.ID })
	carol.wait(l, func(e Event) bool { return isAlert(e) && e.Alert.ID == all.ID })
	if err := bob.p.Decline(l.ctx, all.ID); err != nil {
		t.Fatal(err)
	}
	if e := host.wait(l, isUpdate(all.ID, ChangeDeclined)); e.Update.Invitation.State != StateAlerted {
		t.Fatalf("one decline closed the portal invitation: %s", e.Update.Invitation.State)
	}
	if _, err := carol.p.Accept(l.ctx, all.ID, true); err != nil {
		t.Fatal(err)
	}
	if e := host.wait(l, isUpdate(all.ID, ChangeAccepted)); e.Update.Invitation.By != "Carol" {
		t.Fatalf("accepted by %q", e.Update.Invitation.By)
	}
}

// TestAnUnansweredInvitationExpiresEverywhere: on the inviter's clock the
// invitation expires, and the alert closes on the invited rep's console.
func TestAnUnansweredInvitationExpiresEverywhere(t *testing.T) {
	l := newLab(t)
	alice, bob := l.rep("Alice", true), l.rep("Bob", true)
	host := alice.hostSession(l)
	alice.sees(l, "Bob")
	inv, err := alice.p.Invite(l.ctx, InviteRequest{Rep: "Bob", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	bob.wait(l, isAlert)
	l.clock.Advance(59 * time.Second)
	noUpdate(l, host, inv.ID, ChangeExpired)
	l.clock.Advance(time.Second)
	host.wait(l, isUpdate(inv.ID, ChangeExpired))
	e := bob.wait(l, func(e Event) bool { return e.Kind == EvAlertClosed && e.AlertID == inv.ID })
	if e.Reason != string(StateExpired) {
		t.Fatalf("bob's alert closed for %q", e.Reason)
	}
	if _, err := bob.p.Accept(l.ctx, inv.ID, true); err == nil {
		t.Fatal("accepted an expired invitation")
	}
}

// TestNeitherYouNorThoseInTheSessionAreInvited: a clear answer and no
// alert; the invite dialog marks both.
func TestNeitherYouNorThoseInTheSessionAreInvited(t *testing.T) {
	l := newLab(t)
	alice, bob, _ := l.rep("Alice", true), l.rep("Bob", true), l.rep("Carol", true)
	host := alice.hostSession(l)
	alice.sees(l, "Alice", "Bob", "Carol")
	if _, err := alice.p.Invite(l.ctx, InviteRequest{Rep: "Alice"}); err == nil || !strings.Contains(err.Error(), "Alice is you") {
		t.Fatalf("inviting yourself: %v", err)
	}
	inv, err := alice.p.Invite(l.ctx, InviteRequest{Rep: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	bob.wait(l, isAlert)
	if _, err := bob.p.Accept(l.ctx, inv.ID, true); err != nil {
		t.Fatal(err)
	}
	host.wait(l, isUpdate(inv.ID, ChangeAccepted))
	eventually(l, "bob is in the session", func() bool { return alice.p.hosted.hub.Present(bob.host.ID()) })
	if _, err := alice.p.Invite(l.ctx, InviteRequest{Rep: "Bob"}); err == nil || !strings.Contains(err.Error(), "Bob is already in this session") {
		t.Fatalf("inviting who is in: %v", err)
	}
	if n := len(alice.p.Invitations()); n != 1 {
		t.Fatalf("%d invitations, want the one to Bob", n)
	}
	marks := map[string]string{}
	for _, c := range (pages{alice.p}).Reps("") {
		marks[c.Name] = fmt.Sprintf("you=%v in=%v", c.You, c.InSession)
	}
	want := map[string]string{"Alice": "you=true in=true", "Bob": "you=false in=true", "Carol": "you=false in=false"}
	for name, m := range want {
		if marks[name] != m {
			t.Fatalf("the dialog lists %s as %q, want %q", name, marks[name], m)
		}
	}
}

// TestTheSocketServesTypedOperationsAndAGoneCallerWithdraws: what 'assist
// reps' and 'assist invite' do, through the real socket; Ctrl-C on a
// waiting invite withdraws it and closes Bob's alert.
func TestTheSocketServesTypedOperationsAndAGoneCallerWithdraws(t *testing.T) {
	l := newLab(t)
	alice, bob := l.rep("Alice", true), l.rep("Bob", true)
	dir := t.TempDir()
	srv, err := ipc.Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	go alice.p.Serve(l.ctx, srv)
	client := Client{ConfigDir: dir}
	if err := client.Invite(l.ctx, InviteRequest{Rep: "Bob"}, func(Update) {}); err == nil || !strings.Contains(err.Error(), "hosts no session") {
		t.Fatalf("invite without a session: %v", err)
	}
	alice.hostSession(l)
	alice.sees(l, "Bob")
	reps, err := client.Reps(l.ctx, RepsRequest{Text: "bo"})
	if err != nil || len(reps) != 1 || reps[0].Name != "Bob" {
		t.Fatalf("reps: %+v %v", reps, err)
	}

	ctx, cancel := context.WithCancel(l.ctx)
	var got []Update
	err = client.Invite(ctx, InviteRequest{Rep: "Bob"}, func(u Update) {
		got = append(got, u)
		if u.Change == ChangeAlerted {
			bob.wait(l, isAlert)
			cancel() // Ctrl-C while waiting
		}
	})
	if err != nil {
		t.Fatalf("a cancelled invite: %v", err)
	}
	if len(got) != 2 || got[1].Change != ChangeWithdrawn || got[1].Invitation.State != StateWithdrawn {
		t.Fatalf("updates %+v, want alerted then withdrawn", got)
	}
	id := got[0].Invitation.ID
	if e := bob.wait(l, func(e Event) bool { return e.Kind == EvAlertClosed && e.AlertID == id }); e.Reason != string(StateWithdrawn) {
		t.Fatalf("bob's alert closed for %q", e.Reason)
	}

	var open Update
	if err := client.Invite(l.ctx, InviteRequest{Rep: "Bob", NoWait: true}, func(u Update) { open = u }); err != nil {
		t.Fatal(err)
	}
	if inv, _ := alice.p.book.get(open.Invitation.ID); inv.State != StateAlerted {
		t.Fatalf("a --no-wait invitation is %s once its caller left", inv.State)
	}
	if _, err := client.Accept(l.ctx, AlertRef{ID: "nope"}); err == nil {
		t.Fatal("accepted an alert that does not exist")
	}
	old := ipc.Request{Op: OpReps, V: 1}
	if err := ipc.Call(l.ctx, dir, old, nil, nil); err == nil || !strings.Contains(err.Error(), "version") {
		t.Fatalf("an older client: %v", err)
	}
	second := make(chan Command)
	err = client.Join(l.ctx, JoinRequest{Code: l.customer(), NoBrowser: true}, second, func(Event) {})
	if err == nil || !strings.Contains(err.Error(), "already host") {
		t.Fatalf("a second session in one process: %v", err)
	}
}

// TestAFullSessionDoesNotUseUpACode: a specialist refused because five
// are in keeps the code; once a place frees, the same code lets them in.
func TestAFullSessionDoesNotUseUpACode(t *testing.T) {
	l := newLab(t)
	l.allowSpecialists()
	alice := l.rep("Alice", true)
	host := alice.hostSession(l)
	five, err := alice.p.InviteCode(l.ctx, CodeRequest{MaxUses: 5})
	if err != nil {
		t.Fatal(err)
	}
	one, err := alice.p.InviteCode(l.ctx, CodeRequest{MaxUses: 1, Access: "control"})
	if err != nil {
		t.Fatal(err)
	}
	if one.State != StateOpen || one.Rights != "control" || !strings.HasPrefix(one.Link, "assist://join/") {
		t.Fatalf("code %+v", one)
	}
	for i := range 5 {
		s := l.rep(fmt.Sprintf("S%d", i), false)
		s.join(l, JoinRequest{Code: five.Code, Name: fmt.Sprintf("S%d", i)}).wait(l, func(e Event) bool { return e.Kind == EvViewer })
	}
	if e := host.wait(l, isUpdate(five.ID, ChangeJoined)); len(e.Update.Invitation.Joined) == 0 {
		t.Fatalf("joined update %+v", e.Update)
	}
	late := l.rep("Late", false)
	if err := <-late.join(l, JoinRequest{Code: one.Code, Name: "Late"}).done; err == nil || !strings.Contains(err.Error(), "5 external specialists") {
		t.Fatalf("a sixth specialist: %v", err)
	}
	host.wait(l, isUpdate(one.ID, ChangeRefused))
	if inv, _ := alice.p.book.get(one.ID); inv.State != StateOpen || len(inv.Joined) != 0 {
		t.Fatalf("the refusal used the code: %+v", inv)
	}
	if err := alice.p.Remove("S0"); err != nil {
		t.Fatal(err)
	}
	late.join(l, JoinRequest{Code: one.Code, Name: "Late"}).wait(l, func(e Event) bool { return e.Kind == EvViewer && e.Rights == "control" })
	if e := host.wait(l, isUpdate(one.ID, ChangeJoined)); e.Update.Invitation.State != StateUsed {
		t.Fatalf("after its one use the code is %s", e.Update.Invitation.State)
	}
	// Used up: the node says so to the next one.
	if err := <-l.rep("Later", false).join(l, JoinRequest{Code: one.Code, Name: "Later"}).done; err == nil || !strings.Contains(err.Error(), "already been used") {
		t.Fatalf("a used-up code: %v", err)
	}
}

// TestEndingTheSessionAnswersItsInvitations: open invitations are
// withdrawn (the alert closes) and codes end at the rendezvous node.
func TestEndingTheSessionAnswersItsInvitations(t *testing.T) {
	l := newLab(t)
	l.allowSpecialists()
	alice, bob := l.rep("Alice", true), l.rep("Bob", true)
	host := alice.hostSession(l)
	alice.sees(l, "Bob")
	inv, err := alice.p.Invite(l.ctx, InviteRequest{Rep: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	bob.wait(l, isAlert)
	code, err := alice.p.InviteCode(l.ctx, CodeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	host.commands <- Command{End: true}
	if err := <-host.done; err != nil {
		t.Fatalf("the host ended with %v", err)
	}
	bob.wait(l, func(e Event) bool { return e.Kind == EvAlertClosed && e.AlertID == inv.ID })
	if err := <-l.rep("Late", false).join(l, JoinRequest{Code: code.Code, Name: "Late"}).done; err == nil || !strings.Contains(err.Error(), "the session has ended") {
		t.Fatalf("a code of an ended session: %v", err)
	}
	if n := alice.p.Sessions(); n != 0 {
		t.Fatalf("alice is in %d sessions after the end", n)
	}
}

// TestOpenCodesAreKeptAliveOnTheClock: every codeCheckEvery on the
// process's clock, a code close to its expiry at the node is extended by
// codeTTL; one with time left is left alone.
func TestOpenCodesAreKeptAliveOnTheClock(t *testing.T) {
	l := newLab(t)
	l.allowSpecialists()
	alice := l.rep("Alice", true)
	alice.hostSession(l)
	later, err := alice.p.InviteCode(l.ctx, CodeRequest{}) // starts the keep-alive; 12 h left
	if err != nil {
		t.Fatal(err)
	}
	soon, err := alice.p.cfg.Rendezvous.Register(l.ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	alice.p.mu.Lock()
	alice.p.codes[soon.Code.Lookup] = soon
	laterExpires := alice.p.codes[later.ID].Expires
	alice.p.mu.Unlock()
	l.clock.Advance(codeCheckEvery)
	joiner := rendezvous.NewClient(p2ptest.NewHost(t, nil), l.rv)
	rec, err := joiner.Resolve(l.ctx, soon.Code.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(rec.ExpiresAt()); left < codeTTL-time.Minute {
		t.Fatalf("the code due for renewal has %v left at the node", left)
	}
	if rec, err := joiner.Resolve(l.ctx, later.ID); err != nil || !rec.ExpiresAt().Equal(laterExpires) {
		t.Fatalf("the code with time left was touched: %v, %v", rec, err)
	}
}
