package xlab

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Session is what a rep's desktop adds to a bare X display: a session bus
// with a notification daemon (dunst) on it, and the clipboard.
type Session struct {
	x   *Xvfb
	bus string // DBUS_SESSION_BUS_ADDRESS
}

// StartSession starts a private session bus and dunst on x's display and
// stops them when the test ends.
func StartSession(t testing.TB, x *Xvfb) *Session {
	t.Helper()
	for _, tool := range []string{"dbus-daemon", "dunst", "dunstctl", "notify-send", "xclip"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("no %s: %v", tool, err)
			}
			t.Skipf("SKIPPED: no %s; 'make test' installs it", tool)
		}
	}
	bus := exec.Command("dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1")
	bus.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := bus.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Start(); err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	t.Cleanup(func() { bus.Process.Kill(); bus.Wait() })
	// The bus prints its address once it accepts connections.
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	d := &Session{x: x, bus: strings.TrimSpace(addr)}

	dunst := exec.Command("dunst")
	dunst.Env = append(os.Environ(), d.Env()...)
	dunst.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := dunst.Start(); err != nil {
		t.Fatalf("dunst: %v", err)
	}
	t.Cleanup(func() { dunst.Process.Kill(); dunst.Wait() })
	// Ready once it answers on the bus under its name.
	deadline := time.Now().Add(20 * time.Second)
	for d.dunstctl("is-paused") != nil {
		if time.Now().After(deadline) {
			t.Fatal("dunst did not come up on the session bus within 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return d
}

// Env is the environment a program on this desktop runs with.
func (d *Session) Env() []string {
	return []string{d.x.Env(), "DBUS_SESSION_BUS_ADDRESS=" + d.bus}
}

func (d *Session) dunstctl(args ...string) error {
	c := exec.Command("dunstctl", args...)
	c.Env = append(os.Environ(), d.Env()...)
	return c.Run()
}

// Notification is one desktop notification the daemon received.
type Notification struct {
	AppName, Summary, Body string
}

// Notifications closes every notification on screen and returns all the
// daemon received so far (dunst keeps closed ones in its history).
func (d *Session) Notifications() ([]Notification, error) {
	if err := d.dunstctl("close-all"); err != nil {
		return nil, fmt.Errorf("dunstctl close-all: %w", err)
	}
	c := exec.Command("dunstctl", "history")
	c.Env = append(os.Environ(), d.Env()...)
	out, err := c.Output()
	if err != nil {
		return nil, fmt.Errorf("dunstctl history: %w", err)
	}
	type str struct {
		Data string `json:"data"`
	}
	var h struct {
		Data [][]struct {
			AppName str `json:"appname"`
			Summary str `json:"summary"`
			Body    str `json:"body"`
		} `json:"data"`
	}
	if err := json.Unmarshal(out, &h); err != nil {
		return nil, fmt.Errorf("dunstctl history: %w", err)
	}
	var ns []Notification
	for _, list := range h.Data {
		for _, n := range list {
			ns = append(ns, Notification{AppName: n.AppName.Data, Summary: n.Summary.Data, Body: n.Body.Data})
		}
	}
	return ns, nil
}

// Clipboard returns the text on the display's clipboard.
func (d *Session) Clipboard() (string, error) {
	c := exec.Command("xclip", "-o", "-selection", "clipboard")
	c.Env = append(os.Environ(), d.Env()...)
	out, err := c.Output()
	return string(out), err
}
