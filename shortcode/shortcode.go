// Package shortcode makes and parses the codes that a customer reads to a
// representative over the phone (support keys) and that a representative
// hands to a specialist (invitations).
//
// A code is only digits, shown in groups: 482-193-775-125. It has three
// parts:
//
//	lookup (4+ digits) | secret (7 digits) | check (1 digit)
//
// The lookup part is all the rendezvous node ever sees; it maps to the peer
// that registered the code, and anyone may ask for it, so it is public. The
// secret part never leaves the two peers: the joiner proves it to the owner
// with a PAKE (package pairing). Whoever knows the lookup (the node
// included) can only guess the secret online, and the owner burns the code
// after three wrong guesses: a takeover by guessing succeeds with
// probability 3/10^7 per code. The check digit (Damm algorithm) catches
// every single mistyped digit and every swap of two neighbours before
// anything goes on the network, so a typo never costs one of the three.
//
// At ordinary load a code has 12 digits, like Chrome Remote Desktop's
// access codes. The lookup part grows by a digit when a rendezvous node's
// space is crowded (see rendezvous.Registry).
package shortcode

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

const (
	// SecretDigits is the length of the part proven by PAKE: three guesses
	// at it succeed with probability 3×10⁻⁷.
	SecretDigits = 7
	// MinLookupDigits is the shortest lookup part: 10^4 codes at once.
	MinLookupDigits = 4
	// MaxLookupDigits bounds the lookup part, and so the length of a code.
	MaxLookupDigits = 12
)

// What became of a code, as both its owner and the rendezvous node say it:
// one error each, so a caller checks errors.Is against one value.
var (
	// ErrBurned: too many wrong guesses blocked the code.
	ErrBurned = errors.New("this code was blocked after too many wrong attempts: ask for a new one")
	// ErrUsed: the code admitted as many peers as it was made for.
	ErrUsed = errors.New("this code has already been used: ask for a new one")
)

var (
	// ErrMalformed means the text is not a code at all (letters, wrong length).
	ErrMalformed = errors.New("not a valid code")
	// ErrMistyped means the digits have the right shape but the check digit
	// does not match: almost surely a typo.
	ErrMistyped = errors.New("code mistyped")
)

// Code is a parsed code.
type Code struct {
	Lookup string // digits the rendezvous node sees
	Secret string // digits proven between the peers, never sent
}

// New returns a fresh random code with a lookup part of the given length.
func New(lookupDigits int) (Code, error) {
	if lookupDigits < MinLookupDigits || lookupDigits > MaxLookupDigits {
		return Code{}, fmt.Errorf("lookup length %d out of range %d..%d", lookupDigits, MinLookupDigits, MaxLookupDigits)
	}
	lookup, err := randomDigits(lookupDigits)
	if err != nil {
		return Code{}, err
	}
	secret, err := randomDigits(SecretDigits)
	if err != nil {
		return Code{}, err
	}
	return Code{Lookup: lookup, Secret: secret}, nil
}

// WithLookup returns a code with the given lookup part and a fresh secret.
func WithLookup(lookup string) (Code, error) {
	if !ValidLookup(lookup) {
		return Code{}, fmt.Errorf("%w: lookup %q", ErrMalformed, lookup)
	}
	secret, err := randomDigits(SecretDigits)
	if err != nil {
		return Code{}, err
	}
	return Code{Lookup: lookup, Secret: secret}, nil
}

func randomDigits(n int) (string, error) {
	var b strings.Builder
	ten := big.NewInt(10)
	for range n {
		d, err := rand.Int(rand.Reader, ten)
		if err != nil {
			return "", fmt.Errorf("random digits: %w", err)
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String(), nil
}

// ValidLookup reports whether s has the shape of a lookup part.
func ValidLookup(s string) bool {
	return len(s) >= MinLookupDigits && len(s) <= MaxLookupDigits && allDigits(s)
}

// LinkPrefix starts a link that carries a code: assist://join/CODE.
const LinkPrefix = "assist://join/"

// Parse reads a code as a person typed it: spaces, dashes and dots between
// digits are ignored.
func Parse(s string) (Code, error) {
	digits := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '\t':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	minLen := MinLookupDigits + SecretDigits + 1
	maxLen := MaxLookupDigits + SecretDigits + 1
	if !allDigits(digits) || len(digits) < minLen || len(digits) > maxLen {
		return Code{}, fmt.Errorf("%w: %q (a code is %d or more digits, like 482-193-775-125)", ErrMalformed, s, minLen)
	}
	body, check := digits[:len(digits)-1], digits[len(digits)-1]
	if damm(body) != check {
		return Code{}, fmt.Errorf("%w: %q: a digit is wrong or two are swapped; check it with the person who gave it", ErrMistyped, s)
	}
	cut := len(body) - SecretDigits
	return Code{Lookup: body[:cut], Secret: body[cut:]}, nil
}

// Digits returns the code as bare digits, check digit included.
func (c Code) Digits() string {
	body := c.Lookup + c.Secret
	return body + string(damm(body))
}

// String returns the code in groups of three, easy to read aloud; a last
// group of one digit joins the group before it (482-193-775-1250).
func (c Code) String() string {
	d := c.Digits()
	var groups []string
	for len(d) > 0 {
		n := min(3, len(d))
		if len(d) == 4 {
			n = 4
		}
		groups = append(groups, d[:n])
		d = d[n:]
	}
	return strings.Join(groups, "-")
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// dammTable is the quasigroup of order 10 from H. Michael Damm's thesis; its
// check digit detects all single-digit errors and adjacent transpositions.
var dammTable = [10][10]byte{
	{0, 3, 1, 7, 5, 9, 8, 6, 4, 2},
	{7, 0, 9, 2, 1, 5, 4, 8, 6, 3},
	{4, 2, 0, 6, 8, 7, 1, 3, 5, 9},
	{1, 7, 5, 0, 9, 8, 3, 4, 2, 6},
	{6, 1, 2, 3, 0, 4, 5, 9, 7, 8},
	{3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
	{5, 8, 6, 9, 7, 2, 0, 1, 3, 4},
	{8, 9, 4, 5, 3, 6, 2, 0, 1, 7},
	{9, 4, 3, 8, 6, 1, 7, 2, 0, 5},
	{2, 5, 8, 1, 4, 3, 6, 7, 9, 0},
}

// damm returns the check digit of a string of decimal digits.
func damm(digits string) byte {
	var interim byte
	for i := 0; i < len(digits); i++ {
		interim = dammTable[interim][digits[i]-'0']
	}
	return '0' + interim
}
