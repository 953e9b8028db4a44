package screen

import (
	"errors"
	"fmt"
	"image"
	"sync"

	"github.com/jezek/xgb/damage"
	"github.com/jezek/xgb/xfixes"
	"github.com/jezek/xgb/xproto"
)

// DamageSource is a source that can tell what was drawn on it, so that a
// still screen costs nothing to stream and a typed character costs the
// tiles it touched, not a comparison of the whole screen.
type DamageSource interface {
	Source
	WatchDamage() (DamageWatch, error)
}

// DamageWatch reports the areas drawn on a source.
type DamageWatch interface {
	// Changed has a value once something was drawn since the last Take.
	Changed() <-chan struct{}
	// Take returns the areas drawn since the last Take, in the source's
	// pixels (valid until the next Take), and forgets them. Call it before capturing: what is drawn
	// between the two is captured now and reported again next time.
	Take() ([]image.Rectangle, error)
	Close()
}

// MoveHinter is a DamageWatch that also knows where windows moved (X11
// tells every client that asks): a candidate copy the sender checks
// against the pixels, and cheaper to find than by searching.
type MoveHinter interface {
	// TakeMoves returns the moves since the last call, in the source's
	// pixels: each window's place at the first move to its place now.
	TakeMoves() []Copy
}

// maxTrackedMoves bounds the windows whose moves wait to be taken.
const maxTrackedMoves = 16

// xDamage is one watch on the X screen through the DAMAGE extension: the
// server keeps the damaged region, sends one event when it stops being
// empty, and hands it over (as XFixes rectangles) when asked.
type xDamage struct {
	c       *Capturer
	id      damage.Damage
	region  xfixes.Region
	changed chan struct{}
	moves   map[xproto.Window]Copy // under the capturer's watchMu
	taken   []image.Rectangle      // Take's answer, reused
}

var errClosed = errors.New("the screen capture is closed")

// ErrNoDamage means the X server does not track damage; the sender then
// compares whole frames.
var ErrNoDamage = errors.New("the X server has no DAMAGE extension")

// WatchDamage starts a watch on the captured monitor.
func (c *Capturer) WatchDamage() (DamageWatch, error) {
	c.damageOnce.Do(func() { c.damageErr = c.initDamage() })
	if c.damageErr != nil {
		return nil, c.damageErr
	}
	id, err := damage.NewDamageId(c.conn)
	if err != nil {
		return nil, err
	}
	region, err := xfixes.NewRegionId(c.conn)
	if err != nil {
		return nil, err
	}
	if err := xfixes.CreateRegionChecked(c.conn, region, nil).Check(); err != nil {
		return nil, fmt.Errorf("damage region: %w", err)
	}
	w := &xDamage{c: c, id: id, region: region, changed: make(chan struct{}, 1), moves: map[xproto.Window]Copy{}}
	c.watchMu.Lock()
	c.watches[id] = w
	c.watchMu.Unlock()
	if err := damage.CreateChecked(c.conn, id, xproto.Drawable(c.root), damage.ReportLevelNonEmpty).Check(); err != nil {
		w.Close()
		return nil, fmt.Errorf("watch damage: %w", err)
	}
	return w, nil
}

func (c *Capturer) initDamage() error {
	if damage.Init(c.conn) != nil || xfixes.Init(c.conn) != nil {
		return ErrNoDamage
	}
	// Both extensions refuse requests from a client that has not said
	// which version it speaks.
	if _, err := xfixes.QueryVersion(c.conn, 2, 0).Reply(); err != nil {
		return fmt.Errorf("%w (XFixes: %v)", ErrNoDamage, err)
	}
	if _, err := damage.QueryVersion(c.conn, 1, 1).Reply(); err != nil {
		return fmt.Errorf("%w (%v)", ErrNoDamage, err)
	}
	c.watches = map[damage.Damage]*xDamage{}
	c.windows = map[xproto.Window]image.Rectangle{}
	// Where top-level windows go: a moved window is a copy.
	_ = xproto.ChangeWindowAttributesChecked(c.conn, c.root, xproto.CwEventMask,
		[]uint32{xproto.EventMaskSubstructureNotify}).Check()
	c.learnWindows()
	go c.dispatchEvents()
	return nil
}

// learnWindows notes the places of the top-level windows there are; new
// ones are learnt as they are created.
func (c *Capturer) learnWindows() {
	tree, err := xproto.QueryTree(c.conn, c.root).Reply()
	if err != nil {
		return
	}
	kids := tree.Children[:min(len(tree.Children), maxWindows)]
	cookies := make([]xproto.GetGeometryCookie, len(kids))
	for i, k := range kids {
		cookies[i] = xproto.GetGeometry(c.conn, xproto.Drawable(k))
	}
	for i, ck := range cookies {
		if g, err := ck.Reply(); err == nil {
			c.windows[kids[i]] = windowRect(g.X, g.Y, g.Width, g.Height, g.BorderWidth)
		}
	}
}

func windowRect(x, y int16, w, h, border uint16) image.Rectangle {
	return image.Rect(int(x), int(y), int(x)+int(w)+2*int(border), int(y)+int(h)+2*int(border))
}

// dispatchEvents reads the connection's events until it closes: xgb stops
// reading replies once thousands of events wait unread.
func (c *Capturer) dispatchEvents() {
	for {
		ev, err := c.conn.WaitForEvent()
		if ev == nil && err == nil {
			return
		}
		switch e := ev.(type) {
		case xproto.ConfigureNotifyEvent:
			c.windowConfigured(e)
			continue
		case xproto.CreateNotifyEvent:
			c.watchMu.Lock()
			if len(c.windows) < maxWindows {
				c.windows[e.Window] = windowRect(e.X, e.Y, e.Width, e.Height, e.BorderWidth)
			}
			c.watchMu.Unlock()
			continue
		case xproto.DestroyNotifyEvent:
			c.watchMu.Lock()
			delete(c.windows, e.Window)
			c.watchMu.Unlock()
			continue
		}
		n, ok := ev.(damage.NotifyEvent)
		if !ok {
			continue
		}
		c.watchMu.Lock()
		w := c.watches[n.Damage]
		c.watchMu.Unlock()
		if w != nil {
			select {
			case w.changed <- struct{}{}:
			default:
			}
		}
	}
}

// windowConfigured notes a top-level window's new place; one that kept
// its size and changed place moved.
func (c *Capturer) windowConfigured(e xproto.ConfigureNotifyEvent) {
	now := windowRect(e.X, e.Y, e.Width, e.Height, e.BorderWidth)
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	was, known := c.windows[e.Window]
	if known || len(c.windows) < maxWindows {
		c.windows[e.Window] = now
	}
	if !known || was.Size() != now.Size() || was.Min == now.Min {
		return
	}
	for _, w := range c.watches {
		mv, moving := w.moves[e.Window]
		if !moving {
			if len(w.moves) >= maxTrackedMoves {
				continue
			}
			mv.Src = was
		}
		mv.Dst = now.Min
		w.moves[e.Window] = mv
	}
}

// maxWindows bounds the windows whose places are remembered.
const maxWindows = 4096

// TakeMoves returns the windows' moves in the monitor's pixels.
func (w *xDamage) TakeMoves() []Copy {
	w.c.watchMu.Lock()
	defer w.c.watchMu.Unlock()
	var out []Copy
	for win, mv := range w.moves {
		delete(w.moves, win)
		out = append(out, Copy{Src: mv.Src.Sub(w.c.bounds.Min), Dst: mv.Dst.Sub(w.c.bounds.Min)})
	}
	return out
}

func (w *xDamage) Changed() <-chan struct{} { return w.changed }

func (w *xDamage) Take() ([]image.Rectangle, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	if w.c.closed {
		return nil, errClosed
	}
	// Drain the signal first: damage after this point signals again.
	select {
	case <-w.changed:
	default:
	}
	damage.Subtract(w.c.conn, w.id, xfixes.RegionNone, w.region)
	reply, err := xfixes.FetchRegion(w.c.conn, w.region).Reply()
	if err != nil {
		return nil, fmt.Errorf("fetch damage: %w", err)
	}
	w.taken = w.taken[:0]
	for _, r := range reply.Rectangles {
		rect := image.Rect(int(r.X), int(r.Y), int(r.X)+int(r.Width), int(r.Y)+int(r.Height)).Intersect(w.c.bounds)
		if !rect.Empty() {
			w.taken = append(w.taken, rect.Sub(w.c.bounds.Min))
		}
	}
	return w.taken, nil
}

func (w *xDamage) Close() {
	w.c.watchMu.Lock()
	delete(w.c.watches, w.id)
	w.c.watchMu.Unlock()
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	if !w.c.closed { // a closed connection panics on requests
		damage.Destroy(w.c.conn, w.id)
		xfixes.DestroyRegion(w.c.conn, w.region)
	}
}

// watchState is the Capturer's part of damage tracking.
type watchState struct {
	damageOnce sync.Once
	damageErr  error
	watchMu    sync.Mutex
	watches    map[damage.Damage]*xDamage
	windows    map[xproto.Window]image.Rectangle // top-level windows' places
}
