package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"

	"assist/rep"
)

// JoinOptions are the flags of 'assist join'.
type JoinOptions struct {
	IO        *IO
	Peer      PeerFlags
	Code      string
	Name      string
	NoBrowser bool
	// A specialist shares their own screen (monitor Display) into the session.
	ShareScreen bool
	Display     int
}

const joinHelp = `  /control   ask the customer for control of mouse and keyboard
  /i TEXT    internal chat: reps and specialists only, never the customer
  /end       end the session (Ctrl-C does the same); an attendee leaves it
  /help      this list`

// NewCmdJoin builds 'assist join KEY'.
func NewCmdJoin(io *IO, runF func(context.Context, *JoinOptions) error) *cobra.Command {
	opts := &JoinOptions{IO: io}
	c := &cobra.Command{
		Use:   "join KEY|CODE|assist://join/CODE",
		Short: "Join a customer's session with the support key they read to you, or a session you were invited to",
		Long: `Join a customer's session with the support key they read to you, or, as an
external specialist, the session whose invitation code a representative sent
you (you are asked for your name, or give --name).

assist join opens a viewer in your browser (a page on 127.0.0.1 only you can
open) with the customer's screen, the chat and the session's state. Type a
line in this terminal to chat:

` + joinHelp,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			opts.Code = a[0]
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runJoin(c.Context(), opts)
		},
	}
	f := c.Flags()
	opts.Peer.register(f)
	f.StringVar(&opts.Name, "name", "", "your name in the session (default: your name in your portal, else config.json \"name\", else your login name)")
	f.BoolVar(&opts.NoBrowser, "no-browser", false, "print the viewer's address instead of opening a browser")
	f.BoolVar(&opts.ShareScreen, "share-screen", false, "as a specialist: share your own screen into the session (if allowed)")
	f.IntVar(&opts.Display, "display", 0, "with --share-screen: the monitor to share")
	return c
}

func runJoin(ctx context.Context, opts *JoinOptions) error {
	_, rv, err := rep.ParseJoin(opts.Code)
	if err != nil {
		return err
	}
	if len(opts.Peer.Rendezvous) == 0 && len(rv) > 0 {
		// The link says where its code is registered: a fresh install
		// needs nothing else.
		opts.Peer.Rendezvous = rv
	}
	req := rep.JoinRequest{Code: opts.Code, Name: opts.Name, NoBrowser: opts.NoBrowser, ShareScreen: opts.ShareScreen, Display: opts.Display}
	term := &joinTerminal{out: repTerminal{ev: NewEvents(opts.IO.Out, opts.Peer.JSON)}}
	commands := make(chan rep.Command)
	go term.read(opts.IO.In, commands)
	p, closeRep, err := openRep(ctx, opts.IO, &opts.Peer, term.show)
	var busy *errBusy
	if errors.As(err, &busy) {
		// This rep's console (or another session) runs: it hosts this
		// session too, and this terminal talks to it.
		err = rep.Client{ConfigDir: busy.dir}.Join(ctx, req, commands, term.show)
		if errors.Is(err, rep.ErrNotRunning) {
			return fmt.Errorf("another assist process holds %s but does not answer: %w", busy.dir, err)
		}
		return endedByUser(ctx, err)
	}
	if err != nil {
		return err
	}
	defer closeRep()
	go p.ReportNetwork(ctx, term.show)
	return endedByUser(ctx, p.Join(ctx, req, rep.Terminal{Show: term.show, Commands: commands}))
}

// endedByUser: Ctrl-C is how a person ends a command, not a failure.
func endedByUser(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// joinTerminal reads a session's terminal and shows its events.
type joinTerminal struct {
	out repTerminal
	// askingName: the next line typed is the specialist's name.
	askingName atomic.Bool
}

func (t *joinTerminal) show(e rep.Event) {
	if e.Kind == rep.EvNameRequired {
		t.askingName.Store(true)
	}
	t.out.show(e)
}

// read turns the lines typed into commands until the input ends.
func (t *joinTerminal) read(in io.Reader, out chan<- rep.Command) {
	defer close(out)
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if t.askingName.CompareAndSwap(true, false) {
			out <- rep.Command{Name: line}
			continue
		}
		if strings.EqualFold(line, "/help") {
			t.out.show(rep.Event{Kind: rep.EvNotice, Text: "commands:\n" + joinHelp})
			continue
		}
		c, err := parseCommand(line)
		if err != nil {
			t.out.show(rep.Event{Kind: rep.EvError, Text: err.Error()})
			continue
		}
		out <- c
	}
}

// parseCommand reads one line typed in a session: a slash command or chat.
// Unknown slash commands are refused, never sent as chat.
func parseCommand(line string) (rep.Command, error) {
	if !strings.HasPrefix(line, "/") {
		return rep.Command{Chat: line}, nil
	}
	verb, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(verb) {
	case "/control":
		return rep.Command{Control: true}, nil
	case "/end", "/quit", "/leave":
		return rep.Command{End: true}, nil
	case "/i":
		if rest == "" {
			return rep.Command{}, errors.New("/i TEXT sends TEXT to reps and specialists only")
		}
		return rep.Command{Chat: rest, Internal: true}, nil
	}
	return rep.Command{}, fmt.Errorf("unknown command %s (nothing was sent); type /help", verb)
}
