package rep

import (
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"assist/internal/fanout"
)

// Kind says whom an invitation is for.
type Kind string

// Kinds of invitation.
const (
	KindRep    Kind = "rep"    // one rep, by name
	KindPortal Kind = "portal" // every rep of a portal: the first to accept joins
	KindCode   Kind = "code"   // external specialists, with an invitation code
)

// State is where an invitation stands.
//
// A rep's or a portal's invitation is created, alerted, then answered once:
// accepted, declined (a rep's; a portal's stays open for the others),
// expired, cancelled (by the host) or withdrawn (its inviter stopped
// waiting, or the session ended). A code is open until it is used up,
// cancelled, burned by wrong guesses, or its session ends; each specialist
// who comes in with it is one use, and one refused for a full session uses
// nothing. A final state never changes again.
type State string

// States.
const (
	StateCreated   State = "created"
	StateAlerted   State = "alerted"
	StateOpen      State = "open"
	StateAccepted  State = "accepted"
	StateDeclined  State = "declined"
	StateExpired   State = "expired"
	StateCancelled State = "cancelled"
	StateWithdrawn State = "withdrawn"
	StateUsed      State = "used"
	StateBurned    State = "burned"
	StateEnded     State = "ended"
)

// Final reports whether s is an answer that stays.
func (s State) Final() bool {
	switch s {
	case StateCreated, StateAlerted, StateOpen:
		return false
	}
	return true
}

// Change is what happened to an invitation: one event each.
type Change string

// Changes. A change that does not apply to the invitation's state (an
// answer after the final one) is dropped without an event.
const (
	ChangeAlerted   Change = "alerted"   // created -> alerted
	ChangeOpened    Change = "opened"    // a code: created -> open
	ChangeAccepted  Change = "accepted"  // alerted -> accepted (By)
	ChangeDeclined  Change = "declined"  // a rep's: alerted -> declined; a portal's: noted (By)
	ChangeExpired   Change = "expired"   // alerted -> expired
	ChangeCancelled Change = "cancelled" // alerted or open -> cancelled
	ChangeWithdrawn Change = "withdrawn" // alerted -> withdrawn
	ChangeJoined    Change = "joined"    // a code: one more specialist in (By); open -> used at the last use
	ChangeRefused   Change = "refused"   // a code: By could not come in (session full); nothing used
	ChangeBurned    Change = "burned"    // a code: open -> burned
	ChangeEnded     Change = "ended"     // open or alerted -> ended/withdrawn: the session ended
)

// Invitation is one invitation of the session this process hosts, as every
// surface shows it.
type Invitation struct {
	// ID is the alert's ID, or a code's lookup part.
	ID    string `json:"id"`
	Kind  Kind   `json:"kind"`
	State State  `json:"state"`
	// To names whom it invites: a rep, "every rep of portal X", specialists.
	To      string    `json:"to"`
	Portal  string    `json:"portal,omitempty"`
	Masked  bool      `json:"masked,omitempty"`
	Comment string    `json:"comment,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
	// By is who answered last: who accepted or declined, who joined or
	// was refused with a code.
	By string `json:"by,omitempty"`

	// A code's.
	Code       string   `json:"code,omitempty"`
	Link       string   `json:"link,omitempty"`
	Command    string   `json:"command,omitempty"` // joins from a fresh install
	JoinPage   string   `json:"join_page,omitempty"`
	Rights     string   `json:"rights,omitempty"`
	MaxUses    int      `json:"max_uses,omitempty"`
	AllowShare bool     `json:"allow_share,omitempty"`
	Joined     []string `json:"joined,omitempty"`
	HostName   string   `json:"host_name,omitempty"`

	target peer.ID
}

// Update is one change of one invitation, with the invitation after it.
type Update struct {
	Change     Change     `json:"change"`
	Invitation Invitation `json:"invitation"`
}

// book owns the invitations of the session this process hosts: every
// change goes through apply, which enforces the state machine and
// publishes one update; onFinal does what a final answer entails (close
// the alert, cancel at the session, retire the code) exactly once.
type book struct {
	mu      sync.Mutex
	byID    map[string]*Invitation
	updates fanout.Fanout[Update]
	// notify hears every update in order (called under the book's lock:
	// it must not block or call back).
	notify  func(Update)
	onFinal func(Invitation) error
}

func newBook(onFinal func(Invitation) error) *book {
	return &book{byID: map[string]*Invitation{}, onFinal: onFinal}
}

// add records a new invitation (state created).
func (b *book) add(inv Invitation) {
	inv.State = StateCreated
	b.mu.Lock()
	defer b.mu.Unlock()
	b.byID[inv.ID] = &inv
}

// get returns an invitation by ID.
func (b *book) get(id string) (Invitation, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	inv, ok := b.byID[id]
	if !ok {
		return Invitation{}, false
	}
	return inv.snapshot(), true
}

// list returns every invitation, open and answered.
func (b *book) list() []Invitation {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Invitation, 0, len(b.byID))
	for _, inv := range b.byID {
		out = append(out, inv.snapshot())
	}
	return out
}

// open lists the invitations not answered yet.
func (b *book) open() []Invitation {
	var out []Invitation
	for _, inv := range b.list() {
		if !inv.State.Final() {
			out = append(out, inv)
		}
	}
	return out
}

func (inv *Invitation) snapshot() Invitation {
	c := *inv
	c.Joined = append([]string(nil), inv.Joined...)
	return c
}

// subscribe follows every change from now on.
func (b *book) subscribe() (<-chan Update, func()) { return b.updates.Subscribe() }

// apply makes one change; it reports false, and publishes nothing, when the
// change does not apply (unknown invitation, or already answered). A final
// answer's consequences run before it returns; err is theirs.
func (b *book) apply(id string, c Change, by string) (inv Invitation, applied bool, err error) {
	b.mu.Lock()
	cur, ok := b.byID[id]
	if !ok || !cur.transition(c, by) {
		b.mu.Unlock()
		return Invitation{}, false, nil
	}
	inv = cur.snapshot()
	// Published under the lock: every listener sees the changes of one
	// invitation in the order they were made.
	u := Update{Change: c, Invitation: inv}
	if b.notify != nil {
		b.notify(u)
	}
	b.updates.Publish(u)
	b.mu.Unlock()
	if inv.State.Final() && b.onFinal != nil {
		err = b.onFinal(inv)
	}
	return inv, true, err
}

// prune forgets the answered invitations (the session they were for ended).
func (b *book) prune() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, inv := range b.byID {
		if inv.State.Final() {
			delete(b.byID, id)
		}
	}
}

// rule says where a change applies and where it leads.
type rule struct {
	forAlert, forCode bool    // the kinds it applies to (a rep's or a portal's, a code)
	from              []State // the states it applies in; nil: any open one
	to                State   // where it leads; "": the state stays
}

// rules is the state machine (see State); transition adds the exceptions.
var rules = map[Change]rule{
	ChangeAlerted:   {forAlert: true, from: []State{StateCreated}, to: StateAlerted},
	ChangeOpened:    {forCode: true, from: []State{StateCreated}, to: StateOpen},
	ChangeAccepted:  {forAlert: true, from: []State{StateAlerted}, to: StateAccepted},
	ChangeDeclined:  {forAlert: true, from: []State{StateAlerted}, to: StateDeclined},
	ChangeExpired:   {forAlert: true, to: StateExpired},
	ChangeCancelled: {forAlert: true, forCode: true, to: StateCancelled},
	ChangeWithdrawn: {forAlert: true, to: StateWithdrawn},
	ChangeJoined:    {forCode: true, from: []State{StateOpen}},
	ChangeRefused:   {forCode: true, from: []State{StateOpen}},
	ChangeBurned:    {forCode: true, to: StateBurned},
	ChangeEnded:     {forAlert: true, forCode: true, to: StateEnded},
}

// transition applies c to the invitation; it reports whether c applied.
func (inv *Invitation) transition(c Change, by string) bool {
	r, ok := rules[c]
	code := inv.Kind == KindCode
	switch {
	case !ok, inv.State.Final(), code && !r.forCode, !code && !r.forAlert,
		r.from != nil && !slices.Contains(r.from, inv.State):
		return false
	}
	to := r.to
	switch {
	case c == ChangeDeclined && inv.Kind == KindPortal:
		to = "" // one rep's no: the others may still accept
	case c == ChangeEnded && !code:
		to = StateWithdrawn
	case c == ChangeJoined:
		inv.Joined = append(inv.Joined, by)
		if len(inv.Joined) >= inv.MaxUses {
			to = StateUsed
		}
	}
	if to != "" {
		inv.State = to
	}
	if by != "" {
		inv.By = by
	}
	return true
}
