package cmd

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"assist/desktop"
)

// NewCmdRegisterLinks builds 'assist register-links', which makes this
// program the handler of assist:// links for this user.
func NewCmdRegisterLinks(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "register-links",
		Short: "Open assist:// links (in invitations) with this assist",
		Long: "Makes this assist the handler of assist:// links for you: a click on one in a\n" +
			"browser or an email runs 'assist join LINK'. Windows: your registry classes;\n" +
			"Linux: a desktop entry in ~/.local/share/applications.",
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find this program: %w", err)
			}
			where, err := desktop.RegisterLinks(exe)
			if err != nil {
				return err
			}
			fmt.Fprintf(io.Out, "assist:// links now open with %s join (%s)\n", exe, where)
			return nil
		},
	}
}
