package desktop

import (
	"errors"
	"fmt"
	"image"

	"assist/screen"
)

// macSystem is what the macOS backend asks of the OS: CoreGraphics and
// the privacy settings, reached without cgo (robotgo's darwin backend and
// purego). It is an interface so that the backend's logic is tested off a
// Mac, with a stand-in.
type macSystem interface {
	// ScreenRecordingAllowed: the user has let this program (or the
	// terminal it runs in) record the screen.
	ScreenRecordingAllowed() bool
	// RequestScreenRecording has macOS ask the user, once per program.
	RequestScreenRecording()
	// AccessibilityAllowed: the user has let it control the computer.
	AccessibilityAllowed() bool
	// Displays are the monitors in global display coordinates (points).
	Displays() []image.Rectangle
	// PixelSize is display i in pixels: twice its points on Retina.
	PixelSize(i int) image.Point
	// Capture grabs display i in pixels.
	Capture(i int) (*image.RGBA, error)
	// Injector performs input on the monitor at bounds, in points.
	Injector(bounds image.Rectangle, pixels image.Point) (Injector, error)
}

// The privacy settings assist needs, said so that a customer can fix them.
var (
	errScreenRecording = errors.New("macOS has not allowed assist to record the screen: open System Settings → Privacy & Security → Screen Recording, turn on assist (or the terminal you run it in), then run it again")
	errAccessibility   = errors.New("macOS has not allowed assist to control this Mac, so the rep can watch but not control: open System Settings → Privacy & Security → Accessibility and turn on assist (or the terminal you run it in)")
)

// macOS captures with CoreGraphics and injects with CGEvent.
type macOS struct{ sys macSystem }

// openMacOS checks the screen-recording permission first: without it
// macOS hands out pictures of the wallpaper alone, and the rep would see
// an empty desktop instead of an error.
func openMacOS(sys macSystem) (Backend, error) {
	if !sys.ScreenRecordingAllowed() {
		sys.RequestScreenRecording()
		return nil, errScreenRecording
	}
	return macOS{sys}, nil
}

func (macOS) Name() string { return "macOS" }

func (m macOS) Displays() ([]screen.Display, error) {
	ds := m.sys.Displays()
	if len(ds) == 0 {
		return nil, errors.New("macOS reports no displays")
	}
	out := make([]screen.Display, len(ds))
	for i, b := range ds {
		out[i] = screen.Display{Index: i, Bounds: b}
	}
	return out, nil
}

func (m macOS) OpenScreen(display int) (Screen, error) {
	ds := m.sys.Displays()
	if display < 0 || display >= len(ds) {
		return nil, fmt.Errorf("no display %d (there are %d)", display, len(ds))
	}
	return &macScreen{sys: m.sys, index: display, bounds: ds[display]}, nil
}

func (m macOS) OpenInput(bounds image.Rectangle) (Injector, error) {
	if !m.sys.AccessibilityAllowed() {
		return nil, errAccessibility
	}
	for i, b := range m.sys.Displays() {
		if b == bounds {
			return m.sys.Injector(bounds, m.sys.PixelSize(i))
		}
	}
	return nil, fmt.Errorf("no display at %v any more", bounds)
}

// macScreen is one display, captured in pixels.
type macScreen struct {
	sys    macSystem
	index  int
	bounds image.Rectangle
}

func (s *macScreen) Bounds() image.Rectangle { return s.bounds }

func (s *macScreen) Close() error { return nil }

func (s *macScreen) Capture(f *screen.Frame) error {
	img, err := s.sys.Capture(s.index)
	if err != nil {
		return fmt.Errorf("capture screen: %w", err)
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if f.W != w || f.H != h || len(f.Pix) != 4*w*h {
		*f = *screen.NewFrame(w, h)
	}
	toBGRX(f.Pix, img)
	return nil
}

// toBGRX copies an RGBA picture into BGRX bytes.
func toBGRX(dst []byte, img *image.RGBA) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		out := dst[4*w*y : 4*w*(y+1)]
		for i := 0; i < len(row); i += 4 {
			out[i], out[i+1], out[i+2], out[i+3] = row[i+2], row[i+1], row[i], 0xff
		}
	}
}
