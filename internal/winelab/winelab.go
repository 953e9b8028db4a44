// Package winelab runs Windows programs under Wine for tests: a private
// Wine prefix on a given X display, with the one piece Wine 8 lacks for Go
// programs (bcryptprimitives.dll's ProcessPrng, which Go's runtime calls
// for random bytes) built from a few lines of C with MinGW.
package winelab

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"assist/internal/proctest"
)

// Wine is a prefix ready to run Windows programs.
type Wine struct {
	// Bin is the wine64 loader; run a program as Bin, program, args...
	Bin string
	// Env is what the program's environment needs (prefix, display).
	Env []string
}

const shim = `#include <windows.h>
#include <ntsecapi.h>
BOOL WINAPI ProcessPrng(PBYTE p, SIZE_T n) { return RtlGenRandom(p, (ULONG)n); }
`

const shimDef = "LIBRARY bcryptprimitives\nEXPORTS\nProcessPrng\n"

// Start makes a fresh prefix for display. Without Wine or MinGW the test
// is skipped, or fails under CI (make test installs both).
func Start(t testing.TB, display string, w, h int) *Wine {
	t.Helper()
	bin := find("/usr/lib/wine/wine64", "wine64", "wine")
	gcc := find("x86_64-w64-mingw32-gcc")
	if bin == "" || gcc == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no wine64 or x86_64-w64-mingw32-gcc: make test installs wine, wine64 and gcc-mingw-w64-x86-64")
		}
		t.Skip("SKIPPED: no Wine or MinGW; 'make test' installs them")
	}
	dir := t.TempDir()
	prefix := filepath.Join(dir, "prefix")
	wine := &Wine{Bin: bin, Env: []string{
		// TEST_WINEDEBUG=+keyboard (say) turns on Wine's traces.
		"WINEPREFIX=" + prefix, "WINEDEBUG=" + cmp.Or(os.Getenv("TEST_WINEDEBUG"), "-all"), "DISPLAY=" + display, "WAYLAND_DISPLAY=",
		// The shim; no Mono or Gecko installers.
		"WINEDLLOVERRIDES=bcryptprimitives=n;mscoree=;mshtml=",
	}}
	t.Cleanup(func() { _ = wine.command(context.Background(), "wineserver", "-k").Run() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := wine.command(ctx, bin, "wineboot", "-i").CombinedOutput(); err != nil {
		t.Fatalf("wineboot: %v\n%s", err, out)
	}
	// A virtual desktop, as winecfg sets one: Windows programs then live
	// in one X window and Wine, not the X server, decides which of them
	// has the keyboard, as Windows would. Without it, Wine follows the X
	// focus, which nothing manages on a bare X server. The settings go
	// into the registry file once the server that keeps it has written it
	// and gone (wineserver -w): 'wine reg add' while wineboot's programs
	// still start up sometimes fails.
	if out, err := wine.command(ctx, "wineserver", "-w").CombinedOutput(); err != nil {
		t.Fatalf("wineserver -w: %v\n%s", err, out)
	}
	f, err := os.OpenFile(filepath.Join(prefix, "user.reg"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = fmt.Fprintf(f, "\n[Software\\\\Wine\\\\Explorer] 0\n\"Desktop\"=\"Default\"\n\n[Software\\\\Wine\\\\Explorer\\\\Desktops] 0\n\"Default\"=\"%dx%d\"\n", w, h)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Fatalf("set the virtual desktop: %v", err)
	}
	src, def := filepath.Join(dir, "shim.c"), filepath.Join(dir, "shim.def")
	if err := os.WriteFile(src, []byte(shim), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(def, []byte(shimDef), 0o600); err != nil {
		t.Fatal(err)
	}
	dll := filepath.Join(prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	if out, err := exec.CommandContext(ctx, gcc, "-shared", "-o", dll, src, def, "-ladvapi32").CombinedOutput(); err != nil {
		t.Fatalf("build the bcryptprimitives shim: %v\n%s", err, out)
	}
	return wine
}

func (w *Wine) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if name == "wineserver" {
		name = find("/usr/lib/wine/wineserver64", "wineserver")
	}
	c := exec.CommandContext(ctx, name, args...)
	c.Env = append(os.Environ(), w.Env...)
	return c
}

func find(names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// Recorder is the inputrecorder program running under Wine: a window over
// the whole screen that shows a picture and reports the clicks and
// characters it receives.
type Recorder struct {
	lines chan string
	seen  []string // for the failure message
	in    io.Writer
	dir   string // where the pictures it shows are written
	shown int
}

// Record builds inputrecorder (Windows, no cgo) and runs it in the prefix,
// showing picture (the size of the screen), until the test ends; it
// returns once the window is up and has the keyboard.
func (w *Wine) Record(t testing.TB, picture *image.RGBA) *Recorder {
	t.Helper()
	dir := t.TempDir()
	pic := writeBGRA(t, filepath.Join(dir, "picture.bgra"), picture)
	exe := GoWindows(t, filepath.Join(dir, "inputrecorder.exe"), "build", "./internal/winelab/inputrecorder")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := w.command(ctx, w.Bin, exe, pic)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start inputrecorder.exe: %v", err)
	}
	r := &Recorder{lines: make(chan string, 256), in: in, dir: dir}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(r.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		<-done
	})
	r.Next(t, "ready", time.Minute)
	return r
}

// writeBGRA writes picture as the rows of BGRA bytes inputrecorder reads,
// to path, and returns path.
func writeBGRA(t testing.TB, path string, picture *image.RGBA) string {
	t.Helper()
	bgra := make([]byte, len(picture.Pix))
	for i := 0; i < len(bgra); i += 4 {
		bgra[i], bgra[i+1], bgra[i+2], bgra[i+3] = picture.Pix[i+2], picture.Pix[i+1], picture.Pix[i], 0xff
	}
	if err := os.WriteFile(path, bgra, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Show replaces the window's picture, as a program of the customer's
// changes the screen: no input comes with it.
func (r *Recorder) Show(t testing.TB, picture *image.RGBA) {
	t.Helper()
	r.shown++
	pic := writeBGRA(t, filepath.Join(r.dir, fmt.Sprintf("picture%d.bgra", r.shown)), picture)
	if _, err := fmt.Fprintf(r.in, "show %s\n", pic); err != nil {
		t.Fatalf("tell inputrecorder to show a picture: %v", err)
	}
	r.Next(t, "shown", 30*time.Second)
}

// Next returns the next line that starts with prefix, skipping others, or
// fails the test after timeout.
func (r *Recorder) Next(t testing.TB, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("inputrecorder ended before %q; it said %q", prefix, r.seen)
			}
			r.seen = append(r.seen, l)
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline:
			t.Fatalf("no %q from inputrecorder within %v; it said %q", prefix, timeout, r.seen)
		}
	}
}

// GoWindows runs the go command (build, test -c) in the module's root for
// windows/amd64 without cgo, and returns out, the program it makes.
func GoWindows(t testing.TB, out string, args ...string) string {
	t.Helper()
	root, err := proctest.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", append(append(args[:1:1], "-o", out), args[1:]...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %v for Windows: %v\n%s", args, err, b)
	}
	return out
}
