package rendezvous

import (
	"errors"
	"fmt"
	"time"

	"assist/shortcode"
)

// ProtocolID is the code registry protocol.
//
// Wire layout, version 1.0.0. One request and one response per stream, each
// a p2p frame (uvarint length, then the bytes) holding a JSON object of at
// most MaxMessageSize bytes. The server closes the stream after answering
// and resets it if the request does not arrive within its stream timeout.
//
//	request:  {"op":"register","envelope":<base64 signed CodeRecord>}
//	          {"op":"resolve","lookup":"4821"}
//	          {"op":"cancel","envelope":<base64 signed CancelRecord>}
//	          {"op":"portal_join","envelope":<base64 signed portal credential of the sender>}
//	          {"op":"portal_put","envelope":<base64 signed portal revocation list or settings>}
//	          {"op":"portal_get","portal":"12D3...","what":"revocations"|"settings"}
//	response: {"status":"ok","join_page":"https://...", register only, if the node serves one}
//	          {"status":"ok","envelope":<base64 signed CodeRecord (resolve) or revocation list (portal_get)>}
//	          {"status":"taken","min_digits":6}
//	          {"status":"rate_limited","retry_after_ms":500}
//	          {"status":"not_found"|"expired"|"cancelled"|"burned"|"used"|"ended"|
//	                    "forbidden"|"bad_request"|"full"|"unavailable","message":"..."}
//
// Unknown JSON fields are ignored, so later minor versions can add fields;
// a change that old peers cannot ignore gets a new protocol ID.
const ProtocolID = "/assist/rendezvous/1.0.0"

// MaxMessageSize bounds a request or response. A signed record with the
// maximum number of addresses fits well within it.
const MaxMessageSize = 32 << 10

type op string

const (
	opRegister op = "register"
	opResolve  op = "resolve"
	opCancel   op = "cancel"
	// Portal gossip: relay a portal's topic, store and serve its newest
	// revocation list (see portals.go).
	opPortalJoin op = "portal_join"
	opPortalPut  op = "portal_put"
	opPortalGet  op = "portal_get"
)

type request struct {
	Op       op     `json:"op"`
	Lookup   string `json:"lookup,omitempty"`
	Envelope []byte `json:"envelope,omitempty"`
	Portal   string `json:"portal,omitempty"`
	What     string `json:"what,omitempty"` // portal_get: "settings", else revocations
}

// Status is the outcome of a request.
type Status string

// Statuses a server answers with.
const (
	StatusOK          Status = "ok"
	StatusTaken       Status = "taken"
	StatusRateLimited Status = "rate_limited"
	StatusNotFound    Status = "not_found"
	StatusExpired     Status = "expired"
	StatusForbidden   Status = "forbidden"
	StatusBadRequest  Status = "bad_request"
	StatusFull        Status = "full"
	// StatusUnavailable: the node's store did not answer (a client may
	// ask another node).
	StatusUnavailable Status = "unavailable"
)

type response struct {
	Status       Status `json:"status"`
	Message      string `json:"message,omitempty"`
	Envelope     []byte `json:"envelope,omitempty"`
	MinDigits    int    `json:"min_digits,omitempty"`
	RetryAfterMs int64  `json:"retry_after_ms,omitempty"`
	// JoinPage: the node's join page for specialists (register only).
	JoinPage string `json:"join_page,omitempty"`
}

// Errors a client acts on; each has its own message for the user.
var (
	ErrNotFound    = errors.New("no such code: check it with the person who gave it to you")
	ErrExpired     = errors.New("this code has expired: ask for a new one")
	ErrCancelled   = errors.New("this code was cancelled by the person who created it")
	ErrBurned      = shortcode.ErrBurned
	ErrUsed        = shortcode.ErrUsed
	ErrEnded       = errors.New("the session this code belongs to has ended")
	ErrRateLimited = errors.New("too many requests to the rendezvous node: wait a moment and try again")
	ErrTaken       = errors.New("code already registered")
	ErrForbidden   = errors.New("not the owner of this code")
	ErrFull        = errors.New("rendezvous node is full: too many active codes")
	ErrBadRequest  = errors.New("rendezvous node refused a malformed request")
)

// reasonErr maps a tombstone's reason to the error a joiner sees.
func reasonErr(r Reason) error {
	switch r {
	case ReasonCancelled:
		return ErrCancelled
	case ReasonBurned:
		return ErrBurned
	case ReasonUsed:
		return ErrUsed
	case ReasonEnded:
		return ErrEnded
	}
	return ErrNotFound
}

// statusErr turns a response into a client error.
func (r *response) err() error {
	switch r.Status {
	case StatusOK:
		return nil
	case StatusNotFound:
		return ErrNotFound
	case StatusExpired:
		return ErrExpired
	case StatusRateLimited:
		return fmt.Errorf("%w (retry in %v)", ErrRateLimited, time.Duration(r.RetryAfterMs)*time.Millisecond)
	case StatusTaken:
		return ErrTaken
	case StatusForbidden:
		return ErrForbidden
	case StatusFull:
		return ErrFull
	case StatusBadRequest:
		return fmt.Errorf("%w: %s", ErrBadRequest, r.Message)
	case StatusUnavailable:
		return ErrUnavailable
	}
	if reason := Reason(r.Status); reason.Valid() {
		return reasonErr(reason)
	}
	return fmt.Errorf("rendezvous node answered %q: %s", r.Status, r.Message)
}
