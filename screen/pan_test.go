package screen

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"testing"

	"assist/internal/xlab"
)

// panned returns img with the content of pane moved by d; what comes
// into view is taken from fresh.
func panned(img, fresh *image.RGBA, pane image.Rectangle, d image.Point) *image.RGBA {
	out := image.NewRGBA(img.Rect)
	copy(out.Pix, img.Pix)
	for y := pane.Min.Y; y < pane.Max.Y; y++ {
		for x := pane.Min.X; x < pane.Max.X; x++ {
			from := image.Pt(x, y).Sub(d)
			if from.In(pane) {
				out.SetRGBA(x, y, img.RGBAAt(from.X, from.Y))
			} else {
				out.SetRGBA(x, y, fresh.RGBAAt(x, y))
			}
		}
	}
	return out
}

// TestAPanIsSentAsACopyAndTheNewStrips: a picture dragged in any
// direction, over the whole screen or inside a pane, is one copy and the
// strips that came into view; the receiver's picture equals the screen.
func TestAPanIsSentAsACopyAndTheNewStrips(t *testing.T) {
	const w, h = 640, 480
	screen := image.Rect(0, 0, w, h)
	for _, tc := range []struct {
		name string
		pane image.Rectangle
		d    image.Point
		copy bool
	}{
		{"the whole screen, diagonally", screen, image.Pt(-8, -4), true},
		{"the whole screen, two frames' worth", screen, image.Pt(-16, -8), true},
		{"a pane, sideways", image.Rect(40, 60, 600, 420), image.Pt(24, 0), true},
		{"a pane, up and left by odd amounts", image.Rect(40, 60, 600, 420), image.Pt(-13, 9), true},
		{"a pane, at the edge of the range", image.Rect(0, 0, 500, 400), image.Pt(panRange, -panRange), true},
		{"a pane, beyond the range", image.Rect(0, 0, 500, 400), image.Pt(panRange+6, 3), false},
		{"a page of text, diagonally", screen, image.Pt(-8, -4), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := blocks(w, h, 5)
			if tc.name == "a page of text, diagonally" {
				img = textPage(w, h)
			}
			src := &imageSource{img: img}
			d := Differ{Partial: true}
			var f Frame
			_ = src.Capture(&f)
			d.Changed(&f)
			before := d.prev.RGBA(screen)
			src.img = panned(img, blocks(w, h, 6), tc.pane, tc.d)
			_ = src.Capture(&f)
			moves, rects := d.Changed(&f)
			if !tc.copy {
				if len(moves) != 0 {
					t.Fatalf("moves %v for a pan out of range", moves)
				}
			} else {
				if len(moves) != 1 || moves[0].Dst.Sub(moves[0].Src.Min) != tc.d {
					t.Fatalf("moves %v, want one by %v", moves, tc.d)
				}
				if got, want := moves[0].Src.Dx()*moves[0].Src.Dy(), (tc.pane.Dx()-abs(tc.d.X))*(tc.pane.Dy()-abs(tc.d.Y)); got != want {
					t.Fatalf("the copy moves %d pixels, want %d", got, want)
				}
				area := 0
				for _, r := range rects {
					area += r.Dx() * r.Dy()
				}
				strips := abs(tc.d.X)*tc.pane.Dy() + abs(tc.d.Y)*tc.pane.Dx()
				if area > 2*strips+TileSize*TileSize {
					t.Fatalf("%d pixels sent besides the copy; what came into view is %d", area, strips)
				}
			}
			p := &page{t: t, canvas: before}
			tiles := encodeAll(t, NewEncoder(false), &f, rects)
			p.play([][]byte{AppendCopies(nil, w, h, moves), AppendTiles(nil, w, h, tiles)})
			if n := diffPixels(src.img, p.canvas, 0); n != 0 {
				t.Fatalf("%d pixels differ from the screen", n)
			}
		})
	}
}

func abs(v int) int { return max(v, -v) }

// TestADraggedPictureIsACopyEveryFrame: a picture with a grid of lines
// every 32 pixels (which probes find at several offsets) and plain
// bands, dragged over the whole screen, is a copy in every frame.
func TestADraggedPictureIsACopyEveryFrame(t *testing.T) {
	big := xlab.Pattern(2400, 1500, 13)
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	src := &imageSource{img: img}
	d := Differ{Partial: true}
	var f Frame
	for i := range 40 {
		draw.Draw(img, img.Rect, big, image.Pt(8*i, 4*i), draw.Src)
		_ = src.Capture(&f)
		moves, rects := d.Changed(&f)
		if i == 0 {
			continue
		}
		if len(moves) != 1 || moves[0].Dst.Sub(moves[0].Src.Min) != image.Pt(-8, -4) {
			t.Fatalf("frame %d: moves %v, want one by (-8,-4)", i, moves)
		}
		if len(rects) > 40 {
			t.Fatalf("frame %d: %d rectangles besides the copy", i, len(rects))
		}
	}
}

func TestFirstAndLastDiffFindTheDifferingBytes(t *testing.T) {
	for n := range 40 {
		for at := range n {
			a, b := make([]byte, n), make([]byte, n)
			b[at] = 1
			if got := firstDiff(a, b); got != at {
				t.Fatalf("len %d, differing at %d: firstDiff %d", n, at, got)
			}
			if got := lastDiff(a, b); got != at {
				t.Fatalf("len %d, differing at %d: lastDiff %d", n, at, got)
			}
		}
		a := make([]byte, n)
		if firstDiff(a, a) != n || lastDiff(a, a) != -1 {
			t.Fatalf("len %d: equal slices reported as differing", n)
		}
	}
}

// TestDifferingRowsIsTheChangedBoxsHeight: the band explains measures
// from both ends is the one changedBox finds row by row.
func TestDifferingRowsIsTheChangedBoxsHeight(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	a, b := NewFrame(40, 30), NewFrame(40, 30)
	for range 200 {
		copy(b.Pix, a.Pix)
		for range r.IntN(4) {
			b.Pix[r.IntN(len(b.Pix))]++
		}
		area := image.Rect(r.IntN(20), r.IntN(15), 20+r.IntN(21), 15+r.IntN(16))
		if got, want := differingRows(a, b, area), changedBox(a, b, area).Dy(); got != want {
			t.Fatalf("differingRows %d, changedBox's height %d", got, want)
		}
	}
}

// TestChangedBoxHoldsEveryDifferingPixelAndNoMore: the box found from
// both ends and widened only outside itself is the box of the differing
// pixels, counted one by one.
func TestChangedBoxHoldsEveryDifferingPixelAndNoMore(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	a, b := NewFrame(40, 30), NewFrame(40, 30)
	for range 2000 {
		copy(b.Pix, a.Pix)
		for range r.IntN(6) {
			b.Pix[r.IntN(len(b.Pix))]++
		}
		area := image.Rect(r.IntN(20), r.IntN(15), 20+r.IntN(21), 15+r.IntN(16))
		var want image.Rectangle
		for y := area.Min.Y; y < area.Max.Y; y++ {
			for x := area.Min.X; x < area.Max.X; x++ {
				o := 4 * (y*a.W + x)
				if !bytes.Equal(a.Pix[o:o+4], b.Pix[o:o+4]) {
					want = want.Union(image.Rect(x, y, x+1, y+1))
				}
			}
		}
		if got := changedBox(a, b, area); got != want {
			t.Fatalf("in %v: changedBox %v, the differing pixels' box %v", area, got, want)
		}
	}
}

// textPage is lines of glyph-like strokes: each row of a line repeats in
// the rows above and below it, and the lines repeat every few glyphs.
func textPage(w, h int) *image.RGBA {
	img := xlab.Fill(w, h, color.RGBA{30, 30, 40, 255})
	for y := 2; y+12 <= h; y += 16 {
		for x := 4; x+6 <= w; x += 8 {
			if (x*7+y*3)%5 != 0 {
				c := color.RGBA{200, uint8(150 + x/8%5*20), 200, 255}
				draw.Draw(img, image.Rect(x, y+x/8%3, x+5, y+10), image.NewUniform(c), image.Point{}, draw.Src)
			}
		}
	}
	return img
}
