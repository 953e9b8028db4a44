package desktop

import (
	"errors"
	"image"
	"image/color"
	"strings"
	"testing"

	"assist/input"
	"assist/screen"
)

// fakeMac stands in for macOS (CoreGraphics and the privacy settings),
// which this machine does not have: two displays, the first Retina.
type fakeMac struct {
	screenOK, inputOK bool
	asked             int
	injected          []image.Point // the pixel sizes injectors were made for
}

func (f *fakeMac) ScreenRecordingAllowed() bool { return f.screenOK }
func (f *fakeMac) RequestScreenRecording()      { f.asked++ }
func (f *fakeMac) AccessibilityAllowed() bool   { return f.inputOK }
func (f *fakeMac) Displays() []image.Rectangle {
	return []image.Rectangle{image.Rect(0, 0, 4, 3), image.Rect(4, 0, 10, 4)}
}
func (f *fakeMac) PixelSize(i int) image.Point {
	if i == 0 {
		return image.Pt(8, 6)
	}
	return image.Pt(6, 4)
}
func (f *fakeMac) Capture(i int) (*image.RGBA, error) {
	s := f.PixelSize(i)
	img := image.NewRGBA(image.Rectangle{Max: s})
	img.Set(1, 0, color.RGBA{R: 10, G: 20, B: 30, A: 255})
	return img, nil
}
func (f *fakeMac) Injector(bounds image.Rectangle, pixels image.Point) (Injector, error) {
	f.injected = append(f.injected, pixels)
	return nopInjector{}, nil
}

type nopInjector struct{}

func (nopInjector) Apply(input.Event) error { return nil }
func (nopInjector) Close() error            { return nil }

func TestMacOSWithoutScreenRecordingSaysHowToAllowIt(t *testing.T) {
	mac := &fakeMac{}
	if _, err := openMacOS(mac); !errors.Is(err, errScreenRecording) {
		t.Fatalf("no screen recording: %v", err)
	}
	if mac.asked != 1 {
		t.Fatalf("macOS was asked %d times to let the user allow recording, want 1", mac.asked)
	}
}

func TestMacOSWithoutAccessibilityRefusesControlOnly(t *testing.T) {
	b, err := openMacOS(&fakeMac{screenOK: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.OpenScreen(0); err != nil {
		t.Fatalf("watching needs no Accessibility: %v", err)
	}
	if _, err := b.OpenInput(image.Rect(0, 0, 4, 3)); !errors.Is(err, errAccessibility) {
		t.Fatalf("control without Accessibility: %v", err)
	}
}

func TestMacOSCapturesPixelsAndInjectsInPoints(t *testing.T) {
	mac := &fakeMac{screenOK: true, inputOK: true}
	b, err := openMacOS(mac)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := b.Displays()
	if err != nil || len(ds) != 2 || ds[1].Bounds != image.Rect(4, 0, 10, 4) {
		t.Fatalf("displays %v, %v", ds, err)
	}
	s, err := b.OpenScreen(0)
	if err != nil {
		t.Fatal(err)
	}
	var f screen.Frame
	if err := s.Capture(&f); err != nil {
		t.Fatal(err)
	}
	if f.W != 8 || f.H != 6 || f.Pix[4] != 30 || f.Pix[5] != 20 || f.Pix[6] != 10 {
		t.Fatalf("frame %dx%d starts %v, want 8x6 with BGRX 30,20,10 at (1,0)", f.W, f.H, f.Pix[:8])
	}
	if _, err := b.OpenScreen(2); err == nil {
		t.Fatal("opened display 2 of 2")
	}
	if _, err := b.OpenInput(s.Bounds()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.OpenInput(image.Rect(0, 0, 1, 1)); err == nil {
		t.Fatal("opened input on no display")
	}
	if len(mac.injected) != 1 || mac.injected[0] != image.Pt(8, 6) {
		t.Fatalf("injectors made for %v, want the Retina display's 8x6 pixels", mac.injected)
	}
}

// What each OS runs to open a page, notify and copy: checked here, where
// only Linux can run them.
func TestEachOSHasItsOwnHelpers(t *testing.T) {
	none := func(string) string { return "" }
	if !graphical("windows", none) || !graphical("darwin", none) || graphical("linux", none) {
		t.Fatal("Windows and macOS always have a desktop; Linux without DISPLAY or WAYLAND_DISPLAY has none")
	}
	for goos, want := range map[string]string{"windows": "rundll32 url.dll,FileProtocolHandler", "darwin": "open", "linux": "xdg-open"} {
		if got := strings.Join(opener(goos), " "); got != want {
			t.Errorf("%s opens with %q, want %q", goos, got, want)
		}
	}
	// The title and body are arguments of the script, never its code.
	mac := notifier("darwin", `a"); do shell script "x`, "b")
	if mac[0] != "osascript" || mac[len(mac)-2] != `a"); do shell script "x` || strings.Contains(strings.Join(mac[:len(mac)-2], " "), "shell") {
		t.Fatalf("macOS notification: %q", mac)
	}
	if notifier("windows", "a", "b") != nil || notifier("linux", "a", "b")[0] != "notify-send" {
		t.Fatal("notifications: none on Windows, notify-send on Linux")
	}
	if c := clipboards("windows", none); len(c) != 1 || c[0][0] != "clip" {
		t.Fatalf("windows clipboard %q", c)
	}
	if c := clipboards("darwin", none); len(c) != 1 || c[0][0] != "pbcopy" {
		t.Fatalf("macOS clipboard %q", c)
	}
	wl := func(k string) string { return map[string]string{"WAYLAND_DISPLAY": "wayland-0"}[k] }
	if c := clipboards("linux", wl); len(c) != 1 || c[0][0] != "wl-copy" {
		t.Fatalf("Wayland clipboard %q", c)
	}
}
