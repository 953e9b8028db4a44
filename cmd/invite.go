package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	c := &cobra.Command{
		Use:   "invite (--rep NAME | --portal NAME) [--mask] [--comment TEXT]",
		Short: "Invite a colleague (or every rep of a portal) into the session you host",
		Long: `Invite a colleague into the session you host (run it while 'assist join'
runs in another terminal). --rep alerts one rep who is online (see 'assist
reps'); --portal alerts every rep logged in under the portal, and the first to
accept joins. --mask keeps the invited rep invisible to the customer; the
comment shows in the alert only, never to the customer.

It waits for the answer: accepted (by whom), declined or expired.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if (a.Rep == "") == (a.Portal == "") {
				return usageErrorf("give exactly one of --rep NAME or --portal NAME")
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
	return c
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
