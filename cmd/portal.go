package cmd

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"

	"assist/config"
	"assist/p2p"
	"assist/portal"
	"assist/rendezvous"
)

// NewCmdPortal builds 'assist portal', the manager's commands.
func NewCmdPortal(io *IO) *cobra.Command {
	c := &cobra.Command{
		Use:   "portal",
		Short: "Manage a portal: your company's group of support reps",
		Long: `A portal is a company's group of support reps. Its key stays with the
manager who creates it; reps get signed credentials binding their name to
their peer ID ('assist id'), which they store with 'assist login'.`,
		RunE: commandGroup,
	}
	c.AddCommand(newCmdPortalCreate(io), newCmdPortalEnroll(io), newCmdPortalRevoke(io), newCmdPortalPublish(io), newCmdPortalSettings(io))
	return c
}

func newCmdPortalCreate(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME",
		Short: "Create a portal; its key stays in your config directory",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(_ *cobra.Command, a []string) error {
			dir, err := config.Dir()
			if err != nil {
				return err
			}
			m, err := portal.CreatePortal(dir, a[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(io.Out, "portal %q created, ID %s\nits key is in %s: back it up and keep it private\n", m.Name, m.ID, dir)
			return nil
		},
	}
}

func newCmdPortalEnroll(io *IO) *cobra.Command {
	var repName, repID, out string
	var ttl time.Duration
	c := &cobra.Command{
		Use:   "enroll PORTAL --name NAME --peer ID",
		Short: "Issue a credential for a rep (a token to paste, or a file)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(_ *cobra.Command, a []string) error {
			id, err := peer.Decode(repID)
			if err != nil {
				return usageErrorf("--peer %q is not a peer ID: the rep gets theirs with 'assist id'", repID)
			}
			if repName == "" {
				return usageErrorf("--name is required: the name customers will see")
			}
			dir, err := config.Dir()
			if err != nil {
				return err
			}
			ms, err := portal.Enroll(dir, a[0], id, repName, ttl, time.Now())
			if err != nil {
				return err
			}
			token, err := portal.MembershipToken(ms)
			if err != nil {
				return err
			}
			if out != "" {
				if err := os.WriteFile(out, []byte(token+"\n"), 0o600); err != nil {
					return err
				}
				fmt.Fprintf(io.ErrOut, "enrollment for %s written to %s; the rep runs 'assist login %s'.\n"+
					"It holds the portal's alert key: hand it over privately.\n", repName, out, out)
				return nil
			}
			fmt.Fprintln(io.Out, token)
			fmt.Fprintf(io.ErrOut, "give this token to %s privately (it holds the portal's alert key); they run 'assist login TOKEN'\n", repName)
			return nil
		},
	}
	c.Flags().StringVar(&repName, "name", "", "the rep's name, as customers and colleagues see it")
	c.Flags().StringVar(&repID, "peer", "", "the rep's peer ID (from 'assist id')")
	c.Flags().StringVar(&out, "out", "", "write the credential to this file instead of printing a token")
	c.Flags().DurationVar(&ttl, "ttl", 365*24*time.Hour, "how long the credential is valid")
	return c
}

func newCmdPortalRevoke(io *IO) *cobra.Command {
	var repName string
	var rv []string
	c := &cobra.Command{
		Use:   "revoke PORTAL --name NAME",
		Short: "Withdraw a rep's credentials and rotate the portal's alert key",
		Long: `Withdraw a rep's credentials. The portal's alert key is rotated: the other
reps' agents fetch the new revocation list from the rendezvous node (within
30 seconds) and move to the new key; the revoked rep can read no alert after.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			dir, err := config.Dir()
			if err != nil {
				return err
			}
			signed, n, err := portal.Revoke(dir, a[0], repName)
			if err != nil {
				return err
			}
			fmt.Fprintf(io.Out, "revoked %s of %s\n", plural(n, "credential"), repName)
			if err := publishSigned(c.Context(), dir, rv, a[0], signed); err != nil {
				return err
			}
			fmt.Fprintln(io.Out, "published the revocation list; reps' agents move to the new alert key within 30 s")
			return nil
		},
	}
	c.Flags().StringVar(&repName, "name", "", "the rep whose credentials to revoke")
	c.Flags().StringArrayVar(&rv, "rendezvous", nil, "rendezvous node to publish the revocation at (default as for other commands)")
	return c
}

func newCmdPortalPublish(io *IO) *cobra.Command {
	var rv []string
	c := &cobra.Command{
		Use:   "publish PORTAL",
		Short: "Publish the portal's settings and revocation list (with the rotated key) at the rendezvous node again",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			dir, err := config.Dir()
			if err != nil {
				return err
			}
			m, st, err := portal.LoadPortal(dir, a[0])
			if err != nil {
				return err
			}
			revs, err := m.SignRevocations(st.Revocations)
			if err != nil {
				return err
			}
			settings, err := m.SignSettings(st.Settings)
			if err != nil {
				return err
			}
			for _, signed := range [][]byte{revs, settings} {
				if err := publishSigned(c.Context(), dir, rv, a[0], signed); err != nil {
					return err
				}
			}
			fmt.Fprintln(io.Out, "published the portal's settings and revocation list")
			return nil
		},
	}
	c.Flags().StringArrayVar(&rv, "rendezvous", nil, "rendezvous node to publish at (default as for other commands)")
	return c
}

// publishSigned stores a portal's signed revocation list or settings at
// the rendezvous nodes, from a throwaway identity (the manager's own may
// be in use by a running console).
func publishSigned(ctx context.Context, dir string, flags []string, name string, signed []byte) error {
	addrs, err := config.RendezvousAddrs(flags, dir)
	if err != nil {
		return fmt.Errorf("%v; publish later with 'assist portal publish %s'", err, name)
	}
	servers, err := p2p.ParseAddrInfos(addrs)
	if err != nil {
		return usageErrorf("%v", err)
	}
	key, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return err
	}
	h, err := p2p.NewHost(p2p.HostConfig{Identity: key})
	if err != nil {
		return err
	}
	defer h.Close()
	if err := rendezvous.NewClient(h, servers).PublishPortal(ctx, signed); err != nil {
		return fmt.Errorf("publish at the rendezvous node: %w; retry with 'assist portal publish %s'", err, name)
	}
	return nil
}

func newCmdPortalSettings(io *IO) *cobra.Command {
	var externals, share string
	var rv []string
	var maxRights string
	c := &cobra.Command{
		Use:   "settings PORTAL",
		Short: "Show or change what the portal allows external specialists",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			dir, err := config.Dir()
			if err != nil {
				return err
			}
			change, err := portal.SettingsChange(externals, share, maxRights)
			if err != nil {
				return usageErrorf("%v", err)
			}
			if change == nil { // only show: nothing changes, not even the version
				_, st, err := portal.LoadPortal(dir, a[0])
				if err != nil {
					return err
				}
				fmt.Fprintln(io.Out, settingsLine(a[0], &st.Settings))
				return nil
			}
			signed, s, err := portal.UpdateSettings(dir, a[0], change)
			if err != nil {
				return err
			}
			fmt.Fprintln(io.Out, settingsLine(a[0], s))
			// Hosts read the settings from the rendezvous node: a change
			// is not in force until it is there.
			return publishSigned(c.Context(), dir, rv, a[0], signed)
		},
	}
	c.Flags().StringArrayVar(&rv, "rendezvous", nil, "rendezvous node to publish the settings at (default as for other commands)")
	c.Flags().StringVar(&externals, "externals", "", "allow external specialists: on or off")
	c.Flags().StringVar(&maxRights, "max-rights", "", "the most a specialist may get: view or control")
	c.Flags().StringVar(&share, "specialist-share", "", "let specialists share their own screen: on or off")
	return c
}

func settingsLine(name string, s *portal.Settings) string {
	return fmt.Sprintf("portal %s (settings version %d): external specialists %s, at most %s rights, specialist screen sharing %s",
		name, s.Version, onOffText(s.ExternalsAllowed), s.MaxRights, onOffText(s.SpecialistShare))
}

func onOffText(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
