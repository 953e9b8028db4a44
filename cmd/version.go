package cmd

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version says which assist this is: the module version and the commit
// it was built from (the build info keeps both, -trimpath or not).
func version() string {
	v, commit, when, modified := "(unknown)", "", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	s := "assist " + v
	if commit != "" {
		s += fmt.Sprintf(" (commit %s, %s", commit, when)
		if modified {
			s += ", with uncommitted changes"
		}
		s += ")"
	}
	return s + fmt.Sprintf(", %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// NewCmdVersion builds 'assist version'.
func NewCmdVersion(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print which assist this is: version, commit, Go and platform",
		Example: "  assist version\n  assist --version",
		Args:    args(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(io.Out, version())
			return nil
		},
	}
}
