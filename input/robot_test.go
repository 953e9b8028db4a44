package input

import (
	"fmt"
	"image"
	"testing"
)

// calls records what a Robot asks of its desktop, in place of one.
type calls []string

func (c *calls) add(f string, a ...any) error { *c = append(*c, fmt.Sprintf(f, a...)); return nil }

func (c *calls) Move(x, y int) error                    { return c.add("move %d %d", x, y) }
func (c *calls) Toggle(b, upOrDown string) error        { return c.add("toggle %s %s", b, upOrDown) }
func (c *calls) Click(b string, double bool) error      { return c.add("click %s %v", b, double) }
func (c *calls) Scroll(dx, dy int) error                { return c.add("scroll %d %d", dx, dy) }
func (c *calls) KeyTap(key string, mods []string) error { return c.add("key %s %v", key, mods) }
func (c *calls) TypeStr(text string) error              { return c.add("type %s", text) }
func (c *calls) Close()                                 {}

// A Retina display is captured at two pixels to the point that macOS
// counts in: the rep's pixels become the display's points.
func TestCapturedPixelsBecomeTheDesktopsPoints(t *testing.T) {
	var c calls
	// The second display, right of a 1440-point one, 1440x900 points.
	j := &Robot{bounds: image.Rect(1440, 0, 2880, 900), pixels: image.Pt(2880, 1800), d: &c}
	for _, e := range []Event{
		{Type: Click, X: 2000, Y: 1000},
		{Type: Move, X: 5000, Y: 5000}, // clamped to the display
		{Type: Scroll, X: 1, Y: 1, DY: 3},
	} {
		if err := j.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	want := calls{"move 2440 500", "click left false", "move 2879 899", "move 1440 0", "scroll 0 3"}
	if fmt.Sprint(c) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", c, want)
	}
}

// Without a pixel size the pixels are the desktop's.
func TestPixelsAreTheDesktopsWhenTheSizesAgree(t *testing.T) {
	var c calls
	j := &Robot{bounds: image.Rect(0, 0, 800, 600), d: &c}
	if err := j.Apply(Event{Type: Down, X: 799, Y: 0, Button: "right"}); err != nil {
		t.Fatal(err)
	}
	if want := (calls{"move 799 0", "toggle right down"}); fmt.Sprint(c) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", c, want)
	}
}
