//go:build darwin

package input

import (
	"image"

	"github.com/go-vgo/robotgo/darwin"
)

// NewDarwinInjector returns an injector for the display at bounds (global
// display coordinates, in points) whose capture is pixels large, through
// robotgo's darwin backend (CGEvent, no cgo). Events arrive in captured
// pixels and are scaled to points: twice fewer on Retina.
func NewDarwinInjector(bounds image.Rectangle, pixels image.Point) (*Robot, error) {
	darwin.KeySleep = 0 // the viewer paces typing; no sleep per key
	return &Robot{bounds: bounds, pixels: pixels, d: darwinDriver{}}, nil
}

type darwinDriver struct{}

func (darwinDriver) Move(x, y int) error                    { darwin.Move(x, y); return nil }
func (darwinDriver) Toggle(button, upOrDown string) error   { return darwin.Toggle(button, upOrDown) }
func (darwinDriver) Click(button string, double bool) error { return darwin.Click(button, double) }
func (darwinDriver) Scroll(dx, dy int) error                { darwin.Scroll(dx, dy, 0); return nil }
func (darwinDriver) KeyTap(key string, mods []string) error { return darwin.KeyTap(key, anys(mods)...) }
func (darwinDriver) TypeStr(text string) error              { darwin.TypeStr(text); return nil }
func (darwinDriver) Close()                                 {}
