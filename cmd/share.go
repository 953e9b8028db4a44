package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"assist/desktop"
	"assist/screen"
	"assist/session"
	"assist/viewer"
)

// ShareOptions are the flags of 'assist share'.
type ShareOptions struct {
	IO           *IO
	Peer         PeerFlags
	AllowView    bool
	AllowControl bool
	Display      int
	ListDisplays bool
	KeyTTL       time.Duration
	NoBrowser    bool
}

// NewCmdShare builds 'assist share'.
func NewCmdShare(io *IO, runF func(context.Context, *ShareOptions) error) *cobra.Command {
	opts := &ShareOptions{IO: io}
	c := &cobra.Command{
		Use:   "share",
		Short: "Share your screen with a support representative",
		Long: `Share your screen with a support representative.

assist share prints a support key. Read it to your representative, who types
it into 'assist join'. You will be asked before they can see your screen, and
again before they can control it. While the session runs, type a line to chat:

  /control off   take control back at once
  /end           end the session (Ctrl-C does the same)
  y / n          answer a question`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if opts.KeyTTL <= 0 {
				return usageErrorf("--key-ttl must be positive")
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return runShare(c.Context(), opts)
		},
	}
	f := c.Flags()
	opts.Peer.register(f)
	f.BoolVar(&opts.AllowView, "allow-view", false, "grant viewing without asking (for scripts)")
	f.BoolVar(&opts.AllowControl, "allow-control", false, "grant control without asking (for scripts)")
	f.IntVar(&opts.Display, "display", 0, "monitor to share (see --list-displays)")
	f.BoolVar(&opts.ListDisplays, "list-displays", false, "list the monitors and exit")
	f.BoolVar(&opts.NoBrowser, "no-browser", false, "print a viewer's address (a specialist's shared screen) instead of opening a browser")
	f.DurationVar(&opts.KeyTTL, "key-ttl", 10*time.Minute, "how long the support key waits for a representative")
	return c
}

func runShare(ctx context.Context, opts *ShareOptions) error {
	if opts.ListDisplays {
		return listDisplays(opts.IO.Out)
	}
	log, err := newLogger(opts.IO.ErrOut, opts.Peer.LogLevel)
	if err != nil {
		return err
	}
	// Check the desktop first: nothing to share without one.
	desk, err := desktop.Open()
	if err != nil {
		return err
	}
	capt, err := desk.OpenScreen(opts.Display)
	if err != nil {
		return err
	}
	defer capt.Close()
	inj, err := desk.OpenInput(capt.Bounds())
	if err != nil {
		return err
	}
	defer inj.Close()
	node, err := startPeer(&opts.Peer, log)
	if err != nil {
		return err
	}
	defer node.close()
	log.Debug("peer started", "id", node.host.ID())

	ui := &shareUI{ev: NewEvents(opts.IO.Out, opts.Peer.JSON), json: opts.Peer.JSON}
	var cust *session.Customer
	// A specialist shares a screen: open a viewer for it, once.
	ui.onSharedView = func() {
		v, err := viewer.Start(cust.SharedView(), nil, log)
		if err != nil {
			ui.ev.Emit("error", map[string]any{"error": err.Error()}, "cannot open a viewer: "+err.Error())
			return
		}
		go func() {
			<-ctx.Done()
			v.Close()
		}()
		ui.ev.Emit("viewer", map[string]any{"url": v.URL()}, "A specialist shares their screen with you: "+v.URL())
		if !opts.NoBrowser {
			openBrowser(v.URL(), log)
		}
	}
	cust = session.NewCustomer(session.CustomerConfig{
		Host:        node.host,
		Rendezvous:  node.rv,
		KeyTTL:      opts.KeyTTL,
		Screen:      capt,
		Injector:    inj,
		Sender:      screen.DefaultSenderConfig(),
		AutoView:    opts.AllowView,
		AutoControl: opts.AllowControl,
		OnEvent:     ui.show,
	})
	go readShareCommands(opts.IO.In, cust, ui)
	return cust.Run(ctx)
}

func listDisplays(out io.Writer) error {
	desk, err := desktop.Open()
	if err != nil {
		return err
	}
	ds, err := desk.Displays()
	if err != nil {
		return err
	}
	for _, d := range ds {
		fmt.Fprintf(out, "%d: %dx%d at %d,%d\n", d.Index, d.Bounds.Dx(), d.Bounds.Dy(), d.Bounds.Min.X, d.Bounds.Min.Y)
	}
	return nil
}

// shareUI prints the customer's events.
type shareUI struct {
	ev           *Events
	json         bool
	reach        string // last reachability shown
	onSharedView func()
}

func (u *shareUI) show(e session.Event) {
	if e.Kind == session.EvSharedView {
		go u.onSharedView()
		return
	}
	u.ev.Emit(e.Kind, eventFields(e), u.text(e))
}

func (u *shareUI) text(e session.Event) string {
	switch e.Kind {
	case session.EvKey:
		return fmt.Sprintf("\nYour support key:\n\n%s\n    %s\n\nRead it to your support representative. It is valid until %s.\n",
			banner(e.Key), e.Key, e.Expires.Local().Format(clock))
	case session.EvConsent:
		watching, control := "nobody", "only you"
		if len(e.Watching) > 0 {
			watching = strings.Join(e.Watching, ", ")
		}
		if len(e.Controlling) > 0 {
			control = strings.Join(e.Controlling, ", ") + " (type /control off to take it back)"
		}
		return fmt.Sprintf("Watching your screen: %s. Control: %s.", watching, control)
	case session.EvChat:
		return fmt.Sprintf("[%s] %s: %s", e.Chat.Time.Local().Format(clock), e.Chat.From, e.Chat.Text)
	case session.EvAttendees:
		var names []string
		for _, a := range e.Attendees {
			if a.Role != session.RoleCustomer {
				names = append(names, a.Name)
			}
		}
		return "In this session with you: " + strings.Join(names, ", ")
	case session.EvEnded:
		return "Session ended: " + e.Reason
	case session.EvNetwork:
		if e.Reachability == u.reach || e.Reachability == "unknown" {
			return ""
		}
		u.reach = e.Reachability
		if e.Reachability == "private" {
			return "Your computer is behind a router or firewall; the representative will connect through the relay first."
		}
		return ""
	}
	return e.Text
}

// readShareCommands reads the customer's terminal: answers, commands, chat.
func readShareCommands(in io.Reader, c *session.Customer, ui *shareUI) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if answer := strings.ToLower(line); answer == "y" || answer == "yes" || answer == "n" || answer == "no" {
			// A lone yes/no is an answer, never a chat message.
			if what := c.Pending(); what != "" {
				c.Answer(what, answer[0] == 'y')
			} else {
				ui.ev.Emit("error", map[string]any{"error": "no question is waiting for an answer"}, "No question is waiting for an answer.")
			}
			continue
		}
		switch strings.ToLower(line) {
		case "/end", "/quit":
			c.End("the customer ended the session")
			return
		case "/control off", "/revoke":
			c.TakeControlBack()
		case "/help":
			ui.ev.Emit("help", nil, "type a message to chat; /control off takes control back; /end ends the session")
		default:
			if strings.HasPrefix(line, "/") {
				err := fmt.Sprintf("unknown command %s (nothing was sent); type /help", strings.Fields(line)[0])
				ui.ev.Emit("error", map[string]any{"error": err}, err)
				continue
			}
			if err := c.Chat(line); err != nil {
				ui.ev.Emit("error", map[string]any{"error": err.Error()}, err.Error())
			}
		}
	}
}
