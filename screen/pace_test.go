package screen

import (
	"testing"
	"time"
)

// TestThePacerFollowsAJitteryThirtyHertz: frames drawn 30 times a second,
// every other one 8 ms late, are each captured when drawn; captures asked
// for faster than 30 a second wait; a still screen earns no burst.
func TestThePacerFollowsAJitteryThirtyHertz(t *testing.T) {
	start := time.Unix(1000, 0)
	clock := start
	p := newPacer(30)
	p.now = func() time.Time { return clock }
	frame := time.Second / 30
	for i := range 60 {
		drawn := start.Add(time.Duration(i) * frame)
		if i%2 == 1 {
			drawn = drawn.Add(8 * time.Millisecond)
		}
		clock = drawn
		if d := p.delay(); d != 0 {
			t.Fatalf("frame %d, drawn on time or late, waits %v", i, d)
		}
	}
	// Asked for as fast as it goes: one interval apart, once the credit
	// of the late frame is spent.
	clock = clock.Add(10 * time.Millisecond)
	waits := []time.Duration{p.delay(), p.delay(), p.delay(), p.delay()}
	if waits[0] != 0 || waits[2]-waits[1] != frame || waits[3]-waits[2] != frame {
		t.Fatalf("captures asked for at once wait %v, want one interval apart", waits)
	}
	// After a second of stillness, two captures at once, no more.
	clock = clock.Add(time.Second + waits[3])
	if a, b, c := p.delay(), p.delay(), p.delay(); a != 0 || b != 0 || c != frame {
		t.Fatalf("after stillness: waits %v %v %v, want 0 0 %v", a, b, c, frame)
	}
}
