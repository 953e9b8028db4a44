package screen

import (
	"io"
	"testing"
)

// frameSource is a screen in memory, drawn on directly.
type frameSource struct{ f *Frame }

func (s frameSource) Capture(f *Frame) error {
	if f.W != s.f.W || f.H != s.f.H {
		*f = *NewFrame(s.f.W, s.f.H)
	}
	copy(f.Pix, s.f.Pix)
	return nil
}

// glyph draws an 8x16 cell of letter-like strokes at x, y in colour c.
func glyph(f *Frame, x, y int, c byte) {
	for dy := range 16 {
		for dx := range 8 {
			o := 4 * ((y+dy)*f.W + x + dx)
			v := byte(30)
			if (dx*3+dy*5+int(c))%7 < 2 {
				v = 220
			}
			f.Pix[o], f.Pix[o+1], f.Pix[o+2] = v, v, c
		}
	}
}

// scrollUp moves rows [top+16, bottom) of f up by 16 and writes a new
// line of glyphs at the bottom, as a terminal does.
func scrollUp(f *Frame, top, bottom, line int) {
	stride := f.Stride()
	copy(f.Pix[top*stride:(bottom-16)*stride], f.Pix[(top+16)*stride:bottom*stride])
	for x := 0; x+8 <= f.W; x += 8 {
		glyph(f, x, bottom-16, byte(line*7+x))
	}
}

// TestTheSenderAllocatesNothingPerFrame: once warm, a frame of typing (an
// indexed tile compressed against the history) or of a scrolling terminal
// (a copy and a new line, tiles encoded on every core) costs the sender's
// own code no allocation: capture, comparison, encoding, the wire.
// (JPEG tiles still allocate inside image/jpeg, and the X library
// allocates for each request; neither is in this test.)
func TestTheSenderAllocatesNothingPerFrame(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	const w, h = 640, 480
	screen := NewFrame(w, h)
	for y := 0; y+16 <= h; y += 16 {
		for x := 0; x+8 <= w; x += 8 {
			glyph(screen, x, y, byte(x+y))
		}
	}
	cfg := DefaultSenderConfig()
	cfg.CompactJPEG, cfg.Indexed, cfg.Dictionary = true, true, true
	for _, c := range []struct {
		name   string
		change func(i int)
		moves  bool
	}{
		{"typing", func(i int) { glyph(screen, 8*(i%80), 16*(i/80%30), byte(i)) }, false},
		{"scrolling", func(i int) { scrollUp(screen, 0, h, i) }, true},
	} {
		s := NewSender(frameSource{screen}, cfg)
		i, sent, moves, tiles := 0, 0, 0, 0
		frame := func() {
			c.change(i)
			i++
			st, err := s.Step(io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if st.Tiles > 0 {
				sent++
			}
			moves += st.Moves
			tiles += st.Tiles
		}
		for range 50 { // warm: buffers grown, workers started
			frame()
		}
		if n := testing.AllocsPerRun(100, frame); n != 0 {
			t.Errorf("%s: %.1f allocations a frame", c.name, n)
		}
		if sent != i {
			t.Errorf("%s: %d frames sent of %d changes", c.name, sent, i)
		}
		if c.moves && (moves < i-1 || tiles < 2*i) { // the first frame is whole
			t.Errorf("%s: %d copies and %d tiles in %d frames, want a copy and tiles on every core each", c.name, moves, tiles, i)
		}
		s.Close()
	}
}
