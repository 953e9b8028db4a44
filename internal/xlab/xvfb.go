// Package xlab gives tests a real X display: an Xvfb server of their own,
// windows that show known images, and a window that records the clicks and
// keys it receives.
package xlab

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Xvfb is a running virtual X server.
type Xvfb struct {
	Display string // ":N"
	cmd     *exec.Cmd
}

// StartXvfb starts Xvfb with one screen of w x h and stops it when the
// test ends. Xvfb picks a free display number itself and reports it on a
// pipe (-displayfd) once it accepts connections, so there is no fixed
// number to collide on and no guessing when it is ready. -noreset keeps
// the server state when the last client leaves.
func StartXvfb(t testing.TB, w, h int) *Xvfb {
	t.Helper()
	return startXvfb(t, w, h, "-noreset")
}

// StartXvfbWithout starts Xvfb as StartXvfb does, with the named
// extensions turned off (an X server without DAMAGE, say).
func StartXvfbWithout(t testing.TB, w, h int, extensions ...string) *Xvfb {
	t.Helper()
	args := []string{"-noreset"}
	for _, e := range extensions {
		args = append(args, "-extension", e)
	}
	return startXvfb(t, w, h, args...)
}

// StartResettingXvfb starts an Xvfb that resets whenever its last client
// leaves, as X servers do by default, dropping the connections that
// arrive while it does.
func StartResettingXvfb(t testing.TB, w, h int) *Xvfb {
	t.Helper()
	return startXvfb(t, w, h)
}

func startXvfb(t testing.TB, w, h int, args ...string) *Xvfb {
	t.Helper()
	x, err := start(w, h, args...)
	if err != nil {
		// CI installs Xvfb (make test does): there, a missing one is a failure.
		if os.Getenv("CI") != "" {
			t.Fatalf("no Xvfb: %v", err)
		}
		t.Skipf("SKIPPED: no Xvfb (%v); 'make test' installs it", err)
	}
	t.Cleanup(x.Stop)
	return x
}

// Start starts Xvfb with -noreset; the caller stops it.
func Start(w, h int) (*Xvfb, error) { return start(w, h, "-noreset") }

func start(w, h int, args ...string) (*Xvfb, error) {
	path, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, err
	}
	r, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(path, append([]string{"-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", w, h),
		"-nolisten", "tcp", "+extension", "XTEST", "+extension", "MIT-SHM"}, args...)...)
	cmd.ExtraFiles = []*os.File{wr}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		wr.Close()
		return nil, err
	}
	wr.Close()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		n := strings.TrimSpace(s)
		if n == "" {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("Xvfb exited before reporting its display")
		}
		return &Xvfb{Display: ":" + n, cmd: cmd}, nil
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("Xvfb did not start within 20s")
	}
}

// Stop ends the server.
func (x *Xvfb) Stop() {
	if x.cmd.Process != nil {
		_ = x.cmd.Process.Kill()
		_ = x.cmd.Wait()
	}
}

// Env returns the environment entry that points a process at this server.
func (x *Xvfb) Env() string { return "DISPLAY=" + x.Display }
