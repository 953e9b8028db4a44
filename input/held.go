package input

import "sync"

// Holding is an Injector that remembers the mouse buttons its events
// left pressed, so they can be let go: a drag cut short (control taken
// back, the link lost) must not leave a button down on the customer's
// machine, where the customer's own mouse would go on dragging.
type Holding struct {
	Injector
	mu   sync.Mutex
	held map[string]Event // button -> where it went down
}

// NewHolding wraps inj.
func NewHolding(inj Injector) *Holding { return &Holding{Injector: inj, held: map[string]Event{}} }

// Apply performs e and notes a button it presses or lets go.
func (h *Holding) Apply(e Event) error {
	err := h.Injector.Apply(e)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case e.Type == Down && err == nil:
		h.held[e.Button] = e
	case e.Type == Up:
		delete(h.held, e.Button)
	}
	return err
}

// ReleaseAll lets go every button still pressed, where it went down.
func (h *Holding) ReleaseAll() {
	h.mu.Lock()
	held := h.held
	h.held = map[string]Event{}
	h.mu.Unlock()
	for _, e := range held {
		_ = h.Injector.Apply(Event{Type: Up, X: e.X, Y: e.Y, Button: e.Button})
	}
}
