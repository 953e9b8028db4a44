//go:build linux

package input

import (
	"image"

	"assist/desktop/wlr"
)

// NewWaylandInjector returns an injector for output i of a wlroots
// compositor, through a virtual pointer and keyboard on its own
// connection. size is the output in captured pixels: events arrive in
// those, and the pointer is mapped onto the output, so the compositor
// does the scaling of a HiDPI output.
func NewWaylandInjector(output int, size image.Point) (*Robot, error) {
	c, err := wlr.Dial()
	if err != nil {
		return nil, err
	}
	if err := c.OpenInput(output); err != nil {
		c.Close()
		return nil, err
	}
	return &Robot{bounds: image.Rectangle{Max: size}, d: waylandDriver{c}}, nil
}

// waylandDriver puts robotgo's names on the virtual devices. robotgo's own
// Wayland backend is not used: its connection dies at the first window
// that opens (it cannot take the toplevel objects sway creates).
type waylandDriver struct{ c *wlr.Conn }

func (d waylandDriver) Move(x, y int) error { return d.c.MoveTo(x, y) }

func (d waylandDriver) Toggle(button, upOrDown string) error {
	return d.c.Button(button, upOrDown == Down)
}

func (d waylandDriver) Click(button string, double bool) error {
	for range 1 + btoi(double) {
		if err := d.c.Button(button, true); err != nil {
			return err
		}
		if err := d.c.Button(button, false); err != nil {
			return err
		}
	}
	return nil
}

// Scroll takes robotgo's sense (positive is up and left).
func (d waylandDriver) Scroll(dx, dy int) error { return d.c.Scroll(-dx, -dy) }

func (d waylandDriver) KeyTap(key string, mods []string) error { return d.c.Key(key, mods) }
func (d waylandDriver) TypeStr(text string) error              { return d.c.Type(text) }
func (d waylandDriver) Close()                                 { _ = d.c.Close() }

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
