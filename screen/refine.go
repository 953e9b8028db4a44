package screen

import (
	"image"
	"io"
	"math"
	"runtime"
	"slices"
	"time"
)

// RefineAfter is how long the screen must stay still before the squares
// last sent as JPEG are sent again losslessly: a photo in motion may be
// lossy, the one the customer stops on is shown exactly.
const RefineAfter = 300 * time.Millisecond

// lossyTiles remembers which squares of the receiver's picture are lossy.
type lossyTiles struct {
	cells []bool // per square of the grid, row by row
	cols  int
	any   bool
	since time.Time // when the last frame was sent
	enc   *ParallelEncoder
}

func (l *lossyTiles) index(w, h int, p image.Point) int {
	if cols := (w + TileSize - 1) / TileSize; l.cols != cols || len(l.cells) != cols*((h+TileSize-1)/TileSize) {
		l.cols = cols
		l.cells = make([]bool, cols*((h+TileSize-1)/TileSize))
	}
	return p.Y/TileSize*l.cols + p.X/TileSize
}

// sent notes what a frame did to the receiver's picture: moves carry
// lossy pixels along (square by square: what lands in a square came from
// the squares its part of the source touches), a JPEG tile makes its
// square lossy, a whole lossless one makes it exact. Any frame restarts
// the wait for stillness.
func (l *lossyTiles) sent(w, h int, moves []Copy, tiles []Tile) {
	l.since = time.Now()
	for _, mv := range moves {
		dst := mv.DstRect()
		off := mv.Dst.Sub(mv.Src.Min)
		var carried []int
		for p := range cells(dst) {
			part := image.Rect(p.X, p.Y, p.X+TileSize, p.Y+TileSize).Intersect(dst).Sub(off)
			for q := range cells(part) {
				if l.cells[l.index(w, h, q)] {
					carried = append(carried, l.index(w, h, p))
					break
				}
			}
		}
		// After the loop: the source is read as it was before the move.
		for _, i := range carried {
			l.cells[i], l.any = true, true
		}
	}
	for _, t := range tiles {
		i := l.index(w, h, t.Cell())
		switch {
		case t.Format.Lossy():
			l.cells[i], l.any = true, true
		case t.Whole(w, h):
			l.cells[i] = false
		}
	}
}

// due reports whether lossy squares wait, and when to refine them.
func (l *lossyTiles) due() (time.Time, bool) {
	return l.since.Add(RefineAfter), l.any
}

// Refine sends the lossy squares again, losslessly: as many as the link
// takes at once (all of them without a link), the rest in the next
// frames while the screen stays still.
func (s *Sender) Refine(w io.Writer) (SendStats, error) {
	l := &s.lossy
	l.any = false
	if s.frame.W == 0 {
		return SendStats{}, nil
	}
	if l.enc == nil {
		l.enc = NewParallelEncoder(false)
		l.enc.SetIndexed(s.cfg.Indexed)
	}
	recycle(l.enc)
	t0 := time.Now()
	budget, batch := s.refineBudget(), refineBatch()
	var tiles []Tile
	size := 0
	for i := 0; i < len(l.cells) && size < budget; {
		// A batch of lossy squares at a time, encoded on every core.
		var rects []image.Rectangle
		for ; i < len(l.cells) && len(rects) < batch; i++ {
			if l.cells[i] {
				p := image.Pt(i%l.cols*TileSize, i/l.cols*TileSize)
				rects = append(rects, image.Rect(p.X, p.Y, min(p.X+TileSize, s.frame.W), min(p.Y+TileSize, s.frame.H)))
				l.cells[i] = false
			}
		}
		s.setDictionary(l.enc)
		batch, err := l.enc.Encode(&s.frame, rects)
		if err != nil {
			return SendStats{}, err
		}
		for _, t := range batch {
			size += len(t.Data)
		}
		tiles = append(tiles, batch...)
	}
	l.any = slices.Contains(l.cells, true) // the rest in the next frames
	if len(tiles) == 0 {
		return SendStats{}, nil
	}
	s.seq++
	st := SendStats{Seq: s.seq, Tiles: len(tiles), Encode: time.Since(t0)}
	var err error
	st.Bytes, err = s.writeFrame(w, nil, tiles, t0)
	return st, err
}

// refineBatch is how many squares are encoded at a time while refining:
// a couple per core, so a piece overshoots its budget by little.
func refineBatch() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// refineBudget is about how many bytes one frame of refinement carries:
// on a slow link what it can take in TargetDelay, so that a screen of
// lossless photos (megabytes) goes a bit at a time and whatever is drawn
// meanwhile does not wait behind it.
func (s *Sender) refineBudget() int {
	if s.cfg.Link == nil {
		return math.MaxInt
	}
	return int(s.cfg.Link.Window())
}
