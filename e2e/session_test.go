package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"assist/internal/proctest"
	"assist/internal/xlab"
	"assist/screen"
)

// supportSession is a real session: an Xvfb display for the customer, a
// rendezvous process, 'assist share' and 'assist join' processes.
type supportSession struct {
	X        *xlab.Xvfb
	RV       *rendezvousProc
	Share    *proctest.Proc
	Join     *proctest.Proc
	Key      string
	URL      string
	RepHome  string
	CustHome string
}

func startSupportSession(t *testing.T, w, h int, shareFlags ...string) *supportSession {
	t.Helper()
	x := xlab.StartXvfb(t, w, h)
	s := &supportSession{X: x, RepHome: t.TempDir(), CustHome: t.TempDir()}
	s.RV = startRendezvous(t, t.TempDir(), []string{"/ip4/127.0.0.1/udp/0/quic-v1", "/ip4/127.0.0.1/tcp/0"})
	rv := s.RV.Addrs[0].String()
	loop := []string{"--listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--listen", "/ip4/127.0.0.1/tcp/0"}
	args := append([]string{"share", "--json", "--rendezvous", rv}, loop...)
	s.Share = proctest.Start(t, assistBin, []string{x.Env(), "ASSIST_HOME=" + s.CustHome}, append(args, shareFlags...)...)
	s.Key = s.Share.WaitEvent("key", 30*time.Second).Str("key")
	args = append([]string{"join", "--json", "--no-browser", "--name", "Alice", "--rendezvous", rv}, loop...)
	s.Join = proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + s.RepHome, "DISPLAY="}, append(args, s.Key)...)
	s.URL = s.Join.WaitEvent("viewer", 30*time.Second).Str("url")
	return s
}

// viewerSocket is the viewer page's WebSocket, driven by the test.
type viewerSocket struct {
	t      *testing.T
	c      *websocket.Conn
	events chan map[string]any
	screen chan screen.Message
}

func dialViewer(t *testing.T, pageURL string) *viewerSocket {
	t.Helper()
	u, err := url.Parse(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	ws := "ws://" + u.Host + "/ws?" + u.RawQuery
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ws, nil)
	if err != nil {
		t.Fatalf("dial viewer socket: %v", err)
	}
	c.SetReadLimit(screen.MaxMessageSize)
	v := &viewerSocket{t: t, c: c, events: make(chan map[string]any, 1024), screen: make(chan screen.Message, 4096)}
	t.Cleanup(func() { c.CloseNow() })
	go v.read()
	return v
}

func (v *viewerSocket) read() {
	defer close(v.events)
	defer close(v.screen)
	for {
		typ, b, err := v.c.Read(context.Background())
		if err != nil {
			return
		}
		if typ == websocket.MessageText {
			var m map[string]any
			if json.Unmarshal(b, &m) == nil {
				v.events <- m
			}
			continue
		}
		if m, err := screen.Decode(b); err == nil {
			v.screen <- m
		}
	}
}

func (v *viewerSocket) send(m any) {
	v.t.Helper()
	b, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := v.c.Write(ctx, websocket.MessageText, b); err != nil {
		v.t.Fatalf("viewer send: %v", err)
	}
}

// nextFrame returns the tiles up to the next frame end.
func (v *viewerSocket) nextFrame(timeout time.Duration) []screen.Tile {
	v.t.Helper()
	var tiles []screen.Tile
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-v.screen:
			if !ok {
				v.t.Fatal("viewer socket closed")
			}
			if m.Kind == screen.MsgTiles {
				tiles = append(tiles, m.Tiles...)
			}
			if m.Kind == screen.MsgFrameEnd && len(tiles) > 0 {
				return tiles
			}
		case <-deadline:
			v.t.Fatalf("no frame within %v", timeout)
		}
	}
}

func (v *viewerSocket) waitEvent(name string, timeout time.Duration, ok func(map[string]any) bool) map[string]any {
	v.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e, open := <-v.events:
			if !open {
				v.t.Fatalf("viewer socket closed before %q", name)
			}
			if e["event"] == name && (ok == nil || ok(e)) {
				return e
			}
		case <-deadline:
			v.t.Fatalf("no %q event on the viewer socket within %v", name, timeout)
		}
	}
}

// drawTiles paints tiles onto canvas and records which pixels came lossy.
func drawTiles(t *testing.T, canvas *image.RGBA, lossy *image.Alpha, tiles []screen.Tile) {
	t.Helper()
	for _, tile := range tiles {
		var img image.Image
		var err error
		if tile.Format == screen.FormatJPEG {
			img, err = jpeg.Decode(bytes.NewReader(tile.Data))
		} else {
			img, err = png.Decode(bytes.NewReader(tile.Data))
		}
		if err != nil {
			t.Fatalf("tile at %d,%d: %v", tile.X, tile.Y, err)
		}
		r := image.Rect(tile.X, tile.Y, tile.X+tile.W, tile.Y+tile.H)
		draw.Draw(canvas, r, img, image.Point{}, draw.Src)
		a := uint8(0)
		if tile.Format == screen.FormatJPEG {
			a = 255
		}
		draw.Draw(lossy, r, image.NewUniform(color.Alpha{a}), image.Point{}, draw.Src)
	}
}

// Tolerance for JPEG tiles: the encoder runs at quality 80.
const (
	jpegMaxChannelError  = 48
	jpegMeanChannelError = 4.0
)

// comparePictures checks got against want: lossless tiles exactly, lossy
// ones within the JPEG tolerance.
func comparePictures(t *testing.T, want, got *image.RGBA, lossy *image.Alpha) {
	t.Helper()
	var exactBad, lossyBad, lossyN int
	var lossySum float64
	b := want.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			w, g := want.RGBAAt(x, y), got.RGBAAt(x, y)
			d := max(absInt(int(w.R)-int(g.R)), absInt(int(w.G)-int(g.G)), absInt(int(w.B)-int(g.B)))
			if lossy.AlphaAt(x, y).A == 0 {
				if d != 0 {
					exactBad++
				}
				continue
			}
			lossyN++
			lossySum += float64(d)
			if d > jpegMaxChannelError {
				lossyBad++
			}
		}
	}
	if exactBad > 0 {
		t.Fatalf("%d pixels of lossless tiles differ", exactBad)
	}
	if lossyN > 0 && (lossySum/float64(lossyN) > jpegMeanChannelError || lossyBad > lossyN/200) {
		t.Fatalf("JPEG tiles: mean error %.2f (limit %.1f), %d of %d pixels off by more than %d",
			lossySum/float64(lossyN), jpegMeanChannelError, lossyBad, lossyN, jpegMaxChannelError)
	}
}

func absInt(a int) int {
	if a < 0 {
		return -a
	}
	return a
}

// showDesktop puts a desktop picture (seeded) over the whole of display
// and returns it; the window closes when the test ends (or earlier, by
// the caller).
func showDesktop(t *testing.T, display string, w, h int, seed uint8) (*image.RGBA, *xlab.Window) {
	t.Helper()
	want := xlab.Desktop(w, h, seed)
	win, err := xlab.ShowImage(display, want.Bounds(), want)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(win.Close)
	return want, win
}

// sendClickAndText drives a viewer socket: a left click at x,y, then text.
func (v *viewerSocket) sendClickAndText(x, y int, text string) {
	v.send(map[string]any{"type": "input", "input": map[string]any{"type": "down", "x": x, "y": y, "button": "left"}})
	v.send(map[string]any{"type": "input", "input": map[string]any{"type": "up", "x": x, "y": y, "button": "left"}})
	if text != "" {
		v.send(map[string]any{"type": "input", "input": map[string]any{"type": "text", "text": text}})
	}
}

// expectClickAndText checks that the first click and the first text to
// reach the recorded window are the ones wanted (what came before leaked).
func expectClickAndText(t *testing.T, rec *xlab.Recorder, x, y int, text string) {
	t.Helper()
	if press := nextInput(t, rec, "press"); press.X != x || press.Y != y {
		t.Fatalf("first click to arrive was at %d,%d, want %d,%d (an earlier one leaked?)", press.X, press.Y, x, y)
	}
	var typed strings.Builder
	for typed.Len() < len(text) {
		typed.WriteString(nextInput(t, rec, "key").Text)
	}
	if typed.String() != text {
		t.Fatalf("typed %q, want %q (earlier typing leaked?)", typed.String(), text)
	}
}

func TestSessionScreenArrivesAndOnlyChangesFollow(t *testing.T) {
	const w, h = 800, 600
	s := startSupportSession(t, w, h, "--allow-view")
	want, win := showDesktop(t, s.X.Display, w, h, 9)

	v := dialViewer(t, s.URL)
	canvas, lossy := waitForPicture(t, v, want)
	comparePictures(t, want, canvas, lossy)
	if n := countAlpha(lossy); n == 0 || n == w*h {
		t.Fatalf("%d of %d pixels came as JPEG: want the photo lossy and the text lossless", n, w*h)
	}

	// Change part of the screen: only the tiles under it travel.
	changed := image.Rect(100, 100, 228, 164)
	next := xlab.Desktop(w, h, 9)
	draw.Draw(next, changed, image.NewUniform(color.RGBA{200, 30, 30, 255}), image.Point{}, draw.Src)
	if err := win.Paint(changed, next); err != nil {
		t.Fatal(err)
	}
	tiles := v.nextFrame(30 * time.Second)
	for _, tile := range tiles {
		r := image.Rect(tile.X, tile.Y, tile.X+tile.W, tile.Y+tile.H)
		if !r.Overlaps(changed) {
			t.Fatalf("tile %v was resent though nothing in it changed", r)
		}
	}
	if len(tiles) > 6 {
		t.Fatalf("%d tiles sent for a change covering 6", len(tiles))
	}
	drawTiles(t, canvas, lossy, tiles)
	comparePictures(t, next, canvas, lossy)
}

func countAlpha(a *image.Alpha) int {
	n := 0
	for _, v := range a.Pix {
		if v != 0 {
			n++
		}
	}
	return n
}

// waitForPicture composes frames from the viewer socket until the
// lossless part of the picture matches want (the share may have sent the
// screen before want was drawn), then returns the canvas.
func waitForPicture(t *testing.T, v *viewerSocket, want *image.RGBA) (*image.RGBA, *image.Alpha) {
	t.Helper()
	canvas := image.NewRGBA(want.Bounds())
	lossy := image.NewAlpha(want.Bounds())
	waitForChange(t, v, canvas, lossy, want)
	return canvas, lossy
}

// waitForChange draws the viewer's frames on canvas, a picture received
// before, until it shows want or 30 s have passed.
func waitForChange(t *testing.T, v *viewerSocket, canvas *image.RGBA, lossy *image.Alpha, want *image.RGBA) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		drawTiles(t, canvas, lossy, v.nextFrame(30*time.Second))
		if countDiff(want, canvas, lossy) == 0 || time.Now().After(deadline) {
			return
		}
	}
}

// countDiff counts lossless pixels that differ; 0 means the picture is done.
func countDiff(want, got *image.RGBA, lossy *image.Alpha) int {
	n := 0
	for i := 0; i < len(want.Pix); i += 4 {
		if lossy.Pix[i/4] == 0 && !bytes.Equal(want.Pix[i:i+3], got.Pix[i:i+3]) {
			n++
		}
	}
	return n
}

func TestSessionInputOnlyWithControlConsent(t *testing.T) {
	s := startSupportSession(t, 800, 600, "--allow-view")
	rec, err := xlab.RecordInput(s.X.Display, image.Rect(0, 0, 800, 600))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	v := dialViewer(t, s.URL)
	v.waitEvent("state", 10*time.Second, nil)
	click := func(x, y int) {
		v.send(map[string]any{"type": "input", "input": map[string]any{"type": "down", "x": x, "y": y, "button": "left"}})
		v.send(map[string]any{"type": "input", "input": map[string]any{"type": "up", "x": x, "y": y, "button": "left"}})
	}
	grant := func() {
		v.send(map[string]any{"type": "request_control"})
		s.Share.WaitEventWhere("consent_request", 20*time.Second, func(e proctest.Event) bool { return e.Str("what") == "control" })
		s.Share.Say("y")
		v.waitEvent("consent", 20*time.Second, func(e map[string]any) bool { return e["control"] == true })
	}

	click(11, 11) // before consent: must never arrive
	grant()
	v.sendClickAndText(222, 111, "fix it")
	expectClickAndText(t, rec, 222, 111, "fix it")

	// The customer takes control back: input stops.
	s.Share.Say("/control off")
	v.waitEvent("consent", 20*time.Second, func(e map[string]any) bool { return e["control"] == false })
	click(33, 33)
	grant()
	click(444, 333)
	if p := nextInput(t, rec, "press"); p.X != 444 || p.Y != 333 {
		t.Fatalf("after control was taken back a click at %d,%d still arrived", p.X, p.Y)
	}
}

func nextInput(t *testing.T, rec *xlab.Recorder, kind string) xlab.InputEvent {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-rec.Events:
			if e.Kind == kind && (kind != "key" || e.Text != "") {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s input arrived", kind)
		}
	}
}

func TestSessionChatBothWaysAndTranscriptSurvivesSIGKILL(t *testing.T) {
	s := startSupportSession(t, 320, 240, "--allow-view")
	s.Join.WaitEvent("consent", 30*time.Second)
	// An unknown slash command is refused on either side, never sent as chat.
	s.Share.Say("/hepl")
	if e := s.Share.WaitEvent("error", 20*time.Second); !strings.Contains(e.Str("error"), "unknown command /hepl") {
		t.Fatalf("the customer's unknown command: %v", e)
	}
	s.Join.Say("/contrl")
	if e := s.Join.WaitEvent("error", 20*time.Second); !strings.Contains(e.Str("error"), "unknown command /contrl") {
		t.Fatalf("the rep's unknown command: %v", e)
	}
	s.Share.Say("my printer is on fire")
	got := s.Join.WaitEvent("chat", 20*time.Second)
	if c, _ := got["chat"].(map[string]any); c["text"] != "my printer is on fire" || c["from"] != "Customer" {
		t.Fatalf("rep got chat %v (the unknown commands went out as chat?)", got)
	}
	s.Join.Say("please step away from it")
	s.Share.WaitEventWhere("chat", 20*time.Second, func(e proctest.Event) bool {
		c, _ := e["chat"].(map[string]any)
		return c["text"] == "please step away from it" && c["from"] == "Alice"
	})
	// Both messages are in the transcript before the host is killed.
	s.Join.WaitEventWhere("chat", 20*time.Second, func(e proctest.Event) bool {
		c, _ := e["chat"].(map[string]any)
		return c["text"] == "please step away from it"
	})
	s.Join.Cmd.Process.Signal(syscall.SIGKILL)
	s.Join.Wait(10 * time.Second)

	files, _ := filepath.Glob(filepath.Join(s.RepHome, "transcripts", "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("transcripts: %v", files)
	}
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct {
			Event string         `json:"event"`
			Chat  map[string]any `json:"chat"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("transcript line %q: %v", sc.Text(), err)
		}
		if e.Event == "chat" {
			texts = append(texts, e.Chat["text"].(string))
		}
	}
	if strings.Join(texts, "|") != "my printer is on fire|please step away from it" {
		t.Fatalf("transcript chat after SIGKILL: %q", texts)
	}
}

func TestSessionCustomerCtrlCEndsItForTheRep(t *testing.T) {
	s := startSupportSession(t, 320, 240, "--allow-view")
	s.Join.WaitEvent("consent", 30*time.Second)
	s.Share.Signal(syscall.SIGINT)
	ended := s.Join.WaitEvent("ended", 20*time.Second)
	if !strings.Contains(ended.Str("reason"), "customer ended") {
		t.Fatalf("rep was told %q", ended.Str("reason"))
	}
	if code := s.Join.Wait(20 * time.Second); code != 0 {
		t.Fatalf("join exited %d after the customer ended the session", code)
	}
	if code := s.Share.Wait(20 * time.Second); code != 0 {
		t.Fatalf("share exited %d after Ctrl-C", code)
	}
}

func TestSupportKeyExpiresWhenNoRepJoins(t *testing.T) {
	x := xlab.StartXvfb(t, 320, 240)
	rv := startRendezvous(t, t.TempDir(), []string{"/ip4/127.0.0.1/udp/0/quic-v1"})
	share := proctest.Start(t, assistBin, []string{x.Env(), "ASSIST_HOME=" + t.TempDir()},
		"share", "--json", "--key-ttl", "2s", "--rendezvous", rv.Addrs[0].String(), "--listen", "/ip4/127.0.0.1/udp/0/quic-v1")
	key := share.WaitEvent("key", 30*time.Second).Str("key")
	ended := share.WaitEvent("ended", 30*time.Second)
	if !strings.Contains(ended.Str("reason"), "expired") {
		t.Fatalf("ended with %q, want the key expired", ended.Str("reason"))
	}
	if code := share.Wait(10 * time.Second); code == 0 {
		t.Fatal("share exited 0 although nobody joined")
	}
	if !strings.Contains(share.Stderr(), "'assist share' again") {
		t.Fatalf("stderr does not say what to do: %s", share.Stderr())
	}
	// A rep who tries the key now is told it expired.
	join := proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + t.TempDir()},
		"join", "--json", "--no-browser", "--rendezvous", rv.Addrs[0].String(), key)
	if code := join.Wait(30 * time.Second); code == 0 {
		t.Fatal("join with an expired key succeeded")
	}
	if !strings.Contains(join.Stderr(), "expired") {
		t.Fatalf("join's error does not say expired: %s", join.Stderr())
	}
}

func TestShareListsDisplaysAndRefusesAMissingOne(t *testing.T) {
	x := xlab.StartXvfb(t, 320, 240)
	cmd := exec.Command(assistBin, "share", "--list-displays")
	cmd.Env = append(os.Environ(), "DISPLAY=")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "DISPLAY") {
		t.Fatal("--list-displays without DISPLAY succeeded")
	}
	cmd = exec.Command(assistBin, "share", "--list-displays")
	cmd.Env = append(os.Environ(), x.Env())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "0: 320x240 at 0,0") {
		t.Fatalf("--list-displays: %v\n%s", err, out)
	}
	cmd = exec.Command(assistBin, "share", "--display", "3", "--rendezvous", "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE")
	cmd.Env = append(os.Environ(), x.Env(), "ASSIST_HOME="+t.TempDir())
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no display 3") || !strings.Contains(string(out), "--list-displays") {
		t.Fatalf("--display 3 on a one-monitor screen: %v\n%s", err, out)
	}
}

// TestAWithdrawnKeyIsNotCalledACancelledInvitation: a customer who stops
// sharing before anyone joins withdraws the key; a rep who tries it later
// is told so, not that a representative cancelled an invitation.
func TestAWithdrawnKeyIsNotCalledACancelledInvitation(t *testing.T) {
	x := xlab.StartXvfb(t, 320, 240)
	rv := startRendezvous(t, t.TempDir(), []string{"/ip4/127.0.0.1/udp/0/quic-v1"})
	share := proctest.Start(t, assistBin, []string{x.Env(), "ASSIST_HOME=" + t.TempDir()},
		"share", "--json", "--rendezvous", rv.Addrs[0].String(), "--listen", "/ip4/127.0.0.1/udp/0/quic-v1")
	key := share.WaitEvent("key", 30*time.Second).Str("key")
	share.Signal(syscall.SIGINT)
	share.Wait(15 * time.Second)
	join := proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + t.TempDir()},
		"join", "--json", "--no-browser", "--rendezvous", rv.Addrs[0].String(), key)
	if code := join.Wait(30 * time.Second); code == 0 {
		t.Fatal("join with a withdrawn key succeeded")
	}
	if msg := join.Stderr(); !strings.Contains(msg, "support key was withdrawn") || strings.Contains(msg, "by the representative") {
		t.Fatalf("join's error: %s", msg)
	}
}

// TestWaitingForConsentEndsCleanlyEitherWay: a rep who gives up while the
// customer is being asked (Ctrl-C) ends at once, and the customer's
// question is withdrawn; a customer who says no ends the session for both,
// each told why, instead of "connection lost; waiting for it to come back".
func TestWaitingForConsentEndsCleanlyEitherWay(t *testing.T) {
	s := startSupportSession(t, 320, 240)
	s.Share.WaitEvent("consent_request", 30*time.Second)
	s.Join.Signal(syscall.SIGINT)
	if code := s.Join.Wait(5 * time.Second); code != 0 {
		t.Fatalf("join waiting for consent: Ctrl-C gave exit %d", code)
	}
	if got := s.Share.WaitEvent("ended", 10*time.Second).Str("reason"); got != "Alice left before you answered" {
		t.Fatalf("the customer was told %q", got)
	}
	if code := s.Share.Wait(10 * time.Second); code != 0 {
		t.Fatalf("share exited %d", code)
	}
	if strings.Contains(s.Share.Stdout(), "reconnecting") {
		t.Fatalf("the customer waited for the rep to come back:\n%s", s.Share.Stdout())
	}

	s = startSupportSession(t, 320, 240)
	s.Share.WaitEvent("consent_request", 30*time.Second)
	s.Share.Say("n")
	if got := s.Share.WaitEvent("ended", 10*time.Second).Str("reason"); !strings.Contains(got, "you did not allow viewing") {
		t.Fatalf("the customer was told %q", got)
	}
	if got := s.Join.WaitEvent("ended", 10*time.Second).Str("reason"); got != "the customer did not allow viewing" {
		t.Fatalf("the rep was told %q", got)
	}
	for _, p := range []*proctest.Proc{s.Share, s.Join} {
		if code := p.Wait(10 * time.Second); code != 0 {
			t.Fatalf("exit %d after a refusal", code)
		}
	}
}
