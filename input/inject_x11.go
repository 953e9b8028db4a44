//go:build linux

package input

import (
	"fmt"
	"image"
	"sync"

	"github.com/go-vgo/robotgo/x11"

	"assist/screen"
)

// X11Injector injects through robotgo's pure-Go X11 backend (XTEST over
// the X protocol): no cgo, so no C libraries to install, and no crash
// without a display, where robotgo's cgo backend segfaults.
type X11Injector struct {
	mu     sync.Mutex
	bounds image.Rectangle // the shared monitor in root coordinates
}

// NewX11Injector returns an injector for the monitor at bounds. It fails
// with screen.ErrNoDisplay when there is no X server.
func NewX11Injector(bounds image.Rectangle) (*X11Injector, error) {
	if err := screen.CheckDisplay(); err != nil {
		return nil, err
	}
	x11.KeySleep = 0 // the viewer paces typing; no sleep per key
	return &X11Injector{bounds: bounds}, nil
}

// Close drops robotgo's X connection (a process-wide singleton), so the
// next injector connects to whatever $DISPLAY says then.
func (j *X11Injector) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	x11.Close()
	return nil
}

// toRoot maps display coordinates to root-window coordinates, clamped to
// the shared monitor so input cannot land on another one.
func (j *X11Injector) toRoot(x, y int) (int, int) {
	x = min(max(x, 0), j.bounds.Dx()-1)
	y = min(max(y, 0), j.bounds.Dy()-1)
	return j.bounds.Min.X + x, j.bounds.Min.Y + y
}

// Apply performs one event.
func (j *X11Injector) Apply(e Event) error {
	if err := e.Validate(); err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	button := e.Button
	if button == "" {
		button = "left"
	}
	switch e.Type {
	case Move:
		x11.Move(j.toRoot(e.X, e.Y))
	case Down, Up:
		x11.Move(j.toRoot(e.X, e.Y))
		return wrap(x11.Toggle(button, e.Type))
	case Click:
		x11.Move(j.toRoot(e.X, e.Y))
		return wrap(x11.Click(button, e.Double))
	case Scroll:
		x11.Move(j.toRoot(e.X, e.Y))
		x11.Scroll(-e.DX, e.DY, 0)
	case Key:
		m := make([]any, len(e.Mods))
		for i, s := range e.Mods {
			m[i] = s
		}
		return wrap(x11.KeyTap(e.Key, m...))
	case Text:
		x11.TypeStr(e.Text)
	}
	return nil
}

func wrap(err error) error {
	if err != nil {
		return fmt.Errorf("inject input: %w", err)
	}
	return nil
}
