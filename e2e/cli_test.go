package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"assist/internal/proctest"
)

// TestVersionNamesTheCommit: 'assist version' and '--version' say the
// commit the binary was built from.
func TestVersionNamesTheCommit(t *testing.T) {
	root, err := proctest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		p := proctest.Start(t, assistBin, nil, args...)
		if code := p.Wait(10 * time.Second); code != 0 {
			t.Fatalf("%v exited %d", args, code)
		}
		if out := p.Stdout(); !strings.Contains(out, "commit "+strings.TrimSpace(string(head))) {
			t.Fatalf("%v: %q does not name commit %s", args, out, head)
		}
	}
}

// TestARendezvousNodeThatIsDownIsSaidPlainly: what failed and what to do,
// no libp2p internals; the details are in the debug log.
func TestARendezvousNodeThatIsDownIsSaidPlainly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nobody listens there now
	down := fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/12D3KooWGTYiaTY1x8SJK5vkjBs7TDyrcduA2PjqZjide6SCfB3S", port)
	for _, debug := range []bool{false, true} {
		args := []string{"join", "--no-browser", "--rendezvous", down, "000-000-000-000"}
		if debug {
			args = append(args, "--log-level", "debug")
		}
		p := proctest.Start(t, assistBin, []string{"ASSIST_HOME=" + t.TempDir()}, args...)
		if code := p.Wait(30 * time.Second); code != 1 {
			t.Fatalf("exit %d", code)
		}
		msg := p.Stderr()
		if !strings.Contains(msg, "cannot reach the rendezvous node "+down) || !strings.Contains(msg, "--rendezvous") {
			t.Fatalf("the error does not say what failed and what to do: %q", msg)
		}
		if internals := strings.Contains(msg, "failed to dial"); internals != debug {
			t.Fatalf("libp2p's details shown=%v with debug=%v: %q", internals, debug, msg)
		}
	}
}

// TestDepsWaitsForABusyAptLock: while another package manager holds apt's
// lock (here an apt-get that says so twice), the set-up waits and then
// installs, instead of stopping at once.
func TestDepsWaitsForABusyAptLock(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("scripts/deps.sh installs only as root")
	}
	root, err := proctest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fake := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("#!/usr/bin/env bash\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
		return path
	}
	query := fake("dpkg-query", "exit 1\n") // nothing is installed
	log := filepath.Join(dir, "apt.log")
	aptGet := fake("apt-get", `n=$(cat "`+dir+`/tries" 2>/dev/null || echo 0); echo $((n+1)) > "`+dir+`/tries"
if [ "$n" -lt 2 ]; then echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (unattended-upgr)" >&2; exit 100; fi
echo "$@" >> "`+log+`"
`)
	cmd := exec.Command(filepath.Join(root, "scripts", "deps.sh"), "xvfb", "dunst")
	cmd.Env = append(os.Environ(), "APT_GET="+aptGet, "DPKG_QUERY="+query, "APT_WAIT=60", "APT_RETRY=0.1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("deps.sh gave up: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "waiting for it to finish") {
		t.Fatalf("deps.sh did not say it waits: %s", out)
	}
	ran, _ := os.ReadFile(log)
	if !strings.Contains(string(ran), "update") || !strings.Contains(string(ran), "install -y -qq --no-install-recommends xvfb dunst") {
		t.Fatalf("apt-get ran %q", ran)
	}
}

// TestMakeDemoTellsTheStory: the demo's customer, rendezvous node, portal
// and colleague come up; the command it prints invites Bob, whose console
// accepts; Ctrl-C (to the whole process group, as a terminal sends it)
// leaves nothing running.
func TestMakeDemoTellsTheStory(t *testing.T) {
	if _, err := exec.LookPath("xterm"); err != nil {
		t.Skip("xterm is not installed (make test installs it)")
	}
	root, err := proctest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	demo := proctest.Start(t, "bash", []string{"ASSIST_BIN=" + assistBin, "DISPLAY=", "WAYLAND_DISPLAY="}, filepath.Join(root, "scripts", "demo.sh"))
	line := func(has string) string {
		t.Helper()
		return demo.WaitEventWhere("non-json", 60*time.Second, func(e proctest.Event) bool { return strings.Contains(e.Str("line"), has) }).Str("line")
	}
	export := strings.Fields(line("export ASSIST_HOME="))
	env := []string{export[1], export[2]}
	work := filepath.Dir(strings.TrimPrefix(export[1], "ASSIST_HOME="))
	line("Customer consent: view granted")

	inv := proctest.Start(t, assistBin, env, "invite", "--rep", "Bob", "--json")
	if got := inv.WaitEvent("invite_accepted", 30*time.Second).Str("name"); got != "Bob" {
		t.Fatalf("accepted by %q", got)
	}
	line("Bob has joined the session")
	// The customer's window (on the shared screen) shows the question it
	// was asked and who joined.
	var customer []byte
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		customer, _ = os.ReadFile(filepath.Join(work, "customer.log"))
		if strings.Contains(string(customer), "Allow? [y/n]") && strings.Contains(string(customer), "Bob has joined the session") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the customer's window showed %q", customer)
		}
	}

	_ = syscall.Kill(-demo.Cmd.Process.Pid, syscall.SIGINT)
	demo.Wait(20 * time.Second)
	if out, _ := exec.Command("pgrep", "-f", work).Output(); len(out) > 0 {
		t.Fatalf("processes left after Ctrl-C: %s", out)
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Fatalf("the demo left %s behind", work)
	}
}
