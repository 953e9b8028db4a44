package input

import (
	"fmt"
	"image"
	"sync"
)

// Injector performs input events on a display.
type Injector interface {
	Apply(Event) error
}

// driver is one desktop's way to move the pointer, press and type: the
// calls robotgo's pure-Go backend for that desktop makes (x11 on Linux,
// win on Windows), which share their names and arguments.
type driver interface {
	Move(x, y int) error
	Toggle(button, upOrDown string) error
	Click(button string, double bool) error
	Scroll(dx, dy int) error
	KeyTap(key string, mods []string) error
	TypeStr(text string) error
	Close()
}

// Robot performs events on one monitor through a desktop's driver.
type Robot struct {
	mu     sync.Mutex
	bounds image.Rectangle // the shared monitor in desktop coordinates
	// pixels is the monitor's size as captured, when that differs from
	// its size in desktop coordinates (macOS counts points, and a Retina
	// display has two pixels to a point); zero when they are the same.
	pixels image.Point
	d      driver
}

// Close lets the driver go.
func (j *Robot) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.d.Close()
	return nil
}

// toDesktop maps captured pixels to desktop coordinates, clamped to the
// shared monitor so input cannot land on another one.
func (j *Robot) toDesktop(x, y int) (int, int) {
	if p := j.pixels; p.X > 0 && p.Y > 0 {
		x, y = x*j.bounds.Dx()/p.X, y*j.bounds.Dy()/p.Y
	}
	x = min(max(x, 0), j.bounds.Dx()-1)
	y = min(max(y, 0), j.bounds.Dy()-1)
	return j.bounds.Min.X + x, j.bounds.Min.Y + y
}

// Apply performs one event.
func (j *Robot) Apply(e Event) error {
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
	case Key:
		return wrap(j.d.KeyTap(e.Key, e.Mods))
	case Text:
		return wrap(j.d.TypeStr(e.Text))
	}
	// The pointer goes where the event happened first.
	if err := j.d.Move(j.toDesktop(e.X, e.Y)); err != nil {
		return wrap(err)
	}
	switch e.Type {
	case Down, Up:
		return wrap(j.d.Toggle(button, e.Type))
	case Click:
		return wrap(j.d.Click(button, e.Double))
	case Scroll:
		return wrap(j.d.Scroll(-e.DX, e.DY))
	}
	return nil
}

func wrap(err error) error {
	if err != nil {
		return fmt.Errorf("inject input: %w", err)
	}
	return nil
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
