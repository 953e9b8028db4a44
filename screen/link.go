package screen

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Link measures what the path to the viewer delivers, from the receiver's
// acknowledgements of frame ends, and keeps the sender from queueing more
// than about TargetDelay of it: on a slow uplink a frame then waits in
// the sender, where the next capture replaces it with a newer picture,
// not in socket buffers, where it would make every later frame late.
//
// Each acknowledged frame gives a sample: its bytes over the time the
// link spent on it, from when its writing began or the frame before it
// was acknowledged, whichever is later, to its own acknowledgement. The rate
// is the median of the samples of the last two seconds: the receiver
// reads frames in bursts, so some acknowledgements bunch up, and their
// samples are far too high (a maximum, as BBR takes, came out at twice
// the shaped rate here).
type Link struct {
	mu      sync.Mutex
	now     func() time.Time
	written int64       // bytes sent, in all
	acked   int64       // bytes acknowledged, in all
	ackedAt time.Time   // the last acknowledgement
	frames  []sentFrame // sent, not yet acknowledged, oldest first
	samples []rateSample
	ackCh   chan struct{}
}

type sentFrame struct {
	seq   uint64
	bytes int64
	end   int64     // written after the frame
	at    time.Time // when its writing began
}

type rateSample struct {
	at   time.Time
	rate float64 // bytes per second
}

// Tuning of the link: what may be in flight, and for how long rates count.
const (
	// TargetDelay is how much of the link's rate may be in flight.
	TargetDelay = 150 * time.Millisecond
	// minWindow lets small frames (typing) through however slow the
	// measured rate: they are what the rep waits for.
	minWindow = 64 << 10
	// maxUnacked bounds the frames remembered (the window holds far
	// fewer).
	maxUnacked = 1024
	rateWindow = 2 * time.Second
	// maxSamples bounds the samples the median is taken of.
	maxSamples = 64
)

// NewLink returns a link with no measurement yet.
func NewLink() *Link {
	return &Link{now: time.Now, ackCh: make(chan struct{}, 1)}
}

// Sent records a frame of n bytes, ending with seq, whose writing began
// at start (a write blocks while the link is busy, so its end is late).
func (l *Link) Sent(seq uint64, n int, start time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.written += int64(n)
	if len(l.frames) >= maxUnacked {
		l.frames = l.frames[1:]
	}
	l.frames = append(l.frames, sentFrame{seq: seq, bytes: int64(n), end: l.written, at: start})
}

// Acked records that the receiver got everything up to frame seq.
func (l *Link) Acked(seq uint64) {
	l.mu.Lock()
	now := l.now()
	for len(l.frames) > 0 && l.frames[0].seq <= seq {
		f := l.frames[0]
		l.frames = l.frames[1:]
		l.acked = max(l.acked, f.end)
		start := f.at
		if l.ackedAt.After(start) {
			start = l.ackedAt // the link was busy with the frame before
		}
		if d := now.Sub(start); d > 0 && f.bytes >= 1024 { // a keepalive tells nothing
			if len(l.samples) == maxSamples {
				l.samples = l.samples[1:]
			}
			l.samples = append(l.samples, rateSample{at: now, rate: float64(f.bytes) / d.Seconds()})
		}
		l.ackedAt = now
	}
	l.mu.Unlock()
	select {
	case l.ackCh <- struct{}{}:
	default:
	}
}

// Rate is the measured delivery rate in bytes per second, 0 if unknown.
func (l *Link) Rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var rates []float64
	for _, s := range l.samples {
		if now.Sub(s.at) <= rateWindow {
			rates = append(rates, s.rate)
		}
	}
	if len(rates) == 0 {
		return 0
	}
	slices.Sort(rates)
	return rates[len(rates)/2]
}

// InFlight is how many bytes are sent and not acknowledged.
func (l *Link) InFlight() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.written - l.acked
}

// Window is how many bytes may be in flight before the next frame waits.
func (l *Link) Window() int64 {
	return max(minWindow, int64(l.Rate()*TargetDelay.Seconds()))
}

// WaitOpen returns once the link has room for a frame, or ctx ends.
func (l *Link) WaitOpen(ctx context.Context) error {
	for !l.Open() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-l.Acks():
		}
	}
	return nil
}

// Open reports whether the next frame may go now; if not, Acks signals
// when to ask again.
func (l *Link) Open() bool { return l.InFlight() < l.Window() }

// Acks is signalled after acknowledgements.
func (l *Link) Acks() <-chan struct{} { return l.ackCh }
