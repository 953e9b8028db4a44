package screen

import (
	"bytes"
	"encoding/binary"
	"image"
	"slices"
)

// A move is looked for when at least minMoveTiles tiles changed, and sent
// when it covers at least minMoveRows rows: below that, the tiles are as
// cheap.
const (
	minMoveTiles = 4
	minMoveRows  = 32
)

// scrollFinder finds a vertical scroll between two frames: the rows of the
// changed area that are the previous frame's rows shifted up or down.
// Scrolling is how most of a support session's screen changes (terminals,
// logs, documents, web pages); a scrolled area is then sent as one copy
// and the few new lines.
type scrollFinder struct {
	prev, cur []uint64
	// kept are the last frame's hashes of rows keptFrom on, over
	// keptCols: the previous frame's now, when it was not moved since (a
	// frame's rows are hashed once, not twice).
	kept      []uint64
	keptFrom  int
	keptCols  [2]int
	keptOK    bool
	firstPrev map[uint64]int // row hash → its first row in prev
	nextPrev  []int          // row → the next row of prev with its hash, or -1
	lastPrev  map[uint64]int
	votes     []int32 // per shift, offset by the span's height
}

// maxSameRows: a row whose hash more rows of prev share (a blank line)
// votes for none of them.
const maxSameRows = 64

// find returns the largest scroll that explains part of the change
// within span, the box of what changed (only the columns that changed: a
// scrolling pane's frame and what is beside it stay where they are).
// prevIsLast says prev is the last frame find was given as cur, unmoved.
func (s *scrollFinder) find(prev, cur *Frame, span image.Rectangle, prevIsLast bool) (Copy, bool) {
	if s.firstPrev == nil {
		s.firstPrev, s.lastPrev = map[uint64]int{}, map[uint64]int{}
	}
	if span.Dy() < minMoveRows {
		return Copy{}, false
	}
	// Rows are hashed over columns that do not follow every pixel of the
	// span's edges (the first differing pixel of a log's lines moves with
	// their text), and the last frame's hashes over whole rows of tiles:
	// the next frame's span then usually lies within them.
	cols := hashColumns(span)
	if prevIsLast && s.keptOK && s.keptCols == cols && s.keptFrom <= span.Min.Y && span.Max.Y <= s.keptFrom+len(s.kept) {
		s.prev = append(s.prev[:0], s.kept[span.Min.Y-s.keptFrom:span.Max.Y-s.keptFrom]...)
	} else {
		s.prev = s.hashRows(s.prev[:0], prev, cols, span.Min.Y, span.Max.Y)
	}
	from, to := span.Min.Y/TileSize*TileSize, min(cur.H, (span.Max.Y+TileSize-1)/TileSize*TileSize)
	s.kept = s.hashRows(s.kept[:0], cur, cols, from, to)
	s.keptCols, s.keptFrom, s.keptOK = cols, from, true
	s.cur = append(s.cur[:0], s.kept[span.Min.Y-from:span.Max.Y-from]...)
	clear(s.firstPrev)
	s.nextPrev = s.nextPrev[:0]
	last := s.lastPrev
	clear(last)
	for i, h := range s.prev {
		s.nextPrev = append(s.nextPrev, -1)
		if j, seen := last[h]; seen {
			s.nextPrev[j] = i
		} else {
			s.firstPrev[h] = i
		}
		last[h] = i
	}
	n := len(s.cur)
	s.votes = slices.Grow(s.votes[:0], 2*n+1)[:2*n+1]
	clear(s.votes)
	for i, h := range s.cur {
		j, ok := s.firstPrev[h]
		if !ok || s.same(j) > maxSameRows {
			continue
		}
		for ; j >= 0; j = s.nextPrev[j] {
			if j != i {
				s.votes[j-i+n]++
			}
		}
	}
	// Rows repeated in small groups (the lines of a glyph, a button) vote
	// for shifts within their group too: the shift that explains the
	// longest band of rows wins among the most voted.
	var best Copy
	found := false
	for _, dy := range s.topVoted() {
		if c, ok := s.longestRun(prev, cur, span, dy); ok && (!found || c.Src.Dy() > best.Src.Dy()) {
			best, found = c, true
		}
	}
	return best, found
}

// forget drops the kept hashes: the next frame's previous one is not
// the last frame find saw.
func (s *scrollFinder) forget() { s.keptOK = false }

// candidates is how many of the most voted shifts are checked.
const candidates = 4

// topVoted returns the most voted shifts, most first.
func (s *scrollFinder) topVoted() []int {
	out := mostVoted(s.votes, candidates)
	for i := range out {
		out[i] -= len(s.cur)
	}
	return out
}

// mostVoted returns the indexes of the k largest non-zero votes, largest
// first.
func mostVoted[V int32 | uint16](votes []V, k int) []int {
	top := make([]int, 0, k+1)
	for i, v := range votes {
		if v == 0 {
			continue
		}
		at := len(top)
		for at > 0 && votes[top[at-1]] < v {
			at--
		}
		if at < k {
			top = slices.Insert(top, at, i)[:min(len(top)+1, k)]
		}
	}
	return top
}

// same counts the rows of prev that share row j's hash, from j on.
func (s *scrollFinder) same(j int) int {
	n := 0
	for ; j >= 0 && n <= maxSameRows; j = s.nextPrev[j] {
		n++
	}
	return n
}

// hashRows gives rows [from, to) a signature each: a hash of every other
// pair of pixels across columns cols, the whole width sampled (text need
// not start at the left), at a fraction of a millisecond for a 1080p
// screen. longestRun checks whole rows, so a collision costs nothing but
// time.
func (s *scrollFinder) hashRows(out []uint64, f *Frame, cols [2]int, from, to int) []uint64 {
	stride := f.Stride()
	for y := from; y < to; y++ {
		row := f.Pix[y*stride+4*cols[0] : y*stride+4*cols[1]]
		h := uint64(14695981039346656037)
		for i := 0; i+8 <= len(row); i += 16 {
			h = (h ^ binary.LittleEndian.Uint64(row[i:])) * 1099511628211
		}
		out = append(out, h)
	}
	return out
}

// hashColumns are the columns of span whose rows are hashed: inside it,
// on a grid of 32 pixels, so that spans whose edges differ by a few
// pixels hash alike; all of a narrow span.
func hashColumns(span image.Rectangle) [2]int {
	from, to := (span.Min.X+31)&^31, span.Max.X&^31
	if to-from < 64 {
		return [2]int{span.Min.X, span.Max.X}
	}
	return [2]int{from, to}
}

// longestRun finds the longest band of rows where cur's row i is prev's
// row i+dy, byte for byte, and returns it as a copy.
func (s *scrollFinder) longestRun(prev, cur *Frame, span image.Rectangle, dy int) (Copy, bool) {
	stride := cur.Stride()
	lo, hi := 4*span.Min.X, 4*span.Max.X
	same := func(i int) bool {
		if i+dy < 0 || i+dy >= len(s.cur) || s.cur[i] != s.prev[i+dy] {
			return false
		}
		c, p := (span.Min.Y+i)*stride, (span.Min.Y+i+dy)*stride
		return bytes.Equal(cur.Pix[c+lo:c+hi], prev.Pix[p+lo:p+hi])
	}
	bestFrom, bestLen := longestBand(0, len(s.cur), same)
	if bestLen < minMoveRows {
		return Copy{}, false
	}
	top := span.Min.Y + bestFrom
	return Copy{
		Src: image.Rect(span.Min.X, top+dy, span.Max.X, top+dy+bestLen),
		Dst: image.Pt(span.Min.X, top),
	}, true
}

// longestBand returns the longest run of rows in [from, to) where same
// holds: its first row and its length.
func longestBand(from, to int, same func(int) bool) (int, int) {
	bestFrom, bestLen, start := 0, 0, -1
	for i := from; i <= to; i++ {
		match := i < to && same(i)
		if match && start < 0 {
			start = i
		}
		if !match && start >= 0 {
			if i-start > bestLen {
				bestFrom, bestLen = start, i-start
			}
			start = -1
		}
	}
	return bestFrom, bestLen
}
