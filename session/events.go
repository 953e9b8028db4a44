package session

import (
	"time"

	"assist/p2p"
)

// Event is something the UI shows: the terminal prints it (or with --json
// writes it as one line; Kind becomes the "event" field), the viewer page
// renders it.
type Event struct {
	Kind      string     `json:"event"`
	Session   string     `json:"session,omitempty"`
	Key       string     `json:"key,omitempty"`
	Expires   *time.Time `json:"expires,omitempty"`
	Peer      string     `json:"peer,omitempty"`
	Name      string     `json:"name,omitempty"`
	What      string     `json:"what,omitempty"`
	View      *bool      `json:"view,omitempty"`
	Control   *bool      `json:"control,omitempty"`
	Chat      *Chat      `json:"chat,omitempty"`
	Attendees []Attendee `json:"attendees,omitempty"`
	Text      string     `json:"text,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	Path      string     `json:"path,omitempty"`
	Transport string     `json:"transport,omitempty"`
	RTTMs     float64    `json:"rtt_ms,omitempty"`
	Frames    uint64     `json:"frames,omitempty"`
	Bytes     uint64     `json:"bytes,omitempty"` // screen bytes received so far
	FPS       float64    `json:"fps,omitempty"`
	LatencyMs float64    `json:"latency_ms,omitempty"`
	History   []Chat     `json:"history,omitempty"`
	// Rights of this attendee ("view" or "control"), for an attendee's viewer.
	Rights string `json:"rights,omitempty"`
	// Sharer is who shares a screen into the session now (EvState).
	Sharer string `json:"sharer,omitempty"`
	// Watching and Controlling: whom the customer's consent lets see the
	// screen and control it (the customer's EvConsent).
	Watching    []string `json:"watching,omitempty"`
	Controlling []string `json:"controlling,omitempty"`
	// Network state of this peer (EvNetwork).
	Reachability string   `json:"reachability,omitempty"`
	Addrs        []string `json:"addrs,omitempty"`
	ViaRelay     *bool    `json:"via_relay,omitempty"`
}

// Event kinds.
const (
	EvKey            = "key"             // customer: the support key to read out
	EvWaiting        = "waiting"         // customer: waiting for a rep
	EvJoined         = "joined"          // someone joined
	EvLeft           = "left"            // someone left
	EvConsentRequest = "consent_request" // customer: answer with Answer(What, yes)
	EvConsent        = "consent"         // consents changed (View, Control)
	EvChat           = "chat"
	EvAttendees      = "attendees"
	EvNotice         = "notice"
	EvRefused        = "refused"    // host: the customer refused input
	EvConnection     = "connection" // host: path to the customer changed
	EvFrame          = "frame"      // host: frames received, at most once a second
	EvReconnecting   = "reconnecting"
	EvResumed        = "resumed"
	EvEnded          = "ended"
	EvPaired         = "paired"
	EvError          = "error"
	EvState          = "state"   // viewer: everything at once, when a page opens
	EvNetwork        = "network" // this peer's reachability and addresses changed
	EvLink           = "link"    // host: the session's control link is up, over Path
)

// NetworkEvent describes this peer's network state for the UI.
func NetworkEvent(st p2p.NetworkState) Event {
	addrs := make([]string, len(st.Addrs))
	for i, a := range st.Addrs {
		addrs[i] = a.String()
	}
	text := "network: reachability " + st.Reachability
	if st.ViaRelay {
		text += ", reachable through the relay"
	}
	return Event{Kind: EvNetwork, Reachability: st.Reachability, Addrs: addrs, ViaRelay: boolp(st.ViaRelay), Text: text}
}

func boolp(b bool) *bool { return &b }
