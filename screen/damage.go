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
	// pixels, and forgets them. Call it before capturing: what is drawn
	// between the two is captured now and reported again next time.
	Take() ([]image.Rectangle, error)
	Close()
}

// xDamage is one watch on the X screen through the DAMAGE extension: the
// server keeps the damaged region, sends one event when it stops being
// empty, and hands it over (as XFixes rectangles) when asked.
type xDamage struct {
	c       *Capturer
	id      damage.Damage
	region  xfixes.Region
	changed chan struct{}
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
	w := &xDamage{c: c, id: id, region: region, changed: make(chan struct{}, 1)}
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
	go c.dispatchEvents()
	return nil
}

// dispatchEvents reads the connection's events until it closes: xgb stops
// reading replies once thousands of events wait unread.
func (c *Capturer) dispatchEvents() {
	for {
		ev, err := c.conn.WaitForEvent()
		if ev == nil && err == nil {
			return
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
	var out []image.Rectangle
	for _, r := range reply.Rectangles {
		rect := image.Rect(int(r.X), int(r.Y), int(r.X)+int(r.Width), int(r.Y)+int(r.Height)).Intersect(w.c.bounds)
		if !rect.Empty() {
			out = append(out, rect.Sub(w.c.bounds.Min))
		}
	}
	return out, nil
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
}
