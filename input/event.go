// Package input carries mouse and keyboard events from a viewer to the
// customer's display: the event format and its validation, the injector
// (robotgo's pure-Go X11 backend behind an interface) and the customer-side
// gate that lets events through only from the host, only with consent.
package input

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Event types.
const (
	Move   = "move"   // pointer to X, Y
	Down   = "down"   // press Button at X, Y (start of a drag)
	Up     = "up"     // release Button at X, Y
	Click  = "click"  // press and release Button at X, Y; Double for two
	Scroll = "scroll" // wheel DX, DY steps at X, Y (DY > 0: up)
	Key    = "key"    // tap Key with Mods held
	Text   = "text"   // type Text
)

// Event is one input action, in pixels of the shared display (0,0 is its
// top-left corner whatever monitor it is).
type Event struct {
	Type   string   `json:"type"`
	X      int      `json:"x,omitempty"`
	Y      int      `json:"y,omitempty"`
	Button string   `json:"button,omitempty"`
	Double bool     `json:"double,omitempty"`
	DX     int      `json:"dx,omitempty"`
	DY     int      `json:"dy,omitempty"`
	Key    string   `json:"key,omitempty"`
	Mods   []string `json:"mods,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// MaxEventSize bounds one encoded event.
const MaxEventSize = 4 << 10

const maxText = 1024

// ErrInvalid marks an event that breaks the rules below.
var ErrInvalid = errors.New("invalid input event")

var buttons = map[string]bool{"": true, "left": true, "right": true, "middle": true}

var mods = map[string]bool{"shift": true, "ctrl": true, "alt": true, "cmd": true}

// keys robotgo's X11 backend knows by name; single characters are keys too.
var keys = map[string]bool{
	"enter": true, "backspace": true, "tab": true, "escape": true, "delete": true, "insert": true,
	"home": true, "end": true, "pageup": true, "pagedown": true, "up": true, "down": true,
	"left": true, "right": true, "space": true, "menu": true, "capslock": true,
	"f1": true, "f2": true, "f3": true, "f4": true, "f5": true, "f6": true,
	"f7": true, "f8": true, "f9": true, "f10": true, "f11": true, "f12": true,
}

// Decode parses and validates an event from the network.
func Decode(b []byte) (Event, error) {
	if len(b) > MaxEventSize {
		return Event{}, fmt.Errorf("%w: %d bytes", ErrInvalid, len(b))
	}
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return e, e.Validate()
}

// Validate checks an event's fields.
func (e Event) Validate() error {
	bad := func(why string) error { return fmt.Errorf("%w: %s %s", ErrInvalid, e.Type, why) }
	if e.X < 0 || e.Y < 0 || e.X > 1<<15 || e.Y > 1<<15 {
		return bad("coordinates out of range")
	}
	switch e.Type {
	case Move:
	case Down, Up, Click:
		if !buttons[e.Button] {
			return bad("unknown button " + e.Button)
		}
	case Scroll:
		if e.DX < -50 || e.DX > 50 || e.DY < -50 || e.DY > 50 {
			return bad("scroll too large")
		}
	case Key:
		r, size := utf8.DecodeRuneInString(e.Key)
		single := size == len(e.Key) && r != utf8.RuneError && r >= 0x20
		if !keys[e.Key] && !single {
			return bad("unknown key " + e.Key)
		}
		for _, m := range e.Mods {
			if !mods[m] {
				return bad("unknown modifier " + m)
			}
		}
	case Text:
		if len(e.Text) > maxText || !utf8.ValidString(e.Text) {
			return bad("text too long or not UTF-8")
		}
	default:
		return fmt.Errorf("%w: unknown type %q", ErrInvalid, e.Type)
	}
	return nil
}
