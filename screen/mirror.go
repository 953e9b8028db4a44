package screen

import (
	"context"
	"image"
	"sort"
	"sync"
)

// Mirror holds the latest encoded version of every tile of a remote screen
// and feeds any number of subscribers (viewer pages, other attendees).
//
// Each subscriber has a set of dirty tile positions, not a queue: when it
// is slow, newer versions of a tile replace older ones, so its memory is
// bounded by the screen size and it always gets the latest picture, at the
// rate it can take. A new subscriber starts with every tile dirty, so its
// first frame is complete.
type Mirror struct {
	mu      sync.Mutex
	w, h    int
	tiles   map[image.Point]Tile
	bytes   int // picture bytes held, at most MaxMirrorBytes
	subs    map[*Subscriber]struct{}
	lastEnd FrameEnd
	frames  uint64
}

// MaxMirrorBytes bounds the picture a mirror holds: a 4K screen of
// noise takes about 35 MB; past the bound new tiles are dropped.
const MaxMirrorBytes = 128 << 20

// NewMirror returns an empty mirror.
func NewMirror() *Mirror {
	return &Mirror{tiles: map[image.Point]Tile{}, subs: map[*Subscriber]struct{}{}}
}

// Apply takes one message from the screen stream.
func (m *Mirror) Apply(msg Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch msg.Kind {
	case MsgTiles:
		if msg.ScreenW != m.w || msg.ScreenH != m.h {
			m.w, m.h = msg.ScreenW, msg.ScreenH
			clear(m.tiles)
			m.bytes = 0
		}
		for _, t := range msg.Tiles {
			p := image.Pt(t.X, t.Y)
			grown := m.bytes - len(m.tiles[p].Data) + len(t.Data)
			if grown > MaxMirrorBytes {
				continue
			}
			m.bytes = grown
			// Copy: Data aliases the whole network message, which one
			// surviving tile would otherwise keep alive.
			t.Data = append([]byte(nil), t.Data...)
			m.tiles[p] = t
			for s := range m.subs {
				s.dirty[p] = struct{}{}
			}
		}
	case MsgFrameEnd:
		m.lastEnd = msg.End
		m.frames++
		for s := range m.subs {
			s.end = msg.End
			s.poke()
		}
	}
}

// Reset forgets the picture: the screen it mirrored is gone (a share
// ended). Pages that open later wait for the next picture instead of
// showing a stale one; subscribers get nothing until tiles come again.
func (m *Mirror) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.w, m.h = 0, 0
	clear(m.tiles)
	m.bytes = 0
	for s := range m.subs {
		clear(s.dirty)
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

// Subscribe adds a subscriber; its first update holds every tile.
func (m *Mirror) Subscribe() *Subscriber {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &Subscriber{m: m, dirty: map[image.Point]struct{}{}, ready: make(chan struct{}, 1), end: m.lastEnd}
	for p := range m.tiles {
		s.dirty[p] = struct{}{}
	}
	m.subs[s] = struct{}{}
	if len(s.dirty) > 0 {
		s.poke()
	}
	return s
}

// Subscriber receives a mirror's updates at its own pace.
type Subscriber struct {
	m     *Mirror
	dirty map[image.Point]struct{}
	end   FrameEnd
	ready chan struct{}
}

func (s *Subscriber) poke() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Next waits for a change and returns it as wire messages: 'T' batches of
// the latest dirty tiles, then an 'E' naming the newest frame they belong to.
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
	if len(s.dirty) == 0 {
		return nil
	}
	tiles := make([]Tile, 0, len(s.dirty))
	for p := range s.dirty {
		if t, ok := s.m.tiles[p]; ok {
			tiles = append(tiles, t)
		}
	}
	clear(s.dirty)
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
