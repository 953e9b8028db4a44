package screen

import (
	"context"
	"image"
	"image/color"
	"io"
	"sync"
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

// countingSource is a source without damage reports that counts its
// captures.
type countingSource struct {
	mu       sync.Mutex
	img      *image.RGBA
	captures int
}

func (c *countingSource) Capture(f *Frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.captures++
	return (&imageSource{img: c.img}).Capture(f)
}

func (c *countingSource) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.captures
}

func (c *countingSource) draw(x int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.img.Set(x, 5, color.RGBA{255, 0, 0, 255})
}

// TestAStillScreenIsPolledSlowlyAndPokedAtOnce: a source that reports no
// damage is captured MaxFPS times a second while it changes and every
// StillPoll once still; a poke (the host's input) captures it at once.
// StillPoll is an hour here, so what is sent after a change comes from
// the poke, or from the fast polling that follows a change.
func TestAStillScreenIsPolledSlowlyAndPokedAtOnce(t *testing.T) {
	src := &countingSource{img: blocks(128, 64, 1)}
	s := NewSender(src, SenderConfig{MaxFPS: 30, Keepalive: time.Hour, StillPoll: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	defer pr.Close()
	frames := make(chan FrameEnd, 16)
	go func() {
		_ = Receive(pr, func(m Message) {
			if m.Kind == MsgFrameEnd {
				frames <- m.End
			}
		})
	}()
	go func() { _ = s.Run(ctx, pw, nil, nil) }()
	next := func(what string) {
		t.Helper()
		select {
		case <-frames:
		case <-time.After(10 * time.Second):
			t.Fatalf("no frame %s", what)
		}
	}
	next("at first")
	time.Sleep(StillAfter + 300*time.Millisecond)
	still := src.count()
	time.Sleep(time.Second)
	if n := src.count() - still; n > 1 {
		t.Fatalf("a still screen was captured %d times in a second", n)
	}
	src.draw(10)
	s.Poke()
	next("after a poke")
	src.draw(20) // no poke: polled, fast again after a change
	next("while polled fast after a change")
}
