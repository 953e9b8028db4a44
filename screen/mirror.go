package screen

import (
	"bytes"
	"context"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"iter"
	"slices"
	"sort"
	"sync"
	"time"
)

// Mirror holds a remote screen and feeds any number of subscribers
// (viewer pages, other attendees) with it.
//
// A subscriber that keeps up gets the stream's messages as they came, in
// order: patches and copies only make sense on the picture they were
// made against. One that falls behind (its queue passes maxQueueBytes),
// and a new one, gets the squares that changed since it last had a
// picture, whole, and then the stream again: its memory is bounded by the
// screen, and it always gets the latest picture, at the rate it can take.
//
// The mirror keeps the latest whole tile of each square as it came. A
// patch or a copy makes the square's tile out of date: the mirror then
// keeps that square's pixels (decoding the tiles it needs), and encodes
// it anew only when a subscriber needs it whole.
type Mirror struct {
	mu    sync.Mutex
	w, h  int
	tiles map[image.Point]Tile // the latest whole tile of each square
	bytes int                  // picture bytes held in tiles, at most MaxMirrorBytes

	// pix is the picture where decoded says so: squares changed by a
	// patch or a copy, and the squares a copy read. stale squares' tiles
	// are older than their pixels.
	pix     *Frame
	decoded map[image.Point]bool
	stale   map[image.Point]bool
	enc     *Encoder
	scratch *image.RGBA

	subs    map[*Subscriber]struct{}
	lastEnd FrameEnd
	frames  uint64

	// copyBudget bounds the pixels copies move, in screens: a copy message
	// is a few bytes, and moving a 4K screen costs milliseconds here and in
	// every page, so a sender may not ask for more than copiesPerSecond
	// screens a second (what real scrolling at 60 Hz never passes).
	copyBudget float64
	budgetAt   time.Time
}

// copiesPerSecond is the copied area, in screens, a sender may ask for
// each second; the budget holds at most two seconds of it.
const copiesPerSecond = 60

// MaxMirrorBytes bounds the picture a mirror holds: a 4K screen of
// noise takes about 35 MB; past the bound new tiles are dropped.
const MaxMirrorBytes = 128 << 20

// maxQueueBytes is how far a subscriber may fall behind the stream before
// it is sent whole squares instead.
const maxQueueBytes = 8 << 20

// NewMirror returns an empty mirror.
func NewMirror() *Mirror {
	return &Mirror{
		tiles: map[image.Point]Tile{}, decoded: map[image.Point]bool{}, stale: map[image.Point]bool{},
		subs: map[*Subscriber]struct{}{}, enc: NewEncoder(true),
	}
}

// Apply takes one message from the screen stream.
func (m *Mirror) Apply(msg Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch msg.Kind {
	case MsgTiles:
		m.resize(msg.ScreenW, msg.ScreenH)
		cells := make([]image.Point, 0, len(msg.Tiles))
		msg.Tiles = expandTiles(msg.Tiles)
		for _, t := range msg.Tiles {
			if t.Whole(m.w, m.h) {
				m.store(t)
			} else if !m.patch(t) {
				continue
			}
			cells = append(cells, t.Cell())
		}
		m.forward(AppendTiles(nil, msg.ScreenW, msg.ScreenH, msg.Tiles), cells)
	case MsgCopies:
		if msg.ScreenW != m.w || msg.ScreenH != m.h || !m.canKeepPixels() {
			return // a copy of a picture this mirror does not have
		}
		if !m.spend(msg.Copies) {
			return // past the budget: the picture is the sender's problem
		}
		var cells []image.Point
		for _, c := range msg.Copies {
			cells = append(cells, m.copyRect(c)...)
		}
		m.forward(AppendCopies(nil, msg.ScreenW, msg.ScreenH, msg.Copies), cells)
	case MsgFrameEnd:
		m.lastEnd = msg.End
		m.frames++
		raw := AppendFrameEnd(nil, msg.End)
		for s := range m.subs {
			s.end = msg.End
			if s.dirty == nil {
				s.enqueue(raw, nil)
			}
			s.poke()
		}
	}
}

// expandTiles puts the tables back into compact JPEG tiles and the
// chunks around indexed ones, for the browser and other receivers; a
// tile that cannot be expanded is left out, and so is one of a format
// the browser does not draw (a FormatIndexedDict tile means something
// only to the Receive of its stream).
func expandTiles(tiles []Tile) []Tile {
	out := tiles[:0]
	for _, t := range tiles {
		switch t.Format {
		case FormatPNG, FormatJPEG:
		case FormatJPEGCompact:
			data, err := ExpandJPEG(t.Data, t.W, t.H)
			if err != nil {
				continue
			}
			t.Data, t.Format = data, FormatJPEG
		case FormatIndexed:
			data, err := ExpandIndexed(t.Data, t.W, t.H)
			if err != nil {
				continue
			}
			t.Data, t.Format = data, FormatPNG
		default:
			continue
		}
		out = append(out, t)
	}
	return out
}

// spend takes the copies' area from the budget, refilled with time.
func (m *Mirror) spend(copies []Copy) bool {
	now := time.Now()
	m.copyBudget = min(2*copiesPerSecond, m.copyBudget+now.Sub(m.budgetAt).Seconds()*copiesPerSecond)
	m.budgetAt = now
	area := 0
	for _, c := range copies {
		area += c.Src.Dx() * c.Src.Dy()
	}
	cost := float64(area) / float64(m.w*m.h)
	if cost > m.copyBudget {
		return false
	}
	m.copyBudget -= cost
	return true
}

// resize starts a new picture when the screen's size changes.
func (m *Mirror) resize(w, h int) {
	if w == m.w && h == m.h {
		return
	}
	m.w, m.h = w, h
	m.forget()
}

func (m *Mirror) forget() {
	clear(m.tiles)
	clear(m.decoded)
	clear(m.stale)
	m.bytes = 0
	m.pix = nil
}

// store keeps a whole tile; its pixels, if kept, are older now.
func (m *Mirror) store(t Tile) {
	p := t.Cell()
	grown := m.bytes - len(m.tiles[p].Data) + len(t.Data)
	if grown > MaxMirrorBytes {
		return
	}
	m.bytes = grown
	// Copy: Data aliases the whole network message, which one surviving
	// tile would otherwise keep alive.
	t.Data = append([]byte(nil), t.Data...)
	m.tiles[p] = t
	delete(m.decoded, p)
	delete(m.stale, p)
}

func (m *Mirror) canKeepPixels() bool { return m.w > 0 && m.w*m.h <= MaxPartialPixels }

// pixels returns the picture, decoding the squares cells needs.
func (m *Mirror) pixels(cells []image.Point) *Frame {
	if m.pix == nil {
		m.pix = NewFrame(m.w, m.h)
	}
	for _, p := range cells {
		if m.decoded[p] {
			continue
		}
		m.decoded[p] = true
		if t, ok := m.tiles[p]; ok {
			m.decodeInto(t)
		}
	}
	return m.pix
}

// patch draws part of a square onto its pixels.
func (m *Mirror) patch(t Tile) bool {
	if !m.canKeepPixels() {
		return false
	}
	m.pixels([]image.Point{t.Cell()})
	m.decodeInto(t)
	m.stale[t.Cell()] = true
	return true
}

// copyRect moves pixels as the viewer's canvas does, and returns the
// squares that changed.
func (m *Mirror) copyRect(c Copy) []image.Point {
	dst := c.DstRect()
	moveRect(m.pixels(append(cellsOf(c.Src), cellsOf(dst)...)), c)
	cells := cellsOf(dst)
	for _, p := range cells {
		m.stale[p] = true
	}
	return cells
}

// cellsOf lists the grid squares r touches.
func cellsOf(r image.Rectangle) []image.Point { return slices.Collect(cells(r)) }

// cells yields the grid squares r touches, by their top left corners.
func cells(r image.Rectangle) iter.Seq[image.Point] {
	return func(yield func(image.Point) bool) {
		for y := r.Min.Y / TileSize * TileSize; y < r.Max.Y; y += TileSize {
			for x := r.Min.X / TileSize * TileSize; x < r.Max.X; x += TileSize {
				if !yield(image.Pt(x, y)) {
					return
				}
			}
		}
	}
}

// decodeInto draws an encoded tile onto the pixels. A tile that does not
// decode to its own size leaves them as they were.
func (m *Mirror) decodeInto(t Tile) {
	var cfg image.Config
	var err error
	if t.Format == FormatJPEG {
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(t.Data))
	} else {
		cfg, err = png.DecodeConfig(bytes.NewReader(t.Data))
	}
	// The size is checked before decoding: a tile's header may claim any.
	// A tile is its square's size, or half of it (a photo in motion).
	halved := cfg.Width == (t.W+1)/2 && cfg.Height == (t.H+1)/2
	if err != nil || (cfg.Width != t.W || cfg.Height != t.H) && !halved {
		return
	}
	var img image.Image
	if t.Format == FormatJPEG {
		img, err = jpeg.Decode(bytes.NewReader(t.Data))
	} else {
		img, err = png.Decode(bytes.NewReader(t.Data))
	}
	if err != nil {
		return
	}
	if m.scratch == nil {
		m.scratch = image.NewRGBA(image.Rect(0, 0, TileSize, TileSize))
	}
	rgba := m.scratch.SubImage(image.Rect(0, 0, cfg.Width, cfg.Height)).(*image.RGBA)
	draw.Draw(rgba, rgba.Rect, img, img.Bounds().Min, draw.Src)
	stride := m.pix.Stride()
	for y := range t.H {
		dst := m.pix.Pix[(t.Y+y)*stride+4*t.X:][:4*t.W]
		for x := range t.W {
			sx, sy := x, y
			if halved {
				sx, sy = x/2, y/2
			}
			s := rgba.Pix[sy*rgba.Stride+4*sx:]
			dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = s[2], s[1], s[0], 0
		}
	}
}

// whole returns square p's tile, encoding it anew if its pixels changed.
func (m *Mirror) whole(p image.Point) (Tile, bool) {
	if m.stale[p] {
		r := image.Rect(p.X, p.Y, min(p.X+TileSize, m.w), min(p.Y+TileSize, m.h))
		if t, err := m.enc.Encode(m.pix, r); err == nil {
			delete(m.stale, p)
			m.bytes -= len(m.tiles[p].Data)
			m.bytes += len(t.Data)
			m.tiles[p] = t
		}
	}
	t, ok := m.tiles[p]
	return t, ok
}

// forward hands a message to every subscriber: in its queue, or as the
// squares it changed for one that is behind.
func (m *Mirror) forward(raw []byte, cells []image.Point) {
	for s := range m.subs {
		if s.dirty != nil {
			for _, p := range cells {
				s.dirty[p] = struct{}{}
			}
			continue
		}
		s.enqueue(raw, cells)
	}
}

// Reset forgets the picture: the screen it mirrored is gone (a share
// ended). Pages that open later wait for the next picture instead of
// showing a stale one; subscribers get nothing until tiles come again.
func (m *Mirror) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.w, m.h = 0, 0
	m.forget()
	for s := range m.subs {
		s.behind(map[image.Point]struct{}{})
	}
}

// Size returns the remote screen size (0, 0 before the first tile).
func (m *Mirror) Size() (w, h int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.w, m.h
}

// Frames returns the number of frames received.
func (m *Mirror) Frames() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.frames
}

// Subscribe adds a subscriber; its first update holds every square.
func (m *Mirror) Subscribe() *Subscriber {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &Subscriber{m: m, ready: make(chan struct{}, 1), end: m.lastEnd, limit: maxQueueBytes, touched: map[image.Point]struct{}{}}
	all := make(map[image.Point]struct{}, len(m.tiles))
	for p := range m.tiles {
		all[p] = struct{}{}
	}
	s.behind(all)
	m.subs[s] = struct{}{}
	if len(all) > 0 {
		s.poke()
	}
	return s
}

// Subscriber receives a mirror's updates at its own pace.
type Subscriber struct {
	m *Mirror
	// queue holds the stream's messages in order while the subscriber
	// keeps up; touched is the squares they change.
	queue   [][]byte
	queued  int
	limit   int // maxQueueBytes, but for tests
	touched map[image.Point]struct{}
	// dirty, when not nil, is the squares to send whole: the subscriber
	// is new or fell behind, and gets no queue until it has them.
	dirty map[image.Point]struct{}
	end   FrameEnd
	ready chan struct{}
}

// SetLimit sets how many bytes of the stream's messages may wait for the
// subscriber before it gets the squares they changed whole instead: for
// one whose link is slow, what the link passes in a moment, so that it
// gets fewer frames rather than older ones.
func (s *Subscriber) SetLimit(n int) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.limit = n
}

func (s *Subscriber) enqueue(raw []byte, cells []image.Point) {
	s.queue = append(s.queue, raw)
	s.queued += len(raw)
	for _, p := range cells {
		s.touched[p] = struct{}{}
	}
	if s.queued > s.limit {
		s.behind(s.touched)
	}
}

// behind drops the queue: the subscriber gets dirty's squares whole next.
func (s *Subscriber) behind(dirty map[image.Point]struct{}) {
	s.queue, s.queued = nil, 0
	s.dirty, s.touched = dirty, map[image.Point]struct{}{}
}

func (s *Subscriber) poke() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Next waits for a change and returns it as wire messages: the stream's
// own, or 'T' batches of the latest squares and an 'E' naming the newest
// frame they belong to.
func (s *Subscriber) Next(ctx context.Context) ([][]byte, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.ready:
		}
		if msgs := s.take(); msgs != nil {
			return msgs, nil
		}
	}
}

func (s *Subscriber) take() [][]byte {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.dirty == nil {
		msgs := s.queue
		s.queue, s.queued = nil, 0
		clear(s.touched)
		return msgs
	}
	if len(s.dirty) == 0 {
		return nil
	}
	tiles := make([]Tile, 0, len(s.dirty))
	for p := range s.dirty {
		if t, ok := s.m.whole(p); ok {
			tiles = append(tiles, t)
		}
	}
	s.dirty = nil
	// Top to bottom, left to right: the picture builds up the way a
	// person reads it.
	sort.Slice(tiles, func(i, j int) bool {
		if tiles[i].Y != tiles[j].Y {
			return tiles[i].Y < tiles[j].Y
		}
		return tiles[i].X < tiles[j].X
	})
	var msgs [][]byte
	for _, b := range Batches(tiles) {
		msgs = append(msgs, AppendTiles(nil, s.m.w, s.m.h, b))
	}
	end := s.end
	end.Tiles = len(tiles)
	return append(msgs, AppendFrameEnd(nil, end))
}

// Close removes the subscriber.
func (s *Subscriber) Close() {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	delete(s.m.subs, s)
}
