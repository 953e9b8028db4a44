package desktop

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"assist/screen"
)

// benchCapture captures display 0 of backend over and over, and reports
// the time and the machine's CPU (from stat, when it can be read) per
// frame.
func benchCapture(b *testing.B, backend Backend, stat string) {
	s, err := backend.OpenScreen(0)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var f screen.Frame
	if err := s.Capture(&f); err != nil {
		b.Fatal(err)
	}
	cpu0, cpuErr := busySeconds(stat)
	b.ResetTimer()
	for range b.N {
		if err := s.Capture(&f); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "wall-ms/frame")
	if cpu1, err := busySeconds(stat); err == nil && cpuErr == nil {
		b.ReportMetric((cpu1-cpu0)*1e3/float64(b.N), "cpu-ms/frame")
	}
	b.ReportMetric(0, "ns/op") // the two above say it in the units that matter
}

// busySeconds is the CPU time every core of the machine has spent busy
// since boot, from the kernel's counters in stat (/proc/stat; Z:\proc\stat
// for a Windows program under Wine).
func busySeconds(stat string) (float64, error) {
	f, err := os.Open(stat)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	fields := strings.Fields(sc.Text()) // cpu user nice system idle iowait irq softirq steal
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, errors.New("unexpected " + stat + ": " + sc.Text())
	}
	var busy float64
	for i, v := range fields[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / 100, nil // USER_HZ
}
