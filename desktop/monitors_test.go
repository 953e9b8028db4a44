//go:build linux

package desktop

import (
	"image"
	"strings"
	"testing"
	"time"

	"assist/input"
	"assist/internal/swaylab"
	"assist/internal/xlab"
	"assist/screen"
)

// Two monitors side by side, the second smaller and lower, as a laptop
// with an external screen: sharing the second captures that monitor and
// nothing of the first, and a click at the captured (10,20) lands at
// (10,20) inside it, not at the desktop's (10,20).
var (
	firstMonitor  = image.Rect(0, 0, 600, 400)
	secondMonitor = image.Rect(600, 100, 1000, 400)
)

func TestTheSecondX11MonitorIsCapturedAndClickedInItsOwnPixels(t *testing.T) {
	x := xlab.StartXvfb(t, 1000, 400)
	t.Setenv("DISPLAY", x.Display)
	if err := xlab.SplitMonitors(x.Display, firstMonitor, secondMonitor); err != nil {
		t.Fatal(err)
	}
	picture := xlab.Pattern(secondMonitor.Dx(), secondMonitor.Dy(), 9)
	win, err := xlab.ShowImage(x.Display, secondMonitor, picture)
	if err != nil {
		t.Fatal(err)
	}
	var r *xlab.Recorder
	clickOnSecond(t, x11{}, picture, func(t *testing.T, _ Injector) {
		win.Close()
		if r, err = xlab.RecordInput(x.Display, secondMonitor); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
	}, func(t *testing.T) image.Point {
		for {
			select {
			case e := <-r.Events:
				if e.Kind == "press" {
					return image.Pt(e.X, e.Y)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no click reached the window on the second monitor")
			}
		}
	})
}

func TestTheSecondWaylandOutputIsCapturedAndClickedInItsOwnPixels(t *testing.T) {
	picture := xlab.Pattern(secondMonitor.Dx(), secondMonitor.Dy(), 9)
	s := swaylab.StartOutputs(t,
		swaylab.Output{Bounds: firstMonitor, Wallpaper: xlab.Pattern(firstMonitor.Dx(), firstMonitor.Dy(), 3)},
		swaylab.Output{Bounds: secondMonitor, Wallpaper: picture})
	for _, kv := range s.Env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	var r *swaylab.Recorder
	clickOnSecond(t, wayland{}, picture, func(t *testing.T, in Injector) {
		r = s.RecordOn(t, 2)
		// Its clicks count once the pointer has come over it.
		for deadline := time.Now().Add(10 * time.Second); ; {
			if err := in.Apply(input.Event{Type: input.Move, X: 5, Y: 5}); err != nil {
				t.Fatal(err)
			}
			if r.Pointed(300 * time.Millisecond) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the pointer never came over the window on the second output")
			}
		}
	}, func(t *testing.T) image.Point {
		p := r.Next(t, "press", 5*time.Second)
		return image.Pt(p.X, p.Y)
	})
}

// clickOnSecond shares the second of two monitors on backend: its picture
// must be want, and a click at (10,20) must land there on it. record opens
// the window that records the click (after the capture: it covers the
// picture); clicked returns where the click landed in it.
func clickOnSecond(t *testing.T, b Backend, want *image.RGBA, record func(*testing.T, Injector), clicked func(*testing.T) image.Point) {
	ds, err := b.Displays()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Bounds != firstMonitor || ds[1].Bounds != secondMonitor {
		t.Fatalf("%s reports %+v, want %v and %v", b.Name(), ds, firstMonitor, secondMonitor)
	}
	s, err := b.OpenScreen(1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var f screen.Frame
	// On sway the wallpaper program draws after the compositor is up.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := s.Capture(&f); err != nil {
			t.Fatal(err)
		}
		if f.W != want.Rect.Dx() || f.H != want.Rect.Dy() {
			t.Fatalf("captured %dx%d, want the second monitor's %v", f.W, f.H, want.Rect.Size())
		}
		n := differing(f.Pix, want.Pix)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d pixels of the capture are not the second monitor's", n, f.W*f.H)
		}
	}
	in, err := b.OpenInput(s.Bounds())
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	record(t, in)
	if err := in.Apply(input.Event{Type: input.Click, X: 10, Y: 20}); err != nil {
		t.Fatal(err)
	}
	if p := clicked(t); p != image.Pt(10, 20) {
		t.Fatalf("the click landed at %v on the second monitor, want (10,20)", p)
	}
}

// differing counts pixels of a BGRX capture that are not those of img.
func differing(bgrx, rgba []byte) int {
	n := 0
	for i := 0; i+3 < len(bgrx) && i+3 < len(rgba); i += 4 {
		if bgrx[i] != rgba[i+2] || bgrx[i+1] != rgba[i+1] || bgrx[i+2] != rgba[i] {
			n++
		}
	}
	return n
}
