package xlab

import (
	"fmt"
	"image"
	"sync"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// InputEvent is a click or key a Recorder window received.
type InputEvent struct {
	Kind   string // "press", "release", "key"
	X, Y   int    // window coordinates, for clicks
	Button int
	Text   string // the character typed, for keys that make one
	Keysym uint32
	Shift  bool
	Ctrl   bool
}

// Recorder is a window that records the input it receives.
type Recorder struct {
	*Window
	Events chan InputEvent

	mu      sync.Mutex
	minKC   xproto.Keycode
	perKC   int
	keysyms []xproto.Keysym
}

// RecordInput opens a window at r that takes the keyboard focus and sends
// every button press and key press it receives on Events.
func RecordInput(display string, r image.Rectangle) (*Recorder, error) {
	w, err := openWindow(display, r, xproto.EventMaskExposure|xproto.EventMaskButtonPress|
		xproto.EventMaskButtonRelease|xproto.EventMaskKeyPress)
	if err != nil {
		return nil, err
	}
	rec := &Recorder{Window: w, Events: make(chan InputEvent, 1024)}
	if err := rec.loadKeymap(); err != nil {
		w.Close()
		return nil, err
	}
	if err := xproto.SetInputFocusChecked(w.conn, xproto.InputFocusPointerRoot, w.win, xproto.TimeCurrentTime).Check(); err != nil {
		w.Close()
		return nil, fmt.Errorf("focus: %w", err)
	}
	go w.loop(rec.onEvent)
	return rec, nil
}

func (r *Recorder) loadKeymap() error {
	setup := xproto.Setup(r.conn)
	r.minKC = setup.MinKeycode
	m, err := xproto.GetKeyboardMapping(r.conn, setup.MinKeycode, byte(setup.MaxKeycode-setup.MinKeycode+1)).Reply()
	if err != nil {
		return fmt.Errorf("keyboard mapping: %w", err)
	}
	r.perKC = int(m.KeysymsPerKeycode)
	r.keysyms = m.Keysyms
	return nil
}

func (r *Recorder) keysym(kc xproto.Keycode, shift bool) uint32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := int(kc-r.minKC) * r.perKC
	if shift {
		i++
	}
	if i < 0 || i >= len(r.keysyms) {
		return 0
	}
	ks := uint32(r.keysyms[i])
	if ks == 0 && shift {
		ks = uint32(r.keysyms[i-1])
	}
	return ks
}

func (r *Recorder) onEvent(ev xgb.Event) {
	switch e := ev.(type) {
	case xproto.ButtonPressEvent:
		r.Events <- InputEvent{Kind: "press", X: int(e.EventX), Y: int(e.EventY), Button: int(e.Detail)}
	case xproto.ButtonReleaseEvent:
		r.Events <- InputEvent{Kind: "release", X: int(e.EventX), Y: int(e.EventY), Button: int(e.Detail)}
	case xproto.MappingNotifyEvent:
		_ = r.loadKeymap()
	case xproto.KeyPressEvent:
		shift := e.State&xproto.ModMaskShift != 0
		ks := r.keysym(e.Detail, shift)
		ie := InputEvent{Kind: "key", Keysym: ks, Shift: shift, Ctrl: e.State&xproto.ModMaskControl != 0}
		if ks >= 0x20 && ks < 0x7f {
			ie.Text = string(rune(ks))
		}
		r.Events <- ie
	}
}
