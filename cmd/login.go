package cmd

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"assist/config"
	"assist/portal"
)

// NewCmdLogin builds 'assist login', which stores a rep's credential.
func NewCmdLogin(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "login TOKEN|FILE",
		Short: "Store the portal credential your manager gave you",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(_ *cobra.Command, a []string) error {
			text := a[0]
			b, err := os.ReadFile(text)
			switch {
			case err == nil:
				text = strings.TrimSpace(string(b))
			case strings.ContainsAny(text, `/\`) || strings.HasSuffix(text, ".cred"):
				return usageErrorf("%s: no such file: give the token 'assist portal enroll' printed, or the path of the file it wrote", text)
			}
			ms, err := portal.ParseMembership([]byte(text))
			if err != nil {
				return usageErrorf("%v: paste the whole token 'assist portal enroll' printed, or the file it wrote", err)
			}
			dir, self, err := selfID()
			if err != nil {
				return err
			}
			c, err := portal.Login(dir, ms, self, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(io.Out, "logged in to portal %q as %s (valid until %s)\n", c.PortalName, c.Name, c.Expires.Local().Format("2006-01-02"))
			return nil
		},
	}
}

// NewCmdLogout builds 'assist logout', which forgets a portal credential.
func NewCmdLogout(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "logout PORTAL",
		Short: "Forget your credential for a portal (after a revocation, or to leave it)",
		Long: `Forget your credential for a portal: you no longer go online there, see its
reps or get its invitations. A running console keeps it until it restarts.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(_ *cobra.Command, a []string) error {
			dir, err := config.Dir()
			if err != nil {
				return err
			}
			c, err := portal.Logout(dir, a[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(io.Out, "logged out of portal %q (you were %s)\n", c.PortalName, c.Name)
			return nil
		},
	}
}
