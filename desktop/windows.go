//go:build windows

package desktop

import (
	"fmt"
	"image"
	"sync"

	"github.com/kbinani/screenshot"

	"assist/input"
	"assist/screen"
)

// windows captures with GDI (kbinani/screenshot, pure Go there) and
// injects with SendInput (robotgo's win backend).
type windows struct{}

func detect() (Backend, error) { return windows{}, nil }

func (windows) Name() string { return "Windows" }

func (windows) Displays() ([]screen.Display, error) {
	n := screenshot.NumActiveDisplays()
	if n == 0 {
		return nil, fmt.Errorf("windows reports no monitors")
	}
	out := make([]screen.Display, n)
	for i := range n {
		out[i] = screen.Display{Index: i, Bounds: screenshot.GetDisplayBounds(i)}
	}
	return out, nil
}

func (w windows) OpenScreen(display int) (Screen, error) {
	ds, err := w.Displays()
	if err != nil {
		return nil, err
	}
	if display < 0 || display >= len(ds) {
		return nil, fmt.Errorf("no monitor %d (there are %d)", display, len(ds))
	}
	return &gdiScreen{bounds: ds[display].Bounds}, nil
}

func (windows) OpenInput(bounds image.Rectangle) (Injector, error) {
	return input.NewWindowsInjector(bounds)
}

// gdiScreen grabs one monitor through GDI, in the frame's BGRX order.
type gdiScreen struct {
	mu     sync.Mutex
	bounds image.Rectangle
}

func (s *gdiScreen) Bounds() image.Rectangle { return s.bounds }

func (s *gdiScreen) Close() error { return nil }

func (s *gdiScreen) Capture(f *screen.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	img, err := screenshot.CaptureRect(s.bounds)
	if err != nil {
		return fmt.Errorf("capture screen: %w", err)
	}
	w, h := s.bounds.Dx(), s.bounds.Dy()
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
