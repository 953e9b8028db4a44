package screen

import (
	"context"
	"time"
)

// pacer lets captures through at most one an interval on average, and
// two in a row when the one before came late: a screen drawn 30 times a
// second arrives with jitter (a frame a few milliseconds late, the next
// on time), and a fixed gap after each capture merged the frame on time
// into the late one, so that a 30 Hz video was captured 28 times a
// second. It is the generic cell rate algorithm with a burst of one.
type pacer struct {
	interval time.Duration
	due      time.Time // when the next capture may be, without credit
	now      func() time.Time
}

func newPacer(fps int) *pacer {
	return &pacer{interval: time.Second / time.Duration(max(1, fps)), now: time.Now}
}

// delay is how long the next capture must wait, and books it.
func (p *pacer) delay() time.Duration {
	now := p.now()
	// At most one interval of credit: a still screen does not earn a
	// burst of captures.
	if earliest := now.Add(-p.interval); p.due.Before(earliest) {
		p.due = earliest
	}
	wait := p.due.Sub(now)
	p.due = p.due.Add(p.interval)
	return max(0, wait)
}

// wait returns when the next capture may be, or when ctx ends.
func (p *pacer) wait(ctx context.Context) error {
	d := p.delay()
	if d == 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
