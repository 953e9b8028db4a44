package xlab

import (
	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// Pointer says where the X pointer of display is, in root coordinates.
func Pointer(display string) (x, y int, err error) {
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	root := xproto.Setup(c).DefaultScreen(c).Root
	p, err := xproto.QueryPointer(c, root).Reply()
	if err != nil {
		return 0, 0, err
	}
	return int(p.RootX), int(p.RootY), nil
}
