package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"assist/desktop"
	"assist/rep"
	"assist/rights"
)

// InviteOptions are the flags of 'assist invite'.
type InviteOptions struct {
	IO       *IO
	Invite   rep.InviteRequest
	External bool
	Code     rep.CodeRequest
	Email    string
	EmlPath  string
	JSON     bool
}

// NewCmdInvite builds 'assist invite', which asks the running session to
// invite a colleague.
func NewCmdInvite(io *IO, runF func(context.Context, *InviteOptions) error) *cobra.Command {
	opts := &InviteOptions{IO: io}
	c := &cobra.Command{
		Use:   "invite (--rep NAME | --portal NAME | --external --access view|control)",
		Short: "Invite a colleague, every rep of a portal, or an external specialist into the session you host",
		Long: `Invite someone into the session you host (run it while 'assist join'
runs in another terminal). --rep alerts one rep who is online (see 'assist
reps'); --portal alerts every rep logged in under the portal, and the first to
accept joins. --mask keeps the invited rep invisible to the customer; the
comment shows in the alert only, never to the customer. It waits for the
answer: accepted (by whom), declined or expired; Ctrl-C withdraws the
invitation. --no-wait returns once it is sent and leaves it open.

--external creates an invitation code for up to --max-uses specialists
outside your portals (at most 5 in the session at once), if the portal's
manager allows it: they run 'assist join CODE' or open assist://join/CODE.
--email ADDRESS also writes a ready-to-send .eml invitation and prints a
mailto: link. 'assist invite cancel CODE' invalidates a code at once.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := opts.check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			if opts.External {
				return runInviteCode(c.Context(), opts)
			}
			return runInvite(c.Context(), opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.Invite.Rep, "rep", "", "the rep to invite, by name")
	f.StringVar(&opts.Invite.Portal, "portal", "", "alert every rep of this portal; the first to accept joins")
	f.BoolVar(&opts.Invite.Mask, "mask", false, "the invited rep is invisible to the customer")
	f.StringVar(&opts.Invite.Comment, "comment", "", "a note for the invited rep, shown in the alert only")
	f.DurationVar(&opts.Invite.TTL, "expires", rep.DefaultInviteTTL, "how long the invitation stays open")
	f.BoolVar(&opts.JSON, "json", false, "print events as JSON lines on stdout")
	f.BoolVar(&opts.Invite.NoWait, "no-wait", false, "return once the invitation is sent (it stays open)")
	f.BoolVar(&opts.External, "external", false, "create an invitation code for external specialists")
	f.StringVar(&opts.Code.Access, "access", "", "with --external: view (the default), or control (with the customer's consent)")
	f.IntVar(&opts.Code.MaxUses, "max-uses", 0, "with --external: how many specialists may join with the code (default 1)")
	f.StringVar(&opts.Email, "email", "", "with --external: write an email invitation to this address")
	f.BoolVar(&opts.Code.AllowShare, "allow-share", false, "with --external: specialists may share their own screen (if the portal allows it)")
	f.StringVar(&opts.EmlPath, "eml", "", "with --email: where to write the .eml file (default invitation-CODE.eml here)")
	c.AddCommand(newCmdInviteCancel(io))
	return c
}

// check refuses flags that do not go together.
func (o *InviteOptions) check() error {
	a := o.Invite
	if o.External {
		if a.Rep != "" || a.Mask {
			return usageErrorf("--external invites a specialist: no --rep or --mask")
		}
		if o.Code.Access != "" && !rights.Valid(o.Code.Access) {
			return usageErrorf("--access is view or control, not %q", o.Code.Access)
		}
		o.Code.Portal = a.Portal
		return nil
	}
	if o.Code.Access != "" || o.Code.MaxUses != 0 || o.Email != "" || o.Code.AllowShare {
		return usageErrorf("--access, --max-uses, --allow-share and --email go with --external")
	}
	if (a.Rep == "") == (a.Portal == "") {
		return usageErrorf("give exactly one of --rep NAME, --portal NAME or --external")
	}
	if a.TTL <= 0 {
		return usageErrorf("--expires must be positive")
	}
	return nil
}

func runInvite(ctx context.Context, opts *InviteOptions) error {
	client, err := runningRep()
	if err != nil {
		return err
	}
	ev := NewEvents(opts.IO.Out, opts.JSON)
	err = client.Invite(ctx, opts.Invite, func(u rep.Update) {
		name, fields, text := renderUpdate(u)
		if u.Change == rep.ChangeAlerted {
			text = fmt.Sprintf("Invitation %s sent to %s (open until %s)", shortAlert(u.Invitation.ID), u.Invitation.To,
				u.Invitation.Expires.Local().Format(clock))
			if !opts.Invite.NoWait {
				text += "; waiting for an answer… (Ctrl-C withdraws it)"
			}
		}
		ev.Emit(name, fields, text)
	})
	if errors.Is(err, rep.ErrNotRunning) {
		return notRunning(err)
	}
	return endedByUser(ctx, err)
}

func runInviteCode(ctx context.Context, opts *InviteOptions) error {
	client, err := runningRep()
	if err != nil {
		return err
	}
	inv, err := client.InviteCode(ctx, opts.Code)
	if errors.Is(err, rep.ErrNotRunning) {
		return notRunning(err)
	}
	if err != nil {
		return err
	}
	ev := NewEvents(opts.IO.Out, opts.JSON)
	fields := map[string]any{"code": inv.Code, "link": inv.Link, "rights": inv.Rights, "max_uses": inv.MaxUses,
		"valid": "until the session ends, the code is used up or cancelled", "command": inv.Command, "join_page": inv.JoinPage}
	text := fmt.Sprintf("Invitation code: %s (%s, %s)\nThe specialist runs:  %s\nSession link:         %s",
		inv.Code, inv.Rights, plural(inv.MaxUses, "specialist"), inv.Command, inv.Link)
	if inv.JoinPage != "" {
		text += "\nJoin page:            " + inv.JoinPage + " (the specialist types the code there)"
	}
	ev.Emit("invitation", fields, text)
	if desktop.Copy(inv.Link) {
		ev.Emit("clipboard", map[string]any{"copied": inv.Link}, "The link is on your clipboard.")
	}
	if opts.Email == "" {
		return nil
	}
	path := opts.EmlPath
	if path == "" {
		path = "invitation-" + strings.ReplaceAll(inv.Code, "-", "") + ".eml"
	}
	msg, err := inv.Email(opts.Email, time.Now())
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, msg, 0o600); err != nil {
		return err
	}
	link := inv.Mailto(opts.Email)
	ev.Emit("email", map[string]any{"eml": path, "mailto": link},
		fmt.Sprintf("Email invitation written to %s (open it in your mail program), or use:\n%s", path, link))
	return nil
}

func newCmdInviteCancel(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel CODE",
		Short: "Invalidate an invitation code at once (specialists already in stay)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, pos []string) error {
			return callRep(c.Context(), io, "invitation cancelled", func(ctx context.Context, rc rep.Client) error {
				return rc.CancelCode(ctx, pos[0])
			})
		},
	}
}

// callRep runs one request against the running rep process and prints
// done when it succeeds.
func callRep(ctx context.Context, io *IO, done string, call func(context.Context, rep.Client) error) error {
	client, err := runningRep()
	if err != nil {
		return err
	}
	if err := call(ctx, client); errors.Is(err, rep.ErrNotRunning) {
		return notRunning(err)
	} else if err != nil {
		return err
	}
	if done != "" {
		fmt.Fprintln(io.Out, done)
	}
	return nil
}
