//go:build linux

package desktop

import (
	"image"

	"assist/input"
	"assist/screen"
)

// x11 captures with MIT-SHM and injects with XTEST, both in pure Go.
type x11 struct{}

func (x11) Name() string { return "X11" }

func (x11) Displays() ([]screen.Display, error) { return screen.Displays() }

func (x11) OpenScreen(display int) (Screen, error) { return screen.OpenCapturer(display) }

func (x11) OpenInput(bounds image.Rectangle) (Injector, error) { return input.NewX11Injector(bounds) }
