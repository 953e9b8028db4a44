package xlab

import (
	"fmt"
	"image"

	"github.com/jezek/xgb/randr"
	"github.com/jezek/xgb/xproto"
)

// SplitMonitors turns the display's one screen into the given monitors, as
// a laptop with an external screen looks to X clients: RandR 1.5 monitors,
// which the server also reports through Xinerama. Xvfb cannot lay out
// screens of its own (with +xinerama it stacks them all at 0,0).
func SplitMonitors(display string, monitors ...image.Rectangle) error {
	c, err := connect(display)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := randr.Init(c); err != nil {
		return fmt.Errorf("RandR: %w", err)
	}
	root := xproto.Setup(c).DefaultScreen(c).Root
	// A monitor given an output takes the place of the one the server
	// made for it, which covers the whole screen.
	res, err := randr.GetScreenResources(c, root).Reply()
	if err != nil || len(res.Outputs) == 0 {
		return fmt.Errorf("RandR outputs: %v", err)
	}
	for i, r := range monitors {
		name := fmt.Sprintf("ASSIST-TEST-%d", i)
		atom, err := xproto.InternAtom(c, false, uint16(len(name)), name).Reply()
		if err != nil {
			return err
		}
		info := randr.MonitorInfo{
			Name: atom.Atom, Primary: i == 0,
			X: int16(r.Min.X), Y: int16(r.Min.Y), Width: uint16(r.Dx()), Height: uint16(r.Dy()),
			WidthInMillimeters: uint32(r.Dx() / 4), HeightInMillimeters: uint32(r.Dy() / 4),
		}
		if i == 0 {
			info.NOutput, info.Outputs = 1, res.Outputs[:1]
		}
		if err := randr.SetMonitorChecked(c, root, info).Check(); err != nil {
			return fmt.Errorf("add monitor %v: %w", r, err)
		}
	}
	return nil
}
