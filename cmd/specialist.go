package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"assist/pairing"
	"assist/rendezvous"
	"assist/screen"
	"assist/session"
	"assist/shortcode"
	"assist/viewer"
)

// joinAsSpecialist joins a session as an external specialist: prove the
// invitation code to the host, give a name, follow the session in a viewer.
func (rp *repProcess) joinAsSpecialist(ctx context.Context, code shortcode.Code, rec *rendezvous.CodeRecord, a joinArgs, ev *Events, in io.Reader) error {
	lines := bufio.NewScanner(in)
	name := strings.TrimSpace(a.Name)
	if name == "" {
		ev.Emit("name_required", nil, "Your name, as everyone in the session will see it:")
		if !lines.Scan() || strings.TrimSpace(lines.Text()) == "" {
			return usageErrorf("a specialist joins under a name: type it when asked, or give --name")
		}
		name = strings.TrimSpace(lines.Text())
	}
	host := peer.AddrInfo{ID: rec.Owner, Addrs: rec.Multiaddrs()}
	ev.Emit("connecting", map[string]any{"peer": rec.Owner.String()}, "Connecting to the representative…")
	pctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	_, err := pairing.Claim(pctx, rp.node.host, host, string(rec.Kind), code)
	cancel()
	if err != nil {
		return joinError(code, err)
	}
	g, err := session.JoinSession(ctx, session.GuestConfig{Host: rp.node.host, Session: host, Invite: code.Lookup, Name: name,
		OnEvent: func(e session.Event) { ev.Emit(e.Kind, eventFields(e), joinText(e)) }})
	var denied *session.DeniedError
	if errors.As(err, &denied) {
		return fmt.Errorf("the representative's session did not admit you: %s", denied.Reason)
	}
	if err != nil {
		return err
	}
	rights, _ := g.Rights()
	v, err := viewer.Start(g, nil, rp.log)
	if err != nil {
		g.Leave()
		return err
	}
	defer v.Close()
	ev.Emit("viewer", map[string]any{"url": v.URL(), "rights": rights}, "Viewer: "+v.URL())
	if !a.NoBrowser {
		openBrowser(v.URL(), rp.log)
	}
	rp.addGuest(g)
	defer rp.removeGuest(g)
	go readGuestCommands(lines, g, ev)
	if a.ShareScreen {
		if err := shareIntoSession(ctx, g, a.Display, ev); err != nil {
			g.Leave()
			return err
		}
	}
	return g.Run(ctx)
}

// shareIntoSession shares a monitor of this machine into the session, in
// the background, until the host stops it or the session ends.
func shareIntoSession(ctx context.Context, g *session.Guest, display int, ev *Events) error {
	capt, err := screen.OpenCapturer(display)
	if err != nil {
		return fmt.Errorf("share your screen: %w", err)
	}
	ev.Emit("sharing", map[string]any{"display": display}, "Sharing your screen with the session…")
	go func() {
		defer capt.Close()
		err := g.ShareScreen(ctx, capt)
		text := "Your screen is no longer shared"
		if err != nil {
			text += ": " + err.Error()
		}
		ev.Emit("share_stopped", nil, text)
	}()
	return nil
}

// readGuestCommands: chat lines ("/i TEXT" internal), "/leave".
func readGuestCommands(lines *bufio.Scanner, g *session.Guest, ev *Events) {
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		switch strings.ToLower(line) {
		case "":
			continue
		case "/leave", "/end", "/quit":
			g.Leave()
			return
		}
		text, internal := chatLine(line)
		if err := g.Chat(text, internal); err != nil {
			ev.Emit("error", map[string]any{"error": err.Error()}, err.Error())
		}
	}
}
