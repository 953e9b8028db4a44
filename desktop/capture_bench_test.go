//go:build linux

package desktop

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"assist/internal/swaylab"
	"assist/internal/winelab"
	"assist/internal/xlab"
)

// The cost of capturing one 1920x1080 frame on each desktop this machine
// can run: time per frame, and CPU per frame counted over the whole
// machine (the X server, the compositor and wineserver do part of the
// work, so the process's own CPU would flatter some of them).

func BenchmarkCaptureX11(b *testing.B) {
	x := xlab.StartXvfb(b, 1920, 1080)
	b.Setenv("DISPLAY", x.Display)
	img := xlab.Desktop(1920, 1080, 4)
	win, err := xlab.ShowImage(x.Display, img.Bounds(), img)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(win.Close)
	benchCapture(b, x11{}, "/proc/stat")
}

func BenchmarkCaptureSway(b *testing.B) {
	s := swaylab.Start(b, xlab.Desktop(1920, 1080, 4))
	for _, kv := range s.Env {
		k, v, _ := strings.Cut(kv, "=")
		b.Setenv(k, v)
	}
	w, err := openWayland()
	if err != nil {
		b.Fatal(err)
	}
	benchCapture(b, w, "/proc/stat")
}

// BenchmarkCaptureWine runs BenchmarkGDICapture, built for Windows,
// under Wine on a 1920x1080 virtual desktop, and reports its figures.
func BenchmarkCaptureWine(b *testing.B) {
	x := xlab.StartXvfb(b, 1920, 1080)
	wine := winelab.Start(b, x.Display, 1920, 1080)
	exe := winelab.GoWindows(b, filepath.Join(b.TempDir(), "desktop.test.exe"), "test", "-c", "./desktop")
	run := exec.Command(wine.Bin, exe, "-test.run", "^$", "-test.bench", "^BenchmarkGDICapture$", "-test.benchtime", "100x")
	run.Env = append(os.Environ(), wine.Env...)
	out, err := run.CombinedOutput()
	if err != nil {
		b.Fatalf("the Windows benchmark under Wine: %v\n%s", err, out)
	}
	b.ReportMetric(0, "ns/op") // the run above is Wine's start as much as capture
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.HasPrefix(f[0], "BenchmarkGDICapture") {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil && f[i+1] != "ns/op" {
				b.ReportMetric(v, f[i+1])
			} else if err == nil {
				b.ReportMetric(v/1e6, "wall-ms/frame")
			}
		}
		return
	}
	b.Fatalf("no figures in the Windows benchmark's output:\n%s", out)
}
