package cmd

import (
	"fmt"
	"strings"

	"assist/desktop"
	"assist/gossip"
	"assist/rep"
	"assist/session"
)

// repTerminal prints a rep process's events: text for a person, or with
// --json one object per line.
type repTerminal struct{ ev *Events }

func (t repTerminal) show(e rep.Event) {
	name, fields, text := renderRep(e)
	if name == "" {
		return
	}
	if e.Kind == rep.EvAlert {
		desktop.Notify("assist: "+e.Alert.HostName+" invites you", strings.TrimSpace(e.Alert.Comment+" — accept "+shortAlert(e.Alert.ID)))
	}
	t.ev.Emit(name, fields, text)
}

// renderRep words one event: its JSON name and fields, and its text.
func renderRep(e rep.Event) (name string, fields map[string]any, text string) {
	switch e.Kind {
	case rep.EvSession:
		return e.Session.Kind, eventFields(*e.Session), joinText(*e.Session)
	case rep.EvInvitation:
		return renderUpdate(*e.Update)
	case rep.EvPortal:
		return e.Kind, map[string]any{"portal": e.Portal, "name": e.Name}, fmt.Sprintf("Logged in to portal %s as %s", e.Portal, e.Name)
	case rep.EvRevoked:
		return e.Kind, map[string]any{"portal": e.Portal, "reason": e.Reason},
			fmt.Sprintf("Portal %s no longer has you (%s): its invitations stop here; 'assist logout %q' forgets it", e.Portal, e.Reason, e.Portal)
	case rep.EvNode:
		text := "The rendezvous node is back: your colleagues see you again"
		if e.Reason == "unreachable" {
			text = "The rendezvous node is unreachable: colleagues may not see you or your invitations until it is back (retrying)"
		}
		return e.Kind, map[string]any{"reason": e.Reason}, text
	case rep.EvAlert:
		return e.Kind, map[string]any{"alert": e.Alert}, alertText(*e.Alert)
	case rep.EvAlertClosed:
		return e.Kind, map[string]any{"alert": e.AlertID, "by": e.By, "reason": e.Reason}, alertClosedText(e)
	case rep.EvResolving:
		return e.Kind, nil, "Looking up the code…"
	case rep.EvConnecting:
		return e.Kind, map[string]any{"peer": e.Peer}, "Connecting to the " + e.Name + "…"
	case rep.EvPaired:
		return e.Kind, map[string]any{"peer": e.Peer}, "Support key accepted. Waiting for the customer to allow viewing…"
	case rep.EvNameRequired:
		return e.Kind, nil, "Your name, as everyone in the session will see it:"
	case rep.EvViewer:
		f := map[string]any{"url": e.URL, "session": e.SessionID}
		if e.Rights != "" {
			f["rights"] = e.Rights
		}
		return e.Kind, f, "Viewer: " + e.URL
	case rep.EvSharing:
		return e.Kind, map[string]any{"display": e.Display}, "Sharing your screen with the session…"
	case rep.EvShareStopped:
		if e.Text != "" {
			return e.Kind, map[string]any{"error": e.Text}, "Your screen is no longer shared: " + e.Text
		}
		return e.Kind, nil, "Your screen is no longer shared"
	case rep.EvNotice, rep.EvError:
		return e.Kind, map[string]any{"text": e.Text, "error": e.Text}, e.Text
	}
	return e.Kind, nil, ""
}

func alertClosedText(e rep.Event) string {
	switch {
	case e.By != "":
		return "Invitation " + shortAlert(e.AlertID) + " was taken by " + e.By
	case e.Reason == "":
		return "" // accepted here
	}
	return "Invitation " + shortAlert(e.AlertID) + " closed: " + e.Reason
}

// renderUpdate words a change of one of the hosted session's invitations.
func renderUpdate(u rep.Update) (name string, fields map[string]any, text string) {
	inv := u.Invitation
	if inv.Kind == rep.KindCode {
		return renderCodeUpdate(u)
	}
	fields = map[string]any{"alert": inv.ID, "state": inv.State}
	switch u.Change {
	case rep.ChangeAlerted:
		fields["to"], fields["masked"], fields["expires"] = inv.To, inv.Masked, inv.Expires
		return "invited", fields, fmt.Sprintf("Invited %s (alert %s, open until %s)", inv.To, shortAlert(inv.ID), inv.Expires.Local().Format(clock))
	case rep.ChangeAccepted:
		fields["name"] = inv.By
		return "invite_accepted", fields, inv.By + " accepted the invitation"
	case rep.ChangeDeclined:
		fields["name"] = inv.By
		return "invite_declined", fields, inv.By + " declined the invitation"
	case rep.ChangeExpired:
		return "invite_expired", fields, "Nobody answered the invitation: it expired"
	}
	fields["reason"] = string(u.Change)
	return "invite_withdrawn", fields, "Invitation " + shortAlert(inv.ID) + " withdrawn"
}

func renderCodeUpdate(u rep.Update) (name string, fields map[string]any, text string) {
	inv := u.Invitation
	fields = map[string]any{"code": inv.Code, "state": inv.State, "rights": inv.Rights, "max_uses": inv.MaxUses, "joined": inv.Joined}
	switch u.Change {
	case rep.ChangeOpened:
		return "invitation_code", fields, fmt.Sprintf("Invitation code %s for %s (%s) — the specialist runs 'assist join %s'",
			inv.Code, plural(inv.MaxUses, "specialist"), inv.Rights, inv.Code)
	case rep.ChangeJoined:
		fields["name"] = inv.By
		return "code_used", fields, "" // the session says who joined
	case rep.ChangeRefused:
		fields["name"] = inv.By
		return "code_refused", fields, fmt.Sprintf("Code %s stays valid for %s: they can try again once a place frees", inv.Code, inv.By)
	}
	why := map[rep.State]string{rep.StateUsed: "used up", rep.StateBurned: "blocked after too many wrong attempts",
		rep.StateCancelled: "cancelled"}[inv.State]
	if why == "" { // the session ended: it said so
		return "code_closed", fields, ""
	}
	return "code_closed", fields, fmt.Sprintf("Invitation code %s is no longer valid: %s", inv.Code, why)
}

func alertText(al gossip.Alert) string {
	who := "you"
	if al.Target == "" {
		who = "every rep of " + al.PortalName
	}
	s := fmt.Sprintf("Invitation %s: %s invites %s to a session", shortAlert(al.ID), al.HostName, who)
	if al.Masked {
		s += " (masked: the customer will not see you, and you only watch)"
	}
	if al.Comment != "" {
		s += fmt.Sprintf(": %q", al.Comment)
	}
	return s + fmt.Sprintf(". Type 'accept %s' (open until %s)", shortAlert(al.ID), al.Expires.Local().Format(clock))
}

func shortAlert(id string) string { return id[:min(6, len(id))] }

func repLine(r gossip.Rep) string {
	return fmt.Sprintf("%-24s %-16s %s", r.Name, r.PortalName, plural(r.Sessions, "session"))
}

func joinText(e session.Event) string {
	switch e.Kind {
	case session.EvConsent:
		return fmt.Sprintf("Customer consent: view %s, control %s", yesNo(*e.View), yesNo(*e.Control))
	case session.EvChat:
		return fmt.Sprintf("[%s] %s: %s", e.Chat.Time.Local().Format(clock), e.Chat.From, e.Chat.Text)
	case session.EvConnection:
		if e.RTTMs == 0 {
			return fmt.Sprintf("Connection to the customer: %s over %s", e.Path, e.Transport)
		}
		return fmt.Sprintf("Connection to the customer: %s over %s, RTT %.1f ms", e.Path, e.Transport, e.RTTMs)
	case session.EvEnded:
		return "Session ended: " + e.Reason
	case session.EvFrame, session.EvAttendees, session.EvLink, session.EvNetwork:
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

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// clock is how times are shown everywhere (terminal and pages): 24-hour.
const clock = "15:04"
