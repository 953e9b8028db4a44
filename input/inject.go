package input

// Injector performs input events on a display.
type Injector interface {
	Apply(Event) error
}
