package session

import (
	"io"
	"sync"
	"time"

	"assist/screen"
)

// frameStats counts the customer's screen as it arrives at the host:
// frames, bytes, frames per second and capture-to-arrival latency,
// reported at most once a second (and once more after a burst, so the
// last frame is never left out). It has its own lock: the screen path
// never waits for the host's.
type frameStats struct {
	report func(Event)

	mu      sync.Mutex
	fps     fpsCounter
	bytes   uint64
	latency time.Duration
	timer   *time.Timer
}

// counting wraps the screen stream so its bytes are counted.
func (f *frameStats) counting(r io.Reader) io.Reader { return &countingReader{r: r, f: f} }

// frame records a frame that ended.
func (f *frameStats) frame(end screen.FrameEnd) {
	now := time.Now()
	f.mu.Lock()
	f.latency = now.Sub(time.UnixMicro(end.Captured))
	due := f.fps.add(now)
	if !due && f.timer == nil {
		// Throttled: report this frame when the second is over.
		f.timer = time.AfterFunc(f.fps.untilNext(now), func() {
			f.mu.Lock()
			f.timer = nil
			f.fps.roll(time.Now())
			e := f.eventLocked()
			f.mu.Unlock()
			f.report(e)
		})
	}
	e := f.eventLocked()
	f.mu.Unlock()
	if due {
		f.report(e)
	}
}

func (f *frameStats) eventLocked() Event {
	return Event{Kind: EvFrame, Frames: f.fps.total, Bytes: f.bytes, FPS: f.fps.rate,
		LatencyMs: float64(f.latency.Microseconds()) / 1000}
}

// countingReader counts the screen stream's bytes for the frame events.
type countingReader struct {
	r io.Reader
	f *frameStats
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.f.mu.Lock()
	c.f.bytes += uint64(n)
	c.f.mu.Unlock()
	return n, err
}

// fpsCounter counts frames and says when a once-a-second report is due.
type fpsCounter struct {
	total      uint64
	windowN    uint64
	windowFrom time.Time
	rate       float64 // frames per second over the last window
}

// add counts a frame and reports whether a report is due now.
func (f *fpsCounter) add(now time.Time) bool {
	f.total++
	f.windowN++
	if f.windowFrom.IsZero() {
		f.windowFrom = now
		return true
	}
	if d := now.Sub(f.windowFrom); d >= time.Second {
		f.rate = float64(f.windowN) / d.Seconds()
		f.windowN, f.windowFrom = 0, now
		return true
	}
	return false
}

// roll closes the window at now without counting a frame, for a
// report that the timer makes.
func (f *fpsCounter) roll(now time.Time) {
	if d := now.Sub(f.windowFrom); d > 0 {
		f.rate = float64(f.windowN) / d.Seconds()
	}
	f.windowN, f.windowFrom = 0, now
}

// untilNext is how long until a report is due.
func (f *fpsCounter) untilNext(now time.Time) time.Duration {
	return max(0, f.windowFrom.Add(time.Second).Sub(now))
}
