package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"assist/internal/xlab"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
)

// clockTime is how the viewer shows a chat message's time.
var clockTime = regexp.MustCompile(`^\d\d:\d\d$`)

// chromium starts Debian's headless Chromium for a test; extra options
// are added to the usual ones.
func chromium(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no chromium: %v", err)
		}
		t.Skip("SKIPPED: no chromium; 'make test' installs it")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("force-device-scale-factor", "1"),
	}
	opts = append(opts, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	return ctx
}

func TestViewerInChromiumShowsTheCustomersScreen(t *testing.T) {
	const w, h = 640, 480
	s := startSupportSession(t, w, h, "--allow-view")
	want, _ := showDesktop(t, s.X.Display, w, h, 3)
	// Once the host has the picture, a page that opens gets it whole.
	waitForPicture(t, dialViewer(t, s.URL), want)

	ctx := chromium(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL),
		chromedp.WaitVisible(chromedp.CSS(`body[data-path="direct"]`)),
	)
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`Number(document.body.dataset.frames) >= 1`)); err != nil {
		t.Fatalf("no frame drawn in the page: %v", err)
	}
	img := screenshotCanvas(ctx, t)
	if img.Bounds().Dx() != w || img.Bounds().Dy() != h {
		t.Fatalf("canvas shown at %v, want %dx%d (1:1 when it fits)", img.Bounds(), w, h)
	}
	got := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(got, got.Bounds(), img, img.Bounds().Min, draw.Src)
	// The photo area may be JPEG; everything else must match exactly.
	lossy := image.NewAlpha(want.Bounds())
	photo := image.Rect(w-min(256, w/3)-8, h-min(192, h/3)-8, w, h)
	draw.Draw(lossy, photo.Inset(-64), image.NewUniform(image.Opaque), image.Point{}, draw.Src)
	comparePictures(t, want, got, lossy)
}

func TestViewerRefusesRequestsWithoutTokenOrFromElsewhere(t *testing.T) {
	s := startSupportSession(t, 320, 240, "--allow-view")
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	token := u.Query().Get("t")
	base := "http://" + u.Host
	get := func(path string, header map[string]string) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		for k, v := range header {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("/?t="+token, nil); code != 200 {
		t.Fatalf("page with token: %d", code)
	}
	for name, tc := range map[string]struct {
		path   string
		header map[string]string
	}{
		"no token":       {"/", nil},
		"wrong token":    {"/?t=" + strings.Repeat("A", len(token)), nil},
		"rebinding host": {"/?t=" + token, map[string]string{"Host": "evil.example:" + u.Port()}},
		"foreign origin": {"/?t=" + token, map[string]string{"Origin": "http://evil.example"}},
		"socket, no token": {"/ws", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket",
			"Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}},
	} {
		if code := get(tc.path, tc.header); code != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, code)
		}
	}
	// A WebSocket from a foreign origin is refused even with the token.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws://"+u.Host+"/ws?t="+token, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign-origin socket: err=%v resp=%v", err, resp)
	}
}

// TestViewerLayoutAt1280And800: on screenshots and layout boxes, at a
// normal and a narrow width: the customer's screen has a frame, keeps its
// size (the side panel goes below when narrow), attendees stay one line
// each, chat times read HH:MM. ASSIST_SHOTS=DIR keeps the screenshots.
func TestViewerLayoutAt1280And800(t *testing.T) {
	const w, h = 640, 480
	s := startSupportSession(t, w, h, "--allow-view")
	showDesktop(t, s.X.Display, w, h, 5)
	s.Share.Say("hello from the customer")
	s.Join.WaitEvent("chat", 30*time.Second)
	ctx := chromium(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL)); err != nil {
		t.Fatal(err)
	}
	// 800x900: a narrow window, tall enough that the side panel below
	// leaves the picture its size.
	for _, size := range []struct{ w, h, stageMin int }{{1280, 800, 900}, {800, 900, 760}} {
		err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(size.w), int64(size.h)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`Number(document.body.dataset.frames) >= 1 && document.querySelectorAll('#attendees li').length === 2`)); err != nil {
			t.Fatalf("%dpx: the page never showed the session: %v", size.w, err)
		}
		type box struct{ X, Y, W, H float64 }
		layout, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`(() => {
			const r = e => { const b = e.getBoundingClientRect(); return {X: b.x, Y: b.y, W: b.width, H: b.height}; };
			return { canvas: r(document.getElementById('screen')), stage: r(document.getElementById('stage')),
				rows: [...document.querySelectorAll('#attendees li')].map(li => r(li).H),
				times: [...document.querySelectorAll('#log .time')].map(e => e.textContent),
				host: document.querySelector('#attendees li[data-name="Alice"]').textContent };
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		num := func(m any, k string) float64 { v, _ := m.(map[string]any)[k].(float64); return v }
		canvas := box{num(layout["canvas"], "X"), num(layout["canvas"], "Y"), num(layout["canvas"], "W"), num(layout["canvas"], "H")}
		if sw := num(layout["stage"], "W"); sw < float64(size.stageMin) {
			t.Errorf("%dpx: the screen's area is %.0f px wide, want at least %d", size.w, sw, size.stageMin)
		}
		if canvas.W != w || canvas.H != h {
			t.Errorf("%dpx: the screen is shown at %.0fx%.0f, want %dx%d", size.w, canvas.W, canvas.H, w, h)
		}
		for _, rh := range layout["rows"].([]any) {
			if rh.(float64) > 30 {
				t.Errorf("%dpx: an attendee row is %.0f px high: it wraps", size.w, rh)
			}
		}
		// The rep's own entry says what the rights mean, not "control"
		// next to a top bar that says control: no.
		if host, _ := layout["host"].(string); host != "Alicehost · may control" {
			t.Errorf("%dpx: the host's entry reads %q", size.w, host)
		}
		for _, tm := range layout["times"].([]any) {
			if !clockTime.MatchString(tm.(string)) {
				t.Errorf("%dpx: a chat time reads %q, want HH:MM", size.w, tm)
			}
		}
		shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if dir := os.Getenv("ASSIST_SHOTS"); dir != "" {
			_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("viewer-%d.png", size.w)), shot, 0o644)
		}
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatal(err)
		}
		// The frame: the pixels just outside the picture are neither the
		// stage's black nor the picture.
		for _, p := range []image.Point{{int(canvas.X) - 1, int(canvas.Y + canvas.H/2)}, {int(canvas.X + canvas.W/2), int(canvas.Y) - 1}} {
			r, g, b, _ := img.At(p.X, p.Y).RGBA()
			if r>>8 < 0x40 || g>>8 < 0x40 || b>>8 < 0x40 {
				t.Errorf("%dpx: no frame around the screen at %v: rgb(%d,%d,%d)", size.w, p, r>>8, g>>8, b>>8)
			}
		}
	}
}

// TestTheViewerPlaysScrollsAndMovedWindows: in Chromium, a terminal that
// scrolls and a window that moves on the customer's screen arrive as
// copies on the page's canvas (plus what is new), and the page ends
// showing the screen pixel for pixel.
func TestTheViewerPlaysScrollsAndMovedWindows(t *testing.T) {
	const w, h = 640, 480
	s := startSupportSession(t, w, h, "--allow-view")
	if err := xlab.SetRootBackground(s.X.Display, textLike(w, h, 1)); err != nil {
		t.Fatal(err)
	}
	term := image.Rect(20, 20, 420, 340)
	screen := textLike(term.Dx(), term.Dy(), 2)
	win, err := xlab.ShowImage(s.X.Display, term, screen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(win.Close)
	ctx := chromium(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL), chromedp.WaitVisible(chromedp.CSS(`body[data-path="direct"]`))); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`Number(document.body.dataset.frames) >= 1`)); err != nil {
		t.Fatalf("no frame drawn in the page: %v", err)
	}
	for i := range 6 {
		// The terminal scrolls by a 16-pixel line and prints a new one.
		draw.Draw(screen, image.Rect(0, 0, term.Dx(), term.Dy()-16), screen, image.Pt(0, 16), draw.Src)
		draw.Draw(screen, image.Rect(0, term.Dy()-16, term.Dx(), term.Dy()), textLike(term.Dx(), 16, uint8(10+i)), image.Point{}, draw.Src)
		if err := win.Paint(screen.Bounds(), screen); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	scrolled, err := chromedp.Run(ctx, chromedp.Poll[int](`Number(document.body.dataset.copies || 0)`))
	if err != nil || scrolled == 0 {
		t.Fatalf("the page played no copies for the scrolls (%v)", err)
	}
	// The terminal's text is dragged up and to the left, as a map or a
	// picture is: a copy in both directions and the strips coming in.
	big := textLike(term.Dx()+64, term.Dy()+64, 3)
	for i := 1; i <= 4; i++ {
		draw.Draw(screen, screen.Rect, big, image.Pt(8*i, 4*i), draw.Src)
		if err := win.Paint(screen.Bounds(), screen); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := win.Move(image.Pt(100, 60)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`Number(document.body.dataset.copies || 0) >= %d`, scrolled+4))); err != nil {
		t.Fatalf("the page played fewer than %d copies after the pans and the move: %v", scrolled+4, err)
	}
	want := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(want, want.Rect, textLike(w, h, 1), image.Point{}, draw.Src)
	draw.Draw(want, screen.Rect.Add(image.Pt(100, 60)), screen, image.Point{}, draw.Src)
	noLoss := image.NewAlpha(want.Rect)
	deadline := time.Now().Add(20 * time.Second)
	for {
		img := screenshotCanvas(ctx, t)
		got := image.NewRGBA(want.Rect)
		draw.Draw(got, got.Rect, img, img.Bounds().Min, draw.Src)
		if differs(want, got) == 0 || time.Now().After(deadline) {
			comparePictures(t, want, got, noLoss)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// screenshotCanvas is what the page's screen canvas shows.
func screenshotCanvas(ctx context.Context, t *testing.T) image.Image {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`#screen`)))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// textLike is a picture of few colours, as text and UI are: it is sent
// losslessly, so the page must show it exactly.
func textLike(w, h int, seed uint8) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	bg := color.RGBA{30 + seed, 30, 40, 255}
	draw.Draw(img, img.Rect, image.NewUniform(bg), image.Point{}, draw.Src)
	for y := 2; y+12 <= h; y += 16 {
		for x := 4; x+6 <= w; x += 8 {
			if (x*7+y*3+int(seed)*13)%5 != 0 {
				c := color.RGBA{200, uint8(150 + (x/8+int(seed))%5*20), 200, 255}
				draw.Draw(img, image.Rect(x, y+(x/8)%3, x+5, y+10), image.NewUniform(c), image.Point{}, draw.Src)
			}
		}
	}
	return img
}

func differs(a, b *image.RGBA) int {
	n := 0
	for i := 0; i+3 < len(a.Pix); i += 4 {
		if a.Pix[i] != b.Pix[i] || a.Pix[i+1] != b.Pix[i+1] || a.Pix[i+2] != b.Pix[i+2] {
			n++
		}
	}
	return n
}
