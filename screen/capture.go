package screen

import (
	"errors"
	"fmt"
	"image"
	"io"
	"log"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gen2brain/shm"
	"github.com/jezek/xgb"
	mshm "github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xinerama"
	"github.com/jezek/xgb/xproto"
)

func init() {
	// xgb logs "Could not get authority info" on every connection to
	// displays without an Xauthority entry, such as Xvfb.
	xgb.Logger = log.New(io.Discard, "", 0)
}

// ErrNoDisplay means there is no X display to capture or control.
var ErrNoDisplay = errors.New("no X display: run inside a graphical session, or set DISPLAY (for example DISPLAY=:0)")

// Display is one monitor of the X screen.
type Display struct {
	Index  int
	Bounds image.Rectangle // in root-window coordinates
}

// CheckDisplay returns ErrNoDisplay unless an X server answers on $DISPLAY.
// Call it before anything that talks to X: robotgo's cgo backend crashes
// the process without one.
func CheckDisplay() error {
	c, err := connect()
	if err != nil {
		return err
	}
	c.Close()
	return nil
}

// connect opens a connection to $DISPLAY. An X server whose last client
// left resets itself, unless it was started with -noreset, and drops the
// connections that arrive meanwhile: on a desktop with no other client
// (a bare Xvfb) that happens between two connections of our own, so a
// connection dropped during its handshake is tried again for a moment.
func connect() (*xgb.Conn, error) {
	if os.Getenv("DISPLAY") == "" {
		return nil, ErrNoDisplay
	}
	deadline := time.Now().Add(time.Second)
	for pause := 10 * time.Millisecond; ; pause *= 2 {
		c, err := xgb.NewConn()
		if err == nil {
			return c, nil
		}
		if !droppedInHandshake(err) || time.Now().After(deadline) {
			return nil, fmt.Errorf("%w (%v)", ErrNoDisplay, err)
		}
		time.Sleep(pause)
	}
}

func droppedInHandshake(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// Displays lists the monitors.
func Displays() ([]Display, error) {
	c, err := connect()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return monitors(c)
}

// monitors lists the monitors Xinerama reports, in root coordinates, or
// the whole root window where Xinerama is missing or inactive. An error
// is returned rather than an empty rectangle: a capture of nothing helps
// no one.
func monitors(c *xgb.Conn) ([]Display, error) {
	screen := xproto.Setup(c).DefaultScreen(c)
	root := []Display{{Bounds: image.Rect(0, 0, int(screen.WidthInPixels), int(screen.HeightInPixels))}}
	if xinerama.Init(c) != nil {
		return root, nil
	}
	reply, err := xinerama.QueryScreens(c).Reply()
	if err != nil {
		return nil, fmt.Errorf("list the monitors: %w", err)
	}
	if len(reply.ScreenInfo) == 0 {
		return root, nil
	}
	var out []Display
	for _, m := range reply.ScreenInfo {
		b := image.Rect(int(m.XOrg), int(m.YOrg), int(m.XOrg)+int(m.Width), int(m.YOrg)+int(m.Height))
		if !b.Empty() {
			out = append(out, Display{Index: len(out), Bounds: b})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the X server reports no monitors")
	}
	return out, nil
}

// Capturer grabs one monitor. It keeps one X connection and one shared
// memory segment open for its whole life: opening them per frame, as
// screenshot.CaptureRect does, costs 27 ms per 1080p frame against under
// 4 ms this way.
type Capturer struct {
	mu     sync.Mutex // one capture at a time: the segment is shared
	closed bool
	conn   *xgb.Conn
	root   xproto.Window
	bounds image.Rectangle

	shmID int
	seg   mshm.Seg
	data  []byte // the shared segment; nil when SHM is unavailable

	watchState
}

// OpenCapturer opens the monitor with the given index (see Displays).
func OpenCapturer(display int) (*Capturer, error) {
	conn, err := connect()
	if err != nil {
		return nil, err
	}
	displays, err := monitors(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if display < 0 || display >= len(displays) {
		conn.Close()
		return nil, fmt.Errorf("no display %d: this screen has %d (see 'assist share --list-displays')", display, len(displays))
	}
	c := &Capturer{conn: conn, root: xproto.Setup(conn).DefaultScreen(conn).Root, bounds: displays[display].Bounds}
	if !c.is32bpp() {
		conn.Close()
		return nil, fmt.Errorf("unsupported X server pixel format: want 32 bits per pixel at depth 24")
	}
	if err := c.attachShm(); err != nil {
		c.data = nil // fall back to plain GetImage over the socket
	}
	return c, nil
}

func (c *Capturer) is32bpp() bool {
	setup := xproto.Setup(c.conn)
	depth := setup.DefaultScreen(c.conn).RootDepth
	for _, f := range setup.PixmapFormats {
		if f.Depth == depth {
			return f.BitsPerPixel == 32 && (depth == 24 || depth == 32)
		}
	}
	return false
}

func (c *Capturer) attachShm() error {
	if err := mshm.Init(c.conn); err != nil {
		return err
	}
	size := 4 * c.bounds.Dx() * c.bounds.Dy()
	id, err := shm.Get(shm.IPC_PRIVATE, size, shm.IPC_CREAT|0o600)
	if err != nil {
		return err
	}
	data, err := shm.At(id, 0, 0)
	if err != nil {
		_ = shm.Rm(id)
		return err
	}
	seg, err := mshm.NewSegId(c.conn)
	if err != nil {
		_ = shm.Dt(data)
		_ = shm.Rm(id)
		return err
	}
	if err := mshm.AttachChecked(c.conn, seg, uint32(id), false).Check(); err != nil {
		_ = shm.Dt(data)
		_ = shm.Rm(id)
		return err
	}
	// Marked for removal now: the kernel frees it when both sides detach,
	// even if this process dies.
	_ = shm.Rm(id)
	c.shmID, c.seg, c.data = id, seg, data
	return nil
}

// Bounds returns the captured monitor's rectangle in root coordinates.
func (c *Capturer) Bounds() image.Rectangle { return c.bounds }

// Capture fills f (resized if needed) with the current screen. It is safe
// for concurrent use (a sender for a new viewer may start while the old
// one winds down).
func (c *Capturer) Capture(f *Frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, h := c.bounds.Dx(), c.bounds.Dy()
	if f.W != w || f.H != h || len(f.Pix) != 4*w*h {
		*f = *NewFrame(w, h)
	}
	return c.captureArea(f, image.Rect(0, 0, w, h))
}

// CaptureArea updates area r of f, a frame Capture filled before: what
// was drawn, when only that was.
func (c *Capturer) CaptureArea(f *Frame, r image.Rectangle) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, err := AreaOf(f, c.bounds.Size(), r)
	if err != nil || r.Empty() {
		return err
	}
	return c.captureArea(f, r)
}

// AreaOf is the part of r an AreaSource of a screen of size captures into
// f, or an error if f is not a frame of that screen.
func AreaOf(f *Frame, size image.Point, r image.Rectangle) (image.Rectangle, error) {
	if f.W != size.X || f.H != size.Y {
		return image.Rectangle{}, fmt.Errorf("capture area: the frame is %dx%d, the screen %v", f.W, f.H, size)
	}
	return r.Intersect(image.Rect(0, 0, f.W, f.H)), nil
}

func (c *Capturer) captureArea(f *Frame, r image.Rectangle) error {
	if c.closed {
		return errClosed
	}
	w, h := r.Dx(), r.Dy()
	x, y := int16(c.bounds.Min.X+r.Min.X), int16(c.bounds.Min.Y+r.Min.Y)
	stride := f.Stride()
	if c.data != nil {
		_, err := mshm.GetImage(c.conn, xproto.Drawable(c.root), x, y, uint16(w), uint16(h),
			0xffffffff, xproto.ImageFormatZPixmap, c.seg, 0).Reply()
		if err != nil {
			return fmt.Errorf("capture screen: %w", err)
		}
		if w == f.W {
			copy(f.Pix[r.Min.Y*stride:], c.data[:4*w*h])
			return nil
		}
		for row := range h {
			copy(f.Pix[(r.Min.Y+row)*stride+4*r.Min.X:], c.data[4*w*row:4*w*(row+1)])
		}
		return nil
	}
	// Without SHM, fetch in bands: one GetImage reply must fit the X
	// protocol's maximum request length.
	band := max(1, (1<<20)/(4*w))
	for y0 := 0; y0 < h; y0 += band {
		bh := min(band, h-y0)
		img, err := xproto.GetImage(c.conn, xproto.ImageFormatZPixmap, xproto.Drawable(c.root),
			x, y+int16(y0), uint16(w), uint16(bh), 0xffffffff).Reply()
		if err != nil {
			return fmt.Errorf("capture screen: %w", err)
		}
		for row := range bh {
			copy(f.Pix[(r.Min.Y+y0+row)*stride+4*r.Min.X:], img.Data[4*w*row:4*w*(row+1)])
		}
	}
	return nil
}

// Close releases the X connection and the shared segment.
func (c *Capturer) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.data != nil {
		mshm.Detach(c.conn, c.seg)
		_ = shm.Dt(c.data)
	}
	c.conn.Close()
	return nil
}

// Size returns the captured monitor's size in pixels.
func (c *Capturer) Size() (w, h int) { return c.bounds.Dx(), c.bounds.Dy() }
