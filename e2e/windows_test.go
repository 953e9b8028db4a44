package e2e

import (
	"image"
	"image/color"
	"image/draw"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"assist/internal/proctest"
	"assist/internal/winelab"
	"assist/internal/xlab"
	"assist/rep"
	"assist/screen"
)

// buildWindows builds assist.exe (no cgo) for the test.
func buildWindows(t *testing.T) string {
	t.Helper()
	return winelab.GoWindows(t, filepath.Join(t.TempDir(), "assist.exe"), "build", "./cmd/assist")
}

// TestAWindowsCustomerUnderWine: the Windows build of assist, run under
// Wine (a virtual desktop on an X display), asks its customer (who
// answers in the console) and shares the Windows desktop (GDI capture)
// with a rep on Linux, pixel for pixel where lossless; once the customer
// allows control, the rep's click, text (beyond the BMP too) and Enter
// reach a Windows window.
func TestAWindowsCustomerUnderWine(t *testing.T) {
	const w, h = 640, 480
	x := xlab.StartXvfb(t, w, h)
	wine := winelab.Start(t, x.Display, w, h)
	// The customer's Windows desktop: a window that shows this picture
	// and records what it receives.
	want := xlab.Desktop(w, h, 4)
	rec := wine.Record(t, want)
	exe := buildWindows(t)
	rv := startRendezvous(t, t.TempDir(), []string{"/ip4/127.0.0.1/tcp/0"}).Addrs[0].String()
	tcp := []string{"--listen", "/ip4/127.0.0.1/tcp/0"}

	share := proctest.Start(t, wine.Bin, wine.Env, append([]string{exe, "share", "--json", "--rendezvous", rv}, tcp...)...)
	key := share.WaitEvent("key", 60*time.Second).Str("key")
	join := proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + t.TempDir(), "DISPLAY="},
		append([]string{"join", "--json", "--no-browser", "--name", "Alice", "--rendezvous", rv}, append(tcp, key)...)...)
	// The customer answers in its Windows console.
	share.WaitEventWhere("consent_request", 60*time.Second, func(e proctest.Event) bool { return e.Str("what") == "view" })
	share.Say("y")
	v := dialViewer(t, join.WaitEvent("viewer", 60*time.Second).Str("url"))
	canvas, lossy := waitForPicture(t, v, want)
	comparePictures(t, want, canvas, lossy)

	// Still for a while, then a line of text's height changes on its own
	// (no input pokes the capture): GDI reports no damage, so the still
	// screen is probed a few rows at a time, and the change must be found
	// that way and arrive whole.
	time.Sleep(screen.DefaultStillAfter + 500*time.Millisecond)
	changed := image.NewRGBA(want.Bounds())
	copy(changed.Pix, want.Pix)
	draw.Draw(changed, image.Rect(40, 200, 360, 216), image.NewUniform(color.RGBA{200, 30, 30, 255}), image.Point{}, draw.Src)
	rec.Show(t, changed)
	waitForChange(t, v, canvas, lossy, changed)
	comparePictures(t, changed, canvas, lossy)

	v.send(map[string]any{"type": "request_control"})
	share.WaitEventWhere("consent_request", 30*time.Second, func(e proctest.Event) bool { return e.Str("what") == "control" })
	share.Say("y")
	v.waitEvent("consent", 30*time.Second, func(e map[string]any) bool { return e["control"] == true })
	const text = "Hi, Ünïcødé €5 😀!"
	v.sendClickAndText(321, 123, text)
	if got := rec.Next(t, "press", 30*time.Second); got != "press 321 123" {
		t.Fatalf("the Windows window got %q, the rep clicked at 321,123", got)
	}
	typed := ""
	for range []rune(text) {
		line := rec.Next(t, "char ", 20*time.Second)
		r, err := strconv.Unquote(line[len("char "):])
		if err != nil {
			t.Fatalf("inputrecorder said %q: %v", line, err)
		}
		typed += r
	}
	if typed != text {
		t.Fatalf("the Windows window got %q, the rep typed %q", typed, text)
	}
	v.send(map[string]any{"type": "input", "input": map[string]any{"type": "key", "key": "enter"}})
	if got := rec.Next(t, "char ", 20*time.Second); got != `char '\r'` {
		t.Fatalf("the rep pressed Enter, the Windows window got %q", got)
	}

	// Ctrl-C in the customer's console (Wine turns SIGINT into the console's
	// CTRL_C_EVENT) ends the session for both, and the rep is told why.
	share.Signal(syscall.SIGINT)
	if got := join.WaitEvent("ended", 30*time.Second).Str("reason"); !strings.Contains(got, "customer") {
		t.Fatalf("the rep was told %q when the customer pressed Ctrl-C", got)
	}
	if code := share.Wait(30 * time.Second); code != 0 {
		t.Fatalf("assist.exe share exited %d after Ctrl-C:\n%s", code, share.Stderr())
	}
}

// TestAWindowsRepsViewerOpensInTheBrowser: assist.exe join, the rep's
// side, under Wine, opens the viewer page through Windows' handler for
// addresses (which Wine hands to the host's xdg-open, faked here), and
// the page it names shows the Linux customer's screen.
func TestAWindowsRepsViewerOpensInTheBrowser(t *testing.T) {
	const w, h = 640, 480
	x := xlab.StartXvfb(t, w, h)
	want, _ := showDesktop(t, x.Display, w, h, 4)
	rv := startRendezvous(t, t.TempDir(), []string{"/ip4/127.0.0.1/tcp/0"}).Addrs[0].String()
	tcp := []string{"--listen", "/ip4/127.0.0.1/tcp/0"}
	share := proctest.Start(t, assistBin, []string{x.Env(), "ASSIST_HOME=" + t.TempDir()},
		append([]string{"share", "--json", "--allow-view", "--rendezvous", rv}, tcp...)...)
	key := share.WaitEvent("key", 30*time.Second).Str("key")
	// The rep's Wine has a display of its own.
	wine := winelab.Start(t, xlab.StartXvfb(t, w, h).Display, w, h)
	exe := buildWindows(t)
	bin := t.TempDir()
	argv := filepath.Join(bin, "argv")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + argv + ".tmp && mv " + argv + ".tmp " + argv + "\n"
	if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(wine.Env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	join := proctest.Start(t, wine.Bin, env, exe, "join", "--json", "--name", "Bob", "--rendezvous", rv,
		"--listen", "/ip4/127.0.0.1/tcp/0", key)
	join.WaitEvent("viewer", 60*time.Second)
	var opened string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(argv); err == nil {
			opened = strings.TrimSpace(string(b))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Windows rep did not open a browser")
		}
	}
	// Wine's browser launcher hands the address on as it is.
	if !strings.HasPrefix(opened, "http://127.0.0.1:") || !strings.Contains(opened, "?t=") {
		t.Fatalf("the browser was asked to open %q, not the viewer", opened)
	}
	v := dialViewer(t, opened)
	canvas, lossy := waitForPicture(t, v, want)
	comparePictures(t, want, canvas, lossy)
}

// TestWindowsPackagesUnderWine runs the Windows-only unit tests (the named
// pipe), built for Windows, under Wine. The package's other tests use
// t.TempDir, whose removal Wine 8 cannot do the way Go 1.27 asks.
func TestWindowsPackagesUnderWine(t *testing.T) {
	x := xlab.StartXvfb(t, 320, 240)
	wine := winelab.Start(t, x.Display, 320, 240)
	for pkg, tests := range map[string]string{"ipc": "^TestTheNamedPipe", "config": "^TestTheIdentityIsThisUsersAlone"} {
		exe := winelab.GoWindows(t, filepath.Join(t.TempDir(), pkg+".test.exe"), "test", "-c", "./"+pkg)
		run := exec.Command(wine.Bin, exe, "-test.v", "-test.run", tests, "-test.timeout", "2m")
		run.Env = append(os.Environ(), wine.Env...)
		out, err := run.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "\nPASS") {
			t.Fatalf("%s's tests under Wine: %v\n%s", pkg, err, out)
		}
		t.Logf("%s under Wine:\n%s", pkg, out)
	}
}

// TestAnAssistLinkOpensAssistOnWindows: after 'assist.exe register-links'
// a click on an assist:// link (Windows' address handler, as a browser or
// a mail program calls it) runs assist.exe join with it, which joins the
// customer named in the link.
func TestAnAssistLinkOpensAssistOnWindows(t *testing.T) {
	x := xlab.StartXvfb(t, 320, 240)
	rv := startRendezvous(t, t.TempDir(), []string{"/ip4/127.0.0.1/tcp/0"}).Addrs[0].String()
	share := proctest.Start(t, assistBin, []string{x.Env(), "ASSIST_HOME=" + t.TempDir()},
		"share", "--json", "--allow-view", "--rendezvous", rv, "--listen", "/ip4/127.0.0.1/tcp/0")
	key := share.WaitEvent("key", 30*time.Second).Str("key")
	wine := winelab.Start(t, x.Display, 320, 240)
	exe := buildWindows(t)
	// The join a link starts opens its viewer: not in a real browser.
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), append(wine.Env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))...)
	reg := exec.Command(wine.Bin, exe, "register-links")
	reg.Env = env
	if out, err := reg.CombinedOutput(); err != nil || !strings.Contains(string(out), "assist:// links now open with") {
		t.Fatalf("register-links: %v\n%s", err, out)
	}
	// No pipe for its output: the join it starts would hold it open.
	click := exec.Command(wine.Bin, "rundll32", "url.dll,FileProtocolHandler", rep.JoinLink(key, []string{rv}))
	click.Env = env
	if err := click.Run(); err != nil {
		t.Fatalf("open the link: %v", err)
	}
	share.WaitEvent("joined", 60*time.Second)
}
