package session

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"assist/internal/p2ptest"
	"assist/p2p"
	"assist/screen"
)

// slowFeed feeds a mirror of a screen in full motion (a 128 KB frame 30
// times a second) to an attendee that reads 500 KB a second, as a home
// downlink would, for d, and returns how old each frame was when the
// attendee had it.
func slowFeed(t *testing.T, paced bool, d time.Duration) []time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	host, attendee := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	if err := attendee.Connect(ctx, p2ptest.Info(host)); err != nil {
		t.Fatal(err)
	}
	ages := make(chan time.Duration, 4096)
	handled := make(chan struct{})
	attendee.SetStreamHandler("/test/feed", func(s network.Stream) {
		defer close(handled)
		defer s.Reset()
		r := bufio.NewReaderSize(throttled{s, 500 << 10}, 16<<10)
		var ends uint64
		for {
			raw, err := p2p.ReadFrame(r, screen.MaxMessageSize)
			if err != nil {
				return
			}
			m, err := screen.Decode(raw)
			if err != nil || m.Kind != screen.MsgFrameEnd {
				continue
			}
			ages <- time.Since(time.UnixMicro(m.End.Captured))
			ends++
			if paced {
				_ = p2p.WriteFrame(s, screen.AppendAck(nil, ends))
			}
		}
	})
	s, err := host.NewStream(ctx, attendee.ID(), "/test/feed")
	if err != nil {
		t.Fatal(err)
	}
	m := screen.NewMirror()
	go pump(ctx, s, m, paced)
	tiles := make([]screen.Tile, 64)
	for seq := uint64(1); ; seq++ {
		for i := range tiles {
			data := bytes.Repeat([]byte{byte(seq), byte(i)}, 1024)
			copy(data, "\x89PNG\r\n\x1a\n")
			tiles[i] = screen.Tile{X: i % 8 * screen.TileSize, Y: i / 8 * screen.TileSize, W: screen.TileSize, H: screen.TileSize, Format: screen.FormatPNG, Data: data}
		}
		m.Apply(screen.Message{Kind: screen.MsgTiles, ScreenW: 512, ScreenH: 512, Tiles: tiles})
		m.Apply(screen.Message{Kind: screen.MsgFrameEnd, End: screen.FrameEnd{Seq: seq, Captured: time.Now().UnixMicro(), Tiles: len(tiles)}})
		if time.Duration(seq)*time.Second/30 > d {
			break
		}
		time.Sleep(time.Second / 30)
	}
	s.Reset()
	// The handler may still be reading what was in flight: ages closes
	// only once it is done sending.
	select {
	case <-handled:
	case <-ctx.Done():
		t.Fatal("the attendee's handler did not end after the stream was reset")
	}
	close(ages)
	var out []time.Duration
	for a := range ages {
		out = append(out, a)
	}
	return out
}

// throttled reads at most rate bytes a second.
type throttled struct {
	s    network.Stream
	rate int
}

func (r throttled) Read(p []byte) (int, error) {
	p = p[:min(len(p), r.rate/50)]
	n, err := r.s.Read(p)
	time.Sleep(time.Duration(n) * time.Second / time.Duration(r.rate))
	return n, err
}

// TestASlowAttendeeGetsFewerFramesNotOlderOnes: an attendee whose link
// carries a seventh of the screen's motion gets frames a few times a
// second, each under half a second old, where without acknowledgements
// the frames queued in the stream and came seconds late.
func TestASlowAttendeeGetsFewerFramesNotOlderOnes(t *testing.T) {
	ages := slowFeed(t, true, 6*time.Second)
	if len(ages) < 12 {
		t.Fatalf("%d frames in 6 s", len(ages))
	}
	later := slices.Clone(ages[len(ages)/2:]) // once the link is measured
	slices.Sort(later)
	p95 := later[len(later)*95/100]
	t.Logf("%d frames in 6 s; in the second half p50 %v, p95 %v old", len(ages), later[len(later)/2], p95)
	if p95 > 500*time.Millisecond {
		t.Fatalf("frames were %v old (p95) at a slow attendee", p95)
	}
}

// TestAFeedThatStopsAcknowledgingEndsWhenItsAttendeeGoes: an attendee
// that reads but never acknowledges holds its pump waiting for the link;
// once it is no longer an attendee the pump ends within a few seconds
// instead of at the session's end.
func TestAFeedThatStopsAcknowledgingEndsWhenItsAttendeeGoes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	host, attendee := p2ptest.NewHost(t, nil), p2ptest.NewHost(t, nil)
	if err := attendee.Connect(ctx, p2ptest.Info(host)); err != nil {
		t.Fatal(err)
	}
	attendee.SetStreamHandler("/test/feed", func(s network.Stream) {
		_, _ = io.Copy(io.Discard, s) // reads everything, acknowledges nothing
	})
	s, err := host.NewStream(ctx, attendee.ID(), "/test/feed")
	if err != nil {
		t.Fatal(err)
	}
	m := screen.NewMirror()
	var gone atomic.Bool
	ended := make(chan struct{})
	go func() {
		pump(ctx, s, m, true, func() bool { return !gone.Load() })
		close(ended)
	}()
	data := bytes.Repeat([]byte{1}, 100<<10) // over the link's first window
	copy(data, "\x89PNG\r\n\x1a\n")
	m.Apply(screen.Message{Kind: screen.MsgTiles, ScreenW: 64, ScreenH: 64, Tiles: []screen.Tile{{W: 64, H: 64, Format: screen.FormatPNG, Data: data}}})
	m.Apply(screen.Message{Kind: screen.MsgFrameEnd, End: screen.FrameEnd{Seq: 1, Tiles: 1}})
	time.Sleep(500 * time.Millisecond) // the frame is out, unacknowledged: the pump waits
	gone.Store(true)
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the pump still waits on a link to someone who is no longer an attendee")
	}
}
