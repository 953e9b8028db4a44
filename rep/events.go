package rep

import (
	"assist/gossip"
	"assist/session"
)

// Event is something the rep's process reports. It prints nothing itself:
// the terminal words each kind (package cmd), --json writes the event as
// it is, and the pages render it.
type Event struct {
	Kind string `json:"event"`
	// Session is a session's own event (Kind EvSession).
	Session *session.Event `json:"session,omitempty"`
	// Update is an invitation's change (Kind EvInvitation).
	Update *Update `json:"update,omitempty"`
	// Alert is an invitation to this rep (Kind EvAlert).
	Alert     *gossip.Alert `json:"alert,omitempty"`
	AlertID   string        `json:"alert_id,omitempty"`
	By        string        `json:"by,omitempty"`
	Reason    string        `json:"reason,omitempty"`
	Portal    string        `json:"portal,omitempty"`
	Name      string        `json:"name,omitempty"`
	Peer      string        `json:"peer,omitempty"`
	URL       string        `json:"url,omitempty"`
	SessionID string        `json:"session_id,omitempty"`
	Rights    string        `json:"rights,omitempty"`
	Display   int           `json:"display,omitempty"`
	Text      string        `json:"text,omitempty"`
}

// Event kinds.
const (
	EvPortal       = "portal"        // logged in to Portal as Name
	EvRevoked      = "revoked"       // Portal no longer has this rep (Reason)
	EvNode         = "node"          // the rendezvous node is unreachable, or back (Reason)
	EvAlert        = "alert"         // an invitation for this rep (Alert)
	EvAlertClosed  = "alert_closed"  // an alert went away (AlertID; By took it, or Reason)
	EvInvitation   = "invitation"    // one of this host's invitations changed (Update)
	EvSession      = "session"       // a session's event (Session)
	EvResolving    = "resolving"     // looking the code up
	EvConnecting   = "connecting"    // reaching the code's owner (Peer; Name "customer" or "representative")
	EvPaired       = "paired"        // the support key was accepted: waiting for consent
	EvNameRequired = "name_required" // a specialist must give a name: answer with Command.Name
	EvViewer       = "viewer"        // a viewer page is up (URL, SessionID, Rights)
	EvSharing      = "sharing"       // this specialist's screen is shared (Display)
	EvShareStopped = "share_stopped" // no longer shared (Text: why, if it failed)
	EvNotice       = "notice"        // Text
	EvError        = "error"         // a command failed (Text)
)

func sessionEvent(e session.Event) Event { return Event{Kind: EvSession, Session: &e} }
