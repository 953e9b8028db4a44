package cmd

import (
	"bufio"
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"assist/desktop"
	"assist/rep"
)

// ConsoleOptions are the flags of 'assist console'.
type ConsoleOptions struct {
	IO        *IO
	Peer      PeerFlags
	NoBrowser bool
}

// NewCmdConsole builds 'assist console', the rep's agent.
func NewCmdConsole(io *IO) *cobra.Command {
	opts := &ConsoleOptions{IO: io}
	c := &cobra.Command{
		Use:   "console",
		Short: "Stay online for your portals: see invitations from colleagues and accept them",
		Long: `Stay online for your portals: colleagues see you in 'assist reps' (with how
many sessions you are in) and can invite you; their invitations show here, as
a desktop notification, and on the console page (a web page on this
machine, opened in your browser) with Accept and Decline buttons and the
reps online. Type in this terminal:

  accept ID    join the session of an invitation (a viewer opens)
  decline ID   tell the inviting rep you will not come
  alerts       list the open invitations
  reps [TEXT]  list the reps online, optionally filtered
  page         open the console page again (prints its address)
  quit         go offline (Ctrl-C does the same)

'assist join KEY' in another terminal hosts its session in this process.`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error { return runConsole(c.Context(), opts) },
	}
	opts.Peer.register(c.Flags())
	c.Flags().BoolVar(&opts.NoBrowser, "no-browser", false, "print the console page's and viewers' addresses instead of opening a browser")
	return c
}

// console is a running 'assist console'.
type console struct {
	p    *rep.Process
	out  repTerminal
	page string
	opts *ConsoleOptions
	// quitting: quit was typed once while sessions run.
	quitting bool
}

func runConsole(ctx context.Context, opts *ConsoleOptions) error {
	out := repTerminal{ev: NewEvents(opts.IO.Out, opts.Peer.JSON)}
	p, closeRep, err := openRep(ctx, opts.IO, &opts.Peer, out.show)
	if err != nil {
		return err
	}
	defer closeRep()
	if !p.InPortal() {
		return rep.ErrNoPortal
	}
	page, err := p.ConsolePage()
	if err != nil {
		return err
	}
	defer page.Close()
	c := &console{p: p, out: out, page: page.URL(), opts: opts}
	out.ev.Emit("online", map[string]any{"peer": p.ID(), "page": c.page},
		"Online. Invitations show here and on the console page: "+c.page+"\nType 'help' for commands.")
	c.openPage()
	lines := make(chan string)
	go readLines(opts.IO.In, lines)
	defer c.goOffline()
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				<-ctx.Done() // stdin closed (a script): stay online until signalled
				return nil
			}
			if quit := c.command(ctx, line); quit {
				return nil
			}
		}
	}
}

// goOffline ends the sessions this console runs, saying so, so nobody is
// left with "the representative ended the session" and no reason.
func (c *console) goOffline() {
	n := c.p.Sessions()
	if n == 0 {
		return
	}
	c.out.ev.Emit("offline", map[string]any{"sessions": n}, "Going offline: ending "+plural(n, "session")+" this console runs")
	c.p.EndSessions(c.p.DisplayName("") + " went offline")
}

func readLines(in io.Reader, out chan<- string) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		out <- strings.TrimSpace(sc.Text())
	}
	close(out)
}

func (c *console) openPage() {
	if !c.opts.NoBrowser {
		desktop.OpenURL(c.page)
	}
}

// command runs one line typed at the console; true means quit.
func (c *console) command(ctx context.Context, line string) bool {
	verb, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	var err error
	ev := c.out.ev
	switch strings.ToLower(verb) {
	case "":
	case "quit", "exit", "/quit":
		if n := c.p.Sessions(); n > 0 && !c.quitting {
			c.quitting = true
			ev.Emit("quit_confirm", map[string]any{"sessions": n}, "This console runs "+plural(n, "session")+
				" (hosted for another terminal, or accepted here); quitting ends them. Type quit again to go offline anyway.")
			return false
		}
		return true
	case "accept", "a":
		_, err = c.p.Accept(ctx, arg, c.opts.NoBrowser)
	case "decline", "d":
		err = c.p.Decline(ctx, arg)
	case "alerts":
		for _, al := range c.p.Alerts() {
			ev.Emit("alert", map[string]any{"alert": al}, alertText(al))
		}
	case "reps":
		reps, _ := c.p.Reps("", arg)
		for _, r := range reps {
			ev.Emit("rep", map[string]any{"rep": r}, repLine(r))
		}
	case "page":
		ev.Emit("page", map[string]any{"url": c.page}, "Console page: "+c.page)
		c.openPage()
	default:
		ev.Emit("help", nil, "commands: accept ID, decline ID, alerts, reps [TEXT], page, quit")
	}
	if verb != "quit" && verb != "exit" && verb != "/quit" {
		c.quitting = false
	}
	if err != nil {
		ev.Emit("error", map[string]any{"error": err.Error()}, "error: "+err.Error())
	}
	return false
}
