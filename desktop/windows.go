//go:build windows

package desktop

import (
	"fmt"
	"image"

	"github.com/kbinani/screenshot"
	syswin "golang.org/x/sys/windows"

	"assist/input"
	"assist/screen"
)

// windows captures with GDI and
// injects with SendInput (robotgo's win backend).
type windows struct{}

func detect() (Backend, error) {
	dpiAware()
	return windows{}, nil
}

// dpiAware tells Windows this process counts in physical pixels on every
// monitor. Otherwise, at 150 % scaling, Windows scales the cursor
// positions SendInput and SetCursorPos take while GDI captures physical
// pixels, and the rep's clicks land off by the scale.
func dpiAware() {
	user32 := syswin.NewLazySystemDLL("user32.dll")
	// Windows 10 1703 and later; DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2.
	if p := user32.NewProc("SetProcessDpiAwarenessContext"); p.Find() == nil {
		const perMonitorAwareV2 = ^uintptr(3) // (HANDLE)-4
		if r, _, _ := p.Call(perMonitorAwareV2); r != 0 {
			return
		}
	}
	if p := user32.NewProc("SetProcessDPIAware"); p.Find() == nil {
		_, _, _ = p.Call()
	}
}

func (windows) Name() string { return "Windows" }

func (windows) Displays() ([]screen.Display, error) {
	n := screenshot.NumActiveDisplays()
	if n == 0 {
		return nil, fmt.Errorf("windows reports no monitors")
	}
	out := make([]screen.Display, n)
	for i := range n {
		out[i] = screen.Display{Index: i, Bounds: screenshot.GetDisplayBounds(i)}
	}
	return out, nil
}

func (w windows) OpenScreen(display int) (Screen, error) {
	ds, err := w.Displays()
	if err != nil {
		return nil, err
	}
	if display < 0 || display >= len(ds) {
		return nil, fmt.Errorf("no monitor %d (there are %d)", display, len(ds))
	}
	return openGDI(ds[display].Bounds)
}

func (windows) OpenInput(bounds image.Rectangle) (Injector, error) {
	return input.NewWindowsInjector(bounds)
}
