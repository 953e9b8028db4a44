// Package proctest builds the assist binary and runs it as a real process
// in tests, reading its --json event stream.
package proctest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles ./cmd/assist into dir and returns the binary's path.
// moduleRoot is the directory holding go.mod.
func Build(moduleRoot, dir string) (string, error) {
	bin := filepath.Join(dir, "assist")
	// -buildvcs=auto: the binary says its commit (assist version) even
	// where GOFLAGS turns stamping off.
	cmd := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, "./cmd/assist")
	cmd.Dir = moduleRoot
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build assist: %w", err)
	}
	return bin, nil
}

// ModuleRoot walks up from the working directory to go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found")
		}
		dir = parent
	}
}

// Event is one JSON line of a command's --json output.
type Event map[string]any

// Name returns the event's "event" field.
func (e Event) Name() string { s, _ := e["event"].(string); return s }

// Str returns a string field.
func (e Event) Str(k string) string { s, _ := e[k].(string); return s }

// ParseEvent parses one --json line (a "non-json" event if it is not).
func ParseEvent(line string) Event {
	var ev Event
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		return Event{"event": "non-json", "line": line}
	}
	return ev
}

// Proc is a running assist process.
type Proc struct {
	t      testing.TB
	Cmd    *exec.Cmd
	Events chan Event
	// Stdin is the process's standard input.
	Stdin  io.WriteCloser
	stderr *lockedBuffer
	seen   lockedBuffer // every stdout line, for failure reports
	done   chan struct{}
	err    error
}

// Start runs bin with args and env (added to the test's environment). The
// process is killed when the test ends if it is still running.
func Start(t testing.TB, bin string, env []string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	// Pdeathsig: if the test binary dies, its processes die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{t: t, Cmd: cmd, Events: make(chan Event, 4096), Stdin: stdin, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.read(stdout)
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s %s\nstdout:\n%s\nstderr:\n%s", filepath.Base(bin), strings.Join(args, " "), p.seen.String(), p.Stderr())
		}
	})
	return p
}

func (p *Proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		p.seen.Write(append(sc.Bytes(), '\n'))
		p.Events <- ParseEvent(sc.Text())
	}
	p.err = p.Cmd.Wait()
	close(p.Events)
	close(p.done)
}

// WaitEvent returns the next event named name, skipping others, or fails
// the test after timeout or if the process exits first.
func (p *Proc) WaitEvent(name string, timeout time.Duration) Event {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-p.Events:
			if !ok {
				p.t.Fatalf("process exited (%v) before event %q; stderr:\n%s", p.err, name, p.Stderr())
			}
			if ev.Name() == name {
				return ev
			}
		case <-deadline:
			p.t.Fatalf("no event %q within %v; stderr:\n%s", name, timeout, p.Stderr())
		}
	}
}

// WaitEvents waits for one event of each name, in any order (events of one
// process that come from different goroutines have no order), and returns
// the first of each.
func (p *Proc) WaitEvents(timeout time.Duration, names ...string) map[string]Event {
	p.t.Helper()
	got := map[string]Event{}
	deadline := time.After(timeout)
	for len(got) < len(names) {
		select {
		case ev, ok := <-p.Events:
			if !ok {
				p.t.Fatalf("process exited (%v) before events %q (got %d); stderr:\n%s", p.err, names, len(got), p.Stderr())
			}
			for _, n := range names {
				if _, seen := got[n]; !seen && ev.Name() == n {
					got[n] = ev
				}
			}
		case <-deadline:
			p.t.Fatalf("not all of events %q within %v (got %d); stderr:\n%s", names, timeout, len(got), p.Stderr())
		}
	}
	return got
}

// Say writes a line to the process's standard input.
func (p *Proc) Say(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.Stdin, line+"\n"); err != nil {
		p.t.Fatalf("write to stdin: %v", err)
	}
}

// WaitEventWhere returns the next event named name for which ok is true.
func (p *Proc) WaitEventWhere(name string, timeout time.Duration, ok func(Event) bool) Event {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ev := p.WaitEvent(name, time.Until(deadline))
		if ok(ev) {
			return ev
		}
	}
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) { _ = p.Cmd.Process.Signal(sig) }

// Wait waits for the process to exit and returns its exit code.
func (p *Proc) Wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("process did not exit within %v; stderr:\n%s", timeout, p.Stderr())
	}
	return p.Cmd.ProcessState.ExitCode()
}

// Kill ends the process group if it still runs.
func (p *Proc) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Stdout is every line the process has written to stdout so far.
func (p *Proc) Stdout() string { return p.seen.String() }

// Stderr returns what the process wrote to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
