package screen

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"io"
	"slices"
	"testing"
	"time"

	"assist/internal/xlab"
)

// benchScreen is a 1920x1080 Xvfb showing a desktop-like picture.
func benchScreen(b *testing.B) (*Capturer, *xlab.Window, *image.RGBA) {
	b.Helper()
	x := xlab.StartXvfb(b, 1920, 1080)
	b.Setenv("DISPLAY", x.Display)
	img := xlab.Desktop(1920, 1080, 5)
	win, err := xlab.ShowImage(x.Display, img.Bounds(), img)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(win.Close)
	c, err := OpenCapturer(0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c, win, img
}

// BenchmarkCapture1080p is one capture of the whole screen over MIT-SHM.
func BenchmarkCapture1080p(b *testing.B) {
	c, _, _ := benchScreen(b)
	var f Frame
	for b.Loop() {
		if err := c.Capture(&f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeFullFrame1080p encodes every tile of a 1080p desktop.
func BenchmarkEncodeFullFrame1080p(b *testing.B) {
	c, _, _ := benchScreen(b)
	var f Frame
	if err := c.Capture(&f); err != nil {
		b.Fatal(err)
	}
	enc := NewParallelEncoder(true)
	grid := Grid(f.W, f.H)
	var bytes int
	for b.Loop() {
		tiles, err := enc.Encode(&f, grid)
		if err != nil {
			b.Fatal(err)
		}
		bytes = 0
		for _, t := range tiles {
			bytes += len(t.Data)
		}
	}
	b.ReportMetric(float64(bytes), "bytes/frame")
}

// workload changes the screen before each frame, as a person would.
type workload func(win *xlab.Window, img *image.RGBA, i int)

func typing(win *xlab.Window, img *image.RGBA, i int) {
	// One character cell of an 8x16 terminal font, left to right.
	r := image.Rect(40+(i%150)*8, 60+(i/150%40)*16, 48+(i%150)*8, 76+(i/150%40)*16)
	draw.Draw(img, r, image.NewUniform(color.RGBA{uint8(i * 37), 220, 220, 255}), image.Point{}, draw.Src)
	_ = win.Paint(r, img)
}

func scrolling(win *xlab.Window, img *image.RGBA, i int) {
	_ = win.Paint(scrollingImg(img, i), img)
}

// scrollingImg moves a 1200x800 terminal up by one 16-pixel line, and a
// new line of text appears at the bottom. It returns the area changed.
func scrollingImg(img *image.RGBA, i int) image.Rectangle {
	area := image.Rect(20, 40, 1220, 840)
	draw.Draw(img, image.Rect(area.Min.X, area.Min.Y, area.Max.X, area.Max.Y-16), img, image.Pt(area.Min.X, area.Min.Y+16), draw.Src)
	line := image.Rect(area.Min.X, area.Max.Y-16, area.Max.X, area.Max.Y)
	draw.Draw(img, line, image.NewUniform(color.RGBA{20, 20, 24, 255}), image.Point{}, draw.Src)
	for x := line.Min.X; x < line.Max.X-8; x += 8 {
		// A glyph-like mark in most cells; no two lines alike, as in a
		// log (a pattern that repeats makes every shift a match).
		if h := (uint32(x)*2654435761 ^ uint32(i)*40503) >> 11; h%5 != 0 {
			draw.Draw(img, image.Rect(x+1, line.Min.Y+3, x+6, line.Min.Y+13), image.NewUniform(color.RGBA{220, 220, 220, 255}), image.Point{}, draw.Src)
		}
	}
	return area
}

func fullScreen(a, c *image.RGBA) workload {
	return func(win *xlab.Window, img *image.RGBA, i int) {
		next := a
		if i%2 == 1 {
			next = c
		}
		copy(img.Pix, next.Pix)
		_ = win.Paint(img.Bounds(), img)
	}
}

// fullScreenPan drags a picture larger than the screen 8 pixels left and
// 4 up per frame: a map or a photo panned, every pixel changing.
func fullScreenPan(big *image.RGBA) workload {
	bgrx := make([]byte, len(big.Pix))
	for i := 0; i < len(bgrx); i += 4 {
		bgrx[i], bgrx[i+1], bgrx[i+2] = big.Pix[i+2], big.Pix[i+1], big.Pix[i]
	}
	return func(win *xlab.Window, img *image.RGBA, i int) {
		x, y := 8*i%(big.Rect.Dx()-img.Rect.Dx()), 4*i%(big.Rect.Dy()-img.Rect.Dy())
		_ = win.PaintPixels(bgrx, y*big.Stride+4*x, big.Stride)
	}
}

// benchWorkload runs capture, change detection and encoding after each
// change, reporting what one update costs (time, allocations) and what
// rate that allows.
func benchWorkload(b *testing.B, change workload) {
	c, win, img := benchScreen(b)
	cfg := DefaultSenderConfig() // as the customer sends to a host of this version
	cfg.CompactJPEG, cfg.Indexed, cfg.Dictionary = true, true, true
	s := NewSender(c, cfg)
	b.Cleanup(s.Close)
	if _, err := s.Step(io.Discard); err != nil { // the first, full frame
		b.Fatal(err)
	}
	var bytes, frames, moves int
	var capture, encode time.Duration
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if change != nil { // the drawing is not the sender's cost
			b.StopTimer()
			change(win, img, i)
			b.StartTimer()
		}
		i++
		st, err := s.Step(io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		bytes += st.Bytes
		moves += st.Moves
		capture += st.Capture
		encode += st.Encode
		if st.Tiles > 0 {
			frames++
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(bytes)/n, "bytes/update")
	b.ReportMetric(float64(capture.Microseconds())/n/1000, "capture-ms")
	b.ReportMetric(float64(encode.Microseconds())/n/1000, "encode-ms")
	b.ReportMetric(float64(frames)/n, "frames/update")
	b.ReportMetric(float64(moves)/n, "moves/update")
}

func BenchmarkStaticScreen(b *testing.B) { benchWorkload(b, nil) }
func BenchmarkTyping(b *testing.B)       { benchWorkload(b, typing) }
func BenchmarkScrolling(b *testing.B)    { benchWorkload(b, scrolling) }
func BenchmarkFullScreenChange(b *testing.B) {
	benchWorkload(b, fullScreen(xlab.Desktop(1920, 1080, 11), xlab.Desktop(1920, 1080, 12)))
}

func BenchmarkFullScreenPan(b *testing.B) {
	benchWorkload(b, fullScreenPan(xlab.Desktop(3840, 2160, 13)))
}

// BenchmarkCaptureToViewerLatency measures from capture to the moment a
// viewer's subscriber holds the update: capture, diff, encode, the wire
// format, the host's mirror. The network adds its round trip on top.
func BenchmarkCaptureToViewerLatency(b *testing.B) {
	c, win, img := benchScreen(b)
	s := NewSender(c, DefaultSenderConfig())
	b.Cleanup(s.Close)
	pr, pw := io.Pipe()
	m := NewMirror()
	go func() { _ = Receive(pr, m.Apply) }()
	sub := m.Subscribe()
	ctx := context.Background()
	if _, err := s.Step(pw); err != nil {
		b.Fatal(err)
	}
	if _, err := sub.Next(ctx); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	i := 0
	for b.Loop() {
		typing(win, img, i)
		i++
		start := time.Now()
		if _, err := s.Step(pw); err != nil {
			b.Fatal(err)
		}
		if _, err := sub.Next(ctx); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	pw.Close()
}
