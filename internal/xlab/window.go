package xlab

import (
	"fmt"
	"image"
	"io"
	"log"
	"sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

func init() { xgb.Logger = log.New(io.Discard, "", 0) }

// Window is a plain X window on a test display.
type Window struct {
	conn *xgb.Conn
	win  xproto.Window
	gc   xproto.Gcontext
	rect image.Rectangle

	mu  sync.Mutex
	img *image.RGBA // what the window shows, repainted on Expose

	exposed     chan struct{} // closed once the first Expose is repainted
	exposedOnce sync.Once
}

func connect(display string) (*xgb.Conn, error) {
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", display, err)
	}
	return c, nil
}

// ShowImage opens a borderless window at r showing img (scaled 1:1, img
// must be r's size) and keeps it painted. It returns once the picture is
// on the screen.
func ShowImage(display string, r image.Rectangle, img *image.RGBA) (*Window, error) {
	w, err := openWindow(display, r, xproto.EventMaskExposure|xproto.EventMaskStructureNotify)
	if err != nil {
		return nil, err
	}
	w.img = img
	go w.loop(nil)
	if err := w.Paint(img.Bounds(), img); err != nil {
		w.Close()
		return nil, err
	}
	// Mapping the window asked for a repaint: once it is done, nothing
	// draws on the screen until the test does (capture tests that count
	// drawings rely on it).
	select {
	case <-w.exposed:
	case <-time.After(10 * time.Second):
		w.Close()
		return nil, fmt.Errorf("the window at %v was never exposed", r)
	}
	return w, nil
}

func openWindow(display string, r image.Rectangle, events uint32) (*Window, error) {
	c, err := connect(display)
	if err != nil {
		return nil, err
	}
	screen := xproto.Setup(c).DefaultScreen(c)
	win, err := xproto.NewWindowId(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	err = xproto.CreateWindowChecked(c, screen.RootDepth, win, screen.Root,
		int16(r.Min.X), int16(r.Min.Y), uint16(r.Dx()), uint16(r.Dy()), 0,
		xproto.WindowClassInputOutput, screen.RootVisual,
		xproto.CwBackPixel|xproto.CwOverrideRedirect|xproto.CwEventMask,
		[]uint32{screen.BlackPixel, 1, events}).Check()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("create window: %w", err)
	}
	gc, err := xproto.NewGcontextId(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	if err := xproto.CreateGCChecked(c, gc, xproto.Drawable(win), 0, nil).Check(); err != nil {
		c.Close()
		return nil, err
	}
	if err := xproto.MapWindowChecked(c, win).Check(); err != nil {
		c.Close()
		return nil, err
	}
	return &Window{conn: c, win: win, gc: gc, rect: r, exposed: make(chan struct{})}, nil
}

// Paint draws part of img (in window coordinates) and waits until the X
// server has done it. The window keeps img for repaints.
func (w *Window) Paint(part image.Rectangle, img *image.RGBA) error {
	w.mu.Lock()
	w.img = img
	w.mu.Unlock()
	part = part.Intersect(img.Bounds())
	// One PutImage request must stay under the X request size limit.
	rows := max(1, (200<<10)/(4*part.Dx()))
	buf := make([]byte, 0, 4*part.Dx()*rows)
	for y0 := part.Min.Y; y0 < part.Max.Y; y0 += rows {
		y1 := min(y0+rows, part.Max.Y)
		buf = buf[:0]
		for y := y0; y < y1; y++ {
			for x := part.Min.X; x < part.Max.X; x++ {
				i := img.PixOffset(x, y)
				buf = append(buf, img.Pix[i+2], img.Pix[i+1], img.Pix[i], 0)
			}
		}
		err := xproto.PutImageChecked(w.conn, xproto.ImageFormatZPixmap, xproto.Drawable(w.win), w.gc,
			uint16(part.Dx()), uint16(y1-y0), int16(part.Min.X), int16(y0), 0, 24, buf).Check()
		if err != nil {
			return fmt.Errorf("put image: %w", err)
		}
	}
	return nil
}

// PaintPixels draws w's whole area from pix, rows of 4-byte pixels in the
// X server's order (B, G, R, unused) starting at offset with stride bytes
// between rows, and waits until the X server has done it. Unlike Paint it
// converts nothing, so a test can animate a large window cheaply (a pan:
// the same pix at another offset); the window does not repaint it.
func (w *Window) PaintPixels(pix []byte, offset, stride int) error {
	width, height := w.rect.Dx(), w.rect.Dy()
	rows := max(1, (200<<10)/(4*width))
	buf := make([]byte, 0, 4*width*rows)
	for y0 := 0; y0 < height; y0 += rows {
		y1 := min(y0+rows, height)
		buf = buf[:0]
		for y := y0; y < y1; y++ {
			buf = append(buf, pix[offset+y*stride:][:4*width]...)
		}
		err := xproto.PutImageChecked(w.conn, xproto.ImageFormatZPixmap, xproto.Drawable(w.win), w.gc,
			uint16(width), uint16(y1-y0), 0, int16(y0), 0, 24, buf).Check()
		if err != nil {
			return fmt.Errorf("put image: %w", err)
		}
	}
	return nil
}

func (w *Window) loop(onEvent func(xgb.Event)) {
	for {
		ev, err := w.conn.WaitForEvent()
		if ev == nil && err == nil {
			return // connection closed
		}
		if e, ok := ev.(xproto.ExposeEvent); ok && e.Count == 0 {
			w.mu.Lock()
			img := w.img
			w.mu.Unlock()
			if img != nil {
				_ = w.Paint(img.Bounds(), img)
			}
			w.exposedOnce.Do(func() { close(w.exposed) })
		}
		if onEvent != nil && ev != nil {
			onEvent(ev)
		}
	}
}

// Close destroys the window.
func (w *Window) Close() {
	xproto.DestroyWindow(w.conn, w.win)
	w.conn.Close()
}

// Move puts the window's top-left corner at p and waits until the X
// server has done it.
func (w *Window) Move(p image.Point) error {
	return xproto.ConfigureWindowChecked(w.conn, w.win, xproto.ConfigWindowX|xproto.ConfigWindowY,
		[]uint32{uint32(p.X), uint32(p.Y)}).Check()
}

// SetRootBackground makes img (the screen's size) the root window's
// background. The X server paints it itself where windows uncover it, in
// the same request that uncovers it: a test sees no moment of black, as
// it would under a client's window that repaints on Expose.
func SetRootBackground(display string, img *image.RGBA) error {
	c, err := connect(display)
	if err != nil {
		return err
	}
	defer c.Close()
	screen := xproto.Setup(c).DefaultScreen(c)
	pix, err := xproto.NewPixmapId(c)
	if err != nil {
		return err
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if err := xproto.CreatePixmapChecked(c, screen.RootDepth, pix, xproto.Drawable(screen.Root), uint16(w), uint16(h)).Check(); err != nil {
		return fmt.Errorf("background pixmap: %w", err)
	}
	gc, err := xproto.NewGcontextId(c)
	if err != nil {
		return err
	}
	if err := xproto.CreateGCChecked(c, gc, xproto.Drawable(pix), 0, nil).Check(); err != nil {
		return err
	}
	rows := max(1, (200<<10)/(4*w))
	for y0 := 0; y0 < h; y0 += rows {
		y1 := min(y0+rows, h)
		buf := make([]byte, 0, 4*w*(y1-y0))
		for y := y0; y < y1; y++ {
			for x := range w {
				i := img.PixOffset(x, y)
				buf = append(buf, img.Pix[i+2], img.Pix[i+1], img.Pix[i], 0)
			}
		}
		if err := xproto.PutImageChecked(c, xproto.ImageFormatZPixmap, xproto.Drawable(pix), gc,
			uint16(w), uint16(y1-y0), 0, int16(y0), 0, screen.RootDepth, buf).Check(); err != nil {
			return fmt.Errorf("background: %w", err)
		}
	}
	if err := xproto.ChangeWindowAttributesChecked(c, screen.Root, xproto.CwBackPixmap, []uint32{uint32(pix)}).Check(); err != nil {
		return err
	}
	// The pixmap lives on as the root's background after this client goes.
	xproto.SetCloseDownMode(c, xproto.CloseDownRetainPermanent)
	return xproto.ClearAreaChecked(c, false, screen.Root, 0, 0, 0, 0).Check()
}
