//go:build linux

package wlr

import (
	"errors"
	"image"
	"sync"
	"time"
)

// Watch follows one output through copy_with_damage: the compositor
// answers only once something changed, and says what, so a still screen
// costs nothing. Its connection is its own: a wait for a change has no end.
type Watch struct {
	c       *Conn
	out     int
	changed chan struct{}
	next    chan struct{} // the consumer took the last change: copy again
	stop    chan struct{} // closed by Close
	done    chan struct{} // closed when run returns
	first   chan struct{} // closed once the first picture is in

	mu     sync.Mutex
	pix    []byte
	size   image.Point
	damage []image.Rectangle
	whole  bool // more damage than kept: all of it
	err    error
	closed bool
}

// ErrNoDamage: the compositor's screencopy is older than version 2.
var ErrNoDamage = errors.New("the Wayland compositor reports no damage (screencopy before version 2)")

// WatchDamage starts a watch of output i on a connection of its own.
func WatchDamage(i int) (*Watch, error) {
	c, err := Dial()
	if err != nil {
		return nil, err
	}
	if c.manager == nil || c.manager.version() < 2 {
		c.Close()
		return nil, ErrNoDamage
	}
	if i < 0 || i >= len(c.outputs) {
		c.Close()
		return nil, errors.New("no such output")
	}
	w := &Watch{c: c, out: i, changed: make(chan struct{}, 1), next: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), first: make(chan struct{})}
	go w.run()
	return w, nil
}

// run copies the output each time it changes, one change at a time: the
// next copy is asked for once the consumer took the last one, and the
// compositor gathers what changes meanwhile.
func (w *Watch) run() {
	defer close(w.done)
	var buf []byte
	for first := true; ; first = false {
		pix, size, damage, err := w.c.captureDamaged(w.out, buf)
		w.mu.Lock()
		if err != nil {
			if !w.closed {
				w.err = err
			}
			w.mu.Unlock()
			w.signal()
			return
		}
		w.pix, buf = pix, w.pix
		w.size = size
		w.damage = append(w.damage, damage...)
		w.whole = w.whole || len(damage) == 0 || len(w.damage) > maxDamageRects
		w.mu.Unlock()
		if first {
			close(w.first)
		}
		w.signal()
		select {
		case <-w.next:
		case <-w.stop:
			return
		}
	}
}

func (w *Watch) signal() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// Changed has a value once the output changed since the last Take.
func (w *Watch) Changed() <-chan struct{} { return w.changed }

// Take returns what changed since the last Take (nil and true: all of
// it), and lets the watch wait for the next change.
func (w *Watch) Take() (damage []image.Rectangle, whole bool, err error) {
	w.mu.Lock()
	damage, whole, err = w.damage, w.whole, w.err
	w.damage, w.whole = nil, false
	w.mu.Unlock()
	select {
	case w.next <- struct{}{}:
	default:
	}
	return damage, whole, err
}

// Latest copies the last picture into pix (grown as needed), waiting for
// the first one.
func (w *Watch) Latest(pix []byte) ([]byte, image.Point, error) {
	select {
	case <-w.first:
	case <-w.done:
	case <-time.After(answerTimeout):
		return pix, image.Point{}, errors.New("the Wayland compositor sent no first picture")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return pix, image.Point{}, w.err
	}
	pix = append(pix[:0], w.pix...)
	return pix, w.size, nil
}

// Close ends the watch and its connection.
func (w *Watch) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	// Closing the connection ends a wait for a change.
	_ = w.c.display.Context().Close()
	<-w.done
	w.c.closed = true
	w.c.Close()
}
