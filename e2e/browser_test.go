package e2e

import (
	"bytes"
	"context"
	"image"
	"image/draw"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
)

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
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`#screen`)))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
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
