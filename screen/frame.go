// Package screen captures a display, finds what changed since the last
// frame, encodes only that (PNG where text must stay sharp, JPEG for
// photos), and frames it for the wire and for the browser viewer.
package screen

import (
	"bytes"
	"image"
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

// Differ remembers the previous frame and reports which tiles changed.
type Differ struct {
	prev    *Frame
	grid    []image.Rectangle // the tiles of prev's size, row by row
	cols    int
	drawn   []bool // per tile of grid: touched by a reported drawing
	changed []image.Rectangle
}

// Changed returns the tiles of cur that differ from the previous frame
// (all of them the first time, or after a size change) and keeps a copy
// of cur for next time. The result is valid until the next call.
func (d *Differ) Changed(cur *Frame) []image.Rectangle { return d.compare(cur, nil) }

// ChangedIn is Changed for a frame of which only the areas in drawn can
// differ from the previous one (what a DamageWatch reported): the rest of
// the screen is not compared.
func (d *Differ) ChangedIn(cur *Frame, drawn []image.Rectangle) []image.Rectangle {
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
func (d *Differ) compare(cur *Frame, only []bool) []image.Rectangle {
	if d.prev == nil || d.prev.W != cur.W || d.prev.H != cur.H {
		d.prev = NewFrame(cur.W, cur.H)
		copy(d.prev.Pix, cur.Pix)
		d.grid, d.cols = Grid(cur.W, cur.H), (cur.W+TileSize-1)/TileSize
		d.drawn = make([]bool, len(d.grid))
		return append(d.changed[:0], d.grid...)
	}
	changed := d.changed[:0]
	stride := cur.Stride()
	for i, r := range d.grid {
		if only != nil && !only[i] {
			continue
		}
		lo, hi := 4*r.Min.X, 4*r.Max.X
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := y * stride
			if !bytes.Equal(cur.Pix[row+lo:row+hi], d.prev.Pix[row+lo:row+hi]) {
				changed = append(changed, r)
				break
			}
		}
	}
	// Copy only the rows of changed tiles: the rest is equal already.
	for _, r := range changed {
		lo, hi := 4*r.Min.X, 4*r.Max.X
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := y * stride
			copy(d.prev.Pix[row+lo:row+hi], cur.Pix[row+lo:row+hi])
		}
	}
	d.changed = changed
	return changed
}

// Reset forgets the previous frame, so the next Changed reports everything.
func (d *Differ) Reset() { d.prev = nil }

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
