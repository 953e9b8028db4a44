package e2e

import (
	"os/exec"
	"strings"
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
