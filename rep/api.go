package rep

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"assist/ipc"
)

// The local control socket (package ipc carries it) speaks these
// operations, version APIVersion. Each request has its own argument type;
// each reply line is the operation's reply type:
//
//	op            request          replies
//	reps          RepsRequest      gossip.Rep, one per rep online
//	alerts        -                gossip.Alert, one per open alert
//	invite        InviteRequest    Update: alerted, then its answer (with NoWait, alerted only);
//	                               a caller that goes away withdraws a waited-for invitation
//	invite_code   CodeRequest      Invitation (the code)
//	cancel_code   CodeRef          -
//	accept        AlertRef         Joined
//	decline       AlertRef         -
//	join          JoinRequest      Event, until the session ends; the client streams
//	                               Command lines after the request, and leaving ends it
//	remove        AttendeeRequest  -
//	rights        AttendeeRequest  -
//	stop_share    -                -
//	attendees     -                session.Attendee, one per person in the hosted session
//
// Version 2 (this one) made every operation typed; version 1 had untyped
// arguments and relayed a join's raw terminal.
const APIVersion = 2

// Operations of the local socket.
const (
	OpReps       = "reps"
	OpAlerts     = "alerts"
	OpInvite     = "invite"
	OpInviteCode = "invite_code"
	OpCancelCode = "cancel_code"
	OpAccept     = "accept"
	OpDecline    = "decline"
	OpJoin       = "join"
	OpRemove     = "remove"
	OpRights     = "rights"
	OpStopShare  = "stop_share"
	OpAttendees  = "attendees"
)

// RepsRequest filters the reps online.
type RepsRequest struct {
	Portal string `json:"portal,omitempty"`
	Text   string `json:"text,omitempty"`
}

// AlertRef names an alert by its ID or a prefix of it.
type AlertRef struct {
	ID        string `json:"id"`
	NoBrowser bool   `json:"no_browser,omitempty"`
}

// CodeRef names an invitation code as typed.
type CodeRef struct {
	Code string `json:"code"`
}

// AttendeeRequest names an attendee, and for rights what they become.
type AttendeeRequest struct {
	Name   string `json:"name"`
	Rights string `json:"rights,omitempty"`
}

// maxCommand bounds one command line a client streams.
const maxCommand = 64 << 10

// call is one request being served.
type call struct {
	send func(any) error
	in   io.Reader
}

type operation struct {
	// streams: the client sends commands after the request; otherwise the
	// end of its stream means it went away.
	streams bool
	serve   func(ctx context.Context, p *Process, args json.RawMessage, c *call) error
}

// typed decodes an operation's arguments into its request type.
func typed[Req any](serve func(ctx context.Context, p *Process, r Req, c *call) error) func(context.Context, *Process, json.RawMessage, *call) error {
	return func(ctx context.Context, p *Process, args json.RawMessage, c *call) error {
		var r Req
		if len(args) > 0 {
			if err := json.Unmarshal(args, &r); err != nil {
				return fmt.Errorf("malformed arguments: %w", err)
			}
		}
		return serve(ctx, p, r, c)
	}
}

type none struct{}

var operations = map[string]operation{
	OpReps: {serve: typed(func(_ context.Context, p *Process, r RepsRequest, c *call) error {
		reps, err := p.Reps(r.Portal, r.Text)
		if err != nil {
			return err
		}
		return sendAll(c, reps)
	})},
	OpAlerts: {serve: typed(func(_ context.Context, p *Process, _ none, c *call) error {
		return sendAll(c, p.Alerts())
	})},
	OpInvite: {serve: typed(serveInvite)},
	OpInviteCode: {serve: typed(func(ctx context.Context, p *Process, r CodeRequest, c *call) error {
		inv, err := p.InviteCode(ctx, r)
		if err != nil {
			return err
		}
		return c.send(inv)
	})},
	OpCancelCode: {serve: typed(func(ctx context.Context, p *Process, r CodeRef, _ *call) error {
		return p.CancelCode(ctx, r.Code)
	})},
	OpAccept: {serve: typed(func(ctx context.Context, p *Process, r AlertRef, c *call) error {
		j, err := p.Accept(ctx, r.ID, r.NoBrowser)
		if err != nil {
			return err
		}
		return c.send(j)
	})},
	OpDecline: {serve: typed(func(ctx context.Context, p *Process, r AlertRef, _ *call) error {
		return p.Decline(ctx, r.ID)
	})},
	OpJoin:   {streams: true, serve: typed(serveJoin)},
	OpRemove: {serve: typed(func(_ context.Context, p *Process, r AttendeeRequest, _ *call) error { return p.Remove(r.Name) })},
	OpRights: {serve: typed(func(_ context.Context, p *Process, r AttendeeRequest, _ *call) error {
		return p.SetRights(r.Name, r.Rights)
	})},
	OpStopShare: {serve: typed(func(_ context.Context, p *Process, _ none, _ *call) error { return p.StopShare() })},
	OpAttendees: {serve: typed(func(_ context.Context, p *Process, _ none, c *call) error {
		hub, err := p.hostedHub()
		if err != nil {
			return err
		}
		return sendAll(c, hub.Attendees())
	})},
}

func sendAll[T any](c *call, items []T) error {
	for _, it := range items {
		if err := c.send(it); err != nil {
			return err
		}
	}
	return nil
}

// Serve answers the other assist commands on the local socket until ctx ends.
func (p *Process) Serve(ctx context.Context, srv *ipc.Server) {
	srv.Serve(ctx, p.serveLocal)
}

func (p *Process) serveLocal(ctx context.Context, req ipc.Request, in io.Reader, send func(any) error) error {
	if req.V != APIVersion {
		return fmt.Errorf("the running assist speaks version %d of the local protocol and this command %d: restart it (quit 'assist console' or the session) with this version", APIVersion, req.V)
	}
	op, ok := operations[req.Op]
	if !ok {
		return fmt.Errorf("unknown operation %q", req.Op)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !op.streams {
		// The caller sends nothing more: the end of its stream is its
		// going away (Ctrl-C), which cancels what it waits for.
		go func() {
			_, _ = io.Copy(io.Discard, in)
			cancel()
		}()
	}
	var mu sync.Mutex // replies come from several goroutines (a join's events)
	locked := func(v any) error {
		mu.Lock()
		defer mu.Unlock()
		return send(v)
	}
	return op.serve(ctx, p, req.Args, &call{send: locked, in: in})
}

// serveInvite invites and passes the invitation's updates on until it is
// answered; a caller that stops waiting withdraws it.
func serveInvite(ctx context.Context, p *Process, r InviteRequest, c *call) error {
	updates, stop := p.Updates()
	defer stop()
	inv, err := p.Invite(context.WithoutCancel(ctx), r)
	if err != nil {
		return err
	}
	if err := c.send(Update{Change: ChangeAlerted, Invitation: inv}); err != nil || r.NoWait {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			if w, ok := p.Withdraw(inv.ID); ok {
				return c.send(Update{Change: ChangeWithdrawn, Invitation: w})
			}
			return nil
		case u, ok := <-updates:
			if !ok {
				return errors.New("stopped following the invitation: try 'assist invite' again")
			}
			if u.Invitation.ID != inv.ID || u.Change == ChangeAlerted {
				continue
			}
			if err := c.send(u); err != nil || u.Invitation.State.Final() {
				return err
			}
		}
	}
}

// serveJoin hosts or attends a session for a terminal on the other end of
// the socket: its commands arrive as lines, its events go back as replies.
func serveJoin(ctx context.Context, p *Process, r JoinRequest, c *call) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	commands := make(chan Command)
	go func() {
		defer close(commands)
		defer cancel() // the terminal went away (Ctrl-C there): the session ends
		sc := bufio.NewScanner(c.in)
		sc.Buffer(make([]byte, 4096), maxCommand)
		for sc.Scan() {
			var cmd Command
			if json.Unmarshal(sc.Bytes(), &cmd) != nil {
				continue
			}
			select {
			case commands <- cmd:
			case <-ctx.Done():
				return
			}
		}
	}()
	show := func(e Event) { _ = c.send(e) }
	return p.Join(ctx, r, Terminal{Show: show, Commands: commands})
}

// Remove takes an attendee out of the hosted session.
func (p *Process) Remove(name string) error {
	hub, err := p.hostedHub()
	if err != nil {
		return err
	}
	return hub.Remove(name)
}

// SetRights changes an attendee's rights in the hosted session.
func (p *Process) SetRights(name, to string) error {
	hub, err := p.hostedHub()
	if err != nil {
		return err
	}
	return hub.SetRights(name, to)
}

// StopShare ends a specialist's screen share in the hosted session.
func (p *Process) StopShare() error {
	hub, err := p.hostedHub()
	if err != nil {
		return err
	}
	return hub.StopShare()
}
