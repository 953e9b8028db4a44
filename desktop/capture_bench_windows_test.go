//go:build windows

package desktop

import "testing"

// BenchmarkGDICapture captures the primary monitor through GDI. Under
// Wine, the kernel's counters of the Linux machine are at Z:\proc\stat,
// so the CPU per frame counts wineserver and the X server as well; on
// Windows only the time per frame is reported.
func BenchmarkGDICapture(b *testing.B) {
	w, err := detect()
	if err != nil {
		b.Fatal(err)
	}
	benchCapture(b, w, `Z:\proc\stat`)
}
