package screen

import (
	"bufio"
	"bytes"
	"context"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"assist/internal/xlab"
	"assist/p2p"
)

// page plays screen messages onto a canvas as the viewer page does.
type page struct {
	t      *testing.T
	canvas *image.RGBA
	copies int
}

func (p *page) play(msgs [][]byte) {
	p.t.Helper()
	for _, raw := range msgs {
		m, err := Decode(raw)
		if err != nil {
			p.t.Fatalf("the mirror sent a malformed message: %v", err)
		}
		if (m.Kind == MsgTiles || m.Kind == MsgCopies) && (p.canvas == nil || p.canvas.Rect.Dx() != m.ScreenW || p.canvas.Rect.Dy() != m.ScreenH) {
			p.canvas = image.NewRGBA(image.Rect(0, 0, m.ScreenW, m.ScreenH))
		}
		p.copies += len(m.Copies)
		for _, c := range m.Copies {
			moved := image.NewRGBA(c.Src) // the canvas copies as if through a buffer
			draw.Draw(moved, c.Src, p.canvas, c.Src.Min, draw.Src)
			draw.Draw(p.canvas, c.DstRect(), moved, c.Src.Min, draw.Src)
		}
		compose(p.t, p.canvas, m.Tiles)
	}
}

// blocks is a picture of few colours (text and UI are): every encoding of
// it is lossless.
func blocks(w, h int, seed uint64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, 7))
	for y := 0; y < h; y += 4 {
		for x := 0; x < w; x += 4 {
			c := color.RGBA{uint8(r.IntN(6) * 50), uint8(r.IntN(6) * 50), uint8(r.IntN(6) * 50), 255}
			draw.Draw(img, image.Rect(x, y, x+4, y+4), image.NewUniform(c), image.Point{}, draw.Src)
		}
	}
	return img
}

// TestEverySubscriberEndsWithThePicture: a screen changes by whole tiles,
// patches and a scroll (a copy). A subscriber that keeps up, one that
// falls behind its queue, and one that comes late each end with the
// sender's picture, pixel for pixel.
func TestEverySubscriberEndsWithThePicture(t *testing.T) {
	const w, h = 320, 200
	screen := blocks(w, h, 1)
	enc := NewEncoder(false)
	var f Frame
	send := func(m *Mirror, rects []image.Rectangle, copies []Copy) {
		_ = (&imageSource{img: screen}).Capture(&f)
		if copies != nil {
			m.Apply(Message{Kind: MsgCopies, ScreenW: w, ScreenH: h, Copies: copies})
		}
		raw := AppendTiles(nil, w, h, encodeAll(t, enc, &f, rects))
		msg, err := Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		m.Apply(msg)
		m.Apply(Message{Kind: MsgFrameEnd, End: FrameEnd{Seq: 1}})
	}
	m := NewMirror()
	keeping, behind := m.Subscribe(), m.Subscribe()
	kp, bp := &page{t: t, canvas: nil}, &page{t: t}
	take := func(s *Subscriber, p *page) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		msgs, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p.play(msgs)
	}

	send(m, Grid(w, h), nil) // the first picture
	take(keeping, kp)
	take(behind, bp)

	behind.limit = 1 // it falls behind at its next message
	for i := range 3 {
		// A terminal scrolls by one 16-pixel line: everything moves up,
		// and the new line is drawn as patches of the squares it crosses.
		scroll := Copy{Src: image.Rect(0, 16, w, h), Dst: image.Pt(0, 0)}
		draw.Draw(screen, image.Rect(0, 0, w, h-16), screen, image.Pt(0, 16), draw.Src)
		draw.Draw(screen, image.Rect(0, h-16, w, h), blocks(w, 16, uint64(10+i)), image.Point{}, draw.Src)
		var line []image.Rectangle
		for x := 0; x < w; x += TileSize {
			line = append(line, image.Rect(x, h-16, min(x+TileSize, w), h).Intersect(image.Rect(x, (h-16)/TileSize*TileSize, x+TileSize, h)))
		}
		// Patches never cross a square: the line is cut at y=192.
		var cut []image.Rectangle
		for _, r := range line {
			top := image.Rect(r.Min.X, r.Min.Y, r.Max.X, 192)
			cut = append(cut, top, image.Rect(r.Min.X, 192, r.Max.X, h))
		}
		send(m, cut, []Copy{scroll})
		take(keeping, kp)
	}
	// A whole square changes, and a one-character patch.
	draw.Draw(screen, image.Rect(64, 64, 128, 128), blocks(64, 64, 99), image.Point{}, draw.Src)
	draw.Draw(screen, image.Rect(200, 70, 208, 86), image.NewUniform(color.RGBA{255, 255, 0, 255}), image.Point{}, draw.Src)
	send(m, []image.Rectangle{image.Rect(64, 64, 128, 128), image.Rect(200, 70, 208, 86)}, nil)
	take(keeping, kp)
	take(behind, bp)
	late := &page{t: t}
	ls := m.Subscribe()
	take(ls, late)

	for name, p := range map[string]*page{"kept up": kp, "fell behind": bp, "came late": late} {
		if d := diffPixels(screen, p.canvas, 0); d != 0 {
			t.Errorf("the subscriber that %s differs from the screen in %d pixels", name, d)
		}
	}
	if kp.copies != 3 || bp.copies != 0 || late.copies != 0 {
		t.Errorf("copies played: %d, %d, %d; want the 3 scrolls only where the stream was followed", kp.copies, bp.copies, late.copies)
	}
	if keeping.dirty != nil || behind.dirty != nil || len(behind.queue) != 0 {
		t.Error("a subscriber is not on the stream at the end")
	}
}

// FuzzMirror feeds a mirror any sequence of well-formed messages (tiles
// whose pictures may be anything, patches, copies, frame ends), decoded
// as Receive does (tiles compressed against the stream's history), while a
// subscriber keeps up and another comes late: nothing panics, and what
// the mirror sends decodes.
func FuzzMirror(f *testing.F) {
	enc := NewEncoder(true)
	var fr Frame
	_ = (&imageSource{img: blocks(130, 70, 3)}).Capture(&fr)
	whole, _ := enc.Encode(&fr, image.Rect(64, 0, 128, 64))
	patch, _ := enc.Encode(&fr, image.Rect(3, 5, 11, 21))
	edge, _ := enc.Encode(&fr, image.Rect(128, 64, 130, 70))
	f.Add(chunks(
		AppendTiles(nil, 130, 70, []Tile{whole, edge}),
		AppendCopies(nil, 130, 70, []Copy{{Src: image.Rect(0, 16, 130, 70), Dst: image.Pt(0, 0)}}),
		AppendTiles(nil, 130, 70, []Tile{patch}),
		AppendFrameEnd(nil, FrameEnd{Seq: 1}),
	))
	f.Add(chunks(AppendTiles(nil, 130, 70, []Tile{patch}), AppendFrameEnd(nil, FrameEnd{Seq: 2})))
	photo := NewEncoder(true)
	photo.Compact = true
	_ = (&imageSource{img: smoothPhoto(130, 70)}).Capture(&fr)
	compact, _ := photo.Encode(&fr, image.Rect(64, 0, 128, 64))
	f.Add(chunks(AppendTiles(nil, 130, 70, []Tile{compact}), AppendFrameEnd(nil, FrameEnd{Seq: 3})))
	text := NewEncoder(false)
	text.Indexed = true
	_ = (&imageSource{img: blocks(130, 70, 4)}).Capture(&fr)
	indexed, _ := text.Encode(&fr, image.Rect(3, 5, 11, 21))
	f.Add(chunks(AppendTiles(nil, 130, 70, []Tile{indexed}), AppendFrameEnd(nil, FrameEnd{Seq: 4})))
	text.useDict = true
	first, _ := text.Encode(&fr, image.Rect(3, 5, 11, 21))
	text.dict = first.raw
	again, _ := text.Encode(&fr, image.Rect(3, 5, 11, 21))
	if first.Format != FormatIndexedDict || again.Format != FormatIndexedDict {
		f.Fatal("the seeds hold no tile compressed against the history")
	}
	f.Add(chunks(AppendTiles(nil, 130, 70, []Tile{first}), AppendFrameEnd(nil, FrameEnd{Seq: 5}),
		AppendTiles(nil, 130, 70, []Tile{again}), AppendFrameEnd(nil, FrameEnd{Seq: 6})))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := NewMirror()
		early := m.Subscribe()
		defer early.Close()
		var d streamDecoder
		for len(b) >= 2 {
			n := min(int(b[0])<<8|int(b[1]), len(b)-2)
			msg, err := d.decode(b[2 : 2+n])
			b = b[2+n:]
			if err != nil {
				continue
			}
			m.Apply(msg)
			checkDecodes(t, early.take())
		}
		late := m.Subscribe()
		defer late.Close()
		checkDecodes(t, late.take())
		if m.bytes > MaxMirrorBytes {
			t.Fatalf("the mirror holds %d bytes", m.bytes)
		}
	})
}

// chunks frames messages for FuzzMirror: a 2-byte length before each.
func chunks(msgs ...[]byte) []byte {
	var out []byte
	for _, m := range msgs {
		out = append(out, byte(len(m)>>8), byte(len(m)))
		out = append(out, m...)
	}
	return out
}

func checkDecodes(t *testing.T, msgs [][]byte) {
	t.Helper()
	for _, raw := range msgs {
		if _, err := Decode(raw); err != nil {
			t.Fatalf("the mirror sent a message that does not decode: %v", err)
		}
	}
}

// TestAStillPhotoIsRefinedToLossless: a photo goes as JPEG while it may
// change; once the screen is still for RefineAfter, its squares come again
// losslessly and the page shows it exactly.
func TestAStillPhotoIsRefinedToLossless(t *testing.T) {
	img := blocks(256, 128, 4)
	photo := xlab.Pattern(128, 128, 9) // many colours: JPEG
	draw.Draw(img, image.Rect(128, 0, 256, 128), photo, image.Point{}, draw.Src)
	s := NewSender(&imageSource{img: img}, DefaultSenderConfig())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	defer pr.Close()
	go func() { _ = s.Run(ctx, pw, nil, nil) }()
	p := &page{t: t}
	frames := make(chan []Tile, 16)
	go func() {
		var tiles []Tile
		_ = Receive(pr, func(m Message) {
			switch m.Kind {
			case MsgTiles:
				tiles = append(tiles, m.Tiles...)
				for i := range tiles[len(tiles)-len(m.Tiles):] {
					tiles[len(tiles)-len(m.Tiles)+i].Data = bytes.Clone(m.Tiles[i].Data)
				}
			case MsgFrameEnd:
				frames <- tiles
				tiles = nil
			}
		})
	}()
	next := func() []Tile {
		select {
		case f := <-frames:
			return f
		case <-time.After(5 * time.Second):
			t.Fatal("no frame")
			return nil
		}
	}
	first := next()
	jpegs := 0
	for _, tile := range first {
		if tile.Format == FormatJPEG {
			jpegs++
		}
	}
	if jpegs != 4 {
		t.Fatalf("the photo went as %d JPEG tiles, want its 4 squares", jpegs)
	}
	start := time.Now()
	refined := next()
	if waited := time.Since(start); waited < RefineAfter/2 {
		t.Fatalf("refined after %v, before the screen was still for %v", waited, RefineAfter)
	}
	for _, tile := range refined {
		if tile.Format != FormatPNG || tile.X < 128 {
			t.Fatalf("the refinement sent %+v; want the photo's squares as PNG", tile)
		}
	}
	p.canvas = image.NewRGBA(img.Rect)
	compose(t, p.canvas, first)
	compose(t, p.canvas, refined)
	if n := diffPixels(img, p.canvas, 0); n != 0 {
		t.Fatalf("after the refinement %d pixels differ", n)
	}
	select {
	case f := <-frames:
		t.Fatalf("a still, refined screen sent %d more tiles", len(f))
	case <-time.After(2 * RefineAfter):
	}
}

// TestAScreenInMotionSendsItsPhotosAtHalfResolution: when most of the
// screen changes frame after frame, photo squares go at half resolution
// (a quarter of the pixels), text squares still whole and lossless; a
// mirror and a page draw them over their squares.
func TestAScreenInMotionSendsItsPhotosAtHalfResolution(t *testing.T) {
	const w, h = 256, 128
	frames := []*image.RGBA{xlab.Pattern(w, h, 1), xlab.Pattern(w, h, 2), xlab.Pattern(w, h, 3)}
	for _, f := range frames {
		draw.Draw(f, image.Rect(0, 0, 64, 64), blocks(64, 64, 7), image.Point{}, draw.Src) // a text square
	}
	src := &imageSource{img: frames[0]}
	s := NewSender(src, DefaultSenderConfig())
	m := NewMirror()
	var stream bytes.Buffer
	sizes := func() (half, whole int) {
		t.Helper()
		stream.Reset()
		if _, err := s.Step(&stream); err != nil {
			t.Fatal(err)
		}
		if err := Receive(bytes.NewReader(stream.Bytes()), func(msg Message) {
			for _, tile := range msg.Tiles {
				var cfgW int
				if tile.Format == FormatJPEG {
					c, _ := jpeg.DecodeConfig(bytes.NewReader(tile.Data))
					cfgW = c.Width
				} else {
					c, _ := png.DecodeConfig(bytes.NewReader(tile.Data))
					cfgW = c.Width
				}
				if cfgW == tile.W/2 {
					half++
				} else {
					whole++
				}
			}
			m.Apply(msg)
		}); err != io.EOF {
			t.Fatal(err)
		}
		return half, whole
	}
	if half, _ := sizes(); half != 0 {
		t.Fatalf("the first picture sent %d squares at half resolution", half)
	}
	src.img = frames[1]
	if half, _ := sizes(); half != 0 {
		t.Fatalf("one change of the whole screen sent %d squares at half resolution", half)
	}
	src.img = frames[2]
	half, whole := sizes()
	if half != 7 || whole != 0 {
		t.Fatalf("a screen in motion sent %d squares at half resolution and %d whole; want the 7 photo squares halved", half, whole)
	}
	// The mirror keeps such a square's pixels right when a copy needs them.
	m.Apply(Message{Kind: MsgCopies, ScreenW: w, ScreenH: h, Copies: []Copy{{Src: image.Rect(64, 0, 128, 64), Dst: image.Pt(64, 64)}}})
	late := m.Subscribe()
	p := &page{t: t}
	p.play(late.take())
	if got, want := p.canvas.RGBAAt(100, 100), frames[2].RGBAAt(100, 36); colorDiff(got, want) > 40 {
		t.Fatalf("the copied half-resolution square shows %v at (100,100), the screen had %v", got, want)
	}
}

func colorDiff(a, b color.RGBA) int {
	return max(absDiff(int(a.R), int(b.R)), absDiff(int(a.G), int(b.G)), absDiff(int(a.B), int(b.B)))
}

// TestCopiesCannotBurnTheHostsTime: a sender that asks for 16 whole-screen
// copies a message, thousands of times, has the mirror move at most its
// budget of screens; the rest is dropped, not forwarded to the pages.
func TestCopiesCannotBurnTheHostsTime(t *testing.T) {
	const w, h = 640, 480
	m := NewMirror()
	sub := m.Subscribe()
	defer sub.Close()
	enc := NewEncoder(false)
	var f Frame
	_ = (&imageSource{img: blocks(w, h, 1)}).Capture(&f)
	var tiles []Tile
	for _, r := range Grid(w, h) {
		tile, _ := enc.Encode(&f, r)
		tiles = append(tiles, tile)
	}
	m.Apply(Message{Kind: MsgTiles, ScreenW: w, ScreenH: h, Tiles: tiles})
	m.Apply(Message{Kind: MsgFrameEnd})
	sub.take()
	whole := make([]Copy, maxCopies)
	for i := range whole {
		whole[i] = Copy{Src: image.Rect(0, 1, w, h), Dst: image.Pt(0, 0)}
	}
	start := time.Now()
	for range 5000 {
		m.Apply(Message{Kind: MsgCopies, ScreenW: w, ScreenH: h, Copies: whole})
	}
	elapsed := time.Since(start)
	played := 0
	for _, raw := range sub.take() {
		msg, _ := Decode(raw)
		played += len(msg.Copies)
	}
	budget := 2*copiesPerSecond + int(elapsed.Seconds()*copiesPerSecond) + maxCopies
	if played > budget {
		t.Fatalf("%d whole-screen copies went through in %v; the budget is %d", played, elapsed, budget)
	}
	if played == 0 {
		t.Fatal("no copy went through at all")
	}
}

// TestASlowLinkGetsTheRefinementInPieces: a screen of photos refined to
// lossless is megabytes; on a slow link each frame of it carries about
// what the link takes at once, and together they make the picture exact.
func TestASlowLinkGetsTheRefinementInPieces(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 1024, 512)) // a grainy photo: JPEG
	rnd := rand.New(rand.NewPCG(1, 2))
	for y := range 512 {
		for x := range 1024 {
			img.SetRGBA(x, y, color.RGBA{uint8(x/4 + rnd.IntN(8)), uint8(y/2 + rnd.IntN(8)), uint8((x+y)/6 + rnd.IntN(8)), 255})
		}
	}
	now := time.Unix(1_800_000_000, 0)
	l := NewLink()
	l.now = func() time.Time { return now }
	l.Sent(1, 100_000, now)
	now = now.Add(200 * time.Millisecond)
	l.Acked(1) // 500 KB/s: a window of 75 KB
	cfg := DefaultSenderConfig()
	cfg.Link = l
	s := NewSender(&imageSource{img: img}, cfg)
	var out bytes.Buffer
	if _, err := s.Step(&out); err != nil {
		t.Fatal(err)
	}
	p := &page{t: t}
	play := func() {
		var msgs [][]byte
		r := bufio.NewReader(bytes.NewReader(out.Bytes()))
		for {
			raw, err := p2p.ReadFrame(r, MaxMessageSize)
			if err != nil {
				break
			}
			msgs = append(msgs, bytes.Clone(raw))
		}
		p.play(msgs)
		out.Reset()
	}
	play()
	pieces := 0
	for s.lossy.any {
		st, err := s.Refine(&out)
		if err != nil {
			t.Fatal(err)
		}
		pieces++
		if st.Bytes > int(l.Window())+refineBatch()*MaxTileBytes/4 {
			t.Fatalf("a piece of the refinement was %d bytes; the link's window is %d", st.Bytes, l.Window())
		}
		play()
	}
	if pieces < 3 {
		t.Fatalf("the refinement went in %d pieces", pieces)
	}
	if n := diffPixels(img, p.canvas, 0); n != 0 {
		t.Fatalf("after the refinement %d pixels differ", n)
	}
}
