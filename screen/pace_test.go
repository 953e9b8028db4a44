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

// stillAfter is how long the stillness tests' screens take to be still.
const stillAfter = 200 * time.Millisecond

// runSender runs s until the test ends, and returns what waits for its
// next frame, failing the test after 10 s.
func runSender(t *testing.T, s *Sender) (next func(what string)) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	frames := make(chan FrameEnd, 16)
	go func() {
		_ = Receive(pr, func(m Message) {
			if m.Kind == MsgFrameEnd {
				frames <- m.End
			}
		})
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(ctx, pw, nil, nil)
	}()
	t.Cleanup(func() {
		cancel()
		pr.Close()
		<-done
	})
	return func(what string) {
		t.Helper()
		select {
		case <-frames:
		case <-time.After(10 * time.Second):
			t.Fatalf("no frame %s", what)
		}
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
	s := NewSender(src, SenderConfig{MaxFPS: 30, Keepalive: time.Hour, StillPoll: time.Hour, StillAfter: stillAfter})
	next := runSender(t, s)
	next("at first")
	time.Sleep(stillAfter + 100*time.Millisecond)
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

// probingSource is a source without damage reports that can capture part
// of itself, and counts what it reads: whole captures, rows, and passes
// over the screen (a pass starts at a row above the last one read).
type probingSource struct {
	mu           sync.Mutex
	img          *image.RGBA
	perCall      time.Duration // what each CaptureArea costs
	slowCalls    int           // how many calls cost it; 0: all
	whole, rows  int
	passes, last int
}

func (p *probingSource) Capture(f *Frame) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.whole++
	return (&imageSource{img: p.img}).Capture(f)
}

func (p *probingSource) CaptureArea(f *Frame, r image.Rectangle) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.slowCalls == 0 || p.rows < p.slowCalls {
		time.Sleep(p.perCall)
	}
	if r.Min.Y <= p.last {
		p.passes++
	}
	p.last = r.Min.Y
	p.rows += r.Dy()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i, o := p.img.PixOffset(x, y), 4*(y*f.W+x)
			f.Pix[o], f.Pix[o+1], f.Pix[o+2], f.Pix[o+3] = p.img.Pix[i+2], p.img.Pix[i+1], p.img.Pix[i], 0
		}
	}
	return nil
}

// counts returns the whole captures, rows and passes so far.
func (p *probingSource) counts() (whole, rows, passes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.whole, p.rows, p.passes
}

// stillFor200ms lets the screen be still for settle, then returns the
// whole captures, rows and passes of the 200 ms after.
func (p *probingSource) stillFor200ms(settle time.Duration) (whole, rows, passes int) {
	time.Sleep(settle)
	w0, r0, p0 := p.counts()
	time.Sleep(200 * time.Millisecond)
	w1, r1, p1 := p.counts()
	return w1 - w0, r1 - r0, p1 - p0
}

// probeSender runs a sender of src that polls a still screen every 5 ms,
// and returns once its first frame came, with what waits for the next.
func probeSender(t *testing.T, src *probingSource) (next func(what string)) {
	next = runSender(t, NewSender(src, SenderConfig{MaxFPS: 30, Keepalive: time.Hour, StillPoll: 5 * time.Millisecond, StillAfter: stillAfter}))
	next("at first")
	return next
}

// fill paints rows y0..y1 of the source's picture white.
func (p *probingSource) fill(y0, y1 int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for y := y0; y < y1; y++ {
		for x := 100; x < 108; x++ {
			p.img.Set(x, y, color.White)
		}
	}
}

// TestAStillScreenWithoutDamageIsProbedNotCaptured: once a source without
// damage reports has been still, a poll reads one row in probeSpacing,
// never the whole screen; a change as high as a line of text is found
// within three passes, a one-pixel line within probeSpacing; either is then
// captured whole and sent.
func TestAStillScreenWithoutDamageIsProbedNotCaptured(t *testing.T) {
	const w, h = 256, 320
	src := &probingSource{img: blocks(w, h, 3), last: -1}
	next := probeSender(t, src)
	whole, rows, passes := src.stillFor200ms(stillAfter + 100*time.Millisecond)
	if whole != 0 {
		t.Fatalf("a still screen was captured whole %d times while probed", whole)
	}
	if passes < 5 {
		t.Fatalf("%d probes in 200 ms at a 5 ms poll", passes)
	}
	if perPass := float64(rows) / float64(passes); perPass > float64(h/probeSpacing)+1 {
		t.Fatalf("a probe read %.1f rows of %d", perPass, h)
	}

	for _, c := range []struct {
		name      string
		y0, y1    int
		maxPasses int
	}{
		{"a line of text", 40, 56, 3},
		{"a one-pixel line", 201, 202, probeSpacing},
	} {
		time.Sleep(stillAfter + 50*time.Millisecond) // still again
		whole0, _, passes0 := src.counts()
		src.fill(c.y0, c.y1)
		next("after " + c.name + " was drawn")
		whole1, _, passes1 := src.counts()
		// The pass under way while it was drawn may have gone past it.
		if n := passes1 - passes0; n > c.maxPasses+1 {
			t.Errorf("%s was found after %d probes, want at most %d", c.name, n, c.maxPasses)
		}
		if whole1 == whole0 {
			t.Errorf("%s was sent without a whole capture", c.name)
		}
	}
}

// TestProbesCoverEveryBandSoon: whichever probe comes first after a
// change, a band of 2^k rows is read within 2*32/2^k - 1 probes (a line
// of text within 3), a single row within probeSpacing; in plain order a
// line of text could wait 17.
func TestProbesCoverEveryBandSoon(t *testing.T) {
	for h := 1; h <= probeSpacing; h *= 2 {
		bound := min(probeSpacing, 2*probeSpacing/h-1)
		for first := range probeSpacing {
			for top := range probeSpacing {
				n := 1
				for ; n <= probeSpacing; n++ {
					if (probePhase(first+n-1)-top+probeSpacing)%probeSpacing < h {
						break
					}
				}
				if n > bound {
					t.Fatalf("a band of %d rows at %d (mod %d), probed from the %dth phase on, read at probe %d, want within %d",
						h, top, probeSpacing, first, n, bound)
				}
			}
		}
	}
}

// TestProbesThatCostMoreThanAWholeCaptureAreDropped: where capturing a
// row costs as much as an OS may ask per call, a probe costs more than
// half a whole capture, and a still screen is then captured whole.
func TestProbesThatCostMoreThanAWholeCaptureAreDropped(t *testing.T) {
	src := &probingSource{img: blocks(256, 320, 5), last: -1, perCall: 2 * time.Millisecond}
	probeSender(t, src)
	whole, _, passes := src.stillFor200ms(stillAfter + 300*time.Millisecond)
	if passes != 0 {
		t.Errorf("%d costly probes in 200 ms", passes)
	}
	if whole < 5 {
		t.Errorf("%d whole captures in 200 ms of a still screen polled every 5 ms", whole)
	}
}

// TestASlowProbeNowAndThenDoesNotStopProbing: a probe slowed by the
// machine for a moment (here the first one) is not what probes cost, and
// a still screen goes on being probed.
func TestASlowProbeNowAndThenDoesNotStopProbing(t *testing.T) {
	const h = 320
	src := &probingSource{img: blocks(256, h, 7), last: -1, perCall: 10 * time.Millisecond, slowCalls: h / probeSpacing}
	probeSender(t, src)
	whole, _, passes := src.stillFor200ms(stillAfter + 300*time.Millisecond)
	if whole != 0 || passes < 5 {
		t.Errorf("after one slow probe: %d whole captures and %d probes in 200 ms, want probes only", whole, passes)
	}
}
