package input

import (
	"errors"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Errors the gate refuses with.
var (
	ErrNoControl = errors.New("the customer has not granted control")
	ErrNotHost   = errors.New("input accepted only from the session host")
)

// Gate is the customer's own check on every input event: it passes events
// only from the host's peer ID and only while the customer's control
// consent stands. It never trusts the host or the viewer to hold back.
type Gate struct {
	mu      sync.Mutex
	host    peer.ID
	allowed bool
	gen     uint64
}

// Generation changes whenever control is granted or withdrawn.
func (g *Gate) Generation() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gen
}

// SetHost names the only peer whose input may pass.
func (g *Gate) SetHost(p peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.host = p
}

// SetControl grants or withdraws control.
func (g *Gate) SetControl(allowed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.allowed = allowed
	g.gen++
}

// Control reports whether control is granted.
func (g *Gate) Control() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.allowed
}

// Check says whether input from p may pass now.
func (g *Gate) Check(from peer.ID) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.host == "" || from != g.host:
		return ErrNotHost
	case !g.allowed:
		return ErrNoControl
	}
	return nil
}
