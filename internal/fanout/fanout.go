// Package fanout delivers values to any number of listeners without letting
// a slow one block the sender: each listener has a buffer, and one that
// falls that far behind is dropped (its channel closed). A viewer page whose
// feed closes reconnects and reloads the whole state, so nothing is lost
// that matters; the session never waits for a page.
package fanout

import "sync"

// Fanout is one publisher's listeners. The zero value is ready to use.
type Fanout[T any] struct {
	mu     sync.Mutex
	subs   map[chan T]struct{}
	closed bool
}

// Buffer is how many values a listener may fall behind before it is dropped.
const Buffer = 512

// Subscribe returns a channel of every value published from now on and a
// function that ends the subscription (safe to call more than once).
func (f *Fanout[T]) Subscribe() (<-chan T, func()) {
	ch := make(chan T, Buffer)
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		close(ch)
		return ch, func() {}
	}
	if f.subs == nil {
		f.subs = map[chan T]struct{}{}
	}
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.subs[ch]; ok {
			delete(f.subs, ch)
			close(ch)
		}
	}
}

// Publish hands v to every listener; a listener whose buffer is full is
// dropped.
func (f *Fanout[T]) Publish(v T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- v:
		default:
			delete(f.subs, ch)
			close(ch)
		}
	}
}

// Close ends every subscription; later subscriptions get a closed channel.
func (f *Fanout[T]) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for ch := range f.subs {
		delete(f.subs, ch)
		close(ch)
	}
}
