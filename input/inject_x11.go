//go:build linux

package input

import (
	"image"

	"github.com/go-vgo/robotgo/x11"

	"assist/screen"
)

// NewX11Injector returns an injector for the monitor at bounds (in root
// window coordinates), through robotgo's pure-Go X11 backend (XTEST over
// the X protocol): no cgo, so no C libraries to install, and no crash
// without a display, where robotgo's cgo backend segfaults. It fails
// with screen.ErrNoDisplay when there is no X server.
func NewX11Injector(bounds image.Rectangle) (*Robot, error) {
	if err := screen.CheckDisplay(); err != nil {
		return nil, err
	}
	x11.KeySleep = 0 // the viewer paces typing; no sleep per key
	return &Robot{bounds: bounds, d: x11Driver{}}, nil
}

type x11Driver struct{}

func (x11Driver) Move(x, y int) error                    { x11.Move(x, y); return nil }
func (x11Driver) Toggle(button, upOrDown string) error   { return x11.Toggle(button, upOrDown) }
func (x11Driver) Click(button string, double bool) error { return x11.Click(button, double) }
func (x11Driver) Scroll(dx, dy int) error                { x11.Scroll(dx, dy, 0); return nil }
func (x11Driver) KeyTap(key string, mods []string) error { return x11.KeyTap(key, anys(mods)...) }
func (x11Driver) TypeStr(text string) error              { x11.TypeStr(text); return nil }

// Close drops robotgo's X connection (a process-wide singleton), so the
// next injector connects to whatever $DISPLAY says then.
func (x11Driver) Close() { x11.Close() }
