package e2e

import (
	"fmt"
	"image"
	"io"
	"net/mail"
	"net/url"
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
	"assist/screen"
	"assist/shortcode"
)

// specialistRun runs 'assist join CODE' as an external specialist.
func specialistRun(t *testing.T, rv, code, name string) *proctest.Proc {
	t.Helper()
	args := append([]string{"join", "--json", "--no-browser", "--name", name, "--rendezvous", rv}, loopListen...)
	return proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + t.TempDir(), "DISPLAY="}, append(args, code)...)
}

// specialistFails runs a specialist join that must fail, and returns its stderr.
func specialistFails(t *testing.T, rv, code, name string) string {
	t.Helper()
	p := specialistRun(t, rv, code, name)
	if exit := p.Wait(60 * time.Second); exit == 0 {
		t.Fatalf("%s joined with %s", name, code)
	}
	return p.Stderr()
}

// TestExternalSpecialists: invitation codes only where the portal allows
// them; a view-only specialist sees the screen but its input never reaches
// the customer; raised to control, its keystrokes arrive after the
// customer's consent; the customer is told who joined; the sixth
// specialist, a cancelled code and a code of an ended session are refused;
// the email invitation parses.
func TestExternalSpecialists(t *testing.T) {
	const w, h = 640, 480
	x := xlab.StartXvfb(t, w, h)
	want, win := showDesktop(t, x.Display, w, h, 4)
	ps := startPortalSession(t, x, []string{"--http", "127.0.0.1:0"}, []string{"--allow-view", "--allow-control"}, "Alice")
	rv, l, share, key := ps.rv.Addrs[0].String(), ps.l, ps.share, ps.key
	alice := l.start("Alice", "join", "--no-browser", "--name", "Alice", key)
	alice.WaitEvent("viewer", 30*time.Second)

	invite := func(args ...string) (*proctest.Proc, int) {
		p := proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + l.homes["Alice"], "DISPLAY="}, append([]string{"invite", "--json"}, args...)...)
		return p, p.Wait(30 * time.Second)
	}
	// The portal does not allow specialists yet (the default).
	if p, code := invite("--external"); code == 0 || !strings.Contains(p.Stderr(), "does not allow external specialists") {
		t.Fatalf("--external in a portal without specialists: exit %d, %s", code, p.Stderr())
	}
	assist(t, l.mgrHome, "portal", "settings", "Acme", "--externals", "on", "--max-rights", "control", "--rendezvous", rv)

	eml := filepath.Join(t.TempDir(), "invite.eml")
	p, code := invite("--external", "--access", "view", "--max-uses", "7", "--email", "sam@example.com", "--eml", eml)
	if code != 0 {
		t.Fatalf("invite --external: %s", p.Stderr())
	}
	invitation := p.WaitEvent("invitation", time.Second)
	codeText := invitation.Str("code")
	checkEmail(t, eml, codeText, rv)
	if invitation.Str("join_page") != ps.rv.JoinPage || ps.rv.JoinPage == "" {
		t.Fatalf("invitation names join page %q, the node serves %q", invitation.Str("join_page"), ps.rv.JoinPage)
	}
	command := checkJoinPage(t, ps.rv.JoinPage, codeText)

	// Sam has a fresh install: the join page's command, as pasted, is all
	// he needs (plus his name, and loopback only for the test).
	pasted := append(append(strings.Fields(command)[1:], "--json", "--no-browser", "--name", "Sam Specialist"), loopListen...)
	sam := proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + t.TempDir(), "ASSIST_RENDEZVOUS=", "DISPLAY="}, pasted...)
	samURL := sam.WaitEvent("viewer", 30*time.Second).Str("url")
	share.WaitEventWhere("notice", 30*time.Second, func(e proctest.Event) bool { return e.Str("text") == "Sam Specialist has joined the session" })
	alice.WaitEventWhere("attendees", 30*time.Second, func(e proctest.Event) bool {
		for _, a := range e["attendees"].([]any) {
			m := a.(map[string]any)
			if m["name"] == "Sam Specialist" && m["rights"] == "view" && m["role"] == "specialist" {
				return true
			}
		}
		return false
	})
	// Sam's own connection and frames, as the host's are: in --json ...
	evs := sam.WaitEvents(30*time.Second, "link", "connection", "frame")
	if e := evs["connection"]; e.Str("path") != "direct" || e.Str("transport") == "" {
		t.Fatalf("sam's connection event %v", e)
	}
	v := dialViewer(t, samURL)
	// ... and on his page, which is told it is view only (and shows it).
	v.waitEvent("state", 10*time.Second, func(e map[string]any) bool { return e["rights"] == "view" && e["path"] == "direct" })
	canvas, lossy := waitForPicture(t, v, want)
	comparePictures(t, want, canvas, lossy)
	win.Close()
	v.waitEvent("frame", 10*time.Second, nil) // the change reaches his page's statistics

	// View only: Sam's click and typing are dropped at the host.
	rec, err := xlab.RecordInput(x.Display, image.Rect(0, 0, w, h))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	alice.Say("/control")
	alice.WaitEventWhere("consent", 30*time.Second, func(e proctest.Event) bool { return e["control"] == true })
	v.sendClickAndText(11, 11, "nope")
	sam.WaitEventWhere("notice", 30*time.Second, func(e proctest.Event) bool { return strings.Contains(e.Str("text"), "view only") })
	// Raised to control by the host: now it arrives.
	assist(t, l.homes["Alice"], "rights", "Sam Specialist", "control")
	sam.WaitEventWhere("notice", 30*time.Second, func(e proctest.Event) bool { return strings.Contains(e.Str("text"), "control") })
	// Control rights are not the customer's yes: Sam asks, and the
	// customer (who allows control up front here) answers for him.
	sam.Say("/control")
	sam.WaitEventWhere("notice", 30*time.Second, func(e proctest.Event) bool { return e.Str("text") == "the customer allowed you to control" })
	v.sendClickAndText(222, 111, "fixed")
	expectClickAndText(t, rec, 222, 111, "fixed")

	// Four more fill the session; the sixth is refused, the host told.
	for i := 2; i <= 4; i++ {
		specialistRun(t, rv, codeText, fmt.Sprintf("Specialist %d", i)).WaitEvent("viewer", 30*time.Second)
	}
	// The fifth has a fresh install and only the invitation's link.
	link := append([]string{"join", "--json", "--no-browser", "--name", "Specialist 5", invitation.Str("link")}, loopListen...)
	proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + t.TempDir(), "ASSIST_RENDEZVOUS=", "DISPLAY="}, link...).WaitEvent("viewer", 30*time.Second)
	if msg := specialistFails(t, rv, codeText, "Number Six"); !strings.Contains(msg, "already has 5 external specialists") {
		t.Fatalf("sixth specialist: %s", msg)
	}
	alice.WaitEventWhere("notice", 30*time.Second, func(e proctest.Event) bool { return strings.Contains(e.Str("text"), "Number Six could not join") })

	// Cancelled: refused at once, those inside stay.
	assist(t, l.homes["Alice"], "invite", "cancel", codeText)
	if msg := specialistFails(t, rv, codeText, "Late"); !strings.Contains(msg, "invitation cancelled") {
		t.Fatalf("cancelled code: %s", msg)
	}
	// A code of a session that ended.
	p, code = invite("--external")
	if code != 0 {
		t.Fatalf("second invitation: %s", p.Stderr())
	}
	second := p.WaitEvent("invitation", time.Second).Str("code")
	alice.Say("/end")
	sam.WaitEvent("ended", 30*time.Second)
	alice.Wait(30 * time.Second)
	if msg := specialistFails(t, rv, second, "Too Late"); !strings.Contains(msg, "the session has ended") {
		t.Fatalf("code of an ended session: %s", msg)
	}
}

// checkEmail parses the .eml as an email and finds the link, the code and the rights.
func checkEmail(t *testing.T, path, code, rv string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatalf("the .eml is not an email: %v", err)
	}
	if to, err := m.Header.AddressList("To"); err != nil || to[0].Address != "sam@example.com" {
		t.Fatalf("To: %v %v", to, err)
	}
	if _, err := m.Header.Date(); err != nil {
		t.Fatalf("Date: %v", err)
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"assist://join/" + code + "?rv=" + url.QueryEscape(rv), "assist join --rendezvous " + rv + " " + code, "view the customer's screen"} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("the email lacks %q:\n%s", want, body)
		}
	}
}

// TestMakeInstallRegistersTheLinkHandler: after 'make install' an
// assist://join/CODE link opens with the installed 'assist join'.
func TestMakeInstallRegistersTheLinkHandler(t *testing.T) {
	if _, err := exec.LookPath("xdg-mime"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no xdg-mime: 'make test' installs xdg-utils")
		}
		t.Skip("SKIPPED: no xdg-mime")
	}
	root, err := proctest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	prefix := filepath.Join(tmp, "prefix")
	cmd := exec.Command("make", "-C", root, "install", "PREFIX="+prefix)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(tmp, "config"), "XDG_DATA_HOME="+filepath.Join(prefix, "share"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	desktop, err := os.ReadFile(filepath.Join(prefix, "share", "applications", "assist.desktop"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(desktop), "MimeType=x-scheme-handler/assist;") ||
		!strings.Contains(string(desktop), "Exec="+prefix+"/bin/assist join %u") {
		t.Fatalf("desktop entry:\n%s", desktop)
	}
	q := exec.Command("xdg-mime", "query", "default", "x-scheme-handler/assist")
	q.Env = cmd.Env
	out, err := q.Output()
	if err != nil || strings.TrimSpace(string(out)) != "assist.desktop" {
		t.Fatalf("assist:// is handled by %q (%v), want assist.desktop", out, err)
	}
	// The installed binary takes the link as its argument.
	run := exec.Command(filepath.Join(prefix, "bin", "assist"), "join", "assist://join/123-45")
	run.Env = append(os.Environ(), "ASSIST_HOME="+t.TempDir())
	msg, _ := run.CombinedOutput()
	// (The code in the link is read, then found too short.)
	if !strings.Contains(string(msg), `not a valid code: "123-45"`) {
		t.Fatalf("assist join with a link: %s", msg)
	}
}

// checkJoinPage types the code on the rendezvous node's join page in
// Chromium: it is told how to join, and only the lookup part was sent.
func checkJoinPage(t *testing.T, page, code string) (command string) {
	t.Helper()
	ctx := chromium(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(page),
		chromedp.SendKeys(chromedp.CSS(`#code`), code+"\n"),
		chromedp.WaitVisible(chromedp.CSS(`#how`)),
	)
	if err != nil {
		t.Fatalf("join page: %v", err)
	}
	command, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#command`)))
	command = strings.TrimSpace(command)
	if err != nil || !strings.HasPrefix(command, "assist join --rendezvous /ip4/127.0.0.1/") || !strings.HasSuffix(command, " "+code) {
		t.Fatalf("join page says %q (%v), want 'assist join --rendezvous ADDRESS %s'", command, err, code)
	}
	// The viewer's theme: the same background, not a page of its own.
	if bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`)); err != nil || bg != "rgb(20, 22, 26)" {
		t.Fatalf("the join page's background is %q (%v), the viewer's is rgb(20, 22, 26)", bg, err)
	}
	digits := strings.ReplaceAll(code, "-", "")
	sent, err := chromedp.Run(ctx, chromedp.Evaluate[string](`performance.getEntriesByType("resource").map(e => e.name).join(" ")`))
	if err != nil || !strings.Contains(sent, "lookup="+digits[:len(digits)-1-shortcode.SecretDigits]) || strings.Contains(sent, digits[:len(digits)-1]) {
		t.Fatalf("the page asked the node %q: want the lookup part only", sent)
	}
	return command
}

// TestHostViewerInvitesAndModeratesSpecialists: from the host's page in
// Chromium: create an invitation code, raise a specialist to control,
// cancel the code, remove the specialist.
func TestHostViewerInvitesAndModeratesSpecialists(t *testing.T) {
	x := xlab.StartXvfb(t, 320, 240)
	ps := startPortalSession(t, x, nil, []string{"--allow-view"}, "Alice")
	rv, l, share, key := ps.rv.Addrs[0].String(), ps.l, ps.share, ps.key
	assist(t, l.mgrHome, "portal", "settings", "Acme", "--externals", "on", "--max-rights", "control", "--rendezvous", rv)
	alice := l.start("Alice", "join", "--no-browser", "--name", "Alice", key)
	pageURL := alice.WaitEvent("viewer", 30*time.Second).Str("url")

	ctx := chromium(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(pageURL),
		chromedp.WaitVisible(chromedp.CSS(`#invite`)),
		chromedp.Click(chromedp.CSS(`#invite`)),
		chromedp.WaitVisible(chromedp.CSS(`#ext-create`)),
		chromedp.SetValue(chromedp.CSS(`#ext-uses`), "2"),
		chromedp.Click(chromedp.CSS(`#ext-create`)),
		chromedp.WaitVisible(chromedp.CSS(`#codes li[data-code]`)),
	)
	if err != nil {
		t.Fatalf("create a code from the page: %v", err)
	}
	code, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#codes li[data-code]').dataset.code`))
	if err != nil {
		t.Fatal(err)
	}
	// Without --name the specialist is asked for one; Ctrl-C there ends
	// it at once and cleanly.
	args := append([]string{"join", "--json", "--no-browser", "--rendezvous", rv}, loopListen...)
	quitter := proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + t.TempDir(), "DISPLAY="}, append(args, code)...)
	quitter.WaitEvent("name_required", 30*time.Second)
	quitter.Signal(syscall.SIGINT)
	if exit := quitter.Wait(5 * time.Second); exit != 0 || quitter.Stderr() != "" {
		t.Fatalf("Ctrl-C at the name prompt: exit %d, %q", exit, quitter.Stderr())
	}
	sam := proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + t.TempDir(), "DISPLAY="}, append(args, code)...)
	sam.WaitEvent("name_required", 30*time.Second)
	sam.Say("Sam")
	sam.WaitEvent("viewer", 30*time.Second)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#attendees li[data-name="Sam"] button.rights`))); err != nil {
		t.Fatalf("raise Sam: %v", err)
	}
	sam.WaitEventWhere("notice", 30*time.Second, func(e proctest.Event) bool { return e.Str("rights") == "control" })
	// His request reaches the customer in his name; once granted, the
	// customer is told everyone who watches and who may control.
	sam.Say("/control")
	if q := share.WaitEvent("consent_request", 30*time.Second); q.Str("what") != "control" || q.Str("name") != "Sam (in Alice's session)" {
		t.Fatalf("the customer was asked %v", q)
	}
	share.Say("y")
	consent := share.WaitEventWhere("consent", 30*time.Second, func(e proctest.Event) bool { return e["control"] == true })
	if fmt.Sprint(consent["watching"]) != "[Alice Sam]" || fmt.Sprint(consent["controlling"]) != "[Alice Sam]" {
		t.Fatalf("the customer is told %v watch and %v control", consent["watching"], consent["controlling"])
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#codes li[data-code="`+code+`"] button.cancel`))); err != nil {
		t.Fatalf("cancel the code: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector('#codes li[data-code]')`)); err != nil {
		t.Fatalf("the cancelled code stays on the page: %v", err)
	}
	if msg := specialistFails(t, rv, code, "Late"); !strings.Contains(msg, "invitation cancelled") {
		t.Fatalf("cancelled from the page, yet: %s", msg)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#attendees li[data-name="Sam"] button.remove`))); err != nil {
		t.Fatalf("remove Sam: %v", err)
	}
	if got := sam.WaitEvent("ended", 30*time.Second).Str("reason"); !strings.Contains(got, "removed you") {
		t.Fatalf("Sam's session ended with %q", got)
	}
	share.WaitEventWhere("notice", 30*time.Second, func(e proctest.Event) bool { return e.Str("text") == "Sam has left the session" })
}

// TestSpecialistSharesTheirScreen: where the portal and the host allow it,
// a specialist shares a screen from a second display; the host's viewer
// shows it; the host stops it.
func TestSpecialistSharesTheirScreen(t *testing.T) {
	const w, h = 480, 360
	customerX := xlab.StartXvfb(t, 320, 240)
	samX := xlab.StartXvfb(t, w, h)
	want, _ := showDesktop(t, samX.Display, w, h, 4)
	ps := startPortalSession(t, customerX, nil, []string{"--allow-view", "--no-browser"}, "Alice")
	rv, l, share, key := ps.rv.Addrs[0].String(), ps.l, ps.share, ps.key
	alice := l.start("Alice", "join", "--no-browser", "--name", "Alice", key)
	aliceURL := alice.WaitEvent("viewer", 30*time.Second).Str("url")

	assist(t, l.mgrHome, "portal", "settings", "Acme", "--externals", "on", "--rendezvous", rv)
	if p := proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + l.homes["Alice"]}, "invite", "--external", "--allow-share"); p.Wait(30*time.Second) == 0 ||
		!strings.Contains(p.Stderr(), "does not let specialists share") {
		t.Fatalf("--allow-share in a portal without specialist sharing: %s", p.Stderr())
	}
	assist(t, l.mgrHome, "portal", "settings", "Acme", "--specialist-share", "on", "--rendezvous", rv)
	out := assist(t, l.homes["Alice"], "invite", "--external", "--allow-share", "--json")
	code := proctest.ParseEvent(strings.TrimSpace(strings.Split(out, "\n")[0])).Str("code")

	args := append([]string{"join", "--json", "--no-browser", "--name", "Sam", "--share-screen", "--rendezvous", rv}, loopListen...)
	sam := proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + t.TempDir(), samX.Env()}, append(args, code)...)
	samURL := sam.WaitEvent("viewer", 30*time.Second).Str("url")
	sam.WaitEvent("sharing", 30*time.Second)
	alice.WaitEventWhere("sharing", 30*time.Second, func(e proctest.Event) bool { return e.Str("name") == "Sam" && e.Str("reason") == "" })
	v := dialViewer(t, aliceURL+"&screen=shared")
	canvas, lossy := waitForPicture(t, v, want)
	comparePictures(t, want, canvas, lossy)
	// The customer is told, and its own viewer shows the shared screen.
	share.WaitEventWhere("notice", 30*time.Second, func(e proctest.Event) bool { return e.Str("text") == "Sam is sharing their screen" })
	cvURL := share.WaitEvent("viewer", 30*time.Second).Str("url")
	cv := dialViewer(t, cvURL)
	canvas, lossy = waitForPicture(t, cv, want)
	comparePictures(t, want, canvas, lossy)

	// The customer's page names what it shows and clears when it ends.
	ctx := chromium(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(cvURL)); err != nil {
		t.Fatal(err)
	}
	pageShows := func(what, js string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
			t.Fatalf("the customer's page %s: %v", what, err)
		}
	}
	pageShows("shows the shared screen", `document.title === 'assist: shared screen' && Number(document.body.dataset.frames) > 0`)
	// It is the customer's page: chat goes to the representative, nothing
	// is internal, and it says who watches and what the customer allowed.
	pageShows("is the customer's own", `document.getElementById('text').placeholder === 'Message to the representative' &&
		document.getElementById('internal').parentElement.hidden && document.getElementById('control').hidden &&
		document.getElementById('consent').textContent.includes('granted') &&
		!!document.querySelector('#attendees li[data-name="Alice"]') && !!document.querySelector('#attendees li[data-name="Sam"]')`)
	// A host's page opened after the share started offers to show it and to
	// stop it (Sam's own, view-only page has no control to request).
	hostPage, cancelHost := chromedp.NewContext(ctx)
	defer cancelHost()
	if err := chromedp.Do(hostPage, chromedp.Navigate(aliceURL)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(hostPage, chromedp.Poll[bool](`!document.getElementById('shared-link').hidden &&
		document.getElementById('shared-link').textContent === "Show Sam's screen" && !document.getElementById('stop-share').hidden`)); err != nil {
		t.Fatalf("a host page opened during the share does not offer it: %v", err)
	}
	// ... in a colour that reads (contrast of at least 4.5:1, WCAG AA).
	contrast, err := chromedp.Run(hostPage, chromedp.Evaluate[float64](`(() => {
		const rgb = c => c.match(/\d+/g).slice(0, 3).map(Number).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
		const lum = c => { const [r, g, b] = rgb(c); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
		const st = getComputedStyle(document.getElementById('shared-link'));
		const [a, b] = [lum(st.color), lum(st.backgroundColor)].sort((x, y) => y - x);
		return (a + 0.05) / (b + 0.05); })()`))
	if err != nil || contrast < 4.5 {
		t.Fatalf("'Show Sam's screen' has a contrast of %.1f:1 (%v)", contrast, err)
	}
	samPage, cancelSam := chromedp.NewContext(ctx)
	defer cancelSam()
	if err := chromedp.Do(samPage, chromedp.Navigate(samURL)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(samPage, chromedp.Poll[bool](`document.body.dataset.rights === 'view' && document.getElementById('control').hidden`)); err != nil {
		t.Fatalf("a view-only specialist's page: %v", err)
	}

	assist(t, l.homes["Alice"], "stop-share")
	sam.WaitEvent("share_stopped", 30*time.Second)
	alice.WaitEventWhere("sharing", 30*time.Second, func(e proctest.Event) bool { return e.Str("reason") == "stopped" })
	for _, page := range []*viewerSocket{v, cv} {
		page.waitEvent("sharing", 30*time.Second, func(e map[string]any) bool { return e["reason"] == "stopped" })
	}
	pageShows("clears the ended share", `document.body.dataset.shareEnded === 'true' && document.getElementById('screen').width === 0 && !document.getElementById('placeholder').hidden`)
}

// TestSpecialistSharesFromTheViewerPage: a specialist who joined without
// --share-screen shares from the viewer page (the browser's screen
// capture; Chromium's stand-in screen here, as there is no person to pick
// one); the host gets it at the captured size, frame after frame, and the
// page's button stops it.
func TestSpecialistSharesFromTheViewerPage(t *testing.T) {
	customerX := xlab.StartXvfb(t, 320, 240)
	ps := startPortalSession(t, customerX, nil, []string{"--allow-view", "--no-browser"}, "Alice")
	rv, l := ps.rv.Addrs[0].String(), ps.l
	alice := l.start("Alice", "join", "--no-browser", "--name", "Alice", ps.key)
	aliceURL := alice.WaitEvent("viewer", 30*time.Second).Str("url")
	assist(t, l.mgrHome, "portal", "settings", "Acme", "--externals", "on", "--specialist-share", "on", "--rendezvous", rv)
	out := assist(t, l.homes["Alice"], "invite", "--external", "--allow-share", "--json")
	code := proctest.ParseEvent(strings.TrimSpace(strings.Split(out, "\n")[0])).Str("code")
	sam := specialistRun(t, rv, code, "Sam")
	samURL := sam.WaitEvent("viewer", 30*time.Second).Str("url")

	ctx := chromium(t, chromedp.Flag("use-fake-ui-for-media-stream", true), chromedp.Flag("use-fake-device-for-media-stream", true))
	pageShows := func(what, js string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("Sam's page %s: %v\npage:\n%s", what, err, text)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(samURL)); err != nil {
		t.Fatal(err)
	}
	pageShows("offers to share", `!document.getElementById('share-screen').hidden`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#share-screen`))); err != nil {
		t.Fatal(err)
	}
	pageShows("shares", `document.body.dataset.sharingMine === 'true' && document.getElementById('share-screen').title.startsWith('Sharing ')`)
	alice.WaitEventWhere("sharing", 30*time.Second, func(e proctest.Event) bool { return e.Str("name") == "Sam" && e.Str("reason") == "" })
	size, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('share-screen').title.slice('Sharing '.length)`))
	if err != nil {
		t.Fatal(err)
	}

	// The host's shared page: the captured size, and frames keep coming.
	v := dialViewer(t, aliceURL+"&screen=shared")
	seen, frames := "", 0
	var picture *image.RGBA
	deadline := time.After(30 * time.Second)
	for frames < 3 {
		select {
		case m := <-v.screen:
			switch m.Kind {
			case screen.MsgTiles:
				seen = fmt.Sprintf("%d×%d", m.ScreenW, m.ScreenH)
				if picture == nil {
					picture = image.NewRGBA(image.Rect(0, 0, m.ScreenW, m.ScreenH))
				}
				drawTiles(t, picture, image.NewAlpha(picture.Rect), m.Tiles)
			case screen.MsgFrameEnd:
				frames++
			}
		case <-deadline:
			t.Fatalf("the host got %d frames of the shared screen", frames)
		}
	}
	if seen != size {
		t.Fatalf("the host's shared screen is %s, the page captures %s", seen, size)
	}
	colors := map[[3]uint8]bool{}
	for i := 0; i < len(picture.Pix); i += 4 {
		colors[[3]uint8{picture.Pix[i], picture.Pix[i+1], picture.Pix[i+2]}] = true
	}
	if len(colors) < 16 {
		t.Fatalf("the shared picture has %d colours: blank, not a screen", len(colors))
	}

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#share-screen`))); err != nil {
		t.Fatal(err)
	}
	alice.WaitEventWhere("sharing", 30*time.Second, func(e proctest.Event) bool { return e.Str("name") == "Sam" && e.Str("reason") == "stopped" })
	pageShows("offers to share again", `document.body.dataset.sharingMine === undefined && document.getElementById('share-screen').textContent === 'Share my screen'`)
}
