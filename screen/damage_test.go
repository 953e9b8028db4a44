package screen

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"io"
	"sync"
	"testing"
	"time"

	"assist/internal/xlab"
)

// countingCapturer counts whole and partial captures of an X screen.
type countingCapturer struct {
	*Capturer
	mu    sync.Mutex
	whole int
	areas []image.Rectangle
}

func (c *countingCapturer) Capture(f *Frame) error {
	c.mu.Lock()
	c.whole++
	c.mu.Unlock()
	return c.Capturer.Capture(f)
}

func (c *countingCapturer) CaptureArea(f *Frame, r image.Rectangle) error {
	c.mu.Lock()
	c.areas = append(c.areas, r)
	c.mu.Unlock()
	return c.Capturer.CaptureArea(f, r)
}

func (c *countingCapturer) counts() (int, []image.Rectangle) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.whole, append([]image.Rectangle(nil), c.areas...)
}

func damageScreen(t *testing.T, w, h int) (*countingCapturer, *xlab.Window, *image.RGBA) {
	t.Helper()
	c, win, img := showPattern(t, xlab.StartXvfb(t, w, h), w, h, 3)
	return &countingCapturer{Capturer: c}, win, img
}

// showPattern shows a pattern over the whole w x h screen of x and
// opens a capture of it; both end with the test.
func showPattern(t *testing.T, x *xlab.Xvfb, w, h int, seed uint8) (*Capturer, *xlab.Window, *image.RGBA) {
	t.Helper()
	t.Setenv("DISPLAY", x.Display)
	img := xlab.Pattern(w, h, seed)
	win, err := xlab.ShowImage(x.Display, img.Bounds(), img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(win.Close)
	c, err := OpenCapturer(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, win, img
}

// On X11 the sender captures what was drawn and nothing else: a still
// screen is not captured at all, a small drawing only where it was, and
// the sender's picture stays the screen's.
func TestTheSenderCapturesOnlyWhatWasDrawn(t *testing.T) {
	c, win, img := damageScreen(t, 320, 240)
	s := NewSender(c, DefaultSenderConfig())
	defer s.Close()
	if st, err := s.Step(io.Discard); err != nil || st.Tiles != len(Grid(320, 240)) {
		t.Fatalf("first frame: %d tiles, %v; want the whole screen", st.Tiles, err)
	}
	if s.damage == nil {
		t.Fatal("no damage watch on Xvfb")
	}
	if st, err := s.Step(io.Discard); err != nil || st.Tiles != 0 {
		t.Fatalf("a still screen sent %d tiles (%v)", st.Tiles, err)
	}
	if whole, areas := c.counts(); whole != 1 || len(areas) != 0 {
		t.Fatalf("a still screen was captured: %d whole, areas %v", whole, areas)
	}

	draw.Draw(img, image.Rect(70, 70, 80, 80), image.NewUniform(color.RGBA{255, 0, 0, 255}), image.Point{}, draw.Src)
	if err := win.Paint(image.Rect(70, 70, 80, 80), img); err != nil {
		t.Fatal(err)
	}
	st, err := s.Step(io.Discard)
	if err != nil || st.Tiles != 1 {
		t.Fatalf("a 10x10 drawing sent %d tiles (%v), want 1", st.Tiles, err)
	}
	if whole, areas := c.counts(); whole != 1 || len(areas) != 1 || !areas[0].Eq(image.Rect(70, 70, 80, 80)) {
		t.Fatalf("after a 10x10 drawing: %d whole captures, areas %v; want only (70,70)-(80,80)", whole, areas)
	}
	var fresh Frame
	if err := c.Capturer.Capture(&fresh); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh.Pix, s.frame.Pix) {
		t.Fatal("the sender's picture is not the screen's after a partial capture")
	}
}

// Run on a damage source: nothing is captured while the screen is still
// (keepalives still go), and a drawing is sent without waiting for a tick.
func TestAStillScreenCostsNoCaptures(t *testing.T) {
	c, win, img := damageScreen(t, 320, 240)
	cfg := DefaultSenderConfig()
	cfg.Keepalive = 100 * time.Millisecond
	s := NewSender(c, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	defer pr.Close()
	go func() { _ = s.Run(ctx, pw, nil, nil) }()
	msgs := make(chan Message, 64)
	go func() { _ = Receive(pr, func(m Message) { msgs <- m }) }()
	next := func(kind byte) Message {
		t.Helper()
		for {
			select {
			case m := <-msgs:
				if m.Kind == kind {
					return m
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no %q message", kind)
			}
		}
	}
	next(MsgFrameEnd) // the first, whole frame
	for range 3 {
		next(MsgKeepalive)
	}
	if whole, areas := c.counts(); whole != 1 || len(areas) != 0 {
		t.Fatalf("still for 300 ms: %d whole captures, areas %v; want only the first", whole, areas)
	}
	draw.Draw(img, image.Rect(200, 10, 210, 20), image.NewUniform(color.RGBA{0, 0, 255, 255}), image.Point{}, draw.Src)
	if err := win.Paint(image.Rect(200, 10, 210, 20), img); err != nil {
		t.Fatal(err)
	}
	if m := next(MsgTiles); len(m.Tiles) != 1 || m.Tiles[0].X != 200 || m.Tiles[0].Y != 10 || m.Tiles[0].W != 10 {
		t.Fatalf("the drawing at (200,10) came as %+v", m.Tiles)
	}
}

// A window moved on X11 is sent as a copy (X says where it went; the
// pixels confirm it) and the background it uncovered, and a page that
// plays the stream shows the screen.
func TestAMovedWindowIsSentAsACopy(t *testing.T) {
	const w, h = 640, 480
	x := xlab.StartXvfb(t, w, h)
	t.Setenv("DISPLAY", x.Display)
	if err := xlab.SetRootBackground(x.Display, blocks(w, h, 2)); err != nil {
		t.Fatal(err)
	}
	win, err := xlab.ShowImage(x.Display, image.Rect(40, 30, 340, 250), xlab.Pattern(300, 220, 8))
	if err != nil {
		t.Fatal(err)
	}
	defer win.Close()
	c, err := OpenCapturer(0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := DefaultSenderConfig()
	cfg.Lossy = false // the page is compared pixel for pixel
	s := NewSender(c, cfg)
	defer s.Close()
	var stream bytes.Buffer
	if _, err := s.Step(&stream); err != nil {
		t.Fatal(err)
	}
	if err := win.Move(image.Pt(64+24, 30+12)); err != nil {
		t.Fatal(err)
	}
	st, err := s.Step(&stream)
	if err != nil {
		t.Fatal(err)
	}
	if st.Moves != 1 {
		t.Fatalf("the window's move was sent as %d copies and %d tiles", st.Moves, st.Tiles)
	}
	p := &page{t: t}
	var msgs [][]byte
	if err := Receive(&stream, func(m Message) {
		switch m.Kind {
		case MsgTiles:
			msgs = append(msgs, AppendTiles(nil, m.ScreenW, m.ScreenH, m.Tiles))
		case MsgCopies:
			msgs = append(msgs, AppendCopies(nil, m.ScreenW, m.ScreenH, m.Copies))
		}
	}); err != io.EOF {
		t.Fatal(err)
	}
	p.play(msgs)
	var f Frame
	if err := c.Capture(&f); err != nil {
		t.Fatal(err)
	}
	if n := diffPixels(f.RGBA(image.Rect(0, 0, w, h)), p.canvas, 0); n != 0 {
		var box image.Rectangle
		want := f.RGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				if want.RGBAAt(x, y) != p.canvas.RGBAAt(x, y) {
					box = box.Union(image.Rect(x, y, x+1, y+1))
				}
			}
		}
		t.Fatalf("the page differs from the screen in %d pixels after the move, within %v (stats %+v)", n, box, st)
	}
}

// TestAnXServerWithoutDamageIsPolled: on an X server without the DAMAGE
// extension the sender compares what it captures; once the screen has
// been still (polled slowly, by rows or whole, whichever costs less
// there), a line drawn is found and sent.
func TestAnXServerWithoutDamageIsPolled(t *testing.T) {
	c, win, img := showPattern(t, xlab.StartXvfbWithout(t, 320, 240, "DAMAGE"), 320, 240, 4)
	if _, err := c.WatchDamage(); !errors.Is(err, ErrNoDamage) {
		t.Fatalf("an X server without DAMAGE: %v, want ErrNoDamage", err)
	}
	s := NewSender(c, SenderConfig{MaxFPS: 30, Keepalive: time.Hour, StillPoll: 10 * time.Millisecond, StillAfter: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	defer pr.Close()
	go func() { _ = s.Run(ctx, pw, nil, nil) }()
	tiles := make(chan Tile, 4096)
	go func() {
		_ = Receive(pr, func(m Message) {
			for _, t := range m.Tiles {
				tiles <- t
			}
		})
	}()
	time.Sleep(500 * time.Millisecond) // the first frame, then still
	for len(tiles) > 0 {
		<-tiles
	}
	line := image.Rect(20, 100, 300, 116)
	draw.Draw(img, line, image.NewUniform(color.RGBA{0, 200, 0, 255}), image.Point{}, draw.Src)
	if err := win.Paint(line, img); err != nil {
		t.Fatal(err)
	}
	var got image.Rectangle
	for deadline := time.After(5 * time.Second); !line.In(got); {
		select {
		case t := <-tiles:
			got = got.Union(image.Rect(t.X, t.Y, t.X+t.W, t.Y+t.H))
		case <-deadline:
			t.Fatalf("the line drawn at %v came as tiles over %v", line, got)
		}
	}
}
