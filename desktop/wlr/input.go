//go:build linux

package wlr

import (
	"errors"
	"fmt"
	"image"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// virtualInput is a virtual pointer and keyboard on one output.
type virtualInput struct {
	pointer, keyboard *requestOnly
	// extent is the coordinate space of an absolute move, and origin
	// where the output sits in it: the output in physical pixels when the
	// pointer is mapped onto it, else the whole layout.
	extent, origin image.Point
	mapped         bool
	scale          int
	keys           keymap
	uploaded       int // how many of keys.syms the compositor has
	start          time.Time
}

// ErrNoVirtualInput: the compositor offers no virtual pointer or keyboard.
var ErrNoVirtualInput = errors.New("this Wayland compositor offers no virtual pointer or keyboard")

// OpenInput makes a virtual pointer and keyboard for output i. Moves are
// then in that output's pixels, as captured.
func (c *Conn) OpenInput(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(); err != nil {
		return err
	}
	pm, ok := c.globals[VirtualPointer]
	km, ok2 := c.globals[VirtualKeyboard]
	if !ok || !ok2 {
		return ErrNoVirtualInput
	}
	if i < 0 || i >= len(c.outputs) {
		return fmt.Errorf("no output %d (there are %d)", i, len(c.outputs))
	}
	ctx := c.display.Context()
	pointerMgr, keyboardMgr := newObject(ctx), newObject(ctx)
	pmVersion := min(pm.version, 2)
	if err := c.registry.Bind(pm.name, VirtualPointer, pmVersion, pointerMgr); err != nil {
		return c.failed(err)
	}
	if err := c.registry.Bind(km.name, VirtualKeyboard, 1, keyboardMgr); err != nil {
		return c.failed(err)
	}
	in := &virtualInput{pointer: newObject(ctx), keyboard: newObject(ctx), keys: newKeymap(), start: time.Now()}
	o := c.outputs[i]
	in.scale = max(1, int(o.scale))
	var err error
	if pmVersion >= 2 {
		// Mapped onto the output: the compositor scales our pixels.
		err = pointerMgr.send(createPointerWithOutput, c.seat.ID(), o.proxy.ID(), in.pointer.ID())
		in.extent, in.mapped = image.Pt(int(o.width), int(o.height)), true
	} else {
		err = pointerMgr.send(createPointer, c.seat.ID(), in.pointer.ID())
		in.extent, in.origin = c.layout(), image.Pt(int(o.x), int(o.y))
	}
	if err == nil {
		err = keyboardMgr.send(createKeyboard, c.seat.ID(), in.keyboard.ID())
	}
	if err != nil {
		return c.failed(err)
	}
	c.input = in
	return c.answered(func() error {
		if err := in.uploadKeymap(); err != nil {
			return c.failed(err)
		}
		return c.roundtrip()
	})
}

// layout is the size of the union of the outputs, from the origin, in
// logical pixels: what an unmapped pointer's absolute moves span.
func (c *Conn) layout() image.Point {
	var u image.Rectangle
	for _, o := range c.outputs {
		s := max(1, o.scale)
		u = u.Union(image.Rect(int(o.x), int(o.y), int(o.x+o.width/s), int(o.y+o.height/s)))
	}
	return u.Max
}

// do runs one input action and waits for the compositor to take it, so a
// protocol error shows here and its events do not pile up unread.
func (c *Conn) do(action func(in *virtualInput) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(); err != nil {
		return err
	}
	if c.input == nil {
		return errors.New("wayland: no virtual input opened")
	}
	return c.answered(func() error {
		if err := action(c.input); err != nil {
			return c.failed(err)
		}
		return c.roundtrip()
	})
}

func (in *virtualInput) now() uint32 { return uint32(time.Since(in.start).Milliseconds()) }

// MoveTo puts the pointer at x, y of the output, in captured pixels.
func (c *Conn) MoveTo(x, y int) error {
	return c.do(func(in *virtualInput) error {
		if !in.mapped {
			x, y = in.origin.X+x/in.scale, in.origin.Y+y/in.scale
		}
		if err := in.pointer.send(pointerMotionAbsolute, in.now(), uint32(x), uint32(y), uint32(in.extent.X), uint32(in.extent.Y)); err != nil {
			return err
		}
		return in.pointer.send(pointerFrame)
	})
}

// Linux input event codes of the mouse buttons.
var buttonCodes = map[string]uint32{"left": 0x110, "right": 0x111, "middle": 0x112}

// Button presses (down) or releases a mouse button: left, right or middle.
func (c *Conn) Button(button string, down bool) error {
	code, ok := buttonCodes[button]
	if !ok {
		return fmt.Errorf("no mouse button %q", button)
	}
	state := uint32(0)
	if down {
		state = 1
	}
	return c.do(func(in *virtualInput) error {
		if err := in.pointer.send(pointerButton, in.now(), code, state); err != nil {
			return err
		}
		return in.pointer.send(pointerFrame)
	})
}

// Scroll turns the wheel by dy notches down and dx right (negative for up
// and left).
func (c *Conn) Scroll(dx, dy int) error {
	const step = 15 // axis units per notch, as libinput reports a wheel
	return c.do(func(in *virtualInput) error {
		if err := in.pointer.send(pointerAxisSource, 0); err != nil { // a wheel
			return err
		}
		for axis, n := range [2]int{dy, dx} { // 0 vertical, 1 horizontal
			if n != 0 {
				if err := in.pointer.send(pointerAxisDiscrete, in.now(), uint32(axis), fixed(float64(n*step)), uint32(int32(n))); err != nil {
					return err
				}
			}
		}
		return in.pointer.send(pointerFrame)
	})
}

// Modifier masks of the keymap's real modifiers.
var modMasks = map[string]uint32{"shift": 1 << 0, "ctrl": 1 << 2, "alt": 1 << 3, "cmd": 1 << 6}

// Key taps a key (a name such as "enter" or "f5", or one character) with
// modifiers (shift, ctrl, alt, cmd) held.
func (c *Conn) Key(key string, mods []string) error {
	sym, err := keysym(key)
	if err != nil {
		return err
	}
	var mask uint32
	for _, m := range mods {
		bit, ok := modMasks[m]
		if !ok {
			return fmt.Errorf("no modifier %q", m)
		}
		mask |= bit
	}
	return c.do(func(in *virtualInput) error {
		if mask != 0 {
			if err := in.keyboard.send(keyboardModifiers, mask, 0, 0, 0); err != nil {
				return err
			}
		}
		if err := in.tap(sym); err != nil {
			return err
		}
		if mask != 0 {
			return in.keyboard.send(keyboardModifiers, 0, 0, 0, 0)
		}
		return nil
	})
}

// Type types text, any characters: each gets a key of its own in the
// virtual keyboard's keymap, so no layout limits what can be typed.
func (c *Conn) Type(text string) error {
	syms := make([]string, 0, len(text))
	for _, r := range text {
		sym, err := keysym(string(r))
		if err != nil {
			return err
		}
		syms = append(syms, sym)
	}
	return c.do(func(in *virtualInput) error {
		for _, sym := range syms {
			if err := in.tap(sym); err != nil {
				return err
			}
		}
		return nil
	})
}

// tap presses and releases the key of sym, giving it one in the keymap
// first if it has none.
func (in *virtualInput) tap(sym string) error {
	code, fresh := in.keys.code(sym)
	if fresh || in.uploaded != len(in.keys.syms) {
		if err := in.uploadKeymap(); err != nil {
			return err
		}
	}
	t := in.now()
	if err := in.keyboard.send(keyboardKey, t, code, 1); err != nil {
		return err
	}
	return in.keyboard.send(keyboardKey, t, code, 0)
}

// uploadKeymap gives the compositor the keymap through a memfd, as the
// protocol asks.
func (in *virtualInput) uploadKeymap() error {
	text := append([]byte(in.keys.text()), 0)
	fd, err := unix.MemfdCreate("assist-keymap", unix.MFD_CLOEXEC)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), "assist-keymap")
	defer f.Close() // the compositor has its own copy once sent
	if _, err := f.Write(text); err != nil {
		return err
	}
	const xkbV1 = 1
	msg := message(in.keyboard.ID(), keyboardKeymap, xkbV1, uint32(len(text)))
	if err := in.keyboard.Context().WriteMsg(msg, unix.UnixRights(fd)); err != nil {
		return err
	}
	in.uploaded = len(in.keys.syms)
	return nil
}

func (in *virtualInput) close() {
	_ = in.keyboard.send(keyboardDestroy)
	_ = in.pointer.send(pointerDestroy)
}

// keysym names the X keysym a key or character produces.
func keysym(key string) (string, error) {
	if s, ok := namedKeys[key]; ok {
		return s, nil
	}
	r := []rune(key)
	if len(r) != 1 || r[0] < 0x20 || r[0] == 0x7f || r[0] > 0x10ffff {
		return "", fmt.Errorf("no key %q", key)
	}
	return fmt.Sprintf("U%04X", r[0]), nil
}

// namedKeys are the keys a viewer names (see input.Event), as keysyms.
var namedKeys = map[string]string{
	"enter": "Return", "backspace": "BackSpace", "tab": "Tab", "escape": "Escape",
	"delete": "Delete", "insert": "Insert", "home": "Home", "end": "End",
	"pageup": "Prior", "pagedown": "Next", "up": "Up", "down": "Down", "left": "Left",
	"right": "Right", "space": "space", "menu": "Menu", "capslock": "Caps_Lock",
	"f1": "F1", "f2": "F2", "f3": "F3", "f4": "F4", "f5": "F5", "f6": "F6",
	"f7": "F7", "f8": "F8", "f9": "F9", "f10": "F10", "f11": "F11", "f12": "F12",
}

// keymap gives each keysym typed so far a keycode of its own, the way
// wtype does: evdev code i+1 (XKB keycode i+9) types syms[i].
type keymap struct {
	syms  []string
	index map[string]int
}

// maxKeys bounds the keymap; past it, it starts again.
const maxKeys = 240

func newKeymap() keymap {
	return keymap{index: map[string]int{}}
}

// code returns sym's evdev code, and whether sym is new to the keymap.
func (k *keymap) code(sym string) (uint32, bool) {
	if i, ok := k.index[sym]; ok {
		return uint32(i + 1), false
	}
	if len(k.syms) >= maxKeys {
		*k = newKeymap()
	}
	k.index[sym] = len(k.syms)
	k.syms = append(k.syms, sym)
	return uint32(len(k.syms)), true
}

// text is the keymap in XKB's text format. The types and compat sections
// are the standard ones, so modifiers sent as a mask mean what they say.
func (k *keymap) text() string {
	var b strings.Builder
	b.WriteString("xkb_keymap {\nxkb_keycodes \"assist\" {\n\tminimum = 8;\n\tmaximum = 255;\n")
	for i := range k.syms {
		fmt.Fprintf(&b, "\t<K%d> = %d;\n", i+1, i+9)
	}
	b.WriteString("};\nxkb_types \"assist\" { include \"complete\" };\nxkb_compat \"assist\" { include \"complete\" };\nxkb_symbols \"assist\" {\n")
	for i, s := range k.syms {
		fmt.Fprintf(&b, "\tkey <K%d> { [ %s ] };\n", i+1, s)
	}
	b.WriteString("};\n};\n")
	return b.String()
}
