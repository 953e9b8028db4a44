package screen

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"io"
	"math/bits"
	"time"

	"assist/p2p"
)

// Source is something that can be captured: a Capturer, or a test image.
type Source interface {
	Capture(*Frame) error
}

// TileEncoder turns changed rectangles of a frame into tiles for the wire.
// ParallelEncoder (PNG, or JPEG for photo-like tiles) is the one there is;
// another codec plugs in here. The slice returned may be reused by the
// next call.
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
	// Link, if set, hears of every frame sent and of the receiver's
	// acknowledgements: frames then wait for the link instead of queueing
	// in it, and photos lose resolution and quality while the link cannot
	// carry MinMotionFPS frames of them a second.
	Link *Link
	// CompactJPEG sends JPEG tiles without their tables, for a receiver
	// that puts them back (FormatJPEGCompact).
	CompactJPEG bool
	// Indexed sends tiles of few colours without PNG's chunks, for a
	// receiver that puts them back (FormatIndexed).
	Indexed bool
	// Dictionary compresses small indexed tiles against the stream's
	// history, for a receiver that keeps it too (FormatIndexedDict; Receive
	// does).
	Dictionary bool
	// StillPoll is how often a source without damage reports is captured
	// once it has been still for StillAfter (0: DefaultStillPoll). Poke
	// captures at once.
	StillPoll time.Duration
	// StillAfter is how long such a source must not change to be polled
	// every StillPoll (0: DefaultStillAfter).
	StillAfter time.Duration
}

// A source without damage reports (GDI, a compositor without them) is
// captured MaxFPS times a second while it changes, and every
// DefaultStillPoll once it has not for DefaultStillAfter: a capture of a whole
// screen that costs tens of milliseconds, 30 times a second, would keep
// the customer's machine busy while nothing happens. Input from the host
// pokes the sender, so what the rep does shows at once. A source that can
// capture part of itself (an AreaSource) is then only probed, a few rows
// at a time (see probeSpacing), and captured whole when a row changed.
const (
	DefaultStillPoll  = 200 * time.Millisecond
	DefaultStillAfter = time.Second
)

// MinMotionFPS is the frame rate a slow link keeps by lowering photos'
// resolution and quality.
const MinMotionFPS = 12

// motionLevels are the photo settings from the best (a fast link) to the
// least: half resolution first, then lower JPEG quality. Each level
// makes a frame of photos about two thirds the size of the one before,
// or less; the last ones are for a video on a home uplink, blocky while
// it plays and refined once it stops.
var motionLevels = []struct {
	halve   bool
	quality int
}{{false, JPEGQuality}, {true, JPEGQuality}, {true, 60}, {true, 45}, {true, 30}, {true, 20}, {true, 12}}

// DefaultSenderConfig is 30 frames a second at most, lossy photos.
func DefaultSenderConfig() SenderConfig {
	return SenderConfig{MaxFPS: 30, Keepalive: 5 * time.Second, Lossy: true}
}

// SendStats describes one frame that was sent.
type SendStats struct {
	Seq     uint64
	Tiles   int
	Moves   int // copies: scrolls
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
	buf   []byte // one message
	out   []byte // the messages of one write
	// damage tells what was drawn, where the source can (X11); nil: every
	// capture is compared whole.
	damage      DamageWatch
	damageTried bool
	lossy       lossyTiles
	busyAt      time.Time // the last frame that changed most of the screen
	level       int       // index in motionLevels, raised by a slow link
	calmSince   time.Time // since when frames have been well within the link
	history     history   // what FormatIndexedDict tiles are compressed against
	changedAt   time.Time // the last capture that found a change
	poke        chan struct{}
	probeNext   bool // the coming capture is a still screen's poll
	probes      int  // probes made, for their phase
	// The least a probe that found nothing and a whole capture have cost
	// (a moment the process was not scheduled makes one dearer, never
	// cheaper): once probeTrials probes cost more than half a whole
	// capture (an OS with a high price per call), still screens are
	// captured whole instead.
	probeCost, wholeCost time.Duration
	probed               int // probes that found nothing
}

// probeTrials is how many probes are timed before their cost may stop
// them.
const probeTrials = 4

// motionMemory is how long a frame that changed most of the screen makes
// the next such frame "in motion".
const motionMemory = 500 * time.Millisecond

// raiseAfter is how long frames must stay well within the link before
// photos go up a level: between the frames of a video come small ones (a
// part that moved), which must not raise it back to where the next whole
// frame jams the link.
const raiseAfter = time.Second

// NewSender returns a sender of src. Close it when done.
func NewSender(src Source, cfg SenderConfig) *Sender {
	enc := cfg.Encoder
	if enc == nil {
		p := NewParallelEncoder(cfg.Lossy)
		p.SetCompact(cfg.CompactJPEG)
		p.SetIndexed(cfg.Indexed)
		enc = p
	}
	return &Sender{src: src, cfg: cfg, enc: enc, diff: Differ{Partial: true}, poke: make(chan struct{}, 1)}
}

// Poke asks for a capture now: something (the host's input) probably
// changed the screen. It is safe to call from any goroutine.
func (s *Sender) Poke() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// pollInterval is how long a source without damage reports waits for
// its next capture.
func (s *Sender) pollInterval() time.Duration {
	if !s.still() {
		return time.Second / time.Duration(max(1, s.cfg.MaxFPS))
	}
	if s.cfg.StillPoll > 0 {
		return s.cfg.StillPoll
	}
	return DefaultStillPoll
}

// still says whether the screen has not changed for StillAfter.
func (s *Sender) still() bool {
	after := s.cfg.StillAfter
	if after <= 0 {
		after = DefaultStillAfter
	}
	return !s.changedAt.IsZero() && time.Since(s.changedAt) >= after
}

// Close stops watching the source and ends the encoders' goroutines.
func (s *Sender) Close() {
	if s.damage != nil {
		s.damage.Close()
		s.damage = nil
	}
	if c, ok := s.enc.(interface{ Close() }); ok {
		c.Close()
	}
	if s.lossy.enc != nil {
		s.lossy.enc.Close()
	}
}

// recycle tells enc that the last frame's tiles were written: their
// bytes can be reused.
func recycle(enc TileEncoder) {
	if r, ok := enc.(interface{ Recycle() }); ok {
		r.Recycle()
	}
}

// watchDamage starts a damage watch once, if the source has one.
func (s *Sender) watchDamage() {
	if s.damageTried {
		return
	}
	s.damageTried = true
	if ds, ok := s.src.(DamageSource); ok {
		if w, err := ds.WatchDamage(); err == nil {
			s.damage = w
		}
	}
}

// Run sends frames to w until ctx ends or a write fails, then closes the
// sender. A value on full makes the next frame complete (a new viewer
// needs everything). Writes block when the receiver is slow, which slows
// capture: there is no queue. stats, if not nil, is called after every
// frame sent.
//
// A source that reports damage is captured when something was drawn, at
// most MaxFPS times a second; any other source is captured MaxFPS times a
// second and compared.
func (s *Sender) Run(ctx context.Context, w io.Writer, full <-chan struct{}, stats func(SendStats)) error {
	defer s.Close()
	s.watchDamage()
	pace := newPacer(s.cfg.MaxFPS)
	keepalive := time.NewTimer(s.cfg.Keepalive)
	defer keepalive.Stop()
	for {
		refine, err := s.wait(ctx, full, keepalive, w)
		if err != nil {
			return err
		}
		if err := s.awaitLink(ctx); err != nil {
			return err
		}
		if refine {
			st, err := s.Refine(w)
			if err != nil {
				return err
			}
			if st.Tiles > 0 && stats != nil {
				stats(st)
			}
			continue
		}
		// Pace: MaxFPS captures a second at most, however often it is drawn.
		if err := pace.wait(ctx); err != nil {
			return err
		}
		st, err := s.Step(w)
		if err != nil {
			return err
		}
		s.adapt(st.Bytes)
		if st.Tiles > 0 {
			keepalive.Reset(s.cfg.Keepalive)
			if stats != nil {
				stats(st)
			}
		}
	}
}

// wait returns when the next capture is due: something was drawn (or,
// without damage reports, the next tick), or a full frame was asked for.
// It sends keepalives while the screen is still.
func (s *Sender) wait(ctx context.Context, full <-chan struct{}, keepalive *time.Timer, w io.Writer) (refine bool, err error) {
	var drawn <-chan struct{}
	var tick <-chan time.Time
	if s.damage != nil {
		drawn = s.damage.Changed()
	} else {
		t := time.NewTimer(s.pollInterval())
		defer t.Stop()
		tick = t.C
	}
	var refineDue <-chan time.Time
	if at, ok := s.lossy.due(); ok && s.cfg.Lossy {
		refineDue = time.After(time.Until(at))
	}
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-full:
			s.diff.Reset()
			return false, nil
		case <-drawn:
			return false, nil
		case <-tick:
			s.probeNext = s.still()
			return false, nil
		case <-s.poke:
			return false, nil
		case <-refineDue:
			return true, nil
		case <-keepalive.C:
			if err := p2p.WriteFrame(w, []byte{MsgKeepalive}); err != nil {
				return false, err
			}
			keepalive.Reset(s.cfg.Keepalive)
		}
	}
}

// Step captures once and writes the changed tiles, if any, as one frame.
func (s *Sender) Step(w io.Writer) (SendStats, error) {
	s.watchDamage()
	t0 := time.Now()
	var drawn []image.Rectangle
	first := s.diff.prev == nil // a new picture, or one a new viewer asked for
	whole := s.damage == nil || first
	if s.damage != nil {
		// Before a whole capture too: what was drawn before it is in it
		// (a new watch reports the whole screen at first).
		var err error
		if drawn, err = s.damage.Take(); err != nil {
			return SendStats{}, err
		}
		if !whole && len(drawn) == 0 {
			return SendStats{}, nil
		}
	}
	if whole {
		drawn = nil
	}
	if mh, ok := s.damage.(MoveHinter); ok {
		s.diff.Hints = mh.TakeMoves()
	}
	if s.probeNext {
		s.probeNext = false
		if changed, err := s.probe(); err != nil || !changed {
			return SendStats{Capture: time.Since(t0)}, err
		}
	}
	tc := time.Now()
	if err := s.capture(drawn); err != nil {
		return SendStats{}, err
	}
	if len(drawn) == 0 && s.damage == nil {
		s.wholeCost = least(s.wholeCost, time.Since(tc))
	}
	var moves []Copy
	var changed []image.Rectangle
	if whole {
		moves, changed = s.diff.Changed(&s.frame)
	} else {
		moves, changed = s.diff.ChangedIn(&s.frame, drawn)
	}
	t1 := time.Now()
	if len(changed) == 0 && len(moves) == 0 {
		return SendStats{Capture: t1.Sub(t0)}, nil
	}
	s.changedAt = t1
	// Most of the screen changed, and did the frame before: it is in
	// motion (a video, a 3D view), and its photos go at half resolution.
	// Frames of a torn capture (half of one picture, half of the next)
	// or of a pan found in part come between, so "did the frame before"
	// is any frame in the last motionMemory.
	busy := !first && 2*len(changed) >= len(s.diff.grid)
	inMotion := busy && t0.Sub(s.busyAt) < motionMemory
	if h, ok := s.enc.(interface{ SetHalve(bool) }); ok {
		h.SetHalve(inMotion || motionLevels[s.level].halve)
	}
	if busy {
		s.busyAt = t0
	}
	s.setDictionary(s.enc)
	recycle(s.enc)
	tiles, err := s.enc.Encode(&s.frame, changed)
	if err != nil {
		return SendStats{}, fmt.Errorf("encode tiles: %w", err)
	}
	t2 := time.Now()
	s.seq++
	st := SendStats{Seq: s.seq, Tiles: len(tiles), Moves: len(moves), Capture: t1.Sub(t0), Encode: t2.Sub(t1)}
	s.lossy.sent(s.frame.W, s.frame.H, moves, tiles)
	st.Bytes, err = s.writeFrame(w, moves, tiles, t0)
	return st, err
}

// writeFrame writes one frame: its copies, its tiles in batches, its end,
// in as few writes as BatchBytes allows. Each write is a message of the
// secure channel and of the stream multiplexer, about 30 bytes of their
// headers: a typed character's frame was three of them.
func (s *Sender) writeFrame(w io.Writer, moves []Copy, tiles []Tile, captured time.Time) (int, error) {
	n, start := 0, time.Now()
	s.out = s.out[:0]
	flush := func() error {
		n += len(s.out)
		_, err := w.Write(s.out)
		s.out = s.out[:0]
		return err
	}
	add := func() error {
		s.out = p2p.AppendFrame(s.out, s.buf)
		if len(s.out) >= BatchBytes {
			return flush()
		}
		return nil
	}
	if len(moves) > 0 {
		s.buf = AppendCopies(s.buf[:0], s.frame.W, s.frame.H, moves)
		if err := add(); err != nil {
			return n, err
		}
	}
	for rest := tiles; len(rest) > 0; {
		var batch []Tile
		batch, rest = NextBatch(rest)
		s.buf = AppendTiles(s.buf[:0], s.frame.W, s.frame.H, batch)
		if err := add(); err != nil {
			return n, err
		}
	}
	s.buf = AppendFrameEnd(s.buf[:0], FrameEnd{Seq: s.seq, Captured: captured.UnixMicro(), Tiles: len(tiles)})
	s.out = p2p.AppendFrame(s.out, s.buf)
	err := flush()
	if s.cfg.Link != nil {
		s.cfg.Link.Sent(s.seq, n, start)
	}
	for _, t := range tiles {
		if t.Format == FormatIndexedDict {
			s.history.add(t.raw)
		}
	}
	s.history.endFrame()
	return n, err
}

// setDictionary gives enc the stream's history, if the receiver keeps it.
func (s *Sender) setDictionary(enc TileEncoder) {
	if d, ok := enc.(interface{ SetDictionary([]byte) }); ok && s.cfg.Indexed && s.cfg.Dictionary {
		d.SetDictionary(s.history.dict())
	}
}

// awaitLink returns once the link has room for a frame (at once without
// a link). What is drawn meanwhile goes in the next capture.
func (s *Sender) awaitLink(ctx context.Context) error {
	if s.cfg.Link == nil {
		return nil
	}
	return s.cfg.Link.WaitOpen(ctx)
}

// adapt moves the photo settings after a frame of n bytes: down when
// the link could not carry MinMotionFPS such frames a second (as many
// levels as it takes, guessing each makes frames two thirds the size: a
// video starting after a still screen must not crawl down one level a
// frame), up a level once frames have stayed at a third of that for
// raiseAfter.
func (s *Sender) adapt(n int) {
	if s.cfg.Link == nil || n == 0 {
		return
	}
	rate := s.cfg.Link.Rate()
	if rate == 0 {
		return
	}
	budget := rate / MinMotionFPS
	was, now := s.level, s.cfg.Link.now()
	for size := float64(n); size > budget && s.level < len(motionLevels)-1; size *= 2.0 / 3 {
		s.level++
	}
	switch {
	case 3*float64(n) >= budget:
		s.calmSince = now
	case now.Sub(s.calmSince) >= raiseAfter && s.level > 0:
		s.level--
		s.calmSince = now
	}
	if s.level == was {
		return
	}
	if q, ok := s.enc.(interface{ SetQuality(int) }); ok {
		q.SetQuality(motionLevels[s.level].quality)
	}
}

// probeSpacing is how far apart the rows are that one probe of a still
// screen reads: a thirty-second of a GDI screen costs about a sixth of
// the whole under Wine, so a customer's idle machine does not pay a whole
// capture five times a second. The first row moves each probe in
// bit-reversed order (x11vnc's scan of screens without damage reports),
// so a change 2^k rows high is found within 2*32/2^k - 1 probes, whenever
// it is drawn: a line of text within three, a one-pixel line within 32.
const probeSpacing = 32

// probe reads every probeSpacing-th row of a source that can capture part
// of itself, and says whether any differs from the last frame: then the
// whole screen is captured and compared. Any other source is captured
// whole each time.
func (s *Sender) probe() (bool, error) {
	as, ok := s.src.(AreaSource)
	if !ok || s.diff.prev == nil || s.probed >= probeTrials && s.probeCost > s.wholeCost/2 {
		return true, nil
	}
	t0 := time.Now()
	phase := probePhase(s.probes)
	s.probes++
	f := &s.frame
	for y := phase; y < f.H; y += probeSpacing {
		if err := as.CaptureArea(f, image.Rect(0, y, f.W, y+1)); err != nil {
			return false, err
		}
		if s.diff.rowDiffers(f, y) {
			return true, nil
		}
	}
	s.probeCost = least(s.probeCost, time.Since(t0))
	s.probed++
	return false, nil
}

// least is the lesser of the cost so far (zero: none yet) and d.
func least(cost, d time.Duration) time.Duration {
	if cost == 0 {
		return d
	}
	return min(cost, d)
}

// probePhase is the first row the nth probe reads: n's five bits
// reversed, so probes alternate between the halves of each probeSpacing
// rows, then of each half, and so on.
func probePhase(n int) int { return int(bits.Reverse8(uint8(n%probeSpacing)) >> 3) }

// AreaSource is a source that can capture part of the screen into a frame
// it filled before.
type AreaSource interface {
	CaptureArea(f *Frame, r image.Rectangle) error
}

// capture fills the frame: only the area drawn on, when that is known,
// the source can, and it is less than half the screen.
func (s *Sender) capture(drawn []image.Rectangle) error {
	as, ok := s.src.(AreaSource)
	if !ok || len(drawn) == 0 {
		return s.src.Capture(&s.frame)
	}
	var box image.Rectangle
	for _, r := range drawn {
		box = box.Union(r)
	}
	if 2*box.Dx()*box.Dy() > s.frame.W*s.frame.H {
		return s.src.Capture(&s.frame)
	}
	return as.CaptureArea(&s.frame, box)
}

// Receive reads screen messages from r and hands each to apply until r
// ends or a message is malformed.
func Receive(r io.Reader, apply func(Message)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var d streamDecoder
	for {
		raw, err := p2p.ReadFrame(br, MaxMessageSize)
		if err != nil {
			return err
		}
		m, err := d.decode(raw)
		if err != nil {
			return err
		}
		apply(m)
	}
}

// streamDecoder decodes the messages of one stream in order: it keeps
// the stream's history and turns FormatIndexedDict tiles into PNGs.
type streamDecoder struct{ history history }

func (d *streamDecoder) decode(raw []byte) (Message, error) {
	m, err := Decode(raw)
	if err != nil {
		return Message{}, err
	}
	switch m.Kind {
	case MsgTiles:
		if err := d.history.expand(m.Tiles); err != nil {
			return Message{}, err
		}
	case MsgFrameEnd:
		d.history.endFrame()
	}
	return m, nil
}
