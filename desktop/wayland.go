//go:build linux

package desktop

import (
	"errors"
	"fmt"
	"image"
	"os"
	"strings"
	"sync"

	"assist/desktop/wlr"
	"assist/input"
	"assist/screen"
)

// wayland captures a wlroots compositor (sway, Hyprland, river, Wayfire,
// labwc) with wlr-screencopy and injects through its virtual pointer and
// keyboard.
type wayland struct{}

func openWayland() (Backend, error) {
	c, err := wlr.Dial()
	if errors.Is(err, wlr.ErrNoScreencopy) {
		return nil, fmt.Errorf("%s: %w", noScreencopyAdvice(), err)
	}
	if err != nil {
		return nil, err
	}
	c.Close()
	return wayland{}, nil
}

// noScreencopyAdvice says what would work on a Wayland desktop that cannot
// be captured: GNOME and KDE share the screen only through the portal.
func noScreencopyAdvice() string {
	d := os.Getenv("XDG_CURRENT_DESKTOP")
	if d == "" {
		d = "this Wayland desktop"
	}
	advice := "assist cannot capture " + d + " yet"
	switch {
	case strings.Contains(strings.ToUpper(d), "GNOME"):
		advice += ": choose \"GNOME on Xorg\" at the login screen"
	case strings.Contains(strings.ToUpper(d), "KDE"):
		advice += ": choose \"Plasma (X11)\" at the login screen"
	default:
		advice += ": log in to an X11 session, or use a wlroots compositor (sway, Hyprland, river, Wayfire, labwc)"
	}
	return advice
}

func (wayland) Name() string { return "Wayland (wlroots)" }

func (wayland) Displays() ([]screen.Display, error) {
	c, err := wlr.Dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	outs := c.Outputs()
	ds := make([]screen.Display, len(outs))
	for i, o := range outs {
		ds[i] = screen.Display{Index: i, Bounds: o.Bounds}
	}
	return ds, nil
}

func (wayland) OpenScreen(display int) (Screen, error) {
	c, err := wlr.Dial()
	if err != nil {
		return nil, err
	}
	outs := c.Outputs()
	if display < 0 || display >= len(outs) {
		c.Close()
		return nil, fmt.Errorf("no monitor %d (there are %d)", display, len(outs))
	}
	return &wlScreen{conn: c, index: display, bounds: outs[display].Bounds}, nil
}

// OpenInput finds the output at bounds and opens virtual devices on it.
func (wayland) OpenInput(bounds image.Rectangle) (Injector, error) {
	c, err := wlr.Dial()
	if err != nil {
		return nil, err
	}
	outs := c.Outputs()
	c.Close()
	for i, o := range outs {
		if o.Bounds == bounds {
			in, err := input.NewWaylandInjector(i, o.Size)
			if errors.Is(err, wlr.ErrNoVirtualInput) {
				return nil, fmt.Errorf("%w, so the rep can watch but not control", err)
			}
			return in, err
		}
	}
	return nil, fmt.Errorf("no Wayland output at %v any more", bounds)
}

// wlScreen is one output captured over its own compositor connection, or,
// while a sender watches it, through that watch's latest picture.
type wlScreen struct {
	conn   *wlr.Conn
	index  int
	bounds image.Rectangle

	mu    sync.Mutex
	watch *wlr.Watch
}

func (s *wlScreen) Bounds() image.Rectangle { return s.bounds }

func (s *wlScreen) Close() error {
	s.mu.Lock()
	w := s.watch
	s.watch = nil
	s.mu.Unlock()
	if w != nil {
		w.Close()
	}
	return s.conn.Close()
}

func (s *wlScreen) Capture(f *screen.Frame) error {
	s.mu.Lock()
	w := s.watch
	s.mu.Unlock()
	var pix []byte
	var size image.Point
	var err error
	if w != nil {
		pix, size, err = w.Latest(f.Pix)
	} else {
		pix, size, err = s.conn.Capture(s.index, f.Pix)
	}
	if err != nil {
		return fmt.Errorf("capture screen: %w", err)
	}
	f.Pix, f.W, f.H = pix, size.X, size.Y
	return nil
}

// WatchDamage makes the compositor say when the output changed (one
// watch at a time; a second sender compares frames).
func (s *wlScreen) WatchDamage() (screen.DamageWatch, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watch != nil {
		return nil, errors.New("the output is watched already")
	}
	w, err := wlr.WatchDamage(s.index)
	if err != nil {
		return nil, err
	}
	s.watch = w
	return &wlDamage{s: s, w: w}, nil
}

// wlDamage is a sender's view of the watch.
type wlDamage struct {
	s *wlScreen
	w *wlr.Watch
}

func (d *wlDamage) Changed() <-chan struct{} { return d.w.Changed() }

func (d *wlDamage) Take() ([]image.Rectangle, error) {
	rects, whole, err := d.w.Take()
	if whole {
		return []image.Rectangle{image.Rect(0, 0, 1<<15, 1<<15)}, err
	}
	return rects, err
}

func (d *wlDamage) Close() {
	d.s.mu.Lock()
	if d.s.watch == d.w {
		d.s.watch = nil
	}
	d.s.mu.Unlock()
	d.w.Close()
}
