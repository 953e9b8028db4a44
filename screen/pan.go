package screen

import (
	"bytes"
	"encoding/binary"
	"image"
)

// panFinder finds a move of the changed area in any direction, up to
// panRange pixels each way: a map or a photo dragged, a page scrolled
// sideways or diagonally, a picture panned. Vertical scrolls of any
// length are scrollFinder's; this covers what row signatures cannot see,
// because every row also moved sideways.
//
// Short textured segments of the current frame (probes, on a grid over
// the changed area) are looked for in the previous frame at every offset
// in range. The offsets the probes agree on are then checked row by row,
// byte for byte, as a window's reported move is.
type panFinder struct {
	votes  [(2*panRange + 1) * (2*panRange + 1)]uint16
	probes []image.Point
	last   image.Point // the offset of the last pan found
}

const (
	// panRange is the largest shift looked for, per axis and frame: a
	// drag or a pan at 30 frames a second moves a few to a few dozen
	// pixels between captures.
	panRange = 64
	// panGrid probes per side of the changed area.
	panGrid = 4
	// probeLen is a probe's length in pixels. A probe is two such
	// segments, probeGap rows apart: one row of text or of a gradient
	// matches itself several rows up and down (a glyph's strokes, a
	// colour that lasts a few rows), two rows a text line apart rarely.
	probeLen = 16
	probeGap = 11
	// maxProbeMatches: a probe found at more offsets (a repeated pattern)
	// votes for none of them. A few are common: a gradient's rows repeat
	// for a while, and so do a glyph's strokes.
	maxProbeMatches = 16
)

// find returns the pan that explains the most rows of span, the box of
// what changed.
func (p *panFinder) find(prev, cur *Frame, span image.Rectangle) (Copy, bool) {
	if span.Dx() < 2*probeLen || span.Dy() < minMoveRows {
		return Copy{}, false
	}
	p.probes = p.probes[:0]
	cw, ch := span.Dx()/panGrid, span.Dy()/panGrid
	for i := range panGrid {
		for j := range panGrid {
			cell := image.Rect(span.Min.X+j*cw, span.Min.Y+i*ch, span.Min.X+(j+1)*cw, span.Min.Y+(i+1)*ch)
			if at, ok := texturedProbe(cur, cell); ok {
				p.probes = append(p.probes, at)
			}
		}
	}
	// A pan goes on as it went: the last offset, if the probes agree, is
	// checked before they are looked for everywhere.
	last := p.last
	p.last = image.Point{}
	if last != (image.Point{}) && 2*p.matchesAt(prev, cur, last) >= len(p.probes) {
		if mv, whole, ok := p.check(prev, cur, span, last); ok && whole {
			p.last = last
			return mv, true
		}
	}
	clear(p.votes[:])
	for _, at := range p.probes {
		p.vote(prev, cur, at.X, at.Y)
	}
	var best Copy
	found := false
	for _, d := range p.topVoted() {
		mv, whole, ok := p.check(prev, cur, span, d)
		if ok && (!found || mv.Src.Dy()*mv.Src.Dx() > best.Src.Dy()*best.Src.Dx()) {
			best, found, p.last = mv, true, d
		}
		if whole {
			break // all of it: the next candidates cannot explain more
		}
	}
	return best, found
}

// check returns the longest band of span that shows now what prev showed
// d further on, and whether that is all the rows it could be.
func (p *panFinder) check(prev, cur *Frame, span image.Rectangle, d image.Point) (mv Copy, whole, ok bool) {
	src := span.Intersect(span.Add(d))
	mv, ok = checkMove(prev, cur, Copy{Src: src, Dst: src.Min.Sub(d)})
	return mv, ok && mv.Src.Dy() == src.Dy(), ok
}

// matchesAt counts the probes that prev shows d further on.
func (p *panFinder) matchesAt(prev, cur *Frame, d image.Point) int {
	n := 0
	for _, at := range p.probes {
		from := at.Add(d)
		if from.X < 0 || from.Y < 0 || from.X+probeLen > prev.W || from.Y+probeGap >= prev.H {
			continue
		}
		if sameProbe(cur, prev, at, from) {
			n++
		}
	}
	return n
}

// probeTries is how many places of a cell are tried for a probe.
const probeTries = 8

// texturedProbe returns a place in cell for a probe that is not plain (a
// flat background matches at every offset): tried along the cell's
// diagonal, as a desktop has plain areas between its windows' details.
func texturedProbe(f *Frame, cell image.Rectangle) (image.Point, bool) {
	stride := f.Stride()
	for k := range probeTries {
		x := cell.Min.X + k*max(0, cell.Dx()-probeLen)/probeTries
		y := min(cell.Min.Y+k*cell.Dy()/probeTries, f.H-1-probeGap)
		probe := f.Pix[y*stride+4*x:][:4*probeLen]
		edges := 0
		for k := 4; k < len(probe); k += 4 {
			if binary.LittleEndian.Uint32(probe[k:]) != binary.LittleEndian.Uint32(probe[k-4:]) {
				edges++
			}
		}
		if edges >= 2 { // what is left of a plain one, maxProbeMatches rejects
			return image.Pt(x, y), true
		}
	}
	return image.Point{}, false
}

// vote looks for cur's probe at (x, y) in prev at every offset in range;
// a probe found at a few offsets votes for each.
func (p *panFinder) vote(prev, cur *Frame, x, y int) {
	stride := cur.Stride()
	probe := cur.Pix[y*stride+4*x:][:4*probeLen]
	first := binary.LittleEndian.Uint32(probe)
	var at [maxProbeMatches + 1]int
	n := 0
	for dy := max(-panRange, -y); dy <= min(panRange, prev.H-1-probeGap-y); dy++ {
		row := prev.Pix[(y+dy)*stride:][:stride]
		for dx := max(-panRange, -x); dx <= min(panRange, prev.W-probeLen-x); dx++ {
			o := 4 * (x + dx)
			if binary.LittleEndian.Uint32(row[o:]) != first || (dx == 0 && dy == 0) ||
				!sameProbe(cur, prev, image.Pt(x, y), image.Pt(x+dx, y+dy)) {
				continue
			}
			if n == len(at) {
				return
			}
			at[n] = (dy+panRange)*(2*panRange+1) + dx + panRange
			n++
		}
	}
	if n > maxProbeMatches {
		return
	}
	for _, i := range at[:n] {
		p.votes[i]++
	}
}

// sameProbe reports whether prev shows at from the probe cur shows at at.
func sameProbe(cur, prev *Frame, at, from image.Point) bool {
	stride := cur.Stride()
	for _, dy := range [2]int{0, probeGap} {
		c := (at.Y+dy)*stride + 4*at.X
		p := (from.Y+dy)*stride + 4*from.X
		if !bytes.Equal(cur.Pix[c:c+4*probeLen], prev.Pix[p:p+4*probeLen]) {
			return false
		}
	}
	return true
}

// panCandidates is how many of the most voted offsets are checked. Every
// probe votes for the true one; a picture repeated in a few rows (a
// block, a gradient) gives neighbouring offsets votes too, but seldom as
// many.
const panCandidates = 4

// topVoted returns the offsets (where prev held what cur shows) with the
// most votes, most first.
func (p *panFinder) topVoted() []image.Point {
	var out []image.Point
	side := 2*panRange + 1
	for _, i := range mostVoted(p.votes[:], panCandidates) {
		out = append(out, image.Pt(i%side-panRange, i/side-panRange))
	}
	return out
}
