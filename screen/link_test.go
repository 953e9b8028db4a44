package screen

import (
	"math"
	"testing"
	"time"
)

// TestTheLinkMeasuresWhatThePathDelivers plays a 500 KB/s path with a 20
// ms round trip: frames of 50 KB sent whenever the link is open. The rate
// it measures is the path's, and what it lets into flight is about
// TargetDelay of it, not what a socket buffer would take.
func TestTheLinkMeasuresWhatThePathDelivers(t *testing.T) {
	const rate, frame = 500e3, 50_000
	now := time.Unix(1_800_000_000, 0)
	l := NewLink()
	l.now = func() time.Time { return now }
	// The path: each frame's last byte leaves when the path is free, and
	// its acknowledgement is back 20 ms later.
	var pathFree time.Time
	type pending struct {
		seq uint64
		at  time.Time
	}
	var acks []pending
	maxInFlight := int64(0)
	var seq uint64
	for step := 0; step < 4000; step++ {
		now = now.Add(time.Millisecond)
		for len(acks) > 0 && !acks[0].at.After(now) {
			l.Acked(acks[0].seq)
			acks = acks[1:]
		}
		if !l.Open() {
			continue
		}
		seq++
		l.Sent(seq, frame, now)
		maxInFlight = max(maxInFlight, l.InFlight())
		start := now
		if pathFree.After(start) {
			start = pathFree
		}
		pathFree = start.Add(time.Duration(frame / rate * float64(time.Second)))
		acks = append(acks, pending{seq, pathFree.Add(20 * time.Millisecond)})
	}
	if got := l.Rate(); math.Abs(got-rate)/rate > 0.1 {
		t.Fatalf("measured %.0f B/s, the path carries %.0f", got, float64(rate))
	}
	if want := int64(rate*TargetDelay.Seconds()) + frame; maxInFlight > want {
		t.Fatalf("%d bytes in flight at most, want at most %d (%v of the rate and a frame)", maxInFlight, want, TargetDelay)
	}
	if fps := float64(seq) / 4; fps < 0.9*rate/frame {
		t.Fatalf("%.1f frames a second, the path carries %.1f", fps, rate/frame)
	}
}

// TestASlowLinkLowersThePhotosSettingsAndAFastOneRaisesThem: a frame
// over the link's budget for MinMotionFPS moves one level down; small
// frames move back up.
func TestASlowLinkLowersThePhotosSettingsAndAFastOneRaisesThem(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := NewLink()
	l.now = func() time.Time { return now }
	l.Sent(1, 120_000, now)
	now = now.Add(240 * time.Millisecond)
	l.Acked(1) // 500 KB/s: a budget of about 42 KB a frame
	enc := NewParallelEncoder(true)
	s := &Sender{cfg: SenderConfig{Link: l}, enc: enc}
	s.adapt(100_000) // over twice the budget: several levels at once
	if s.level < 3 {
		t.Fatalf("level %d after a frame of over twice the budget", s.level)
	}
	for range 10 {
		s.adapt(100_000)
	}
	if last := motionLevels[len(motionLevels)-1]; s.level != len(motionLevels)-1 || enc.encoders[0].Quality != last.quality {
		t.Fatalf("level %d, quality %d after large frames", s.level, enc.encoders[0].Quality)
	}
	s.adapt(5_000)
	if s.level == 0 {
		t.Fatal("photos went back up at the first small frame")
	}
	for i := range 40 { // a level a second while frames stay small
		now = now.Add(190 * time.Millisecond)
		l.Sent(uint64(2+i), 5_000, now)
		now = now.Add(10 * time.Millisecond)
		l.Acked(uint64(2 + i)) // still 500 KB/s
		s.adapt(5_000)
	}
	if s.level != 0 || enc.encoders[0].Quality != JPEGQuality {
		t.Fatalf("level %d, quality %d after small frames", s.level, enc.encoders[0].Quality)
	}
}
