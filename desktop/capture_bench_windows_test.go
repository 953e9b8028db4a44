//go:build windows

package desktop

import (
	"testing"

	"assist/screen"
)

// BenchmarkGDICapture captures the primary monitor through GDI. Under
// Wine, the kernel's counters of the Linux machine are at Z:\proc\stat,
// so the CPU per frame counts wineserver and the X server as well; on
// Windows only the time per frame is reported.
func BenchmarkGDICapture(b *testing.B) {
	w, err := detect()
	if err != nil {
		b.Fatal(err)
	}
	s, err := w.OpenScreen(0)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var f screen.Frame
	if err := s.Capture(&f); err != nil {
		b.Fatal(err)
	}
	cpu0, haveCPU := wineMachineCPU()
	b.ResetTimer()
	for range b.N {
		if err := s.Capture(&f); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if cpu1, ok := wineMachineCPU(); ok && haveCPU {
		b.ReportMetric((cpu1-cpu0)*1e3/float64(b.N), "cpu-ms/frame")
	}
}

func wineMachineCPU() (float64, bool) {
	s, err := busySeconds(`Z:\proc\stat`)
	return s, err == nil
}
