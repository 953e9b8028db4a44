package desktop

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
)

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
