// Package e2e runs the real assist binary: a rendezvous node as its own
// process, talked to by real libp2p hosts and by other assist processes.
package e2e

import (
	"fmt"
	"os"
	"testing"

	"assist/internal/proctest"
)

// assistBin is the binary built once for all tests of this package.
var assistBin string

func TestMain(m *testing.M) {
	// Inside a lab namespace the test binary runs again as a small viewer
	// client (see probe.go): the rep's viewer listens on that namespace's
	// loopback, out of the test's reach.
	if mode := os.Getenv(probeEnv); mode != "" {
		os.Exit(runProbe(mode))
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := proctest.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "assist-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	assistBin, err = proctest.Build(root, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
