package rep

import (
	"fmt"
	"net/url"
	"strings"

	"assist/shortcode"
)

// A join link carries the code and the rendezvous nodes it is registered
// at, so a fresh install with nothing configured joins from the link
// alone: assist://join/482-193-775-125?rv=%2Fip4%2F…%2Fp2p%2F12D3…
// The nodes only route: the code's secret is still proven to its owner.

// JoinLink is the link for code at the rendezvous nodes rv.
func JoinLink(code string, rv []string) string {
	link := shortcode.LinkPrefix + code
	if len(rv) > 0 {
		link += "?" + url.Values{"rv": rv}.Encode()
	}
	return link
}

// JoinCommand is the command that joins with code from a fresh install.
func JoinCommand(code string, rv []string) string {
	var b strings.Builder
	b.WriteString("assist join")
	for _, a := range rv {
		b.WriteString(" --rendezvous " + a)
	}
	return b.String() + " " + code
}

// ParseJoin reads a code as typed, or a join link and the rendezvous
// nodes it names.
func ParseJoin(s string) (shortcode.Code, []string, error) {
	s = strings.TrimSpace(s)
	var rv []string
	if rest, ok := strings.CutPrefix(s, shortcode.LinkPrefix); ok {
		path, query, _ := strings.Cut(rest, "?")
		q, err := url.ParseQuery(query)
		if err != nil {
			return shortcode.Code{}, nil, fmt.Errorf("not an assist link: %w", err)
		}
		s, rv = strings.TrimSuffix(path, "/"), q["rv"]
	}
	code, err := shortcode.Parse(s)
	return code, rv, err
}
