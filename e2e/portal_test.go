package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"assist/internal/proctest"
	"assist/internal/xlab"
)

// portalLab is a manager's portal with enrolled, logged-in reps, each
// with an assist home of their own, and one rendezvous node.
type portalLab struct {
	t       *testing.T
	rv      string
	mgrHome string
	homes   map[string]string // rep name -> ASSIST_HOME
}

var loopListen = []string{"--listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--listen", "/ip4/127.0.0.1/tcp/0"}

// assist runs a short assist command and returns its stdout.
func assist(t *testing.T, home string, args ...string) string {
	t.Helper()
	c := exec.Command(assistBin, args...)
	c.Env = append(c.Environ(), "ASSIST_HOME="+home, "DISPLAY=")
	var stderr strings.Builder
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		t.Fatalf("assist %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func newPortalLab(t *testing.T, rv string, reps ...string) *portalLab {
	t.Helper()
	l := &portalLab{t: t, rv: rv, mgrHome: t.TempDir(), homes: map[string]string{}}
	assist(t, l.mgrHome, "portal", "create", "Acme")
	for _, name := range reps {
		home := t.TempDir()
		id := strings.TrimSpace(assist(t, home, "id"))
		token := strings.TrimSpace(assist(t, l.mgrHome, "portal", "enroll", "Acme", "--name", name, "--peer", id))
		assist(t, home, "login", token)
		l.homes[name] = home
	}
	return l
}

func (l *portalLab) start(name string, args ...string) *proctest.Proc {
	l.t.Helper()
	return l.startOn(name, []string{"DISPLAY="}, args...)
}

// startOn starts an assist command as name with env added (a desktop's).
func (l *portalLab) startOn(name string, env []string, args ...string) *proctest.Proc {
	l.t.Helper()
	args = append(append(args, "--json", "--rendezvous", l.rv), loopListen...)
	return proctest.Start(l.t, assistBin, append([]string{"ASSIST_HOME=" + l.homes[name]}, env...), args...)
}

// waitReps polls 'assist reps' as name until every want (rep -> sessions)
// is listed: presence is announced every few seconds.
func (l *portalLab) waitReps(name string, want map[string]float64) {
	l.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		out := assist(l.t, l.homes[name], "reps", "--json", "--rendezvous", l.rv)
		last = out
		got := map[string]float64{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			e := proctest.ParseEvent(line)
			if e.Name() == "rep" {
				n, _ := e["sessions"].(float64)
				got[e.Str("name")] = n
			}
		}
		ok := true
		for k, v := range want {
			n, listed := got[k]
			ok = ok && listed && n == v
		}
		if ok {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	l.t.Fatalf("assist reps never listed %v; last:\n%s", want, last)
}

// portalSession is a customer sharing x with a rendezvous node and a
// portal whose reps are logged in: the start of every portal test.
type portalSession struct {
	rv    *rendezvousProc
	l     *portalLab
	share *proctest.Proc
	key   string
}

// startPortalSession starts it; rvFlags go to the rendezvous node,
// shareFlags to 'assist share'.
func startPortalSession(t *testing.T, x *xlab.Xvfb, rvFlags, shareFlags []string, reps ...string) *portalSession {
	t.Helper()
	rvp := startRendezvous(t, t.TempDir(), []string{"/ip4/127.0.0.1/udp/0/quic-v1", "/ip4/127.0.0.1/tcp/0"}, rvFlags...)
	rv := rvp.Addrs[0].String()
	l := newPortalLab(t, rv, reps...)
	args := append(append([]string{"share", "--json", "--rendezvous", rv}, shareFlags...), loopListen...)
	share := proctest.Start(t, assistBin, []string{x.Env(), "ASSIST_HOME=" + t.TempDir()}, args...)
	return &portalSession{rv: rvp, l: l, share: share, key: share.WaitEvent("key", 30*time.Second).Str("key")}
}

// TestRepInvitedByNameAcceptsFromConsoleAndSeesTheScreen: rep Alice in a
// session invites Bob by name; Bob accepts in 'assist console'; his viewer
// shows the customer's screen; 'assist reps' lists both with their sessions.
func TestRepInvitedByNameAcceptsFromConsoleAndSeesTheScreen(t *testing.T) {
	const w, h = 640, 480
	x := xlab.StartXvfb(t, w, h)
	want, _ := showDesktop(t, x.Display, w, h, 4)
	ps := startPortalSession(t, x, nil, []string{"--allow-view"}, "Alice", "Bob", "Carol", "Dave")
	l, share, key := ps.l, ps.share, ps.key

	bob := l.start("Bob", "console", "--no-browser")
	bob.WaitEvent("online", 30*time.Second)
	carol := l.start("Carol", "console", "--no-browser")
	carol.WaitEvent("online", 30*time.Second)
	alice := l.start("Alice", "join", "--no-browser", "--name", "Alice", key)
	alice.WaitEvent("viewer", 30*time.Second)
	l.waitReps("Alice", map[string]float64{"Alice": 1, "Bob": 0})
	// Dave runs nothing: 'assist reps' goes online for a moment to ask.
	l.waitReps("Dave", map[string]float64{"Alice": 1, "Bob": 0, "Carol": 0})

	// Ctrl-C on a waiting invite withdraws it: Bob's alert closes.
	first := proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + l.homes["Alice"]}, "invite", "--rep", "bob", "--json")
	firstID := first.WaitEvent("invited", 30*time.Second).Str("alert")
	bob.WaitEventWhere("alert", 30*time.Second, func(e proctest.Event) bool { return e["alert"].(map[string]any)["id"] == firstID })
	first.Signal(syscall.SIGINT)
	first.WaitEvent("invite_withdrawn", 15*time.Second)
	if code := first.Wait(15 * time.Second); code != 0 {
		t.Fatalf("invite after Ctrl-C exited %d: %s", code, first.Stderr())
	}
	if e := bob.WaitEventWhere("alert_closed", 30*time.Second, func(e proctest.Event) bool { return e.Str("alert") == firstID }); e.Str("reason") != "withdrawn" {
		t.Fatalf("bob's alert closed: %v", e)
	}

	invite := proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + l.homes["Alice"]},
		"invite", "--rep", "bob", "--comment", "printer driver, ticket 4711", "--json")
	invite.WaitEvent("invited", 30*time.Second)
	alert := bob.WaitEvent("alert", 30*time.Second)
	al, _ := alert["alert"].(map[string]any)
	if al["comment"] != "printer driver, ticket 4711" || al["host_name"] != "Alice" {
		t.Fatalf("alert at Bob's console: %v", alert)
	}
	bob.Say("accept " + al["id"].(string)[:6])
	viewerURL := bob.WaitEvent("viewer", 30*time.Second).Str("url")
	if got := invite.WaitEvent("invite_accepted", 30*time.Second).Str("name"); got != "Bob" {
		t.Fatalf("invite accepted by %q", got)
	}
	if invite.Wait(10*time.Second) != 0 {
		t.Fatal("assist invite failed after the accept")
	}
	alice.WaitEventWhere("joined", 30*time.Second, func(e proctest.Event) bool { return e.Str("name") == "Bob" })
	// The shell completes the reps online and the session's attendees.
	if out := assist(t, l.homes["Alice"], "__complete", "invite", "--rep", "C"); !strings.Contains(out, "Carol\tAcme\n") || strings.Contains(out, "Bob") {
		t.Fatalf("completing 'invite --rep C': %q", out)
	}
	if out := assist(t, l.homes["Alice"], "__complete", "rights", ""); !strings.Contains(out, "Bob\trep, control\n") || strings.Contains(out, "Customer") {
		t.Fatalf("completing 'rights': %q", out)
	}
	share.WaitEventWhere("notice", 30*time.Second, func(e proctest.Event) bool {
		return e.Str("text") == "Bob has joined the session"
	})

	// Bob's viewer shows the customer's screen, through Alice.
	v := dialViewer(t, viewerURL)
	canvas, lossy := waitForPicture(t, v, want)
	comparePictures(t, want, canvas, lossy)
	l.waitReps("Bob", map[string]float64{"Alice": 1, "Bob": 1, "Carol": 0})

	// A masked portal-wide invitation: Bob and Carol are alerted, Carol
	// takes it, Bob sees it taken; the customer learns nothing of her.
	invite = proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + l.homes["Alice"]},
		"invite", "--portal", "Acme", "--mask", "--comment", "masked-secret-comment", "--json")
	id := carol.WaitEvent("alert", 30*time.Second)["alert"].(map[string]any)["id"].(string)
	bob.WaitEventWhere("alert", 30*time.Second, func(e proctest.Event) bool { return e["alert"].(map[string]any)["id"] == id })
	carol.Say("accept " + id)
	carolURL := carol.WaitEvent("viewer", 30*time.Second).Str("url")
	if got := bob.WaitEvent("alert_closed", 30*time.Second).Str("by"); got != "Carol" {
		t.Fatalf("Bob's alert closed by %q, want Carol", got)
	}
	alice.WaitEventWhere("joined", 30*time.Second, func(e proctest.Event) bool { return e.Str("name") == "Carol" })
	if got := invite.WaitEvent("invite_accepted", 30*time.Second).Str("name"); got != "Carol" {
		t.Fatalf("the portal invitation was accepted by %q, want Carol", got)
	}
	cv := dialViewer(t, carolURL)
	cv.send(map[string]any{"type": "chat", "text": "carol-says-hi"})
	alice.WaitEventWhere("chat", 30*time.Second, func(e proctest.Event) bool {
		c, _ := e["chat"].(map[string]any)
		return c["text"] == "carol-says-hi" && c["internal"] == true
	})
	// A customer-visible line after it: once it is at the customer, so
	// would anything sent before it be.
	alice.Say("visible-to-customer")
	share.WaitEventWhere("chat", 30*time.Second, func(e proctest.Event) bool {
		c, _ := e["chat"].(map[string]any)
		return c["text"] == "visible-to-customer"
	})
	out := share.Stdout()
	for _, secret := range []string{"4711", "Carol", "carol-says-hi", "masked-secret-comment"} {
		if strings.Contains(out, secret) {
			t.Errorf("the customer's process printed %q", secret)
		}
	}
}

// TestJoinWhileTheConsoleRunsIsHostedByIt: one process per identity; the
// second terminal's join is relayed to the console, and Ctrl-C there ends
// the session but not the console.
func TestJoinWhileTheConsoleRunsIsHostedByIt(t *testing.T) {
	x := xlab.StartXvfb(t, 320, 240)
	ps := startPortalSession(t, x, nil, []string{"--allow-view"}, "Alice")
	l, share, key := ps.l, ps.share, ps.key
	console := l.start("Alice", "console", "--no-browser")
	console.WaitEvent("online", 30*time.Second)

	join := l.start("Alice", "join", "--no-browser", key)
	join.WaitEvent("viewer", 30*time.Second)
	// Without --name the rep is the name in its portal credential.
	if got := share.WaitEvent("joined", 30*time.Second).Str("name"); got != "Alice" {
		t.Fatalf("the customer was told %q joined, want Alice (the portal's name)", got)
	}
	l.waitReps("Alice", map[string]float64{"Alice": 1})
	// Nobody else is online: the invitation times out and the host is told.
	inv := proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + l.homes["Alice"]},
		"invite", "--portal", "Acme", "--expires", "2s", "--json")
	inv.WaitEvent("invite_expired", 30*time.Second)
	join.WaitEvent("invite_expired", 30*time.Second)
	join.Say("hello from the second terminal")
	share.WaitEventWhere("chat", 30*time.Second, func(e proctest.Event) bool {
		c, _ := e["chat"].(map[string]any)
		return c["text"] == "hello from the second terminal"
	})
	join.Signal(syscall.SIGINT)
	share.WaitEvent("ended", 30*time.Second)
	if code := join.Wait(15 * time.Second); code != 0 {
		t.Fatalf("delegated join exited %d", code)
	}
	l.waitReps("Alice", map[string]float64{"Alice": 0})
}

// TestQuittingTheConsoleSaysItEndsItsSessions: 'quit' in a console that
// hosts a session for another terminal asks first; quitting then ends it
// for everyone with the reason, and the other terminal ends cleanly.
func TestQuittingTheConsoleSaysItEndsItsSessions(t *testing.T) {
	x := xlab.StartXvfb(t, 320, 240)
	ps := startPortalSession(t, x, nil, nil, "Alice")
	l, share, key := ps.l, ps.share, ps.key
	console := l.start("Alice", "console", "--no-browser")
	console.WaitEvent("online", 30*time.Second)
	join := l.start("Alice", "join", "--no-browser", key)
	join.WaitEvent("viewer", 30*time.Second)
	// The customer is still being asked: the end reaches them even so.
	share.WaitEvent("consent_request", 30*time.Second)
	console.Say("quit")
	if n := console.WaitEvent("quit_confirm", 10*time.Second)["sessions"]; n != float64(1) {
		t.Fatalf("the console says it runs %v sessions", n)
	}
	console.Say("quit")
	console.WaitEvent("offline", 10*time.Second)
	if code := console.Wait(15 * time.Second); code != 0 {
		t.Fatalf("console exited %d", code)
	}
	if got := share.WaitEvent("ended", 10*time.Second).Str("reason"); got != "Alice went offline" {
		t.Fatalf("the customer was told %q", got)
	}
	if got := join.WaitEvent("ended", 10*time.Second).Str("reason"); got != "Alice went offline" {
		t.Fatalf("the hosting terminal was told %q", got)
	}
	if code := join.Wait(15 * time.Second); code != 0 {
		t.Fatalf("the hosting terminal exited %d: %s", code, join.Stderr())
	}
}

// TestRepsComeBackAfterTheRendezvousNodeRestarts: the node forgets which
// portals it relays when it restarts; the consoles notice they lost it,
// say so, join again once it is back, and say that too, so a rep who
// asks who is online hears them.
func TestRepsComeBackAfterTheRendezvousNodeRestarts(t *testing.T) {
	dataDir := t.TempDir()
	rvp := startRendezvous(t, dataDir, []string{"/ip4/127.0.0.1/udp/0/quic-v1", "/ip4/127.0.0.1/tcp/0"})
	l := newPortalLab(t, rvp.Addrs[0].String(), "Alice", "Bob", "Dave")
	var consoles []*proctest.Proc
	for _, name := range []string{"Alice", "Bob"} {
		c := l.start(name, "console", "--no-browser")
		c.WaitEvent("online", 30*time.Second)
		consoles = append(consoles, c)
	}
	l.waitReps("Dave", map[string]float64{"Alice": 0, "Bob": 0})
	rvp.Signal(syscall.SIGTERM)
	rvp.Wait(15 * time.Second)
	for _, c := range consoles {
		if e := c.WaitEvent("node", 30*time.Second); e.Str("reason") != "unreachable" {
			t.Fatalf("a console says %v", e)
		}
	}
	startRendezvous(t, dataDir, listenOf(rvp.Addrs))
	for _, c := range consoles {
		if e := c.WaitEvent("node", 30*time.Second); e.Str("reason") != "back" {
			t.Fatalf("a console says %v", e)
		}
	}
	l.waitReps("Dave", map[string]float64{"Alice": 0, "Bob": 0})
}

// TestViewerInviteDialogAndAlerts: in Chromium, the host's invite dialog
// lists the reps online with a search box and invites one; the invited
// rep's own viewer shows the next alert with its buttons.
func TestViewerInviteDialogAndAlerts(t *testing.T) {
	x := xlab.StartXvfb(t, 320, 240)
	ps := startPortalSession(t, x, nil, []string{"--allow-view"}, "Alice", "Bob", "Bobby Tables", "Carol")
	l, key := ps.l, ps.key
	bob := l.start("Bob", "console", "--no-browser")
	bob.WaitEvent("online", 30*time.Second)
	for _, name := range []string{"Bobby Tables", "Carol"} {
		l.start(name, "console", "--no-browser").WaitEvent("online", 30*time.Second)
	}
	alice := l.start("Alice", "join", "--no-browser", "--name", "Alice", key)
	pageURL := alice.WaitEvent("viewer", 30*time.Second).Str("url")
	l.waitReps("Alice", map[string]float64{"Alice": 1, "Bob": 0, "Bobby Tables": 0, "Carol": 0})

	ctx := chromium(t)
	listed := func(n int) string {
		return `document.querySelectorAll('#invite-reps li[data-name]').length === ` + fmt.Sprint(n)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(pageURL),
		chromedp.WaitVisible(chromedp.CSS(`#invite`)),
		chromedp.Click(chromedp.CSS(`#invite`)),
		chromedp.WaitVisible(chromedp.CSS(`#invite-search`)),
	)
	if err != nil {
		t.Fatalf("open the invite dialog: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](listed(4))); err != nil {
		t.Fatalf("the dialog does not list the 4 reps online: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#invite-search`), "bob")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](listed(2)+` && !!document.querySelector('#invite-reps li[data-name="Bobby Tables"]')`)); err != nil {
		t.Fatalf("searching 'bob' does not list Bob and Bobby Tables only: %v", err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#invite-comment`), "from the dialog"),
		chromedp.Click(chromedp.CSS(`#invite-reps li[data-name="Bob"] button`)),
	)
	if err != nil {
		t.Fatalf("invite: %v", err)
	}
	alert := bob.WaitEvent("alert", 30*time.Second)["alert"].(map[string]any)
	if alert["comment"] != "from the dialog" {
		t.Fatalf("alert %v", alert)
	}
	out := assist(t, l.homes["Bob"], "accept", "--json", "--no-browser", alert["id"].(string))
	bobURL := proctest.ParseEvent(strings.TrimSpace(out)).Str("url")
	if bobURL == "" {
		t.Fatalf("assist accept printed %q", out)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('log').textContent.includes('Bob accepted the invitation')`)); err != nil {
		t.Fatalf("the host's page does not say Bob accepted: %v", err)
	}
	// The dialog offers neither Alice herself nor Bob, now in the session.
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#invite`)), chromedp.WaitVisible(chromedp.CSS(`#invite-search`)))
	if err == nil {
		_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const s = document.getElementById('invite-search'); s.value = ''; s.dispatchEvent(new Event('input')); return true })()`))
	}
	if err != nil {
		t.Fatal(err)
	}
	button := func(name string) string {
		return `document.querySelector('#invite-reps li[data-name="` + name + `"] button')`
	}
	marked := button("Alice") + `?.disabled && ` + button("Alice") + `.textContent === 'You' && ` +
		button("Bob") + `?.disabled && ` + button("Bob") + `.textContent === 'In session' && ` + button("Carol") + `?.disabled === false`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](marked)); err != nil {
		t.Fatalf("the dialog offers to invite Alice herself or Bob who is in: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#invite-close`))); err != nil {
		t.Fatal(err)
	}

	// Bob's viewer (the attendee's page) shows the next portal alert.
	bobPage, cancel := chromedp.NewContext(ctx)
	defer cancel()
	if err := chromedp.Do(bobPage, chromedp.Navigate(bobURL), chromedp.WaitReady(chromedp.CSS(`body`))); err != nil {
		t.Fatal(err)
	}
	assist(t, l.homes["Alice"], "invite", "--portal", "Acme", "--no-wait")
	if _, err := chromedp.Run(bobPage, chromedp.Poll[bool](`!!document.querySelector('#alerts li button.accept') && document.getElementById('invite').hidden`)); err != nil {
		t.Fatalf("Bob's page shows no alert with an Accept button (or offers to invite): %v", err)
	}
}

// TestConsolePageListsRepsAndAnswersInvitations: the console's own page,
// in Chromium, lists the reps online with their sessions and a search box,
// shows an invitation with its comment, declines one (the host is told)
// and accepts the next, which opens a viewer of the customer's screen.
func TestConsolePageListsRepsAndAnswersInvitations(t *testing.T) {
	const w, h = 640, 480
	x := xlab.StartXvfb(t, w, h)
	want, _ := showDesktop(t, x.Display, w, h, 4)
	ps := startPortalSession(t, x, nil, []string{"--allow-view"}, "Alice", "Bob", "Carol")
	l, key := ps.l, ps.key
	bob := l.start("Bob", "console", "--no-browser")
	page := bob.WaitEvent("online", 30*time.Second).Str("page")
	l.start("Carol", "console", "--no-browser").WaitEvent("online", 30*time.Second)
	alice := l.start("Alice", "join", "--no-browser", "--name", "Alice", key)
	alice.WaitEvent("viewer", 30*time.Second)

	ctx := chromium(t)
	poll := func(what, js string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(30*time.Second),
			// Not on animation frames: once Accept opens the viewer's tab, this
			// one is in the background, where there are none.
			chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
			text, perr := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("console page: %s: %v\npage (%v):\n%s", what, err, perr, text)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`#console-reps`))); err != nil {
		t.Fatalf("open the console page: %v", err)
	}
	rep := func(name string, sessions int) string {
		return fmt.Sprintf(`!!document.querySelector('#console-reps li[data-name="%s"][data-sessions="%d"]')`, name, sessions)
	}
	poll("lists Alice in 1 session, Bob and Carol in none", rep("Alice", 1)+" && "+rep("Bob", 0)+" && "+rep("Carol", 0)+
		` && document.getElementById('me').textContent === 'Bob in Acme' && document.getElementById('stage').offsetParent === null`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#console-search`), "car")); err != nil {
		t.Fatal(err)
	}
	poll("search 'car' lists Carol alone", rep("Carol", 0)+` && document.querySelectorAll('#console-reps li[data-name]').length === 1`)

	// Declined on the page: the host hears it.
	l.waitReps("Alice", map[string]float64{"Bob": 0})
	assist(t, l.homes["Alice"], "invite", "--rep", "Bob", "--comment", "first-try", "--no-wait")
	poll("shows the invitation with its comment", `[...document.querySelectorAll('#alerts li')].some(li => li.textContent.includes('first-try') && li.textContent.includes('Alice invites you'))`)
	poll("puts Accept and Decline side by side", `(() => { const b = [...document.querySelectorAll('#alerts li .buttons button')].map(x => x.getBoundingClientRect());
		return b.length === 2 && Math.abs(b[0].top - b[1].top) < 1 && b[0].right <= b[1].left; })()`)
	poll("says so in its Activity pane", `document.getElementById('log-title').textContent === 'Activity' &&
		document.getElementById('log').textContent.includes('Alice invites you to a session: first-try') &&
		getComputedStyle(document.getElementById('log')).display !== 'none' && document.getElementById('log').getBoundingClientRect().height > 20`)
	if dir := os.Getenv("ASSIST_SHOTS"); dir != "" {
		for _, w := range []int64{1280, 800} {
			_ = chromedp.Do(ctx, chromedp.EmulateViewport(w, 800))
			if shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
				_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("console-%d.png", w)), shot, 0o644)
			}
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#alerts li button:not(.accept)`))); err != nil {
		t.Fatal(err)
	}
	alice.WaitEventWhere("invite_declined", 30*time.Second, func(e proctest.Event) bool { return e.Str("name") == "Bob" })
	poll("the declined invitation is gone", `document.querySelectorAll('#alerts li[data-id]').length === 0`)

	// Accepted on the page: Bob joins and gets a viewer of the session.
	assist(t, l.homes["Alice"], "invite", "--rep", "Bob", "--comment", "second-try", "--no-wait")
	poll("shows the second invitation", `!!document.querySelector('#alerts li button.accept')`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#alerts li button.accept`))); err != nil {
		t.Fatal(err)
	}
	alice.WaitEventWhere("joined", 30*time.Second, func(e proctest.Event) bool { return e.Str("name") == "Bob" })
	poll("links the new viewer", `!!document.querySelector('#log a.viewer-link')`)
	viewerURL, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#log a.viewer-link').href`))
	if err != nil {
		t.Fatal(err)
	}
	canvas, lossy := waitForPicture(t, dialViewer(t, viewerURL), want)
	comparePictures(t, want, canvas, lossy)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('console-search').value = ''; true`)); err != nil {
		t.Fatal(err)
	}
	poll("lists Bob in 1 session now", rep("Bob", 1))
}

// TestConsoleNotifiesTheDesktopAndInviteCopiesTheLink: on a desktop (a
// session bus with a notification daemon, and a clipboard) an invitation
// pops up as a notification naming the host, the comment and the command,
// and 'assist invite --external' leaves the session link on the clipboard.
func TestConsoleNotifiesTheDesktopAndInviteCopiesTheLink(t *testing.T) {
	x := xlab.StartXvfb(t, 320, 240)
	desk := xlab.StartSession(t, x)
	ps := startPortalSession(t, x, nil, []string{"--allow-view"}, "Alice", "Bob")
	l, key := ps.l, ps.key
	l.startOn("Bob", desk.Env(), "console", "--no-browser").WaitEvent("online", 30*time.Second)
	alice := l.start("Alice", "join", "--no-browser", "--name", "Alice", key)
	alice.WaitEvent("viewer", 30*time.Second)

	assist(t, l.homes["Alice"], "invite", "--rep", "Bob", "--comment", "printer on fire", "--no-wait")
	deadline := time.Now().Add(30 * time.Second)
	for {
		ns, err := desk.Notifications()
		if err != nil {
			t.Fatal(err)
		}
		if len(ns) > 0 {
			n := ns[0]
			if n.AppName != "assist" || n.Summary != "assist: Alice invites you" || !strings.Contains(n.Body, "printer on fire") || !strings.Contains(n.Body, "accept ") {
				t.Fatalf("notification %+v", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no desktop notification within 30s")
		}
		time.Sleep(200 * time.Millisecond)
	}

	assist(t, ps.l.mgrHome, "portal", "settings", "Acme", "--externals", "on", "--rendezvous", l.rv)
	inv := proctest.Start(t, assistBin, append([]string{"ASSIST_HOME=" + l.homes["Alice"]}, desk.Env()...), "invite", "--json", "--external")
	if code := inv.Wait(30 * time.Second); code != 0 {
		t.Fatalf("invite --external: %s", inv.Stderr())
	}
	link := inv.WaitEvent("invitation", time.Second).Str("link")
	if got := inv.WaitEvent("clipboard", time.Second).Str("copied"); got != link {
		t.Fatalf("says it copied %q, the link is %q", got, link)
	}
	if got, err := desk.Clipboard(); err != nil || got != link || !strings.HasPrefix(link, "assist://join/") {
		t.Fatalf("clipboard holds %q (%v), want the link %q", got, err, link)
	}
}

// TestARepInTwoPortals: Zoe logs in to Acme and Globex (two managers); her
// console is online in both and 'assist reps' lists both portals' reps,
// filtered by portal. Once Globex revokes her, her console still starts
// and stays in Acme, saying Globex revoked her.
func TestARepInTwoPortals(t *testing.T) {
	rvp := startRendezvous(t, t.TempDir(), []string{"/ip4/127.0.0.1/udp/0/quic-v1", "/ip4/127.0.0.1/tcp/0"})
	l := newPortalLab(t, rvp.Addrs[0].String(), "Alice", "Zoe")
	globexMgr := t.TempDir()
	assist(t, globexMgr, "portal", "create", "Globex")
	enroll := func(home, name string) {
		id := strings.TrimSpace(assist(t, home, "id"))
		token := strings.TrimSpace(assist(t, globexMgr, "portal", "enroll", "Globex", "--name", name, "--peer", id))
		assist(t, home, "login", token)
	}
	enroll(l.homes["Zoe"], "Zoe at Globex")
	l.homes["Gus"] = t.TempDir()
	enroll(l.homes["Gus"], "Gus")

	zoe := l.start("Zoe", "console", "--no-browser")
	logins := map[string]string{}
	for range 2 {
		e := zoe.WaitEvent("portal", 30*time.Second)
		logins[e.Str("portal")] = e.Str("name")
	}
	if logins["Acme"] != "Zoe" || logins["Globex"] != "Zoe at Globex" {
		t.Fatalf("Zoe logged in as %v", logins)
	}
	zoe.WaitEvent("online", 30*time.Second)
	l.start("Alice", "console", "--no-browser").WaitEvent("online", 30*time.Second)
	l.start("Gus", "console", "--no-browser").WaitEvent("online", 30*time.Second)
	l.waitReps("Zoe", map[string]float64{"Alice": 0, "Zoe": 0, "Gus": 0, "Zoe at Globex": 0})
	var globex []string
	for _, line := range strings.Split(strings.TrimSpace(assist(t, l.homes["Zoe"], "reps", "--portal", "Globex", "--json")), "\n") {
		if e := proctest.ParseEvent(line); e.Name() == "rep" {
			globex = append(globex, e.Str("portal")+"/"+e.Str("name"))
		}
	}
	if fmt.Sprint(globex) != "[Globex/Gus Globex/Zoe at Globex]" {
		t.Fatalf("reps --portal Globex: %v", globex)
	}
	// Alice, in Acme only, sees nothing of Globex.
	if out := assist(t, l.homes["Alice"], "reps", "--json"); strings.Contains(out, "Gus") || strings.Contains(out, "Globex") {
		t.Fatalf("Alice's reps list shows Globex:\n%s", out)
	}

	assist(t, globexMgr, "portal", "revoke", "Globex", "--name", "Zoe at Globex", "--rendezvous", l.rv)
	zoe.Signal(syscall.SIGINT)
	if code := zoe.Wait(15 * time.Second); code != 0 {
		t.Fatalf("Zoe's console exited %d", code)
	}
	zoe = l.start("Zoe", "console", "--no-browser")
	if e := zoe.WaitEvent("revoked", 30*time.Second); e.Str("portal") != "Globex" {
		t.Fatalf("revoked event %v", e)
	}
	if e := zoe.WaitEvent("portal", 30*time.Second); e.Str("portal") != "Acme" {
		t.Fatalf("after the revocation Zoe logged in to %v", e)
	}
	zoe.WaitEvent("online", 30*time.Second)
	l.waitReps("Alice", map[string]float64{"Zoe": 0})

	// She forgets the dead credential; a second logout says where she is.
	if out := assist(t, l.homes["Zoe"], "logout", "globex"); !strings.Contains(out, `logged out of portal "Globex"`) {
		t.Fatalf("logout: %s", out)
	}
	c := exec.Command(assistBin, "logout", "Globex")
	c.Env = append(c.Environ(), "ASSIST_HOME="+l.homes["Zoe"])
	if out, err := c.CombinedOutput(); err == nil || !strings.Contains(string(out), `not logged in to a portal "Globex" (you are in: Acme)`) {
		t.Fatalf("second logout: %v, %s", err, out)
	}
}
