//go:build linux

package wlr_test

import (
	"image"
	"strings"
	"testing"
	"time"

	"assist/desktop/wlr"
	"assist/internal/swaylab"
	"assist/internal/xlab"
)

// dial connects to a fresh headless sway showing wallpaper.
func dial(t testing.TB, w, h int) (*wlr.Conn, *swaylab.Sway) {
	t.Helper()
	s := swaylab.Start(t, xlab.Desktop(w, h, 4))
	return dialSway(t, s), s
}

// dialSway points this process at s and connects.
func dialSway(t testing.TB, s *swaylab.Sway) *wlr.Conn {
	t.Helper()
	for _, kv := range s.Env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	c, err := wlr.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCaptureIsTheOutputPixelForPixel(t *testing.T) {
	const w, h = 320, 200
	c, _ := dial(t, w, h)
	want := xlab.Desktop(w, h, 4)
	outs := c.Outputs()
	if len(outs) != 1 || outs[0].Size.X != w || outs[0].Size.Y != h || outs[0].Scale != 1 {
		t.Fatalf("outputs %+v, want one of %dx%d", outs, w, h)
	}
	// sway draws its grey before the wallpaper program has drawn.
	var pix []byte
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		pix, _, err = c.Capture(0, pix)
		if err != nil {
			t.Fatal(err)
		}
		if d := diff(pix, want.Pix); d == 0 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("%d pixels still differ from the wallpaper after 10 s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, _, err := c.Capture(1, pix); err == nil {
		t.Fatal("captured output 1 of 1")
	}
}

// diff counts pixels of BGRX bgrx that differ from RGBA rgba.
func diff(bgrx, rgba []byte) int {
	n := 0
	for i := 0; i+3 < len(rgba) && i+3 < len(bgrx); i += 4 {
		if bgrx[i] != rgba[i+2] || bgrx[i+1] != rgba[i+1] || bgrx[i+2] != rgba[i] {
			n++
		}
	}
	return n
}

func TestVirtualInputReachesAWaylandWindow(t *testing.T) {
	c, s := dial(t, 640, 480)
	rec := s.Record(t)
	if err := c.OpenInput(0); err != nil {
		t.Fatal(err)
	}
	// The seat's only pointer and keyboard are new: the window takes their
	// events once it has seen them come.
	for deadline := time.Now().Add(10 * time.Second); ; {
		must(t, c.MoveTo(100, 100))
		if rec.Pointed(300*time.Millisecond) && rec.Focused(5*time.Second) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the virtual pointer and keyboard never came to the window")
		}
	}
	must(t, c.MoveTo(401, 301))
	must(t, c.Button("left", true))
	must(t, c.Button("left", false))
	if p := rec.Next(t, "press", 5*time.Second); p.X != 401 || p.Y != 301 {
		t.Fatalf("press at %d,%d, want 401,301", p.X, p.Y)
	}
	const text = "ok: ß→€ 日本"
	must(t, c.Type(text))
	must(t, c.Key("enter", nil))
	var got strings.Builder
	for got.Len() < len(text)+1 {
		got.WriteString(rec.Next(t, "key", 5*time.Second).Text)
	}
	if got.String() != text+"\r" {
		t.Fatalf("typed %q, want %q", got.String(), text+"\r")
	}
	if err := c.Key("nosuchkey", nil); err == nil {
		t.Fatal("tapped an unknown key")
	}
	if err := c.Button("fourth", true); err == nil {
		t.Fatal("pressed an unknown button")
	}
}

// More characters than the keymap holds: it starts again, and every one
// is typed.
func TestTypingMoreCharactersThanTheKeymapHolds(t *testing.T) {
	c, s := dial(t, 320, 200)
	rec := s.Record(t)
	must(t, c.OpenInput(0))
	if !rec.Focused(10 * time.Second) {
		t.Fatal("the virtual keyboard never focused the window")
	}
	var text strings.Builder
	for r := rune(0x4e00); r < 0x4e00+300; r++ {
		text.WriteRune(r)
	}
	must(t, c.Type(text.String()))
	var got strings.Builder
	for got.Len() < text.Len() {
		got.WriteString(rec.Next(t, "key", 5*time.Second).Text)
	}
	if got.String() != text.String() {
		t.Fatalf("typed %d runes, %d arrived differently", len([]rune(text.String())), len([]rune(got.String())))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A HiDPI output (scale 2): the capture has its pixels, the layout half
// as many, and a click at a captured pixel lands where that pixel is.
func TestAScaledOutputIsCapturedAndClickedInPixels(t *testing.T) {
	s := swaylab.StartScaled(t, xlab.Desktop(640, 400, 4), 2)
	c := dialSway(t, s)
	o := c.Outputs()[0]
	if o.Scale != 2 || o.Size != image.Pt(640, 400) || o.Bounds != image.Rect(0, 0, 320, 200) {
		t.Fatalf("output %+v, want 640x400 pixels at scale 2, 320x200 in the layout", o)
	}
	pix, size, err := c.Capture(0, nil)
	if err != nil || size != image.Pt(640, 400) || len(pix) != 4*640*400 {
		t.Fatalf("capture %v, %d bytes, %v", size, len(pix), err)
	}
	rec := s.Record(t)
	must(t, c.OpenInput(0))
	for deadline := time.Now().Add(10 * time.Second); ; {
		must(t, c.MoveTo(10, 10))
		if rec.Pointed(300 * time.Millisecond) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the virtual pointer never came over the window")
		}
	}
	must(t, c.MoveTo(400, 300)) // pixels: (200, 150) in the window's units
	must(t, c.Button("left", true))
	must(t, c.Button("left", false))
	if p := rec.Next(t, "press", 5*time.Second); p.X != 200 || p.Y != 150 {
		t.Fatalf("press at %d,%d in the window, want 200,150 (pixel 400,300 at scale 2)", p.X, p.Y)
	}
}
