package rep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"assist/gossip"
	"assist/ipc"
	"assist/session"
)

// Client talks to the rep's running process over its local socket.
type Client struct {
	// ConfigDir is the identity's directory, whose process is asked.
	ConfigDir string
}

// ErrNotRunning: no rep process runs for this identity.
var ErrNotRunning = ipc.ErrNotRunning

// errStop ends a call early without an error.
var errStop = errors.New("stop")

// do sends one request and decodes each reply into a fresh R for onReply,
// which returns false to stop early.
func do[R any](ctx context.Context, c Client, op string, args any, stdin io.Reader, onReply func(R) bool) error {
	req := ipc.Request{Op: op, V: APIVersion}
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return err
		}
		req.Args = b
	}
	err := ipc.Call(ctx, c.ConfigDir, req, stdin, func(data json.RawMessage) error {
		var r R
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("the running assist answered something this one does not understand: %w", err)
		}
		if onReply != nil && !onReply(r) {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// Reps lists the reps online.
func (c Client) Reps(ctx context.Context, r RepsRequest) ([]gossip.Rep, error) {
	var out []gossip.Rep
	err := do(ctx, c, OpReps, r, nil, func(rep gossip.Rep) bool { out = append(out, rep); return true })
	return out, err
}

// Alerts lists the invitations open for this rep.
func (c Client) Alerts(ctx context.Context) ([]gossip.Alert, error) {
	var out []gossip.Alert
	err := do(ctx, c, OpAlerts, nil, nil, func(a gossip.Alert) bool { out = append(out, a); return true })
	return out, err
}

// Invite invites and passes each update of the invitation to onUpdate
// until it is answered (with NoWait: once it is alerted). Cancelling ctx
// withdraws a waited-for invitation; the withdrawal is the last update.
func (c Client) Invite(ctx context.Context, r InviteRequest, onUpdate func(Update)) error {
	return do(ctx, c, OpInvite, r, nil, func(u Update) bool { onUpdate(u); return true })
}

// InviteCode opens an invitation code for external specialists.
func (c Client) InviteCode(ctx context.Context, r CodeRequest) (Invitation, error) {
	var inv Invitation
	err := do(ctx, c, OpInviteCode, r, nil, func(i Invitation) bool { inv = i; return false })
	return inv, err
}

// CancelCode invalidates an invitation code.
func (c Client) CancelCode(ctx context.Context, code string) error {
	return do[none](ctx, c, OpCancelCode, CodeRef{Code: code}, nil, nil)
}

// Accept joins the session of an open alert.
func (c Client) Accept(ctx context.Context, r AlertRef) (Joined, error) {
	var j Joined
	err := do(ctx, c, OpAccept, r, nil, func(got Joined) bool { j = got; return false })
	return j, err
}

// Decline declines an open alert.
func (c Client) Decline(ctx context.Context, id string) error {
	return do[none](ctx, c, OpDecline, AlertRef{ID: id}, nil, nil)
}

// Join has the running process host or attend a session for this
// terminal: commands go there, its events come back to show.
func (c Client) Join(ctx context.Context, r JoinRequest, commands <-chan Command, show func(Event)) error {
	pr, pw := io.Pipe()
	go func() {
		enc := json.NewEncoder(pw)
		for cmd := range commands {
			if enc.Encode(cmd) != nil {
				return
			}
		}
		// No more commands (stdin closed): stay, the session goes on.
	}()
	defer pw.Close()
	ended := false
	err := do(ctx, c, OpJoin, r, pr, func(e Event) bool {
		ended = ended || e.Kind == EvSession && e.Session.Kind == session.EvEnded
		show(e)
		return true
	})
	if ended && err != nil && ctx.Err() == nil {
		return nil // the session ended and said why; the process then went
	}
	return err
}

// Remove takes an attendee out of the hosted session.
func (c Client) Remove(ctx context.Context, name string) error {
	return do[none](ctx, c, OpRemove, AttendeeRequest{Name: name}, nil, nil)
}

// SetRights changes an attendee's rights.
func (c Client) SetRights(ctx context.Context, name, to string) error {
	return do[none](ctx, c, OpRights, AttendeeRequest{Name: name, Rights: to}, nil, nil)
}

// Attendees lists who is in the hosted session.
func (c Client) Attendees(ctx context.Context) ([]session.Attendee, error) {
	var out []session.Attendee
	err := do(ctx, c, OpAttendees, nil, nil, func(a session.Attendee) bool { out = append(out, a); return true })
	return out, err
}

// StopShare ends a specialist's screen share.
func (c Client) StopShare(ctx context.Context) error {
	return do[none](ctx, c, OpStopShare, nil, nil, nil)
}
