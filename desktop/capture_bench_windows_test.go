//go:build windows

package desktop

import (
	"context"
	"io"
	"testing"
	"time"

	syswin "golang.org/x/sys/windows"

	"assist/screen"
)

// Under Wine, the kernel's counters of the Linux machine are at
// Z:\proc\stat, so the CPU figures count wineserver and the X server as
// well; on Windows only the times are reported.
const wineStat = `Z:\proc\stat`

// BenchmarkGDICapture captures the primary monitor through GDI.
func BenchmarkGDICapture(b *testing.B) {
	w, err := detect()
	if err != nil {
		b.Fatal(err)
	}
	benchCapture(b, w, wineStat)
}

// BenchmarkGDIStillScreen streams a still primary monitor as a customer
// does (GDI reports no damage, so it is polled) and reports the CPU a
// second of stillness costs, after the sender has seen it still.
func BenchmarkGDIStillScreen(b *testing.B) {
	w, err := detect()
	if err != nil {
		b.Fatal(err)
	}
	s, err := w.OpenScreen(0)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	cfg := screen.DefaultSenderConfig()
	cfg.Indexed, cfg.Dictionary, cfg.CompactJPEG = true, true, true
	snd := screen.NewSender(s, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- snd.Run(ctx, io.Discard, nil, nil) }()
	defer func() { cancel(); <-done }()
	time.Sleep(screen.DefaultStillAfter + 500*time.Millisecond)
	b.ResetTimer()
	cpu0, cpuErr := busySeconds(wineStat)
	own0 := processSeconds(b)
	const span = 5 * time.Second
	time.Sleep(span)
	cpu1, err := busySeconds(wineStat)
	own1 := processSeconds(b)
	b.StopTimer()
	if err == nil && cpuErr == nil {
		b.ReportMetric((cpu1-cpu0)*1e3/span.Seconds(), "cpu-ms/s")
	}
	b.ReportMetric((own1-own0)*1e3/span.Seconds(), "process-cpu-ms/s")
	b.ReportMetric(0, "ns/op")
}

// processSeconds is the CPU time this process has used, user and kernel.
func processSeconds(b *testing.B) float64 {
	var created, exited, kernel, user syswin.Filetime
	if err := syswin.GetProcessTimes(syswin.CurrentProcess(), &created, &exited, &kernel, &user); err != nil {
		b.Fatal(err)
	}
	ticks := func(t syswin.Filetime) float64 { return float64(uint64(t.HighDateTime)<<32 | uint64(t.LowDateTime)) }
	return (ticks(kernel) + ticks(user)) / 1e7 // 100 ns ticks
}
