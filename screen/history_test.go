package screen

import (
	"bufio"
	"bytes"
	"errors"
	"image"
	"image/draw"
	"io"
	"testing"

	"assist/p2p"
)

// typist is a page of text being typed: white paper, and letters drawn
// from a font of a few anti-aliased glyphs, each 8x16 pixels of shades of
// grey, one cell after the other.
type typist struct {
	img  *image.RGBA
	font []*image.Paletted
	next int
}

func newTypist(w, h int) *typist {
	ty := &typist{img: image.NewRGBA(image.Rect(0, 0, w, h))}
	draw.Draw(ty.img, ty.img.Bounds(), image.White, image.Point{}, draw.Src)
	for i := range 6 {
		ty.font = append(ty.font, fewColours(8, 16, 6, uint64(i+1)))
	}
	return ty
}

// typeLetter draws glyph g in the next cell of the first line.
func (ty *typist) typeLetter(g int) {
	x := 8 * ty.next
	ty.next++
	draw.Draw(ty.img, image.Rect(x, 0, x+8, 16), ty.font[g], image.Point{}, draw.Src)
}

// TestALetterTypedBeforeCostsAFewBytes: with the stream's history as its
// dictionary, a letter's tile costs a few references to the same letter
// typed before, instead of its whole picture; the receiver rebuilds it
// exactly.
func TestALetterTypedBeforeCostsAFewBytes(t *testing.T) {
	sizes := map[bool][]int{}
	for _, dictionary := range []bool{false, true} {
		ty := newTypist(512, 64)
		s := NewSender(&imageSource{img: ty.img}, SenderConfig{Indexed: true, Dictionary: dictionary})
		pr, pw := io.Pipe()
		m := NewMirror()
		sub := m.Subscribe()
		done := make(chan error, 1)
		go func() { done <- Receive(pr, m.Apply) }()
		canvas := image.NewRGBA(ty.img.Bounds())
		for i := range 2 * len(ty.font) { // every letter twice
			if i > 0 {
				ty.typeLetter(i % len(ty.font))
			}
			st, err := s.Step(pw)
			if err != nil {
				t.Fatal(err)
			}
			sizes[dictionary] = append(sizes[dictionary], st.Bytes)
			compose(t, canvas, nextMessages(t, sub))
			if d := diffPixels(ty.img, canvas, 0); d != 0 {
				t.Fatalf("dictionary=%v: %d pixels differ after letter %d", dictionary, d, i)
			}
		}
		pw.Close()
		<-done
	}
	sum := func(b []int) (n int) {
		for _, v := range b {
			n += v
		}
		return n
	}
	typedBefore := len(sizes[true]) - len(newTypist(1, 1).font)
	plain, dict := sum(sizes[false][typedBefore:]), sum(sizes[true][typedBefore:])
	t.Logf("letters typed a second time: %d bytes, %d with the dictionary", plain, dict)
	if 2*dict > plain {
		t.Fatalf("letters typed before cost %d bytes with the dictionary, %d without: not half", dict, plain)
	}
}

// TestATileNeedsItsHistory: a tile that refers to the frames before it
// is refused by a receiver that has no history (one that missed the
// stream's start), not drawn from what is not there. The stream is
// reliable and in order: a receiver that has one has the sender's.
func TestATileNeedsItsHistory(t *testing.T) {
	ty := newTypist(128, 64)
	s := NewSender(&imageSource{img: ty.img}, SenderConfig{Indexed: true, Dictionary: true})
	var frames [3]bytes.Buffer // the whole page, a letter, the same letter
	for i := range frames {
		if i > 0 {
			ty.typeLetter(0)
		}
		if _, err := s.Step(&frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	stream := func(i ...int) []*bytes.Buffer {
		var out []*bytes.Buffer
		for _, i := range i {
			out = append(out, bytes.NewBuffer(bytes.Clone(frames[i].Bytes())))
		}
		return out
	}
	seen := func(streams []*bytes.Buffer) error {
		var d streamDecoder
		for _, b := range streams {
			r := bufio.NewReader(b)
			for r.Buffered() > 0 || b.Len() > 0 {
				raw, err := p2p.ReadFrame(r, MaxMessageSize)
				if err != nil {
					return err
				}
				if _, err := d.decode(raw); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := seen(stream(0, 1, 2)); err != nil {
		t.Fatalf("the stream from its start: %v", err)
	}
	if err := seen(stream(2)); !errors.Is(err, ErrBadMessage) {
		t.Fatalf("the letter again without the frames before: %v, want ErrBadMessage", err)
	}
}

// TestTheHistoryKeepsWhatTheDictionaryUses: however many tiles a frame
// holds, the history keeps at most a few dictionaries' worth, and the
// dictionary is always the last HistorySize bytes sent.
func TestTheHistoryKeepsWhatTheDictionaryUses(t *testing.T) {
	var h history
	var all []byte
	for frame := range 50 {
		for tile := range 40 {
			raw := make([]byte, 1000+frame+tile)
			for i := range raw {
				raw[i] = byte(frame*7 + tile + i)
			}
			h.add(raw)
			all = append(all, raw...)
			if len(h.pending) > 2*HistorySize+len(raw) {
				t.Fatalf("a frame's tiles hold %d bytes", len(h.pending))
			}
		}
		h.endFrame()
		if len(h.buf) > 2*HistorySize {
			t.Fatalf("the history holds %d bytes", len(h.buf))
		}
		if want := all[len(all)-HistorySize:]; string(h.dict()) != string(want) {
			t.Fatalf("frame %d: the dictionary is not the last %d bytes sent", frame, HistorySize)
		}
	}
}
