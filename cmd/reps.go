package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"assist/gossip"
	"assist/rep"
)

// NewCmdReps builds 'assist reps', the list of colleagues online.
func NewCmdReps(io *IO) *cobra.Command {
	var r rep.RepsRequest
	var peerFlags PeerFlags
	c := &cobra.Command{
		Use:   "reps [TEXT]",
		Short: "List the reps of your portals who are online, with their active sessions",
		Args:  args(cobra.MaximumNArgs(1)),
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) == 1 {
				r.Text = pos[0]
			}
			reps, err := onlineReps(c.Context(), io, &peerFlags, r)
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
	c.Flags().StringVar(&r.Portal, "portal", "", "only reps of this portal")
	return c
}

// onlineReps asks the running assist, or, with none running, goes online
// for a moment to hear who answers.
func onlineReps(ctx context.Context, io *IO, f *PeerFlags, r rep.RepsRequest) ([]gossip.Rep, error) {
	client, err := runningRep()
	if err != nil {
		return nil, err
	}
	reps, err := client.Reps(ctx, r)
	if !errors.Is(err, rep.ErrNotRunning) {
		return reps, err
	}
	p, closeRep, err := openRep(ctx, io, f, repTerminal{ev: NewEvents(io.ErrOut, false)}.show)
	if err != nil {
		return nil, err
	}
	defer closeRep()
	if err := p.SettleReps(ctx); err != nil {
		return nil, err
	}
	return p.Reps(r.Portal, r.Text)
}

// NewCmdAccept builds 'assist accept ID'.
func NewCmdAccept(io *IO) *cobra.Command {
	var a rep.AlertRef
	var jsonOut bool
	c := &cobra.Command{
		Use:   "accept ID",
		Short: "Accept an invitation shown by your console: join its session",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, pos []string) error {
			a.ID = pos[0]
			return callRep(c.Context(), io, "", func(ctx context.Context, rc rep.Client) error {
				j, err := rc.Accept(ctx, a)
				if err == nil {
					NewEvents(io.Out, jsonOut).Emit("joined", map[string]any{"session": j.Session, "url": j.URL}, "Joined. Viewer: "+j.URL)
				}
				return err
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
			return callRep(c.Context(), io, "", func(ctx context.Context, rc rep.Client) error { return rc.Decline(ctx, pos[0]) })
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
			return callRep(c.Context(), io, pos[0]+" was removed from the session", func(ctx context.Context, rc rep.Client) error {
				return rc.Remove(ctx, pos[0])
			})
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
			return callRep(c.Context(), io, "screen share stopped", func(ctx context.Context, rc rep.Client) error { return rc.StopShare(ctx) })
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
			done := fmt.Sprintf("%s now has %s rights", pos[0], pos[1])
			return callRep(c.Context(), io, done, func(ctx context.Context, rc rep.Client) error { return rc.SetRights(ctx, pos[0], pos[1]) })
		},
	}
}
