package rep

import "time"

// Clock is the time the process runs on: the real one, or a test's, so
// expiry and keep-alive are tested without sleeping.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface{ Stop() bool }

// RealClock is the system's clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// every calls f every d on clock c until stop is called.
func every(c Clock, d time.Duration, f func()) (stop func()) {
	done := make(chan struct{})
	var next func()
	next = func() {
		select {
		case <-done:
			return
		default:
		}
		f()
		c.AfterFunc(d, next)
	}
	t := c.AfterFunc(d, next)
	return func() {
		t.Stop()
		close(done)
	}
}
