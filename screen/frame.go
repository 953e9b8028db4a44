// Package screen captures a display, finds what changed since the last
// frame, encodes only that (PNG where text must stay sharp, JPEG for
// photos), and frames it for the wire and for the browser viewer.
package screen

import (
	"bytes"
	"encoding/binary"
	"image"
	"math/bits"
)

// Frame is one captured screen in BGRX byte order (X11's 32-bit ZPixmap on
// little-endian machines), rows packed with Stride = 4*W.
type Frame struct {
	W, H int
	Pix  []byte
}

// NewFrame allocates a frame of the given size.
func NewFrame(w, h int) *Frame { return &Frame{W: w, H: h, Pix: make([]byte, 4*w*h)} }

// Stride is the number of bytes per row.
func (f *Frame) Stride() int { return 4 * f.W }

// TileSize is the edge of the squares the screen is cut into for change
// detection and encoding: small enough that typing re-sends little, large
// enough that a full screen is a few hundred tiles.
const TileSize = 64

// Grid lists the tiles covering a w x h screen, row by row.
func Grid(w, h int) []image.Rectangle {
	var out []image.Rectangle
	for y := 0; y < h; y += TileSize {
		for x := 0; x < w; x += TileSize {
			out = append(out, image.Rect(x, y, min(x+TileSize, w), min(y+TileSize, h)))
		}
	}
	return out
}

// Differ remembers the previous frame and reports what changed: the tiles
// to send, and the moves (a scroll) that explain part of it.
type Differ struct {
	// Partial allows patches (the changed part of a tile, when that is
	// under half of it) and moves. It needs a receiver that keeps pixels,
	// so it applies only to screens of at most MaxPartialPixels.
	Partial bool
	// Hints are moves the source reported (windows that moved), checked
	// against the pixels at the next comparison, then dropped.
	Hints []Copy

	prev    *Frame
	grid    []image.Rectangle // the tiles of prev's size, row by row
	cols    int
	drawn   []bool // per tile of grid: touched by a reported drawing
	changed []image.Rectangle
	moves   []Copy
	scroll  scrollFinder
	pan     panFinder
	// lastKind found the last frame's first move.
	lastKind moveKind
	// scrolled: the scroll finder saw this frame, and keeps its hashes.
	scrolled bool
}

// Changed returns what of cur differs from the previous frame (all of it
// the first time, or after a size change) and keeps a copy of cur for
// next time: the moves to make first, then the rectangles to send, each
// inside one tile. The results are valid until the next call.
func (d *Differ) Changed(cur *Frame) ([]Copy, []image.Rectangle) { return d.compare(cur, nil) }

// ChangedIn is Changed for a frame of which only the areas in drawn can
// differ from the previous one (what a DamageWatch reported): the rest of
// the screen is not compared.
func (d *Differ) ChangedIn(cur *Frame, drawn []image.Rectangle) ([]Copy, []image.Rectangle) {
	if d.prev == nil || d.prev.W != cur.W || d.prev.H != cur.H {
		return d.compare(cur, nil)
	}
	clear(d.drawn)
	for _, r := range drawn {
		r = r.Intersect(image.Rect(0, 0, cur.W, cur.H))
		for ty := r.Min.Y / TileSize; ty*TileSize < r.Max.Y; ty++ {
			for tx := r.Min.X / TileSize; tx*TileSize < r.Max.X; tx++ {
				d.drawn[ty*d.cols+tx] = true
			}
		}
	}
	return d.compare(cur, d.drawn)
}

// compare diffs the tiles of cur that only (nil: all) marks.
func (d *Differ) compare(cur *Frame, only []bool) ([]Copy, []image.Rectangle) {
	if !d.scrolled {
		d.scroll.forget() // its hashes are of a frame before the last
	}
	d.scrolled = false
	if d.prev == nil || d.prev.W != cur.W || d.prev.H != cur.H {
		d.prev = NewFrame(cur.W, cur.H)
		copy(d.prev.Pix, cur.Pix)
		d.grid, d.cols = Grid(cur.W, cur.H), (cur.W+TileSize-1)/TileSize
		d.drawn = make([]bool, len(d.grid))
		return nil, append(d.changed[:0], d.grid...)
	}
	changed := d.changed[:0]
	for i, r := range d.grid {
		if (only == nil || only[i]) && tileDiffers(cur, d.prev, r) {
			changed = append(changed, r)
		}
	}
	d.moves = d.moves[:0]
	partial := d.Partial && cur.W*cur.H <= MaxPartialPixels
	hints := d.Hints
	d.Hints = nil
	if partial && len(changed) >= minMoveTiles {
		for _, h := range hints {
			if mv, ok := checkMove(d.prev, cur, h); ok && len(d.moves) < maxCopies {
				changed = d.move(cur, changed, mv)
			}
		}
		changed = d.findMoves(cur, changed)
	}
	for i, r := range changed {
		if partial {
			if box := changedBox(cur, d.prev, r); 2*box.Dx()*box.Dy() < r.Dx()*r.Dy() {
				changed[i] = box
			}
		}
		// The whole tile: what a patch left out is equal already.
		copyRect(d.prev, cur, r)
	}
	d.changed = changed
	return d.moves, changed
}

// findMoves looks for pans (any direction, a short way: a scroll of a
// few lines too) and for a scroll (up or down, any length), and returns
// the tiles that still differ after the moves found. The pan goes first
// as it costs less (a few probes, where the scroll hashes every row
// twice), unless the last frame's move was a scroll the pan could not
// find (a fast log). A second pan is looked for in what the first left:
// a capture torn between two pictures of a pan (drawn top to bottom)
// holds two.
func (d *Differ) findMoves(cur *Frame, changed []image.Rectangle) []image.Rectangle {
	order := []moveKind{panMove, panMove, scrollMove}
	if d.lastKind == scrollMove {
		order = []moveKind{scrollMove, panMove, panMove}
	}
	span := d.span(cur, changed)
	first, panFailed := true, false
	for _, kind := range order {
		if kind == panMove && panFailed {
			continue // the first pan found nothing: nor will the second
		}
		mv, ok := d.find(kind, cur, span)
		if !ok || !d.explains(cur, mv) {
			panFailed = panFailed || kind == panMove
			continue
		}
		if first {
			d.lastKind, first = kind, false
		}
		var done bool
		if changed, done = d.moveAndLook(cur, changed, mv); done {
			return changed
		}
		span = d.span(cur, changed)
	}
	return changed
}

// moveKind is which finder found a move.
type moveKind int

const (
	panMove moveKind = iota
	scrollMove
)

func (d *Differ) find(kind moveKind, cur *Frame, span image.Rectangle) (Copy, bool) {
	if kind == scrollMove {
		// Until a move, prev is the last frame: what the finder saw as cur
		// if it looked at it.
		d.scrolled = true
		return d.scroll.find(d.prev, cur, span, len(d.moves) == 0)
	}
	return d.pan.find(d.prev, cur, span)
}

// moveAndLook makes mv and reports whether the search is done: what it
// left is mostly what came into view, or the copies are all used.
func (d *Differ) moveAndLook(cur *Frame, changed []image.Rectangle, mv Copy) ([]image.Rectangle, bool) {
	before := len(changed)
	changed = d.move(cur, changed, mv)
	return changed, len(changed) < max(minMoveTiles, before/4) || len(d.moves) == maxCopies
}

// explains reports whether mv puts right what is wrong in the previous
// frame: a band of rows where cur differs. A band of a smooth gradient
// matches itself a row up, where nothing is left to put right.
func (d *Differ) explains(cur *Frame, mv Copy) bool {
	return differingRows(cur, d.prev, mv.DstRect()) >= minMoveRows
}

// differingRows is the height of the band from the first row of r that
// differs between a and b to the last: changedBox's height, found from
// both ends without comparing the rows between.
func differingRows(a, b *Frame, r image.Rectangle) int {
	stride := a.Stride()
	differs := func(y int) bool {
		row := y*stride + 4*r.Min.X
		return !bytes.Equal(a.Pix[row:row+4*r.Dx()], b.Pix[row:row+4*r.Dx()])
	}
	first := r.Min.Y
	for ; first < r.Max.Y && !differs(first); first++ {
	}
	last := r.Max.Y - 1
	for ; last > first && !differs(last); last-- {
	}
	if first == r.Max.Y {
		return 0
	}
	return last - first + 1
}

// span is the box of the pixels that differ in the changed tiles.
func (d *Differ) span(cur *Frame, changed []image.Rectangle) image.Rectangle {
	var area image.Rectangle
	for _, r := range changed {
		area = area.Union(r)
	}
	return changedBox(cur, d.prev, area)
}

// move makes mv on the previous frame, as the receiver will, and returns
// the tiles that still differ. Every move found was checked row by row
// over its whole destination, so the tiles inside it are equal now.
func (d *Differ) move(cur *Frame, changed []image.Rectangle, mv Copy) []image.Rectangle {
	moveRect(d.prev, mv)
	d.moves = append(d.moves, mv)
	dst := mv.DstRect()
	still := changed[:0]
	for _, r := range changed {
		if !r.In(dst) && tileDiffers(cur, d.prev, r) {
			still = append(still, r)
		}
	}
	return still
}

// checkMove returns the longest band of rows of a hinted move (within the
// screen) that cur shows where prev showed it.
func checkMove(prev, cur *Frame, hint Copy) (Copy, bool) {
	screen := image.Rect(0, 0, cur.W, cur.H)
	off := hint.Dst.Sub(hint.Src.Min)
	if off == (image.Point{}) {
		return Copy{}, false
	}
	dst := hint.DstRect().Intersect(screen).Intersect(screen.Add(off))
	if dst.Dx() <= 0 || dst.Dy() < minMoveRows {
		return Copy{}, false
	}
	stride := cur.Stride()
	same := func(y int) bool {
		c := y*stride + 4*dst.Min.X
		p := (y-off.Y)*stride + 4*(dst.Min.X-off.X)
		return bytes.Equal(cur.Pix[c:c+4*dst.Dx()], prev.Pix[p:p+4*dst.Dx()])
	}
	bestFrom, bestLen := longestBand(dst.Min.Y, dst.Max.Y, same)
	if bestLen < minMoveRows {
		return Copy{}, false
	}
	band := image.Rect(dst.Min.X, bestFrom, dst.Max.X, bestFrom+bestLen)
	return Copy{Src: band.Sub(off), Dst: band.Min}, true
}

// tileDiffers reports whether r differs between a and b.
func tileDiffers(a, b *Frame, r image.Rectangle) bool {
	stride := a.Stride()
	lo, hi := 4*r.Min.X, 4*r.Max.X
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := y * stride
		if !bytes.Equal(a.Pix[row+lo:row+hi], b.Pix[row+lo:row+hi]) {
			return true
		}
	}
	return false
}

// changedBox is the smallest rectangle holding every pixel of r that
// differs between a and b. The first and last differing rows are found
// from both ends; a row between them is compared only outside the
// columns the box holds already, so once it is as wide as r, the rows in
// the middle (most of a scrolled terminal) are not read at all.
func changedBox(a, b *Frame, r image.Rectangle) image.Rectangle {
	stride := a.Stride()
	row := func(y, x0, x1 int) ([]byte, []byte) {
		o := y * stride
		return a.Pix[o+4*x0 : o+4*x1], b.Pix[o+4*x0 : o+4*x1]
	}
	top := r.Min.Y
	for ; top < r.Max.Y; top++ {
		if ra, rb := row(top, r.Min.X, r.Max.X); !bytes.Equal(ra, rb) {
			break
		}
	}
	if top == r.Max.Y {
		return image.Rectangle{}
	}
	bottom := r.Max.Y - 1
	for ; bottom > top; bottom-- {
		if ra, rb := row(bottom, r.Min.X, r.Max.X); !bytes.Equal(ra, rb) {
			break
		}
	}
	x0, x1 := r.Max.X, r.Min.X // the box's columns, [x0, x1)
	widen := func(y int) {
		if x0 > r.Min.X {
			if ra, rb := row(y, r.Min.X, x0); !bytes.Equal(ra, rb) {
				x0 = r.Min.X + firstDiff(ra, rb)/4
			}
		}
		if x1 < r.Max.X {
			from := max(x1, x0) // the columns right of the box (all, while it is empty)
			if ra, rb := row(y, from, r.Max.X); !bytes.Equal(ra, rb) {
				x1 = from + lastDiff(ra, rb)/4 + 1
			}
		}
	}
	for y := top; y <= bottom && (x0 > r.Min.X || x1 < r.Max.X); y++ {
		widen(y)
	}
	return image.Rect(x0, top, x1, bottom+1)
}

// firstDiff is the index of the first byte where a and b (of one length)
// differ, or len(a): eight bytes at a time.
func firstDiff(a, b []byte) int {
	i := 0
	for ; i+8 <= len(a); i += 8 {
		if x := binary.LittleEndian.Uint64(a[i:]) ^ binary.LittleEndian.Uint64(b[i:]); x != 0 {
			return i + bits.TrailingZeros64(x)/8
		}
	}
	for ; i < len(a) && a[i] == b[i]; i++ {
	}
	return i
}

// lastDiff is the index of the last byte where a and b (of one length)
// differ, or -1.
func lastDiff(a, b []byte) int {
	i := len(a)
	for ; i >= 8; i -= 8 {
		if x := binary.LittleEndian.Uint64(a[i-8:]) ^ binary.LittleEndian.Uint64(b[i-8:]); x != 0 {
			return i - 1 - bits.LeadingZeros64(x)/8
		}
	}
	for i--; i >= 0 && a[i] == b[i]; i-- {
	}
	return i
}

// copyRect copies r from src to dst, frames of one size.
func copyRect(dst, src *Frame, r image.Rectangle) {
	stride := dst.Stride()
	lo, hi := 4*r.Min.X, 4*r.Max.X
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := y * stride
		copy(dst.Pix[row+lo:row+hi], src.Pix[row+lo:row+hi])
	}
}

// moveRect performs a copy within f, as a receiver does.
func moveRect(f *Frame, c Copy) {
	dst := c.DstRect()
	stride := f.Stride()
	rowBytes := 4 * c.Src.Dx()
	move := func(y int) {
		from := (c.Src.Min.Y+y)*stride + 4*c.Src.Min.X
		to := (dst.Min.Y+y)*stride + 4*dst.Min.X
		copy(f.Pix[to:to+rowBytes], f.Pix[from:from+rowBytes])
	}
	// Overlapping rows must be read before they are written.
	if dst.Min.Y > c.Src.Min.Y {
		for y := c.Src.Dy() - 1; y >= 0; y-- {
			move(y)
		}
	} else {
		for y := range c.Src.Dy() {
			move(y)
		}
	}
}

// Reset forgets the previous frame, so the next Changed reports everything.
func (d *Differ) Reset() { d.prev = nil }

// rowDiffers says whether row y of cur differs from the last frame
// compared (or there is none of its size).
func (d *Differ) rowDiffers(cur *Frame, y int) bool {
	if d.prev == nil || d.prev.W != cur.W || d.prev.H != cur.H {
		return true
	}
	row := cur.Pix[y*cur.Stride() : (y+1)*cur.Stride()]
	return !bytes.Equal(row, d.prev.Pix[y*cur.Stride():(y+1)*cur.Stride()])
}

// RGBA converts a region of f to an RGBA image (alpha opaque).
func (f *Frame) RGBA(r image.Rectangle) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	stride := f.Stride()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		src := f.Pix[y*stride+4*r.Min.X : y*stride+4*r.Max.X]
		dst := img.Pix[(y-r.Min.Y)*img.Stride:]
		for i := 0; i < len(src); i += 4 {
			dst[i], dst[i+1], dst[i+2], dst[i+3] = src[i+2], src[i+1], src[i], 0xff
		}
	}
	return img
}
