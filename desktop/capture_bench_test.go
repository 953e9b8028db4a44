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
func BenchmarkCaptureWine(b *testing.B) { benchUnderWine(b, "BenchmarkGDICapture", "100x") }

// BenchmarkStillWine runs BenchmarkGDIStillScreen the same way: what a
// still Windows screen costs to share, polled for want of damage reports.
func BenchmarkStillWine(b *testing.B) { benchUnderWine(b, "BenchmarkGDIStillScreen", "1x") }

// wineFigures keeps each Windows benchmark's figures: the testing package
// runs a benchmark once with b.N = 1 before the -benchtime it was given,
// and a minute of Wine is enough once.
var wineFigures = map[string]map[string]float64{}

// benchUnderWine runs the Windows benchmark name in this package's test
// binary, built for Windows, under Wine, and reports its figures as this
// benchmark's.
func benchUnderWine(b *testing.B, name, benchtime string) {
	b.ReportMetric(0, "ns/op") // the run is Wine's start as much as the work
	figures, ok := wineFigures[name]
	if !ok {
		figures = runUnderWine(b, name, benchtime)
		wineFigures[name] = figures
	}
	for unit, v := range figures {
		b.ReportMetric(v, unit)
	}
}

func runUnderWine(b *testing.B, name, benchtime string) map[string]float64 {
	x := xlab.StartXvfb(b, 1920, 1080)
	wine := winelab.Start(b, x.Display, 1920, 1080)
	exe := winelab.GoWindows(b, filepath.Join(b.TempDir(), "desktop.test.exe"), "test", "-c", "./desktop")
	run := exec.Command(wine.Bin, exe, "-test.run", "^$", "-test.bench", "^"+name+"$", "-test.benchtime", benchtime)
	run.Env = append(os.Environ(), wine.Env...)
	out, err := run.CombinedOutput()
	if err != nil {
		b.Fatalf("the Windows benchmark under Wine: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || !strings.HasPrefix(f[0], name) {
			continue
		}
		figures := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil && f[i+1] != "ns/op" {
				figures[f[i+1]] = v
			}
		}
		return figures
	}
	b.Fatalf("no figures in the Windows benchmark's output:\n%s", out)
	return nil
}
