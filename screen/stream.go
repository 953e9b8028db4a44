package screen

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"io"
	"time"

	"assist/p2p"
)

// Source is something that can be captured: a Capturer, or a test image.
type Source interface {
	Capture(*Frame) error
}

// TileEncoder turns changed rectangles of a frame into tiles for the wire.
// ParallelEncoder (PNG, or JPEG for photo-like tiles) is the one there is;
// another codec plugs in here.
type TileEncoder interface {
	Encode(f *Frame, rects []image.Rectangle) ([]Tile, error)
}

// SenderConfig tunes the capture loop.
type SenderConfig struct {
	// Encoder encodes the changed tiles; nil: a ParallelEncoder.
	Encoder TileEncoder
	// MaxFPS caps the capture rate; the stream's backpressure may lower it.
	MaxFPS int
	// Keepalive is sent after this long without a change.
	Keepalive time.Duration
	// Lossy allows JPEG for photo-like tiles.
	Lossy bool
}

// DefaultSenderConfig is 30 frames a second at most, lossy photos.
func DefaultSenderConfig() SenderConfig {
	return SenderConfig{MaxFPS: 30, Keepalive: 5 * time.Second, Lossy: true}
}

// SendStats describes one frame that was sent.
type SendStats struct {
	Seq     uint64
	Tiles   int
	Bytes   int
	Capture time.Duration
	Encode  time.Duration
}

// Sender captures a source and writes only what changed.
type Sender struct {
	src   Source
	cfg   SenderConfig
	enc   TileEncoder
	diff  Differ
	frame Frame
	seq   uint64
	buf   []byte
}

// NewSender returns a sender of src.
func NewSender(src Source, cfg SenderConfig) *Sender {
	enc := cfg.Encoder
	if enc == nil {
		enc = NewParallelEncoder(cfg.Lossy)
	}
	return &Sender{src: src, cfg: cfg, enc: enc}
}

// Run sends frames to w until ctx ends or a write fails. A value on full
// makes the next frame complete (a new viewer needs everything). Writes
// block when the receiver is slow, which slows capture: there is no queue.
// stats, if not nil, is called after every frame sent.
func (s *Sender) Run(ctx context.Context, w io.Writer, full <-chan struct{}, stats func(SendStats)) error {
	interval := time.Second / time.Duration(max(1, s.cfg.MaxFPS))
	tick := time.NewTicker(interval)
	defer tick.Stop()
	lastSend := time.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-full:
			s.diff.Reset()
		case <-tick.C:
		}
		st, err := s.Step(w)
		if err != nil {
			return err
		}
		if st.Tiles > 0 {
			lastSend = time.Now()
			if stats != nil {
				stats(st)
			}
			continue
		}
		if time.Since(lastSend) >= s.cfg.Keepalive {
			if err := p2p.WriteFrame(w, []byte{MsgKeepalive}); err != nil {
				return err
			}
			lastSend = time.Now()
		}
	}
}

// Step captures once and writes the changed tiles, if any, as one frame.
func (s *Sender) Step(w io.Writer) (SendStats, error) {
	t0 := time.Now()
	if err := s.src.Capture(&s.frame); err != nil {
		return SendStats{}, err
	}
	changed := s.diff.Changed(&s.frame)
	t1 := time.Now()
	if len(changed) == 0 {
		return SendStats{Capture: t1.Sub(t0)}, nil
	}
	tiles, err := s.enc.Encode(&s.frame, changed)
	if err != nil {
		return SendStats{}, fmt.Errorf("encode tiles: %w", err)
	}
	t2 := time.Now()
	s.seq++
	st := SendStats{Seq: s.seq, Tiles: len(tiles), Capture: t1.Sub(t0), Encode: t2.Sub(t1)}
	for _, batch := range Batches(tiles) {
		s.buf = AppendTiles(s.buf[:0], s.frame.W, s.frame.H, batch)
		st.Bytes += len(s.buf)
		if err := p2p.WriteFrame(w, s.buf); err != nil {
			return st, err
		}
	}
	s.buf = AppendFrameEnd(s.buf[:0], FrameEnd{Seq: s.seq, Captured: t0.UnixMicro(), Tiles: len(tiles)})
	st.Bytes += len(s.buf)
	return st, p2p.WriteFrame(w, s.buf)
}

// Receive reads screen messages from r and hands each to apply until r
// ends or a message is malformed.
func Receive(r io.Reader, apply func(Message)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		raw, err := p2p.ReadFrame(br, MaxMessageSize)
		if err != nil {
			return err
		}
		m, err := Decode(raw)
		if err != nil {
			return err
		}
		apply(m)
	}
}
