// Package swaylab gives tests a real Wayland desktop: a headless sway (a
// wlroots compositor) of their own, with a picture as its wallpaper, and
// wev, a Wayland client that reports the clicks and keys it receives.
package swaylab

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// User is the account sway runs as when the tests run as root: sway
// refuses to run as root.
const User = "assist-sway"

// Sway is a running headless compositor.
type Sway struct {
	// Env points a Wayland client at this compositor (and at no X server).
	Env []string
	// Runtime is its XDG_RUNTIME_DIR, where its socket is.
	Runtime string
}

// Start runs sway with one w x h output whose wallpaper is wallpaper,
// shown pixel for pixel, and stops it when the test ends. Without sway the
// test is skipped, or fails under CI (make test installs it).
func Start(t testing.TB, wallpaper *image.RGBA) *Sway { return StartScaled(t, wallpaper, 1) }

// StartScaled is Start with an output of scale (2 for HiDPI): its mode
// is the wallpaper's size in pixels, and windows count half as many.
func StartScaled(t testing.TB, wallpaper *image.RGBA, scale int) *Sway {
	return start(t, scale, Output{Bounds: wallpaper.Bounds(), Wallpaper: wallpaper})
}

// Output is one monitor of a multi-monitor desktop: where it is in the
// layout, and the picture it shows (its size is the output's).
type Output struct {
	Bounds    image.Rectangle
	Wallpaper *image.RGBA
}

// StartOutputs runs sway with several outputs, HEADLESS-1 first.
func StartOutputs(t testing.TB, outputs ...Output) *Sway { return start(t, 1, outputs...) }

func start(t testing.TB, scale int, outputs ...Output) *Sway {
	t.Helper()
	if _, err := exec.LookPath("sway"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no sway: make test installs sway, swaybg and wev")
		}
		t.Skip("SKIPPED: no sway; 'make test' installs sway, swaybg and wev")
	}
	uid, gid := ownIDs(t)
	// Not t.TempDir: its parents are private to root, and sway's user
	// must reach the directory.
	rt, err := os.MkdirTemp("", "assist-sway-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(rt) })
	// No borders or title bars: a window's surface starts at the output's
	// corner, so its coordinates are the screen's.
	conf := "default_border none\ndefault_floating_border none\nseat * hide_cursor 100\n"
	owned := []string{rt}
	for i, o := range outputs {
		bg := filepath.Join(rt, fmt.Sprintf("wallpaper-%d.png", i+1))
		writePNG(t, bg, o.Wallpaper)
		size := o.Wallpaper.Bounds().Size()
		conf += fmt.Sprintf("output HEADLESS-%d resolution %dx%d position %d %d scale %d bg %s center #000000\n",
			i+1, size.X, size.Y, o.Bounds.Min.X, o.Bounds.Min.Y, scale, bg)
		owned = append(owned, bg)
	}
	confPath := filepath.Join(rt, "config")
	writeFile(t, confPath, conf)
	for _, p := range append(owned, confPath) {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	s := &Sway{Runtime: rt}
	s.start(t, uid, gid, confPath, len(outputs))
	return s
}

// ownIDs returns the user sway runs as: this one, or User when root
// (created when missing).
func ownIDs(t testing.TB) (int, int) {
	t.Helper()
	if os.Getuid() != 0 {
		return os.Getuid(), os.Getgid()
	}
	u, err := user.Lookup(User)
	if err != nil {
		// Another test process may create it at the same moment.
		out, uerr := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", User).CombinedOutput()
		if u, err = user.Lookup(User); err != nil {
			t.Fatalf("create the user sway runs as: %v\n%s", uerr, out)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}

func (s *Sway) start(t testing.TB, uid, gid int, conf string, outputs int) {
	t.Helper()
	cmd := exec.Command("sway", "-c", conf)
	cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + s.Runtime, "XDG_RUNTIME_DIR=" + s.Runtime,
		"WLR_BACKENDS=headless", "WLR_LIBINPUT_NO_DEVICES=1", "WLR_RENDERER=pixman",
		fmt.Sprintf("WLR_HEADLESS_OUTPUTS=%d", outputs),
	}
	logf, err := os.Create(filepath.Join(s.Runtime, "sway.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if os.Getuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sway: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	// The socket appears once sway accepts clients.
	deadline := time.Now().Add(20 * time.Second)
	for {
		socks, _ := filepath.Glob(filepath.Join(s.Runtime, "wayland-[0-9]*"))
		for _, p := range socks {
			if filepath.Ext(p) == "" {
				s.Env = []string{"XDG_RUNTIME_DIR=" + s.Runtime, "WAYLAND_DISPLAY=" + filepath.Base(p), "DISPLAY=", "XDG_SESSION_TYPE=wayland"}
				return
			}
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(s.Runtime, "sway.log"))
			t.Fatalf("sway exited at start:\n%s", log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("sway did not open its socket within 20 s")
		}
	}
}

func writePNG(t testing.TB, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Input is one event a Wayland client received.
type Input struct {
	Kind string // "press" (a button went down) or "key" (a key went down)
	X, Y int    // where the pointer was, for a press
	Text string // what the key typed, for a key
}

// Recorder is a wev window, full screen, that reports what it receives.
type Recorder struct {
	events chan Input
	// Closed once the window has the keyboard's focus, and once the
	// pointer has come over it: before, its keys and clicks go nowhere.
	focused, pointed chan struct{}
}

// Focused waits until the window has the keyboard's focus; a seat without
// a keyboard (as this one, until a virtual one comes) gives none.
func (r *Recorder) Focused(timeout time.Duration) bool { return closedWithin(r.focused, timeout) }

// Pointed waits until the pointer has come over the window.
func (r *Recorder) Pointed(timeout time.Duration) bool { return closedWithin(r.pointed, timeout) }

func closedWithin(c chan struct{}, timeout time.Duration) bool {
	select {
	case <-c:
		return true
	case <-time.After(timeout):
		return false
	}
}

var (
	motionRe = regexp.MustCompile(`motion: .*x, y: ([0-9.]+), ([0-9.]+)`)
	enterRe  = regexp.MustCompile(`enter: .*x, y: ([0-9.]+), ([0-9.]+)`)
	focusRe  = regexp.MustCompile(`wl_keyboard\] enter:`)
	pressRe  = regexp.MustCompile(`button: \d+ \(\w+\), state: 1`)
	keyRe    = regexp.MustCompile(`key: \d+; state: 1`)
	utf8Re   = regexp.MustCompile(`utf8: '(.*)'`)
)

// Record opens wev on the compositor, which gives it the whole output.
func (s *Sway) Record(t testing.TB) *Recorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	// wev writes through stdio, which buffers a pipe: stdbuf makes it
	// write each line as it happens.
	cmd := exec.CommandContext(ctx, "stdbuf", "-oL", "wev")
	cmd.Env = append(os.Environ(), s.Env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start wev: %v", err)
	}
	r := &Recorder{events: make(chan Input, 256), focused: make(chan struct{}), pointed: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.parse(bufio.NewScanner(out))
	}()
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		wg.Wait()
	})
	return r
}

// RecordOn opens wev on output n (1 is HEADLESS-1): sway opens a window
// on the output that has the focus.
func (s *Sway) RecordOn(t testing.TB, n int) *Recorder {
	t.Helper()
	s.Msg(t, fmt.Sprintf("focus output HEADLESS-%d", n))
	return s.Record(t)
}

// Msg runs a sway command over its IPC socket.
func (s *Sway) Msg(t testing.TB, command string) {
	t.Helper()
	socks, _ := filepath.Glob(filepath.Join(s.Runtime, "sway-ipc.*.sock"))
	if len(socks) != 1 {
		t.Fatalf("want one sway IPC socket in %s, found %v", s.Runtime, socks)
	}
	if out, err := exec.Command("swaymsg", "-s", socks[0], command).CombinedOutput(); err != nil {
		t.Fatalf("swaymsg %s: %v\n%s", command, err, out)
	}
}

// parse turns wev's lines into events: a key's text is on the line after
// its press, a press's place is the last motion's.
func (r *Recorder) parse(sc *bufio.Scanner) {
	defer close(r.events)
	var x, y int
	keyDown := false
	var focusOnce, pointerOnce sync.Once
	for sc.Scan() {
		line := sc.Text()
		if m := motionRe.FindStringSubmatch(line); m != nil {
			x, y = atoi(m[1]), atoi(m[2])
		} else if m := enterRe.FindStringSubmatch(line); m != nil {
			x, y = atoi(m[1]), atoi(m[2])
			pointerOnce.Do(func() { close(r.pointed) })
		}
		switch {
		case focusRe.MatchString(line):
			focusOnce.Do(func() { close(r.focused) })
		case pressRe.MatchString(line):
			r.events <- Input{Kind: "press", X: x, Y: y}
		case keyRe.MatchString(line):
			keyDown = true
		case keyDown && utf8Re.MatchString(line):
			keyDown = false
			r.events <- Input{Kind: "key", Text: utf8Re.FindStringSubmatch(line)[1]}
		}
	}
}

func atoi(s string) int {
	f, _ := strconv.ParseFloat(s, 64)
	return int(f)
}

// Next returns the next event of kind, skipping others, or fails the test
// after timeout.
func (r *Recorder) Next(t testing.TB, kind string, timeout time.Duration) Input {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-r.events:
			if !ok {
				t.Fatalf("wev ended before a %s arrived", kind)
			}
			if e.Kind == kind {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s reached the Wayland window within %v", kind, timeout)
		}
	}
}
