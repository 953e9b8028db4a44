package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"assist/gossip"
	"assist/viewer"
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

func runConsole(ctx context.Context, opts *ConsoleOptions) error {
	ev := NewEvents(opts.IO.Out, opts.Peer.JSON)
	rp, closeRP, err := openRepProcess(ctx, opts.IO, &opts.Peer, ev, func(e gossip.Event) { showGossip(ev, e) })
	if err != nil {
		return err
	}
	defer closeRP()
	rp.noBrowser = opts.NoBrowser
	if rp.agent == nil {
		return errNoPortal
	}
	page, err := viewer.StartConsole(rp.viewerPortal(), rp.log)
	if err != nil {
		return err
	}
	defer page.Close()
	rp.consolePage = page.URL()
	ev.Emit("online", map[string]any{"peer": rp.node.host.ID().String(), "page": page.URL()},
		"Online. Invitations show here and on the console page: "+page.URL()+"\nType 'help' for commands.")
	if !opts.NoBrowser {
		openBrowser(page.URL(), rp.log)
	}
	lines := make(chan string)
	go readLines(opts.IO.In, lines)
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				<-ctx.Done() // stdin closed (a script): stay online until signalled
				return nil
			}
			if quit := rp.consoleCommand(ctx, line); quit {
				return nil
			}
		}
	}
}

func readLines(in io.Reader, out chan<- string) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		out <- strings.TrimSpace(sc.Text())
	}
	close(out)
}

// consoleCommand runs one line typed at the console; true means quit.
func (rp *repProcess) consoleCommand(ctx context.Context, line string) bool {
	verb, arg, _ := strings.Cut(line, " ")
	arg = strings.TrimSpace(arg)
	var err error
	switch strings.ToLower(verb) {
	case "":
	case "quit", "exit", "/quit":
		return true
	case "accept", "a":
		_, _, err = rp.accept(ctx, arg, rp.noBrowser)
	case "decline", "d":
		err = rp.agent.Decline(ctx, arg)
	case "alerts":
		for _, al := range rp.agent.Alerts() {
			rp.ev.Emit("alert", map[string]any{"alert": al}, alertText(al))
		}
	case "reps":
		for _, r := range rp.agent.Reps("", arg) {
			rp.ev.Emit("rep", map[string]any{"rep": r}, repLine(r))
		}
	case "page":
		rp.ev.Emit("page", map[string]any{"url": rp.consolePage}, "Console page: "+rp.consolePage)
		if !rp.noBrowser {
			openBrowser(rp.consolePage, rp.log)
		}
	default:
		rp.ev.Emit("help", nil, "commands: accept ID, decline ID, alerts, reps [TEXT], page, quit")
	}
	if err != nil {
		rp.ev.Emit("error", map[string]any{"error": err.Error()}, "error: "+err.Error())
	}
	return false
}

// showGossip prints what the portals' gossip brings.
func showGossip(ev *Events, e gossip.Event) {
	switch e.Kind {
	case gossip.EvAlert:
		ev.Emit("alert", map[string]any{"alert": e.Alert}, alertText(*e.Alert))
		notifyDesktop("assist: "+e.Alert.HostName+" invites you", strings.TrimSpace(e.Alert.Comment+" — accept "+shortAlert(e.Alert.ID)))
	case gossip.EvAlertClosed:
		text := "Invitation " + shortAlert(e.AlertID) + " "
		switch {
		case e.By != "":
			text += "was taken by " + e.By
		case e.Reason == "":
			return // accepted here
		default:
			text += "closed: " + e.Reason
		}
		ev.Emit("alert_closed", map[string]any{"alert": e.AlertID, "by": e.By, "reason": e.Reason}, text)
	case gossip.EvRevoked:
		ev.Emit("revoked", map[string]any{"portal": e.Portal, "reason": e.Reason},
			fmt.Sprintf("Portal %s no longer has you (%s): its invitations stop here; 'assist logout %q' forgets it", e.Portal, e.Reason, e.Portal))
	}
}

func alertText(al gossip.Alert) string {
	who := "you"
	if al.Target == "" {
		who = "every rep of " + al.PortalName
	}
	s := fmt.Sprintf("Invitation %s: %s invites %s to a session", shortAlert(al.ID), al.HostName, who)
	if al.Masked {
		s += " (masked: the customer will not see you)"
	}
	if al.Comment != "" {
		s += fmt.Sprintf(": %q", al.Comment)
	}
	return s + fmt.Sprintf(". Type 'accept %s' (open until %s)", shortAlert(al.ID), al.Expires.Local().Format(time.Kitchen))
}

func shortAlert(id string) string { return id[:min(6, len(id))] }

func repLine(r gossip.Rep) string {
	return fmt.Sprintf("%-24s %-16s %s", r.Name, r.PortalName, plural(r.Sessions, "session"))
}
