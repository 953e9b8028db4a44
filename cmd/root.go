// Package cmd holds assist's command-line interface: one file per command,
// each parsing flags into an options struct and calling a run function.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"assist/p2p"
	"assist/rep"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// usageError marks a mistake in how the command was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// Main runs the assist command line and returns the exit code. SIGINT and
// SIGTERM cancel the running command, which then ends cleanly.
func Main(args []string, io *IO) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if nets := os.Getenv(p2p.EnvLabPublic); nets != "" {
		if err := p2p.TreatAsPublic(nets); err != nil {
			fmt.Fprintf(io.ErrOut, "assist: %s: %v\n", p2p.EnvLabPublic, err)
			return exitUsage
		}
		fmt.Fprintf(io.ErrOut, "assist: test switch %s: treating %s as public addresses\n", p2p.EnvLabPublic, nets)
	}
	root := NewRootCmd(io)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(io.ErrOut, "assist: %v\n", err)
	var ue *usageError
	var re *rep.ErrUsage
	// cobra's own "unknown command" for the root is a plain error.
	if errors.As(err, &ue) || errors.As(err, &re) || strings.HasPrefix(err.Error(), "unknown command ") {
		return exitUsage
	}
	return exitError
}

// args wraps a cobra argument check so its complaint is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(c *cobra.Command, a []string) error {
		if err := check(c, a); err != nil {
			return usageErrorf("%v (see '%s --help')", err, c.CommandPath())
		}
		return nil
	}
}

// commandGroup runs a command that only holds others: a mistyped
// subcommand is a usage error, not a help page and success.
func commandGroup(c *cobra.Command, a []string) error {
	if len(a) > 0 {
		return usageErrorf("unknown command %q for %q (see '%s --help')", a[0], c.CommandPath(), c.CommandPath())
	}
	return c.Help()
}

// NewRootCmd builds the command tree.
func NewRootCmd(io *IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "assist",
		Short: "Peer-to-peer remote support: share a screen, join with a code",
		Long: `assist connects a customer and a support representative directly,
end-to-end encrypted, with a code read over the phone.

  customer:  assist share           prints a support key
  rep:       assist join KEY        views, chats and (with consent) controls
             assist console         stays online for colleagues' invitations
             assist invite          brings a colleague into your session
  operator:  assist rendezvous      runs the node that maps codes to peers`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErrorf("%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(
		NewCmdShare(io, nil),
		NewCmdJoin(io, nil),
		NewCmdRendezvous(io, nil),
		NewCmdID(io, nil),
		NewCmdPortal(io),
		NewCmdLogin(io),
		NewCmdLogout(io),
		NewCmdConsole(io),
		NewCmdInvite(io, nil),
		NewCmdReps(io),
		NewCmdAccept(io),
		NewCmdDecline(io),
		NewCmdRemove(io),
		NewCmdRights(io),
		NewCmdStopShare(io),
		NewCmdRegisterLinks(io),
		NewCmdVersion(io),
	)
	root.InitDefaultCompletionCmd() // so the completion commands get examples too
	decorate(root)
	return root
}
