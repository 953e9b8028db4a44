package screen

import (
	"image"
	"io"
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
		for _, p := range cellsOf(dst) {
			part := image.Rect(p.X, p.Y, p.X+TileSize, p.Y+TileSize).Intersect(dst).Sub(off)
			for _, q := range cellsOf(part) {
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

// Refine sends every lossy square again, losslessly, as one frame.
func (s *Sender) Refine(w io.Writer) (SendStats, error) {
	l := &s.lossy
	l.any = false
	var rects []image.Rectangle
	for i, lossy := range l.cells {
		if lossy {
			p := image.Pt(i%l.cols*TileSize, i/l.cols*TileSize)
			rects = append(rects, image.Rect(p.X, p.Y, min(p.X+TileSize, s.frame.W), min(p.Y+TileSize, s.frame.H)))
			l.cells[i] = false
		}
	}
	if len(rects) == 0 || s.frame.W == 0 {
		return SendStats{}, nil
	}
	if l.enc == nil {
		l.enc = NewParallelEncoder(false)
	}
	t0 := time.Now()
	tiles, err := l.enc.Encode(&s.frame, rects)
	if err != nil {
		return SendStats{}, err
	}
	s.seq++
	st := SendStats{Seq: s.seq, Tiles: len(tiles), Encode: time.Since(t0)}
	st.Bytes, err = s.writeFrame(w, nil, tiles, t0)
	return st, err
}
