//go:build windows

package input

import (
	"errors"
	"fmt"
	"image"
	"strings"
	"unicode/utf16"
	"unsafe"

	w32 "github.com/tailscale/win"
	"golang.org/x/sys/windows"
)

// NewWindowsInjector returns an injector for the monitor at bounds (in
// virtual-screen coordinates), through SendInput: a key chord, a text or
// a click goes in one call, so that nothing the user does comes between
// its events, every button event carries where it happens (not where a
// cursor move before it may or may not have got to), and a refusal is an
// error, where robotgo's win backend drops it.
func NewWindowsInjector(bounds image.Rectangle) (*Robot, error) {
	return &Robot{bounds: bounds, d: &winDriver{}}, nil
}

type winDriver struct {
	x, y int // where the pointer was sent last
}

func (d *winDriver) Move(x, y int) error {
	d.x, d.y = x, y
	return sendInput([]w32.MOUSE_INPUT{d.mouse(0)})
}

// Toggle presses or releases a button where the pointer was sent.
func (d *winDriver) Toggle(button, upOrDown string) error {
	flags, err := buttonFlags(button, upOrDown == Up)
	if err != nil {
		return err
	}
	return sendInput([]w32.MOUSE_INPUT{d.mouse(flags)})
}

func (d *winDriver) Click(button string, double bool) error {
	down, err := buttonFlags(button, false)
	if err != nil {
		return err
	}
	up, _ := buttonFlags(button, true)
	ins := []w32.MOUSE_INPUT{d.mouse(down), d.mouse(up)}
	if double {
		ins = append(ins, ins...)
	}
	return sendInput(ins)
}

// Scroll turns the wheel: robotgo's sense, positive is up and left.
func (d *winDriver) Scroll(dx, dy int) error {
	const notch = 120 // WHEEL_DELTA
	var ins []w32.MOUSE_INPUT
	if dy != 0 {
		in := d.mouse(w32.MOUSEEVENTF_WHEEL)
		in.Mi.MouseData = uint32(int32(dy * notch))
		ins = append(ins, in)
	}
	if dx != 0 { // the horizontal wheel counts right as positive
		in := d.mouse(w32.MOUSEEVENTF_HWHEEL)
		in.Mi.MouseData = uint32(int32(-dx * notch))
		ins = append(ins, in)
	}
	return sendInput(ins)
}

func (*winDriver) Close() {}

// mouse is an event at the last position sent, in SendInput's absolute
// coordinates: 0 to 65535 across the virtual screen (all monitors).
func (d *winDriver) mouse(flags uint32) w32.MOUSE_INPUT {
	vx, vy := w32.GetSystemMetrics(w32.SM_XVIRTUALSCREEN), w32.GetSystemMetrics(w32.SM_YVIRTUALSCREEN)
	cx, cy := w32.GetSystemMetrics(w32.SM_CXVIRTUALSCREEN), w32.GetSystemMetrics(w32.SM_CYVIRTUALSCREEN)
	return w32.MOUSE_INPUT{Type: w32.INPUT_MOUSE, Mi: w32.MOUSEINPUT{
		Dx:      normalize(d.x-int(vx), int(cx)),
		Dy:      normalize(d.y-int(vy), int(cy)),
		DwFlags: flags | w32.MOUSEEVENTF_MOVE | w32.MOUSEEVENTF_ABSOLUTE | w32.MOUSEEVENTF_VIRTUALDESK,
	}}
}

// normalize maps pixel p of n onto 0..65535, rounding to the nearest, so
// that mapping back by either n or n-1 gives p again.
func normalize(p, n int) int32 {
	if n <= 1 {
		return 0
	}
	return int32((p*65535 + (n-1)/2) / (n - 1))
}

func buttonFlags(button string, up bool) (uint32, error) {
	flags := map[string][2]uint32{
		"left":   {w32.MOUSEEVENTF_LEFTDOWN, w32.MOUSEEVENTF_LEFTUP},
		"right":  {w32.MOUSEEVENTF_RIGHTDOWN, w32.MOUSEEVENTF_RIGHTUP},
		"middle": {w32.MOUSEEVENTF_MIDDLEDOWN, w32.MOUSEEVENTF_MIDDLEUP},
	}[button]
	if flags[0] == 0 {
		return 0, fmt.Errorf("no mouse button %q", button)
	}
	if up {
		return flags[1], nil
	}
	return flags[0], nil
}

// TypeStr types text as Unicode key events, UTF-16 unit by unit: no
// keyboard layout limits what can be typed.
func (*winDriver) TypeStr(text string) error {
	var ins []w32.KEYBD_INPUT
	for _, u := range utf16.Encode([]rune(text)) {
		ins = append(ins, keyInput(0, u, w32.KEYEVENTF_UNICODE), keyInput(0, u, w32.KEYEVENTF_UNICODE|w32.KEYEVENTF_KEYUP))
	}
	return sendInput(ins)
}

// KeyTap presses key with mods held and lets all go, in one call.
func (*winDriver) KeyTap(key string, mods []string) error {
	vk, err := virtualKey(key)
	if err != nil {
		return err
	}
	var down, up []w32.KEYBD_INPUT
	for _, m := range mods {
		mvk, ok := modifierKeys[m]
		if !ok {
			return fmt.Errorf("no modifier %q", m)
		}
		down = append(down, vkInput(mvk, false))
		up = append([]w32.KEYBD_INPUT{vkInput(mvk, true)}, up...)
	}
	ins := append(down, vkInput(vk, false), vkInput(vk, true))
	return sendInput(append(ins, up...))
}

var procSendInput = windows.NewLazySystemDLL("user32.dll").NewProc("SendInput")

// sendInput inserts events into the input stream, all or none.
func sendInput[T w32.KEYBD_INPUT | w32.MOUSE_INPUT](ins []T) error {
	if len(ins) == 0 {
		return nil
	}
	n, _, errno := procSendInput.Call(uintptr(len(ins)), uintptr(unsafe.Pointer(&ins[0])), unsafe.Sizeof(ins[0]))
	if int(n) != len(ins) {
		return fmt.Errorf("windows took %d of %d input events: %w", n, len(ins), errno)
	}
	return nil
}

func keyInput(vk, scan uint16, flags uint32) w32.KEYBD_INPUT {
	return w32.KEYBD_INPUT{Type: w32.INPUT_KEYBOARD, Ki: w32.KEYBDINPUT{WVk: vk, WScan: scan, DwFlags: flags}}
}

var procMapVirtualKey = windows.NewLazySystemDLL("user32.dll").NewProc("MapVirtualKeyW")

// vkInput is a virtual key going down or up, with its scan code: programs
// that read raw input ignore events without one.
func vkInput(vk uint16, up bool) w32.KEYBD_INPUT {
	scan, _, _ := procMapVirtualKey.Call(uintptr(vk), 0) // MAPVK_VK_TO_VSC
	flags := uint32(0)
	if extendedKeys[vk] {
		flags |= w32.KEYEVENTF_EXTENDEDKEY
	}
	if up {
		flags |= w32.KEYEVENTF_KEYUP
	}
	return keyInput(vk, uint16(scan), flags)
}

// virtualKey is the key a viewer names (see Event), or the key of the
// current layout that types a character.
func virtualKey(key string) (uint16, error) {
	if vk, ok := namedKeys[strings.ToLower(key)]; ok {
		return vk, nil
	}
	if r := []rune(key); len(r) == 1 && r[0] <= 0xffff {
		if res := w32.VkKeyScan(uint16(r[0])); res != -1 {
			return uint16(res & 0xff), nil
		}
	}
	return 0, errors.New("no key " + key + " on this keyboard layout")
}

var modifierKeys = map[string]uint16{"shift": 0x10, "ctrl": 0x11, "alt": 0x12, "cmd": 0x5B}

var namedKeys = map[string]uint16{
	"enter": 0x0D, "backspace": 0x08, "tab": 0x09, "escape": 0x1B, "delete": 0x2E, "insert": 0x2D,
	"home": 0x24, "end": 0x23, "pageup": 0x21, "pagedown": 0x22, "up": 0x26, "down": 0x28,
	"left": 0x25, "right": 0x27, "space": 0x20, "menu": 0x5D, "capslock": 0x14,
	"f1": 0x70, "f2": 0x71, "f3": 0x72, "f4": 0x73, "f5": 0x74, "f6": 0x75,
	"f7": 0x76, "f8": 0x77, "f9": 0x78, "f10": 0x79, "f11": 0x7A, "f12": 0x7B,
}

// extendedKeys sit on the extended part of the keyboard; Windows tells
// them from their numeric-keypad twins by the flag.
var extendedKeys = map[uint16]bool{
	0x2E: true, 0x2D: true, 0x24: true, 0x23: true, 0x21: true, 0x22: true,
	0x26: true, 0x28: true, 0x25: true, 0x27: true, 0x5D: true, 0x5B: true,
}
