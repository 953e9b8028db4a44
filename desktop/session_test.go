//go:build linux

package desktop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAPageTokenNeverReachesACommandLine: a viewer's address carries its
// access token, and every user of the machine can read command lines.
// Before, xdg-open (and so the browser) got the address itself.
func TestAPageTokenNeverReachesACommandLine(t *testing.T) {
	bin := t.TempDir()
	argv := filepath.Join(bin, "argv")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + argv + ".tmp && mv " + argv + ".tmp " + argv + "\n"
	if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("DISPLAY", ":99")
	const url = "http://127.0.0.1:4242/?t=the-secret-token"
	if !OpenURL(url) {
		t.Fatal("OpenURL did not try")
	}
	var got []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(argv); err == nil {
			got = b
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("xdg-open was not run")
		}
	}
	arg := strings.TrimSpace(string(got))
	if strings.Contains(arg, "the-secret-token") {
		t.Fatalf("xdg-open's command line holds the token: %q", arg)
	}
	st, err := os.Stat(arg)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the page opened, %q, is not a file of this user's alone: %v %v", arg, st, err)
	}
	page, _ := os.ReadFile(arg)
	if !strings.Contains(string(page), `url=http://127.0.0.1:4242/?t=the-secret-token"`) {
		t.Fatalf("the page does not send the browser on: %s", page)
	}
	if dir, _ := os.Stat(filepath.Dir(arg)); dir.Mode().Perm() != 0o700 {
		t.Fatalf("its directory has mode %v", dir.Mode().Perm())
	}
}
