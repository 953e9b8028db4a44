//go:build darwin

package desktop

import (
	"image"
	"sync"

	"github.com/ebitengine/purego"
	"github.com/go-vgo/robotgo/darwin"

	"assist/input"
)

func detect() (Backend, error) { return openMacOS(coreGraphics{}) }

// coreGraphics is macSystem on a Mac: robotgo's darwin backend for the
// displays, capture and events, and the privacy checks loaded by purego.
type coreGraphics struct{}

// The privacy checks, resolved once. A symbol an older macOS lacks leaves
// its function nil, and the check passes: before 10.15 there was no
// screen-recording permission to have.
var privacy struct {
	once                 sync.Once
	preflightScreen      func() bool
	requestScreen        func() bool
	accessibilityTrusted func() bool
}

func loadPrivacy() {
	privacy.once.Do(func() {
		if cg, err := purego.Dlopen("/System/Library/Frameworks/CoreGraphics.framework/CoreGraphics", purego.RTLD_NOW|purego.RTLD_GLOBAL); err == nil {
			register(&privacy.preflightScreen, cg, "CGPreflightScreenCaptureAccess")
			register(&privacy.requestScreen, cg, "CGRequestScreenCaptureAccess")
		}
		if as, err := purego.Dlopen("/System/Library/Frameworks/ApplicationServices.framework/ApplicationServices", purego.RTLD_NOW|purego.RTLD_GLOBAL); err == nil {
			register(&privacy.accessibilityTrusted, as, "AXIsProcessTrusted")
		}
	})
}

func register(fn *func() bool, lib uintptr, name string) {
	if _, err := purego.Dlsym(lib, name); err == nil {
		purego.RegisterLibFunc(fn, lib, name)
	}
}

func (coreGraphics) ScreenRecordingAllowed() bool {
	loadPrivacy()
	return privacy.preflightScreen == nil || privacy.preflightScreen()
}

func (coreGraphics) RequestScreenRecording() {
	loadPrivacy()
	if privacy.requestScreen != nil {
		privacy.requestScreen()
	}
}

func (coreGraphics) AccessibilityAllowed() bool {
	loadPrivacy()
	return privacy.accessibilityTrusted == nil || privacy.accessibilityTrusted()
}

func (coreGraphics) Displays() []image.Rectangle {
	n := darwin.DisplaysNum()
	out := make([]image.Rectangle, 0, n)
	for i := range n {
		r := darwin.GetScreenRect(i)
		out = append(out, image.Rect(r.X, r.Y, r.X+r.W, r.Y+r.H))
	}
	return out
}

func (c coreGraphics) PixelSize(i int) image.Point {
	r := darwin.GetScreenRect(i)
	f := darwin.ScaleF(i)
	return image.Pt(int(float64(r.W)*f+0.5), int(float64(r.H)*f+0.5))
}

func (coreGraphics) Capture(i int) (*image.RGBA, error) {
	r := darwin.GetScreenRect(i)
	// The rectangle is in the display's own space, from its corner.
	return darwin.Capture(0, 0, r.W, r.H, i)
}

func (coreGraphics) Injector(bounds image.Rectangle, pixels image.Point) (Injector, error) {
	return input.NewDarwinInjector(bounds, pixels)
}
