package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"assist/config"
	"assist/gossip"
	"assist/ipc"
)

// NewCmdInvite builds 'assist invite', which asks the running session to
// invite a colleague.
func NewCmdInvite(io *IO) *cobra.Command {
	var a inviteArgs
	var jsonOut, noWait bool
	var email, emlPath string
	c := &cobra.Command{
		Use:   "invite (--rep NAME | --portal NAME | --external --access view|control)",
		Short: "Invite a colleague, every rep of a portal, or an external specialist into the session you host",
		Long: `Invite someone into the session you host (run it while 'assist join'
runs in another terminal). --rep alerts one rep who is online (see 'assist
reps'); --portal alerts every rep logged in under the portal, and the first to
accept joins. --mask keeps the invited rep invisible to the customer; the
comment shows in the alert only, never to the customer. It waits for the
answer: accepted (by whom), declined or expired.

--external creates an invitation code for up to --max-uses specialists
outside your portals (at most 5 in the session at once), if the portal's
manager allows it: they run 'assist join CODE' or open assist://join/CODE.
--email ADDRESS also writes a ready-to-send .eml invitation and prints a
mailto: link. 'assist invite cancel CODE' invalidates a code at once.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if a.External {
				if a.Rep != "" || a.Mask {
					return usageErrorf("--external invites a specialist: no --rep or --mask")
				}
				return runInviteExternal(c.Context(), io, a, jsonOut, email, emlPath)
			}
			if a.Access != "" || a.MaxUses != 0 || email != "" {
				return usageErrorf("--access, --max-uses and --email go with --external")
			}
			if (a.Rep == "") == (a.Portal == "") {
				return usageErrorf("give exactly one of --rep NAME, --portal NAME or --external")
			}
			return callRunning(c.Context(), io, "invite", a, jsonOut, func(data json.RawMessage, ev *Events) (bool, error) {
				var o inviteOutcome
				if err := json.Unmarshal(data, &o); err != nil {
					return false, err
				}
				switch o.Event {
				case "invited":
					ev.Emit("invited", map[string]any{"alert": o.Alert}, "Invitation "+o.Alert+" sent; waiting for an answer…")
					return noWait, nil
				case "invite_accepted":
					ev.Emit(o.Event, map[string]any{"alert": o.Alert, "name": o.Name}, o.Name+" accepted and joined the session")
				case "invite_declined":
					ev.Emit(o.Event, map[string]any{"alert": o.Alert, "name": o.Name}, o.Name+" declined")
				case "invite_expired":
					ev.Emit(o.Event, map[string]any{"alert": o.Alert}, "Nobody answered: the invitation expired")
				}
				return false, nil
			})
		},
	}
	f := c.Flags()
	f.StringVar(&a.Rep, "rep", "", "the rep to invite, by name")
	f.StringVar(&a.Portal, "portal", "", "alert every rep of this portal; the first to accept joins")
	f.BoolVar(&a.Mask, "mask", false, "the invited rep is invisible to the customer")
	f.StringVar(&a.Comment, "comment", "", "a note for the invited rep, shown in the alert only")
	f.DurationVar(&a.TTL, "expires", 2*time.Minute, "how long the invitation stays open")
	f.BoolVar(&jsonOut, "json", false, "print events as JSON lines on stdout")
	f.BoolVar(&noWait, "no-wait", false, "return once the invitation is sent")
	f.BoolVar(&a.External, "external", false, "create an invitation code for external specialists")
	f.StringVar(&a.Access, "access", "", "with --external: view (the default), or control (with the customer's consent)")
	f.IntVar(&a.MaxUses, "max-uses", 0, "with --external: how many specialists may join with the code (default 1)")
	f.StringVar(&email, "email", "", "with --external: write an email invitation to this address")
	f.BoolVar(&a.AllowShare, "allow-share", false, "with --external: specialists may share their own screen (if the portal allows it)")
	f.StringVar(&emlPath, "eml", "", "with --email: where to write the .eml file (default invitation-CODE.eml here)")
	c.AddCommand(newCmdInviteCancel(io))
	return c
}

func runInviteExternal(ctx context.Context, io *IO, a inviteArgs, jsonOut bool, email, emlPath string) error {
	return callRunning(ctx, io, "invite", a, jsonOut, func(data json.RawMessage, ev *Events) (bool, error) {
		var inv externalInvitation
		if err := json.Unmarshal(data, &inv); err != nil {
			return false, err
		}
		fields := map[string]any{"code": inv.Code, "link": inv.Link, "rights": inv.Rights, "max_uses": inv.MaxUses,
			"valid": "until the session ends, the code is used up or cancelled", "command": "assist join " + inv.Code, "join_page": inv.JoinPage}
		text := fmt.Sprintf("Invitation code: %s (%s, %s)\nThe specialist runs:  assist join %s\nSession link:         %s",
			inv.Code, inv.Rights, plural(inv.MaxUses, "specialist"), inv.Code, inv.Link)
		if inv.JoinPage != "" {
			text += "\nJoin page:            " + inv.JoinPage + " (the specialist types the code there)"
		}
		ev.Emit("invitation", fields, text)
		if copyToClipboard(inv.Link) {
			ev.Emit("clipboard", map[string]any{"copied": inv.Link}, "The link is on your clipboard.")
		}
		if email != "" {
			path := emlPath
			if path == "" {
				path = "invitation-" + strings.ReplaceAll(inv.Code, "-", "") + ".eml"
			}
			if err := writeInvitationEmail(path, email, &inv, time.Now()); err != nil {
				return false, err
			}
			link := mailtoLink(email, &inv)
			ev.Emit("email", map[string]any{"eml": path, "mailto": link},
				fmt.Sprintf("Email invitation written to %s (open it in your mail program), or use:\n%s", path, link))
		}
		return true, nil
	})
}

func newCmdInviteCancel(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel CODE",
		Short: "Invalidate an invitation code at once (specialists already in stay)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, pos []string) error {
			if err := callRunning(c.Context(), io, "invite_cancel", acceptArgs{ID: pos[0]}, false, nil); err != nil {
				return err
			}
			fmt.Fprintln(io.Out, "invitation cancelled")
			return nil
		},
	}
}

// NewCmdRemove builds 'assist remove NAME'.
func NewCmdRemove(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove an attendee (a rep or a specialist) from the session you host",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, pos []string) error {
			if err := callRunning(c.Context(), io, "remove", attendeeArgs{Name: pos[0]}, false, nil); err != nil {
				return err
			}
			fmt.Fprintf(io.Out, "%s was removed from the session\n", pos[0])
			return nil
		},
	}
}

// NewCmdStopShare builds 'assist stop-share'.
func NewCmdStopShare(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "stop-share",
		Short: "Stop a specialist's screen share in the session you host",
		Args:  args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := callRunning(c.Context(), io, "stop_share", nil, false, nil); err != nil {
				return err
			}
			fmt.Fprintln(io.Out, "screen share stopped")
			return nil
		},
	}
}

// NewCmdRights builds 'assist rights NAME view|control'.
func NewCmdRights(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "rights NAME view|control",
		Short: "Change what an attendee of the session you host may do",
		Args:  args(cobra.ExactArgs(2)),
		RunE: func(c *cobra.Command, pos []string) error {
			if pos[1] != "view" && pos[1] != "control" {
				return usageErrorf("rights are view or control, not %q", pos[1])
			}
			if err := callRunning(c.Context(), io, "rights", attendeeArgs{Name: pos[0], Rights: pos[1]}, false, nil); err != nil {
				return err
			}
			fmt.Fprintf(io.Out, "%s now has %s rights\n", pos[0], pos[1])
			return nil
		},
	}
}

// callRunning sends a request to this user's running assist and shows
// each reply with show, which returns true to stop early.
func callRunning(ctx context.Context, io *IO, op string, args any, jsonOut bool, show func(json.RawMessage, *Events) (bool, error)) error {
	dir, err := config.Dir()
	if err != nil {
		return err
	}
	ev := NewEvents(io.Out, jsonOut)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errStop := errors.New("stop")
	err = ipc.Call(ctx, dir, op, args, nil, func(data json.RawMessage) error {
		if show == nil {
			return nil
		}
		stop, err := show(data, ev)
		if err == nil && stop {
			return errStop
		}
		return err
	})
	if errors.Is(err, errStop) {
		return nil
	}
	if errors.Is(err, ipc.ErrNotRunning) {
		return fmt.Errorf("%w: start 'assist join KEY' (to host a session) or 'assist console' first", err)
	}
	return err
}

// NewCmdReps builds 'assist reps', the list of colleagues online.
func NewCmdReps(io *IO) *cobra.Command {
	var a repsArgs
	var peerFlags PeerFlags
	c := &cobra.Command{
		Use:   "reps [TEXT]",
		Short: "List the reps of your portals who are online, with their active sessions",
		Args:  args(cobra.MaximumNArgs(1)),
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) == 1 {
				a.Text = pos[0]
			}
			reps, err := onlineReps(c.Context(), io, &peerFlags, a)
			if err != nil {
				return err
			}
			ev := NewEvents(io.Out, peerFlags.JSON)
			if len(reps) == 0 {
				ev.Emit("none", nil, "No rep is online.")
			}
			for _, r := range reps {
				ev.Emit("rep", map[string]any{"name": r.Name, "portal": r.PortalName, "sessions": r.Sessions, "peer": r.Peer.String()}, repLine(r))
			}
			return nil
		},
	}
	peerFlags.register(c.Flags())
	c.Flags().StringVar(&a.Portal, "portal", "", "only reps of this portal")
	return c
}

// onlineReps asks the running assist, or, with none running, goes online
// for a moment to hear who answers.
func onlineReps(ctx context.Context, io *IO, f *PeerFlags, a repsArgs) ([]gossip.Rep, error) {
	dir, err := config.Dir()
	if err != nil {
		return nil, err
	}
	var reps []gossip.Rep
	err = ipc.Call(ctx, dir, "reps", a, nil, func(data json.RawMessage) error {
		var r gossip.Rep
		if err := json.Unmarshal(data, &r); err != nil {
			return err
		}
		reps = append(reps, r)
		return nil
	})
	if !errors.Is(err, ipc.ErrNotRunning) {
		return reps, err
	}
	rp, closeRP, err := openRepProcess(ctx, io, f, NewEvents(io.ErrOut, false), nil)
	if err != nil {
		return nil, err
	}
	defer closeRP()
	if rp.agent == nil {
		return nil, errNoPortal
	}
	// Starting asks every rep for its presence; the answers come within
	// a second or two. Wait until the list stops growing.
	deadline := time.After(8 * time.Second)
	last, stable := -1, 0
	for stable < 3 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline:
			stable = 3
		case <-time.After(500 * time.Millisecond):
		}
		n := len(rp.agent.Reps("", ""))
		if n == last && n > 0 {
			stable++
		} else {
			stable = 0
		}
		last = n
	}
	return rp.agent.Reps(a.Portal, a.Text), nil
}

// NewCmdAccept builds 'assist accept ID'.
func NewCmdAccept(io *IO) *cobra.Command {
	var a acceptArgs
	var jsonOut bool
	c := &cobra.Command{
		Use:   "accept ID",
		Short: "Accept an invitation shown by your console: join its session",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, pos []string) error {
			a.ID = pos[0]
			return callRunning(c.Context(), io, "accept", a, jsonOut, func(data json.RawMessage, ev *Events) (bool, error) {
				var r map[string]string
				_ = json.Unmarshal(data, &r)
				ev.Emit("joined", map[string]any{"session": r["session"], "url": r["url"]}, "Joined. Viewer: "+r["url"])
				return false, nil
			})
		},
	}
	c.Flags().BoolVar(&a.NoBrowser, "no-browser", false, "print the viewer's address instead of opening a browser")
	c.Flags().BoolVar(&jsonOut, "json", false, "print events as JSON lines on stdout")
	return c
}

// NewCmdDecline builds 'assist decline ID'.
func NewCmdDecline(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "decline ID",
		Short: "Decline an invitation shown by your console",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, pos []string) error {
			return callRunning(c.Context(), io, "decline", acceptArgs{ID: pos[0]}, false, nil)
		},
	}
}
