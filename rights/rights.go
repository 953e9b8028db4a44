// Package rights names what someone other than the customer may do in a
// session: view the screen, or also control it (always subject to the
// customer's own consent). A portal's settings cap a specialist's rights
// with the same words, so one set of names serves both.
package rights

// The rights, as they travel on the wire and in signed portal settings.
const (
	None    = ""
	View    = "view"
	Control = "control"
)

// Valid reports whether r names a right an attendee can hold.
func Valid(r string) bool { return r == View || r == Control }
