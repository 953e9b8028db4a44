// Package desktop opens this machine's desktop for a session: the monitor
// to capture and the injector that performs a rep's mouse and keyboard,
// with the backend for the desktop the process runs in. X11 is the
// backend there is; Windows, macOS and Wayland plug in here as Backends,
// and nothing above this package knows which one runs.
package desktop

import (
	"image"

	"assist/input"
	"assist/screen"
)

// Screen is a monitor being captured.
type Screen interface {
	screen.Source
	// Bounds is the monitor in the desktop's coordinates.
	Bounds() image.Rectangle
	Close() error
}

// Injector performs input events on the shared monitor.
type Injector interface {
	input.Injector
	Close() error
}

// Backend is one kind of desktop's capture and input.
type Backend interface {
	// Name says which desktop this is, for logs and errors.
	Name() string
	Displays() ([]screen.Display, error)
	OpenScreen(display int) (Screen, error)
	OpenInput(bounds image.Rectangle) (Injector, error)
}

// Open returns the backend for the desktop this process runs in, or an
// error that says why this desktop cannot be shared.
func Open() (Backend, error) { return detect() }
