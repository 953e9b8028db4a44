//go:build linux

package desktop

import (
	"errors"
	"image"
	"os"

	"assist/input"
	"assist/screen"
)

// x11 captures with MIT-SHM and injects with XTEST, both in pure Go.
type x11 struct{}

func detect() (Backend, error) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") != "" {
		return nil, errors.New("this is a Wayland session without an X server, which assist cannot share yet: log in to an X11 (Xorg) session, or run Xwayland and set DISPLAY")
	}
	return x11{}, nil
}

func (x11) Name() string { return "X11" }

func (x11) Displays() ([]screen.Display, error) { return screen.Displays() }

func (x11) OpenScreen(display int) (Screen, error) { return screen.OpenCapturer(display) }

func (x11) OpenInput(bounds image.Rectangle) (Injector, error) { return input.NewX11Injector(bounds) }
