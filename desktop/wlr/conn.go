//go:build linux

// Package wlr is a client of a wlroots Wayland compositor (sway, Hyprland,
// river, Wayfire, labwc): it captures outputs through wlr-screencopy into
// shared memory that stays mapped from one frame to the next, and moves,
// clicks and types through a virtual pointer and keyboard.
package wlr

import (
	"errors"
	"fmt"
	"image"
	"sync"
	"time"

	"github.com/vcaesar/go-wayland/client"
	xdgoutput "github.com/vcaesar/go-wayland/unstable/xdg-output-v1"
)

// ErrNoScreencopy: the compositor does not offer wlr-screencopy (GNOME
// and KDE do not).
var ErrNoScreencopy = errors.New("this Wayland compositor does not offer wlr-screencopy")

// answerTimeout bounds every wait for the compositor: one that takes
// longer is stuck, and the connection is closed.
const answerTimeout = 5 * time.Second

// Output is one monitor of the compositor.
type Output struct {
	Name string
	// Bounds is the output in the compositor's layout (logical pixels).
	Bounds image.Rectangle
	// Size is the output's mode in physical pixels, which a capture has.
	Size  image.Point
	Scale int
}

// Conn is a connection to the compositor. Its methods may be called from
// several goroutines; they run one at a time.
type Conn struct {
	mu       sync.Mutex
	display  *client.Display
	registry *client.Registry
	globals  map[string]global
	shm      *client.Shm
	seat     *client.Seat
	outputs  []*output
	manager  *manager // screencopy, when offered
	buf      *shmBuffer
	input    *virtualInput
	protoErr error // the compositor's last protocol error
	closed   bool
}

type global struct{ name, version uint32 }

type output struct {
	proxy         *client.Output
	name          string
	x, y          int32
	width, height int32
	scale         int32
	// logical is the output in the layout, as xdg-output tells it: wl_output's
	// own position is 0,0 on wlroots whatever the layout.
	logical image.Rectangle
}

// Dial connects to the compositor named by $WAYLAND_DISPLAY in
// $XDG_RUNTIME_DIR and learns its outputs.
func Dial() (*Conn, error) {
	display, err := client.Connect("")
	if err != nil {
		return nil, fmt.Errorf("connect to the Wayland compositor: %w", err)
	}
	c := &Conn{display: display, globals: map[string]global{}}
	display.SetErrorHandler(func(e client.DisplayErrorEvent) {
		c.protoErr = fmt.Errorf("the Wayland compositor reported error %d: %s", e.Code, e.Message)
	})
	err = c.answered(c.bind)
	if err != nil {
		_ = display.Context().Close()
		return nil, err
	}
	return c, nil
}

// answered runs fn, closing the connection if the compositor keeps it
// waiting longer than answerTimeout: reads on it have no deadline.
func (c *Conn) answered(fn func() error) error {
	watchdog := time.AfterFunc(answerTimeout, func() { _ = c.display.Context().Close() })
	err := fn()
	if !watchdog.Stop() {
		c.closed = true
		return fmt.Errorf("the Wayland compositor did not answer in %v", answerTimeout)
	}
	return err
}

// bind lists the globals, binds the ones every use needs, and waits
// until every output has told its geometry and mode.
func (c *Conn) bind() error {
	registry, err := c.display.GetRegistry()
	if err != nil {
		return fmt.Errorf("wayland registry: %w", err)
	}
	c.registry = registry
	registry.SetGlobalHandler(func(e client.RegistryGlobalEvent) {
		if _, seen := c.globals[e.Interface]; !seen || e.Interface == "wl_output" {
			c.globals[e.Interface] = global{e.Name, e.Version}
		}
		if e.Interface == "wl_output" {
			c.bindOutput(e)
		}
	})
	if err := c.roundtrip(); err != nil {
		return err
	}
	shm, ok := c.globals["wl_shm"]
	seat, ok2 := c.globals["wl_seat"]
	if !ok || !ok2 || len(c.outputs) == 0 {
		return errors.New("the Wayland compositor offers no shared memory, seat or output")
	}
	c.shm, c.seat = client.NewShm(c.display.Context()), client.NewSeat(c.display.Context())
	if err := c.registry.Bind(shm.name, "wl_shm", 1, c.shm); err != nil {
		return c.failed(err)
	}
	if err := c.registry.Bind(seat.name, "wl_seat", 1, c.seat); err != nil {
		return c.failed(err)
	}
	if g, ok := c.globals[managerInterface]; ok {
		c.manager = &manager{ver: min(g.version, managerVersion)}
		c.display.Context().Register(c.manager)
		if err := c.registry.Bind(g.name, managerInterface, c.manager.ver, c.manager); err != nil {
			return c.failed(err)
		}
	}
	// The outputs' geometry and modes come in answer to their binding.
	if err := c.roundtrip(); err != nil {
		return err
	}
	return c.placeOutputs()
}

// placeOutputs learns where each output is in the layout, through
// xdg-output where the compositor offers it (every wlroots one does).
func (c *Conn) placeOutputs() error {
	g, ok := c.globals[xdgoutput.OutputManagerInterfaceName]
	if !ok {
		return nil
	}
	m := xdgoutput.NewOutputManager(c.display.Context())
	if err := c.registry.Bind(g.name, xdgoutput.OutputManagerInterfaceName, min(g.version, 2), m); err != nil {
		return c.failed(err)
	}
	var xdgs []*xdgoutput.Output
	for _, o := range c.outputs {
		x, err := m.GetXdgOutput(o.proxy)
		if err != nil {
			return c.failed(err)
		}
		x.SetLogicalPositionHandler(func(e xdgoutput.OutputLogicalPositionEvent) {
			o.logical = image.Rect(int(e.X), int(e.Y), int(e.X)+o.logical.Dx(), int(e.Y)+o.logical.Dy())
		})
		x.SetLogicalSizeHandler(func(e xdgoutput.OutputLogicalSizeEvent) {
			o.logical.Max = o.logical.Min.Add(image.Pt(int(e.Width), int(e.Height)))
		})
		xdgs = append(xdgs, x)
	}
	err := c.roundtrip()
	for _, x := range xdgs {
		_ = x.Destroy()
	}
	_ = m.Destroy()
	return err
}

func (c *Conn) bindOutput(e client.RegistryGlobalEvent) {
	o := &output{proxy: client.NewOutput(c.display.Context()), scale: 1}
	o.proxy.SetGeometryHandler(func(g client.OutputGeometryEvent) { o.x, o.y = g.X, g.Y })
	o.proxy.SetModeHandler(func(m client.OutputModeEvent) {
		if m.Flags&1 != 0 { // the current mode
			o.width, o.height = m.Width, m.Height
		}
	})
	o.proxy.SetScaleHandler(func(s client.OutputScaleEvent) { o.scale = max(1, s.Factor) })
	o.proxy.SetNameHandler(func(n client.OutputNameEvent) { o.name = n.Name })
	c.outputs = append(c.outputs, o)
	if err := c.registry.Bind(e.Name, e.Interface, min(e.Version, 4), o.proxy); err != nil {
		c.protoErr = err
	}
}

// Outputs lists the compositor's monitors.
func (c *Conn) Outputs() []Output {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Output, 0, len(c.outputs))
	for i, o := range c.outputs {
		name := o.name
		if name == "" {
			name = fmt.Sprintf("output %d", i)
		}
		s := max(1, int(o.scale))
		bounds := o.logical
		if bounds.Empty() {
			bounds = image.Rect(int(o.x), int(o.y), int(o.x)+int(o.width)/s, int(o.y)+int(o.height)/s)
		}
		out = append(out, Output{
			Name:   name,
			Bounds: bounds,
			Size:   image.Pt(int(o.width), int(o.height)),
			Scale:  s,
		})
	}
	return out
}

// dispatchUntil handles the compositor's events until done says so. Events
// for objects already let go (a buffer's release after its destruction)
// are skipped.
func (c *Conn) dispatchUntil(done func() bool) error {
	ctx := c.display.Context()
	for !done() {
		if err := ctx.GetDispatch()(); err != nil && !errors.Is(err, client.ErrDispatchSenderNotFound) {
			return c.failed(err)
		}
		if c.protoErr != nil {
			return c.failed(c.protoErr)
		}
	}
	return nil
}

// roundtrip waits until the compositor has handled every request sent.
func (c *Conn) roundtrip() error {
	cb, err := c.display.Sync()
	if err != nil {
		return c.failed(err)
	}
	done := false
	cb.SetDoneHandler(func(client.CallbackDoneEvent) { done = true })
	defer c.display.Context().Unregister(cb)
	return c.dispatchUntil(func() bool { return done })
}

// failed marks the connection unusable: after a protocol or socket error
// the compositor's state and ours no longer agree.
func (c *Conn) failed(err error) error {
	c.closed = true
	if c.protoErr != nil {
		return c.protoErr
	}
	return fmt.Errorf("wayland: %w", err)
}

// usable says why the connection cannot be used, if it cannot.
func (c *Conn) usable() error {
	if c.closed {
		return errors.New("the Wayland connection is closed")
	}
	return nil
}

// Close releases the buffer, the virtual devices and the connection.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf != nil {
		c.buf.unmap()
		c.buf = nil
	}
	if c.input != nil {
		c.input.close()
	}
	c.closed = true
	return c.display.Context().Close()
}
