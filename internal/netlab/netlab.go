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
	"os/signal"
	"strconv"
	"strings"
	"sync"
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
	onInterrupt.Do(func() {
		// An interrupted test run (Ctrl-C, a CI timeout's SIGTERM) skips
		// t.Cleanup: remove this process's namespaces before dying.
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		go func() {
			sig := <-ch
			removeOwn()
			fmt.Fprintf(os.Stderr, "netlab: %v: removed this run's network namespaces\n", sig)
			os.Exit(2)
		}()
	})
	l := &Lab{t: t, id: fmt.Sprintf("%d-%d", os.Getpid(), serial.Add(1))}
	t.Cleanup(l.Close)
	return l
}

var onInterrupt sync.Once

// removeOwn deletes every lab namespace of this process.
func removeOwn() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	mine := fmt.Sprintf("%s%d-", prefix, os.Getpid())
	for _, line := range strings.Split(string(out), "\n") {
		if fields := strings.Fields(line); len(fields) > 0 && strings.HasPrefix(fields[0], mine) {
			_ = exec.Command("ip", "netns", "del", fields[0]).Run()
		}
	}
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

// Internet makes the "public internet": a namespace with a bridge br0 at
// addr (CIDR) that routers and servers attach to.
func (l *Lab) Internet(short, addr string) string {
	l.t.Helper()
	ns := l.Namespace(short)
	l.must("ip", "-n", ns, "link", "add", "br0", "type", "bridge")
	l.must("ip", "-n", ns, "link", "set", "br0", "up")
	l.must("ip", "-n", ns, "addr", "add", addr, "dev", "br0")
	return ns
}

// attach plugs namespace other into the bridge of namespace owner through
// a veth pair; the end in other is named dev and gets addr.
func (l *Lab) attach(owner, bridge, other, dev, addr string) {
	l.t.Helper()
	n := serial.Add(1)
	tmpA, tmpB := trunc(fmt.Sprintf("ap%d", n)), trunc(fmt.Sprintf("bp%d", n))
	l.must("ip", "link", "add", tmpA, "type", "veth", "peer", "name", tmpB)
	l.must("ip", "link", "set", tmpA, "netns", owner)
	l.must("ip", "-n", owner, "link", "set", tmpA, "master", bridge)
	l.must("ip", "-n", owner, "link", "set", tmpA, "up")
	l.must("ip", "link", "set", tmpB, "netns", other)
	l.must("ip", "-n", other, "link", "set", tmpB, "name", dev)
	l.must("ip", "-n", other, "addr", "add", addr, "dev", dev)
	l.must("ip", "-n", other, "link", "set", dev, "up")
}

// NAT says how a router maps its LAN to its WAN address.
type NAT int

const (
	// PortPreserving is endpoint-independent mapping (plain MASQUERADE):
	// what most home routers do, and what hole punching needs.
	PortPreserving NAT = iota
	// Symmetric picks a new random port per destination
	// (MASQUERADE --random-fully): hole punching cannot work through it.
	Symmetric
)

// Router makes a home router: WAN on the internet bridge at wanAddr, a LAN
// bridge at lanAddr, NAT of the given kind, and the usual home-router
// firewall that drops unsolicited inbound traffic (without it the router
// resets early hole-punch packets and hole punching fails).
func (l *Lab) Router(short, inet, wanAddr, lanAddr string, nat NAT) string {
	l.t.Helper()
	if _, err := exec.LookPath("iptables"); err != nil {
		if os.Getenv("CI") != "" {
			l.t.Fatal("network lab needs iptables")
		}
		l.t.Skip("SKIPPED: network lab needs iptables")
	}
	ns := l.Namespace(short)
	l.attach(inet, "br0", ns, "wan", wanAddr)
	l.must("ip", "-n", ns, "link", "add", "lan", "type", "bridge")
	l.must("ip", "-n", ns, "link", "set", "lan", "up")
	l.must("ip", "-n", ns, "addr", "add", lanAddr, "dev", "lan")
	l.Exec(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	masq := []string{"iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE"}
	if nat == Symmetric {
		masq = append(masq, "--random-fully")
	}
	l.Exec(ns, masq...)
	for _, chain := range []string{"FORWARD", "INPUT"} {
		l.Exec(ns, "iptables", "-A", chain, "-i", "wan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
		l.Exec(ns, "iptables", "-A", chain, "-i", "wan", "-j", "DROP")
	}
	return ns
}

// Home makes a computer on a router's LAN at addr with gw as its gateway.
func (l *Lab) Home(short, router, addr, gw string) string {
	l.t.Helper()
	ns := l.Namespace(short)
	l.attach(router, "lan", ns, "eth0", addr)
	l.must("ip", "-n", ns, "route", "add", "default", "via", gw)
	return ns
}

// Server puts a namespace directly on the internet bridge at addr.
func (l *Lab) Server(short, inet, addr string) string {
	l.t.Helper()
	ns := l.Namespace(short)
	l.attach(inet, "br0", ns, "eth0", addr)
	return ns
}
