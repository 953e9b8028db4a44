package screen

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"testing"
	"time"

	"assist/internal/xlab"
)

// imageSource serves a fixed RGBA image as frames.
type imageSource struct{ img *image.RGBA }

func (s *imageSource) Capture(f *Frame) error {
	b := s.img.Bounds()
	if f.W != b.Dx() || f.H != b.Dy() {
		*f = *NewFrame(b.Dx(), b.Dy())
	}
	for i := 0; i < len(s.img.Pix); i += 4 {
		f.Pix[i], f.Pix[i+1], f.Pix[i+2], f.Pix[i+3] = s.img.Pix[i+2], s.img.Pix[i+1], s.img.Pix[i], 0
	}
	return nil
}

func TestCaptureMatchesDisplayPixelForPixel(t *testing.T) {
	x := xlab.StartXvfb(t, 640, 480)
	t.Setenv("DISPLAY", x.Display)
	want := xlab.Pattern(640, 480, 7)
	w, err := xlab.ShowImage(x.Display, want.Bounds(), want)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	c, err := OpenCapturer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.data == nil {
		t.Fatal("MIT-SHM not used on Xvfb")
	}
	var f Frame
	if err := c.Capture(&f); err != nil {
		t.Fatal(err)
	}
	got := f.RGBA(image.Rect(0, 0, f.W, f.H))
	if d := diffPixels(want, got, 0); d != 0 {
		t.Fatalf("%d pixels differ between display and capture", d)
	}
}

func TestNoDisplayIsAClearError(t *testing.T) {
	t.Setenv("DISPLAY", "")
	if _, err := OpenCapturer(0); err != ErrNoDisplay {
		t.Fatalf("err = %v, want ErrNoDisplay", err)
	}
	t.Setenv("DISPLAY", ":31999")
	if err := CheckDisplay(); err == nil {
		t.Fatal("no error for a display nobody serves")
	}
}

// TestABareXServerThatResetsIsCapturedAnyway: an X server with no client
// of its own resets whenever our last connection closes and drops the
// ones that arrive meanwhile. Listing its monitors and capturing it, one
// connection after another, works every time: dropped handshakes used to
// come back as "no X display", "no monitors" or a 0x0 monitor whose
// capture divided by zero.
func TestABareXServerThatResetsIsCapturedAnyway(t *testing.T) {
	x := xlab.StartResettingXvfb(t, 320, 200)
	t.Setenv("DISPLAY", x.Display)
	for i := range 30 {
		ds, err := Displays()
		if err != nil {
			t.Fatalf("listing %d: %v", i, err)
		}
		if len(ds) != 1 || ds[0].Bounds != image.Rect(0, 0, 320, 200) {
			t.Fatalf("listing %d: %v, want one 320x200 monitor", i, ds)
		}
		c, err := OpenCapturer(0)
		if err != nil {
			t.Fatalf("opening %d: %v", i, err)
		}
		var f Frame
		err = c.Capture(&f)
		c.Close()
		if err != nil || f.W != 320 || f.H != 200 {
			t.Fatalf("capture %d: %dx%d, %v", i, f.W, f.H, err)
		}
	}
}

func TestDifferReportsOnlyChangedTiles(t *testing.T) {
	img := xlab.Pattern(300, 200, 1)
	src := &imageSource{img: img}
	var d Differ
	var f Frame
	_ = src.Capture(&f)
	if _, got := d.Changed(&f); len(got) != len(Grid(300, 200)) {
		t.Fatal("the first frame is not whole")
	}
	_ = src.Capture(&f)
	if _, got := d.Changed(&f); len(got) != 0 {
		t.Fatalf("unchanged frame: %d tiles", len(got))
	}
	img.SetRGBA(130, 70, color.RGBA{1, 2, 3, 255}) // inside tile (128,64)
	_ = src.Capture(&f)
	if _, got := d.Changed(&f); len(got) != 1 || got[0] != image.Rect(128, 64, 192, 128) {
		t.Fatalf("one pixel changed: tiles %v", got)
	}
	// With patches, only the pixel.
	d.Partial = true
	img.SetRGBA(131, 71, color.RGBA{1, 2, 3, 255})
	_ = src.Capture(&f)
	if _, got := d.Changed(&f); len(got) != 1 || got[0] != image.Rect(131, 71, 132, 72) {
		t.Fatalf("one pixel changed: patches %v", got)
	}
}

// A terminal scrolls by three lines: the sender finds the move, so what
// is sent is one copy and the new lines, and a receiver that plays them
// has the screen.
func TestAScrollIsSentAsACopyAndTheNewLines(t *testing.T) {
	const w, h = 640, 480
	img := blocks(w, h, 5)
	src := &imageSource{img: img}
	d := Differ{Partial: true}
	var f Frame
	_ = src.Capture(&f)
	d.Changed(&f)
	pane := image.Rect(20, 30, 600, 450)
	draw.Draw(img, image.Rect(pane.Min.X, pane.Min.Y, pane.Max.X, pane.Max.Y-48), img, image.Pt(pane.Min.X, pane.Min.Y+48), draw.Src)
	draw.Draw(img, image.Rect(pane.Min.X, pane.Max.Y-48, pane.Max.X, pane.Max.Y), blocks(pane.Dx(), 48, 6), image.Point{}, draw.Src)
	before := image.NewRGBA(img.Rect)
	_ = (&imageSource{img: before}).Capture(&Frame{}) // only for the type
	copy(before.Pix, d.prev.RGBA(image.Rect(0, 0, w, h)).Pix)
	_ = src.Capture(&f)
	moves, rects := d.Changed(&f)
	want := Copy{Src: image.Rect(20, 78, 600, 450), Dst: image.Pt(20, 30)}
	if len(moves) != 1 || moves[0] != want {
		t.Fatalf("moves %v, want %v", moves, want)
	}
	area := 0
	for _, r := range rects {
		area += r.Dx() * r.Dy()
	}
	if area > pane.Dx()*64*2 {
		t.Fatalf("%d pixels sent besides the copy; the new lines are %d", area, pane.Dx()*48)
	}
	p := &page{t: t, canvas: before}
	tiles := encodeAll(t, NewEncoder(false), &f, rects)
	p.play([][]byte{AppendCopies(nil, w, h, moves), AppendTiles(nil, w, h, tiles)})
	if n := diffPixels(img, p.canvas, 0); n != 0 {
		t.Fatalf("after the copy and the new lines, %d pixels differ from the screen", n)
	}
}

// TestAScrollAfterASmallChangeIsFoundWhole: the scroll finder reuses the
// last frame's row hashes as the previous frame's; a frame it did not
// look at (a small change between two scrolls) makes them stale, and the
// next scroll is still found over the whole pane.
func TestAScrollAfterASmallChangeIsFoundWhole(t *testing.T) {
	const w, h = 640, 480
	img := blocks(w, h, 5)
	src := &imageSource{img: img}
	d := Differ{Partial: true}
	var f Frame
	pane := image.Rect(20, 30, 600, 450)
	scroll := func(seed uint64) {
		draw.Draw(img, image.Rect(pane.Min.X, pane.Min.Y, pane.Max.X, pane.Max.Y-96), img, image.Pt(pane.Min.X, pane.Min.Y+96), draw.Src)
		draw.Draw(img, image.Rect(pane.Min.X, pane.Max.Y-96, pane.Max.X, pane.Max.Y), blocks(pane.Dx(), 96, seed), image.Point{}, draw.Src)
	}
	want := Copy{Src: image.Rect(20, 126, 600, 450), Dst: image.Pt(20, 30)} // farther than a pan: the scroll finder's
	for i, change := range []func(){
		func() {},
		func() { scroll(6) },
		func() { // one tile: too few to look for a move
			draw.Draw(img, image.Rect(100, 200, 130, 210), image.NewUniform(color.RGBA{9, 9, 9, 255}), image.Point{}, draw.Src)
		},
		func() { scroll(7) },
	} {
		change()
		_ = src.Capture(&f)
		moves, _ := d.Changed(&f)
		if (i == 1 || i == 3) && (len(moves) != 1 || moves[0] != want) {
			t.Fatalf("frame %d: moves %v, want %v", i, moves, want)
		}
	}
}

// encodeAll encodes rects of f, in order.
func encodeAll(t *testing.T, enc *Encoder, f *Frame, rects []image.Rectangle) []Tile {
	t.Helper()
	var tiles []Tile
	for _, r := range rects {
		tile, err := enc.Encode(f, r)
		if err != nil {
			t.Fatal(err)
		}
		tiles = append(tiles, tile)
	}
	return tiles
}

func decodeTile(t *testing.T, tile Tile) image.Image {
	t.Helper()
	var img image.Image
	var err error
	if tile.Format == FormatJPEG {
		img, err = jpeg.Decode(bytes.NewReader(tile.Data))
	} else {
		img, err = png.Decode(bytes.NewReader(tile.Data))
	}
	if err != nil {
		t.Fatalf("decode %v tile: %v", tile.Format, err)
	}
	return img
}

// compose draws decoded tiles onto a canvas, as the viewer does: a tile
// at half resolution is drawn over its square.
func compose(t *testing.T, canvas *image.RGBA, tiles []Tile) {
	for _, tile := range tiles {
		img := decodeTile(t, tile)
		if img.Bounds().Dx() < tile.W {
			big := image.NewRGBA(image.Rect(0, 0, tile.W, tile.H))
			for y := range tile.H {
				for x := range tile.W {
					big.Set(x, y, img.At(img.Bounds().Min.X+x/2, img.Bounds().Min.Y+y/2))
				}
			}
			img = big
		}
		draw.Draw(canvas, image.Rect(tile.X, tile.Y, tile.X+tile.W, tile.Y+tile.H), img, image.Point{}, draw.Src)
	}
}

func diffPixels(a *image.RGBA, b image.Image, tolerance int) int {
	n := 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ca := a.RGBAAt(x, y)
			cr, cg, cb, _ := b.At(x, y).RGBA()
			if absDiff(int(ca.R), int(cr>>8)) > tolerance || absDiff(int(ca.G), int(cg>>8)) > tolerance || absDiff(int(ca.B), int(cb>>8)) > tolerance {
				n++
			}
		}
	}
	return n
}

func absDiff(a, b int) int {
	if a > b {
		return a - b
	}
	return b - a
}

func TestSenderMirrorRoundTripIsLossless(t *testing.T) {
	for _, c := range []struct{ indexed, dictionary bool }{{false, false}, {true, false}, {true, true}} {
		t.Run(fmt.Sprintf("indexed=%v,dictionary=%v", c.indexed, c.dictionary), func(t *testing.T) { roundTrip(t, c.indexed, c.dictionary) })
	}
}

// roundTrip sends a picture and a change through a mirror, with tiles of
// few colours as PNG or, indexed, as the mirror or Receive rebuild them.
func roundTrip(t *testing.T, indexed, dictionary bool) {
	img := xlab.Pattern(333, 222, 3)
	draw.Draw(img, image.Rect(0, 128, 333, 222), blocks(333, 94, 1), image.Point{}, draw.Src) // few colours
	src := &imageSource{img: img}
	s := NewSender(src, SenderConfig{MaxFPS: 30, Keepalive: time.Hour, Lossy: false, Indexed: indexed, Dictionary: dictionary})
	pr, pw := io.Pipe()
	m := NewMirror()
	done := make(chan error, 1)
	sentIndexed := 0
	go func() {
		done <- Receive(pr, func(msg Message) {
			for _, tile := range msg.Tiles {
				if tile.Format == FormatIndexed {
					sentIndexed++
				}
			}
			m.Apply(msg)
		})
	}()
	defer func() {
		if indexed && !dictionary && sentIndexed == 0 {
			t.Error("no tile went indexed")
		}
		if dictionary && len(s.history.dict()) == 0 {
			t.Error("no tile went against the history")
		}
	}()

	st, err := s.Step(pw)
	if err != nil {
		t.Fatal(err)
	}
	sub := m.Subscribe()
	msgs := nextMessages(t, sub)
	canvas := image.NewRGBA(img.Bounds())
	compose(t, canvas, msgs)
	if d := diffPixels(img, canvas, 0); d != 0 {
		t.Fatalf("%d pixels differ after lossless round trip", d)
	}

	// Change one region: only its tiles travel.
	draw.Draw(img, image.Rect(100, 70, 140, 90), image.NewUniform(color.RGBA{255, 0, 0, 255}), image.Point{}, draw.Src)
	st2, err := s.Step(pw)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Tiles != 2 || st2.Bytes >= st.Bytes/4 {
		t.Fatalf("partial change sent %d tiles, %d bytes (full frame %d bytes)", st2.Tiles, st2.Bytes, st.Bytes)
	}
	msgs = nextMessages(t, sub)
	if len(msgs) != 2 {
		t.Fatalf("subscriber got %d tiles for a 2-tile change", len(msgs))
	}
	compose(t, canvas, msgs)
	if d := diffPixels(img, canvas, 0); d != 0 {
		t.Fatalf("%d pixels differ after partial update", d)
	}
	pw.Close()
	<-done
}

func nextMessages(t *testing.T, sub *Subscriber) []Tile {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	raw, err := sub.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var tiles []Tile
	for _, r := range raw {
		m, err := Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		tiles = append(tiles, m.Tiles...)
	}
	return tiles
}

func TestPhotoTilesUseJPEGWithinTolerance(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = uint8((i * 7919) % 251) // noise: a photo, not text
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	smooth := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			smooth.SetRGBA(x, y, color.RGBA{uint8(x * 4), uint8(y * 4), 128, 255})
		}
	}
	var f Frame
	_ = (&imageSource{img: smooth}).Capture(&f)
	enc := NewEncoder(true)
	tile, err := enc.Encode(&f, image.Rect(0, 0, 64, 64))
	if err != nil {
		t.Fatal(err)
	}
	if tile.Format != FormatJPEG {
		t.Fatalf("gradient photo encoded as %v", tile.Format)
	}
	// JPEG at quality 80 keeps every channel of a smooth image within 12.
	canvas := image.NewRGBA(smooth.Bounds())
	compose(t, canvas, []Tile{tile})
	if d := diffPixels(smooth, canvas, 12); d != 0 {
		t.Fatalf("%d pixels off by more than 12 after JPEG", d)
	}
	text := xlab.Fill(64, 64, color.RGBA{255, 255, 255, 255})
	_ = (&imageSource{img: text}).Capture(&f)
	if tile, _ := enc.Encode(&f, image.Rect(0, 0, 64, 64)); tile.Format != FormatPNG {
		t.Fatal("flat tile not encoded losslessly")
	}
}

func TestDecodeRejectsTilesOutsideTheScreen(t *testing.T) {
	msg := AppendTiles(nil, 100, 100, []Tile{{X: 90, Y: 0, W: 64, H: 64, Format: FormatPNG, Data: []byte{1}}})
	if _, err := Decode(msg); err == nil {
		t.Fatal("tile past the screen edge accepted")
	}
	msg = AppendTiles(nil, 100, 100, []Tile{{X: 0, Y: 0, W: 64, H: 64, Format: 9, Data: []byte{1}}})
	if _, err := Decode(msg); err == nil {
		t.Fatal("unknown format accepted")
	}
}

// pngBytes starts as a PNG does.
var pngBytes = []byte("\x89PNG\r\n\x1a\n...")

// TestDecodeKeepsTilesOnTheGrid: a sender chose each tile's position
// freely, and the host kept one tile per position: 60 messages made it
// hold 240,000 tiles (+276 MiB). Tiles now lie inside one square of the
// grid, and their bytes must start as their format's do (the browser
// decodes them).
func TestDecodeKeepsTilesOnTheGrid(t *testing.T) {
	for name, tile := range map[string]Tile{
		"across squares": {X: 1, Y: 0, W: 64, H: 64, Format: FormatPNG, Data: pngBytes},
		"wider than one": {X: 0, Y: 0, W: 128, H: 64, Format: FormatPNG, Data: pngBytes},
		"not a PNG":      {X: 0, Y: 0, W: 64, H: 64, Format: FormatPNG, Data: []byte("<svg onload=alert(1)>")},
		"not a JPEG":     {X: 0, Y: 0, W: 64, H: 64, Format: FormatJPEG, Data: pngBytes},
		"too big":        {X: 0, Y: 0, W: 64, H: 64, Format: FormatPNG, Data: append(append([]byte{}, pngBytes...), make([]byte, MaxTileBytes)...)},
	} {
		if _, err := Decode(AppendTiles(nil, 1000, 1000, []Tile{tile})); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	patch := Tile{X: 70, Y: 5, W: 8, H: 16, Format: FormatPNG, Data: pngBytes}
	if _, err := Decode(AppendTiles(nil, 1000, 1000, []Tile{patch})); err != nil {
		t.Errorf("a patch inside one square: %v", err)
	}
	if _, err := Decode(AppendTiles(nil, 16000, 16000, []Tile{patch})); err == nil {
		t.Error("a patch of a screen too large to keep in pixels was accepted")
	}
}

// Copies stay inside the screen, are few, and come only for screens a
// receiver can keep in pixels.
func TestDecodeKeepsCopiesOnTheScreen(t *testing.T) {
	ok := Copy{Src: image.Rect(0, 16, 800, 600), Dst: image.Pt(0, 0)}
	if m, err := Decode(AppendCopies(nil, 1000, 1000, []Copy{ok})); err != nil || len(m.Copies) != 1 || m.Copies[0] != ok {
		t.Fatalf("a scroll: %+v, %v", m.Copies, err)
	}
	for name, msg := range map[string][]byte{
		"source off the screen": AppendCopies(nil, 1000, 1000, []Copy{{Src: image.Rect(900, 0, 1100, 10), Dst: image.Pt(0, 0)}}),
		"landing off it":        AppendCopies(nil, 1000, 1000, []Copy{{Src: image.Rect(0, 0, 100, 100), Dst: image.Pt(950, 0)}}),
		"empty":                 AppendCopies(nil, 1000, 1000, []Copy{{Src: image.Rect(5, 5, 5, 9), Dst: image.Pt(0, 0)}}),
		"too many":              AppendCopies(nil, 1000, 1000, make([]Copy, maxCopies+1)),
		"a huge screen":         AppendCopies(nil, 16000, 16000, []Copy{ok}),
	} {
		if _, err := Decode(msg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestAMirrorHoldsABoundedPicture: a sender announces the largest screen
// and fills every square with the largest tile, again and again; the
// mirror keeps at most MaxMirrorBytes.
func TestAMirrorHoldsABoundedPicture(t *testing.T) {
	m := NewMirror()
	data := append(append([]byte{}, pngBytes...), make([]byte, MaxTileBytes-len(pngBytes))...)
	var tiles []Tile
	for y := 0; y < maxScreenEdge; y += TileSize {
		for x := 0; x < maxScreenEdge && len(tiles) < 60; x += TileSize {
			tiles = append(tiles, Tile{X: x, Y: y, W: TileSize, H: TileSize, Format: FormatPNG, Data: data})
		}
		for len(tiles) == 60 {
			msg, err := Decode(AppendTiles(nil, maxScreenEdge, maxScreenEdge, tiles))
			if err != nil {
				t.Fatal(err)
			}
			m.Apply(msg)
			tiles = tiles[:0]
		}
	}
	if m.bytes > MaxMirrorBytes {
		t.Fatalf("the mirror holds %d bytes, bound %d", m.bytes, MaxMirrorBytes)
	}
	held := 0
	for _, tile := range m.tiles {
		held += len(tile.Data)
	}
	if held != m.bytes || held < MaxMirrorBytes-MaxTileBytes {
		t.Fatalf("the mirror counts %d bytes and holds %d (bound %d)", m.bytes, held, MaxMirrorBytes)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(AppendTiles(nil, 100, 100, []Tile{{X: 0, Y: 0, W: 64, H: 64, Format: FormatPNG, Data: pngBytes}}))
	f.Add(AppendFrameEnd(nil, FrameEnd{Seq: 3, Captured: 1_700_000_000_000_000, Tiles: 2}))
	f.Add(AppendCopies(nil, 800, 600, []Copy{{Src: image.Rect(0, 16, 800, 600), Dst: image.Pt(0, 0)}}))
	f.Add(AppendTiles(nil, 100, 100, []Tile{{X: 65, Y: 3, W: 8, H: 16, Format: FormatPNG, Data: pngBytes}}))
	f.Add([]byte{MsgKeepalive})
	f.Add(AppendAck(nil, 7))
	f.Add([]byte{MsgTiles, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		for _, tile := range m.Tiles {
			if tile.X+tile.W > m.ScreenW || tile.Y+tile.H > m.ScreenH {
				t.Fatalf("accepted tile %+v outside %dx%d", tile, m.ScreenW, m.ScreenH)
			}
		}
		// What decodes must re-encode to the same bytes.
		var again []byte
		switch m.Kind {
		case MsgTiles:
			again = AppendTiles(nil, m.ScreenW, m.ScreenH, m.Tiles)
		case MsgCopies:
			again = AppendCopies(nil, m.ScreenW, m.ScreenH, m.Copies)
		case MsgFrameEnd:
			again = AppendFrameEnd(nil, m.End)
		case MsgAck:
			again = AppendAck(nil, m.End.Seq)
		default:
			again = []byte{m.Kind}
		}
		if _, err := Decode(again); err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
	})
}

// TestMirrorResetForgetsThePicture: after a share ends, a page that opens
// gets no stale picture, one already open gets nothing more, and the next
// share's tiles arrive as usual.
func TestMirrorResetForgetsThePicture(t *testing.T) {
	m := NewMirror()
	tile := Tile{X: 0, Y: 0, W: 8, H: 8, Format: FormatPNG, Data: pngBytes}
	m.Apply(Message{Kind: MsgTiles, ScreenW: 64, ScreenH: 48, Tiles: []Tile{tile}})
	m.Apply(Message{Kind: MsgFrameEnd, End: FrameEnd{Seq: 1}})
	open := m.Subscribe()
	defer open.Close()

	m.Reset()
	if w, h := m.Size(); w != 0 || h != 0 {
		t.Fatalf("size after reset %dx%d", w, h)
	}
	if msgs := open.take(); msgs != nil {
		t.Fatalf("an open page still gets %d messages of the old picture", len(msgs))
	}
	later := m.Subscribe()
	defer later.Close()
	if msgs := later.take(); msgs != nil {
		t.Fatalf("a page opened after the reset gets %d messages of the old picture", len(msgs))
	}

	m.Apply(Message{Kind: MsgTiles, ScreenW: 32, ScreenH: 24, Tiles: []Tile{tile}})
	m.Apply(Message{Kind: MsgFrameEnd, End: FrameEnd{Seq: 1}})
	for _, s := range []*Subscriber{open, later} {
		msgs := s.take()
		if len(msgs) != 2 {
			t.Fatalf("the next share: %d messages, want tiles and a frame end", len(msgs))
		}
		if got, err := Decode(msgs[0]); err != nil || got.ScreenW != 32 || len(got.Tiles) != 1 {
			t.Fatalf("the next share's tiles: %+v, %v", got, err)
		}
	}
}

// A tile of few colours (text, UI) is an indexed PNG, exact and small; a
// tile of a photo with a window edge or text on it stays lossless, so the
// letters do not ring; only a photo's tile goes as JPEG.
func TestTilesAreEncodedByWhatTheyShow(t *testing.T) {
	photo := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			photo.SetRGBA(x, y, color.RGBA{uint8(x*4 + y), uint8(y*4 + x/3), uint8(x * y), 255})
		}
	}
	text := xlab.Fill(64, 64, color.RGBA{250, 250, 250, 255})
	for i := range 30 { // glyph-like strokes in three shades
		draw.Draw(text, image.Rect(2*i, 10+i%3, 2*i+1, 20), image.NewUniform(color.RGBA{uint8(i % 3 * 60), 0, 0, 255}), image.Point{}, draw.Src)
	}
	smooth := image.NewRGBA(photo.Rect) // a wallpaper's gradient: many equal neighbours, none dominant
	for y := range 64 {
		for x := range 64 {
			smooth.SetRGBA(x, y, color.RGBA{uint8(100 + x/6), uint8(40 + 2*y), uint8(90 + x/4), 255})
		}
	}
	mixed := image.NewRGBA(photo.Rect)
	draw.Draw(mixed, mixed.Rect, photo, image.Point{}, draw.Src)
	draw.Draw(mixed, image.Rect(0, 0, 64, 32), text, image.Point{}, draw.Src) // a terminal's edge over the wallpaper
	photoStrip, textStrip := image.NewRGBA(image.Rect(0, 0, 8, 64)), image.NewRGBA(image.Rect(0, 0, 64, 4))
	draw.Draw(photoStrip, photoStrip.Rect, photo, image.Pt(20, 0), draw.Src) // what a pan brings in
	draw.Draw(textStrip, textStrip.Rect, text, image.Pt(0, 12), draw.Src)
	enc := NewEncoder(true)
	for name, c := range map[string]struct {
		img    *image.RGBA
		format Format
		exact  bool
		under  int
	}{
		"text":             {text, FormatPNG, true, 300},
		"mixed":            {mixed, FormatPNG, true, 1 << 20},
		"photo":            {photo, FormatJPEG, false, 1 << 20},
		"gradient":         {smooth, FormatJPEG, false, 1 << 20},
		"a strip of photo": {photoStrip, FormatJPEG, false, 1 << 20},
		"a strip of text":  {textStrip, FormatPNG, true, 1 << 20},
	} {
		var f Frame
		_ = (&imageSource{img: c.img}).Capture(&f)
		tile, err := enc.Encode(&f, c.img.Rect)
		if err != nil {
			t.Fatal(err)
		}
		if tile.Format != c.format || len(tile.Data) > c.under {
			t.Errorf("%s: %v of %d bytes, want %v under %d", name, tile.Format, len(tile.Data), c.format, c.under)
		}
		canvas := image.NewRGBA(c.img.Rect)
		compose(t, canvas, []Tile{tile})
		if d := diffPixels(c.img, canvas, 0); c.exact && d != 0 {
			t.Errorf("%s: %d pixels changed by a lossless encoding", name, d)
		}
	}
}
