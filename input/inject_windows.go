//go:build windows

package input

import (
	"image"

	"github.com/go-vgo/robotgo/win"
)

// NewWindowsInjector returns an injector for the monitor at bounds (in
// virtual-screen coordinates), through robotgo's pure-Go Win32 backend
// (SendInput): no cgo.
func NewWindowsInjector(bounds image.Rectangle) (*Robot, error) {
	win.KeySleep = 0 // the viewer paces typing; no sleep per key
	return &Robot{bounds: bounds, d: winDriver{}}, nil
}

type winDriver struct{}

func (winDriver) Move(x, y int) error                    { win.Move(x, y); return nil }
func (winDriver) Toggle(button, upOrDown string) error   { return win.Toggle(button, upOrDown) }
func (winDriver) Click(button string, double bool) error { return win.Click(button, double) }
func (winDriver) Scroll(dx, dy int) error                { win.Scroll(dx, dy); return nil }
func (winDriver) KeyTap(key string, mods []string) error { return win.KeyTap(key, anys(mods)...) }
func (winDriver) TypeStr(text string) error              { win.TypeStr(text); return nil }
func (winDriver) Close()                                 {}
