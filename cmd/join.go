package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/spf13/cobra"

	"assist/gossip"
	"assist/ipc"
	"assist/p2p"
	"assist/pairing"
	"assist/rendezvous"
	"assist/session"
	"assist/shortcode"
	"assist/viewer"
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

  /control   ask the customer for control of mouse and keyboard
  /i TEXT    internal chat: reps and specialists only, never the customer
  /end       end the session (Ctrl-C does the same)`,
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
	f.StringVar(&opts.Name, "name", "", "your name as the customer sees it (default: config.json \"name\", else your login name)")
	f.BoolVar(&opts.NoBrowser, "no-browser", false, "print the viewer's address instead of opening a browser")
	f.BoolVar(&opts.ShareScreen, "share-screen", false, "as a specialist: share your own screen into the session (if allowed)")
	f.IntVar(&opts.Display, "display", 0, "with --share-screen: the monitor to share")
	return c
}

func runJoin(ctx context.Context, opts *JoinOptions) error {
	code, err := parseJoinCode(opts.Code)
	if err != nil {
		return err
	}
	ev := NewEvents(opts.IO.Out, opts.Peer.JSON)
	rp, closeRP, err := openRepProcess(ctx, opts.IO, &opts.Peer, ev, func(e gossip.Event) { showGossip(ev, e) })
	var busy *errBusy
	if errors.As(err, &busy) {
		// This rep's console (or another session) runs: it hosts this
		// session too, and this terminal talks to it.
		return delegateJoin(ctx, opts, busy.dir)
	}
	if err != nil {
		return err
	}
	defer closeRP()
	go reportNetwork(ctx, rp.node, func(e session.Event) { ev.Emit(e.Kind, eventFields(e), "") })
	return rp.hostSession(ctx, joinArgs{Code: code.String(), Name: opts.Name, NoBrowser: opts.NoBrowser,
		ShareScreen: opts.ShareScreen, Display: opts.Display}, ev, opts.IO.In)
}

// joinArgs are what a session needs from 'assist join', also as they cross
// the local socket to a running console.
type joinArgs struct {
	Code        string `json:"code"`
	Name        string `json:"name,omitempty"`
	NoBrowser   bool   `json:"no_browser,omitempty"`
	JSON        bool   `json:"json,omitempty"`
	ShareScreen bool   `json:"share_screen,omitempty"`
	Display     int    `json:"display,omitempty"`
}

// delegateJoin asks this rep's running assist to host the session, and
// relays this terminal to it: its output here, this stdin there.
func delegateJoin(ctx context.Context, opts *JoinOptions, dir string) error {
	a := joinArgs{Code: opts.Code, Name: opts.Name, NoBrowser: opts.NoBrowser, JSON: opts.Peer.JSON,
		ShareScreen: opts.ShareScreen, Display: opts.Display}
	err := ipc.Call(ctx, dir, "join", a, opts.IO.In, func(data json.RawMessage) error {
		var line string
		if json.Unmarshal(data, &line) == nil {
			_, _ = io.WriteString(opts.IO.Out, line)
		}
		return nil
	})
	if errors.Is(err, ipc.ErrNotRunning) {
		return fmt.Errorf("another assist process holds %s but does not answer: %w", dir, err)
	}
	return err
}

// hostSession claims a customer's key and hosts the session until it ends.
func (rp *repProcess) hostSession(ctx context.Context, a joinArgs, ev *Events, in io.Reader) error {
	code, err := parseJoinCode(a.Code)
	if err != nil {
		return err
	}
	node := rp.node
	ev.Emit("resolving", nil, "Looking up the code…")
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	rec, err := node.rv.Resolve(rctx, code.Lookup)
	cancel()
	if errors.Is(err, rendezvous.ErrCancelled) {
		return fmt.Errorf("code %s: invitation cancelled by the representative: ask them for a new one", code)
	}
	if errors.Is(err, rendezvous.ErrEnded) {
		return fmt.Errorf("code %s: the session has ended", code)
	}
	if err != nil {
		return fmt.Errorf("code %s: %w", code, err)
	}
	if rec.Kind == rendezvous.KindInvitation {
		return rp.joinAsSpecialist(ctx, code, rec, a, ev, in)
	}
	if rec.Kind != rendezvous.KindSupport {
		return fmt.Errorf("%s is not a support key or an invitation code", code)
	}
	defer rp.endInvitations()
	rp.mu.Lock()
	busy := rp.hosted != nil
	rp.mu.Unlock()
	if busy {
		return fmt.Errorf("you already host a session in this process: end it first")
	}
	// Talking to the rendezvous node told this host its public address;
	// give libp2p a moment to enable hole punching before the first,
	// possibly relayed, connection to the customer.
	p2p.WaitHolePunchReady(ctx, node.host, 3*time.Second)
	owner := peer.AddrInfo{ID: rec.Owner, Addrs: rec.Multiaddrs()}
	hub := session.NewHost(rp.hostConfig(session.HostConfig{
		Host:          node.host,
		Name:          displayName(a.Name, node.configDir),
		Customer:      owner,
		TranscriptDir: filepath.Join(node.configDir, "transcripts"),
		OnEvent:       func(e session.Event) { ev.Emit(e.Kind, eventFields(e), joinText(e)) },
	}))
	hub.WatchPath(ctx)
	ev.Emit("connecting", map[string]any{"peer": rec.Owner.String()}, "Connecting to the customer…")
	pctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	_, err = pairing.Claim(pctx, node.host, owner, string(rec.Kind), code)
	cancel()
	if err != nil {
		return joinError(code, err)
	}
	ev.Emit(session.EvPaired, map[string]any{"peer": rec.Owner.String()}, "Support key accepted. Waiting for the customer to allow viewing…")

	view, err := viewer.Start(hub, rp.viewerPortal(), rp.log)
	if err != nil {
		return err
	}
	defer view.Close()
	ev.Emit("viewer", map[string]any{"url": view.URL()}, "Viewer: "+view.URL())
	if !a.NoBrowser {
		openBrowser(view.URL(), rp.log)
	}
	rp.setHosted(hub, ev)
	defer rp.setHosted(nil, nil)
	go readJoinCommands(in, hub, ev)
	return hub.Run(ctx)
}

// reportNetwork passes this peer's network state changes to show.
func reportNetwork(ctx context.Context, node *peerNode, show func(session.Event)) {
	states, err := p2p.WatchNetwork(ctx, node.host)
	if err != nil {
		return
	}
	for st := range states {
		show(session.NetworkEvent(st))
	}
}

// joinError turns a pairing failure into what the rep should do next.
func joinError(code shortcode.Code, err error) error {
	var wc *pairing.WrongCodeError
	switch {
	case errors.As(err, &wc):
		return fmt.Errorf("support key %s: %w", code, err)
	case errors.Is(err, pairing.ErrBurned), errors.Is(err, pairing.ErrUsed), errors.Is(err, pairing.ErrNotActive):
		return fmt.Errorf("support key %s: %w", code, err)
	}
	return fmt.Errorf("could not reach the customer with key %s: %w", code, err)
}

func joinText(e session.Event) string {
	switch e.Kind {
	case session.EvConsent:
		return fmt.Sprintf("Customer consent: view %s, control %s", yesNo(*e.View), yesNo(*e.Control))
	case session.EvChat:
		return fmt.Sprintf("[%s] %s: %s", e.Chat.Time.Local().Format("15:04"), e.Chat.From, e.Chat.Text)
	case session.EvConnection:
		if e.RTTMs == 0 {
			return fmt.Sprintf("Connection to the customer: %s over %s", e.Path, e.Transport)
		}
		return fmt.Sprintf("Connection to the customer: %s over %s, RTT %.1f ms", e.Path, e.Transport, e.RTTMs)
	case session.EvEnded:
		return "Session ended: " + e.Reason
	case session.EvFrame, session.EvAttendees, session.EvLink:
		return ""
	}
	return e.Text
}

func yesNo(b bool) string {
	if b {
		return "granted"
	}
	return "not granted"
}

// openBrowser opens url where a graphical session can show it.
func openBrowser(url string, log interface{ Debug(string, ...any) }) {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return
	}
	path, err := exec.LookPath("xdg-open")
	if err != nil {
		return
	}
	cmd := exec.Command(path, url)
	if err := cmd.Start(); err != nil {
		log.Debug("open browser", "err", err)
		return
	}
	go func() { _ = cmd.Wait() }()
}

func readJoinCommands(in io.Reader, h *session.Host, ev *Events) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		var err error
		switch strings.ToLower(line) {
		case "":
			continue
		case "/control":
			err = h.RequestControl()
		case "/end", "/quit":
			h.End("the representative ended the session")
			return
		default:
			text, internal := chatLine(line)
			err = h.Chat(text, internal)
		}
		if err != nil {
			ev.Emit("error", map[string]any{"error": err.Error()}, err.Error())
		}
	}
}

// chatLine splits "/i text" (internal chat) from a customer-visible line.
func chatLine(line string) (text string, internal bool) {
	if rest, ok := strings.CutPrefix(line, "/i "); ok {
		return strings.TrimSpace(rest), true
	}
	return line, false
}

// parseJoinCode reads a code as typed, or from an assist://join/CODE link.
func parseJoinCode(s string) (shortcode.Code, error) {
	if rest, ok := strings.CutPrefix(strings.TrimSpace(s), "assist://join/"); ok {
		s = strings.TrimSuffix(rest, "/")
	}
	return shortcode.Parse(s)
}
