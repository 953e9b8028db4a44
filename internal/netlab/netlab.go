// Package netlab builds network labs for tests out of Linux network
// namespaces: hosts joined by veth links or a bridge, and NAT routers. All
// traffic stays inside namespaces the lab created, and the lab removes
// them when the test ends. It needs root and iproute2 (and iptables for
// NAT); without them tests skip loudly, and fail under CI.
package netlab

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// prefix marks every namespace a lab makes; the PID lets a later run
// remove what a killed run left behind.
const prefix = "assistlab-"

var serial atomic.Int64

// Lab is one test's set of namespaces.
type Lab struct {
	t     testing.TB
	id    string
	names []string
}

// New returns an empty lab, or skips (fails under CI) when the machine
// cannot build one.
func New(t testing.TB) *Lab {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "not root"
	} else if _, err := exec.LookPath("ip"); err != nil {
		why = "no iproute2"
	}
	if why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("network lab needs root and iproute2: %s", why)
		}
		t.Skipf("SKIPPED: network lab needs root and iproute2 (%s)", why)
	}
	removeStale()
	l := &Lab{t: t, id: fmt.Sprintf("%d-%d", os.Getpid(), serial.Add(1))}
	t.Cleanup(l.Close)
	return l
}

// removeStale deletes lab namespaces of processes that no longer run.
func removeStale() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], prefix) {
			continue
		}
		name := fields[0]
		pid, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, prefix), "-", 2)[0])
		if err == nil && syscall.Kill(pid, 0) != nil {
			_ = exec.Command("ip", "netns", "del", name).Run()
		}
	}
}

// Namespace creates a namespace with its loopback up and returns its name.
func (l *Lab) Namespace(short string) string {
	l.t.Helper()
	name := prefix + l.id + "-" + short
	l.must("ip", "netns", "add", name)
	l.names = append(l.names, name)
	l.must("ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// Link joins two namespaces with a veth pair; addrs are CIDRs.
func (l *Lab) Link(nsA, devA, addrA, nsB, devB, addrB string) {
	l.t.Helper()
	// Created in the root namespace under unique names, then moved.
	n := serial.Add(1)
	tmpA, tmpB := trunc(fmt.Sprintf("al%d", n)), trunc(fmt.Sprintf("bl%d", n))
	l.must("ip", "link", "add", tmpA, "type", "veth", "peer", "name", tmpB)
	l.must("ip", "link", "set", tmpA, "netns", nsA)
	l.must("ip", "link", "set", tmpB, "netns", nsB)
	l.must("ip", "-n", nsA, "link", "set", tmpA, "name", devA)
	l.must("ip", "-n", nsB, "link", "set", tmpB, "name", devB)
	for _, x := range [][2]string{{nsA, devA}, {nsB, devB}} {
		l.must("ip", "-n", x[0], "link", "set", x[1], "up")
	}
	l.must("ip", "-n", nsA, "addr", "add", addrA, "dev", devA)
	l.must("ip", "-n", nsB, "addr", "add", addrB, "dev", devB)
}

// trunc keeps interface names within the kernel's 15 characters.
func trunc(s string) string {
	if len(s) > 15 {
		return s[len(s)-15:]
	}
	return s
}

// SetLink brings an interface up or down.
func (l *Lab) SetLink(ns, dev string, up bool) {
	l.t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	l.must("ip", "-n", ns, "link", "set", dev, state)
}

// Exec runs a command inside ns and fails the test if it fails.
func (l *Lab) Exec(ns string, args ...string) {
	l.t.Helper()
	l.must(append([]string{"ip", "netns", "exec", ns}, args...)...)
}

// Command returns args wrapped to run inside ns.
func Command(ns string, args ...string) []string {
	return append([]string{"ip", "netns", "exec", ns}, args...)
}

func (l *Lab) must(args ...string) {
	l.t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Close deletes the lab's namespaces (and with them their interfaces).
func (l *Lab) Close() {
	for i := len(l.names) - 1; i >= 0; i-- {
		_ = exec.Command("ip", "netns", "del", l.names[i]).Run()
	}
	l.names = nil
}
