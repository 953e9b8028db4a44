package shortcode

import (
	"errors"
	"strings"
	"testing"
)

func TestNewRoundTrip(t *testing.T) {
	for range 200 {
		c, err := New(MinLookupDigits)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(c.Digits()); got != 12 {
			t.Fatalf("ordinary code has %d digits, want 12 (readable over the phone)", got)
		}
		back, err := Parse(c.String())
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.String(), err)
		}
		if back != c {
			t.Fatalf("round trip %v -> %v", c, back)
		}
	}
}

func TestStringGroups(t *testing.T) {
	c := Code{Lookup: "4821", Secret: "9377512"}
	if s := c.String(); s != "482-193-775-125" {
		t.Fatalf("String() = %q, want 482-193-775-125", s)
	}
	long := Code{Lookup: "48219", Secret: "3775125"}
	if got := strings.Count(long.String(), "-"); got != 3 {
		t.Fatalf("13-digit code %q: want 4 groups, the last of four digits", long.String())
	}
}

func TestParseAcceptsHumanSeparators(t *testing.T) {
	c := Code{Lookup: "4821", Secret: "9377512"}
	d := c.Digits()
	for _, in := range []string{d, " " + d + " ", d[:3] + " " + d[3:6] + " " + d[6:], d[:3] + "." + d[3:]} {
		got, err := Parse(in)
		if err != nil || got != c {
			t.Fatalf("Parse(%q) = %v, %v", in, got, err)
		}
	}
}

func TestParseDetectsEverySingleTypoAndSwap(t *testing.T) {
	c := Code{Lookup: "4821", Secret: "9377512"}
	d := []byte(c.Digits())
	for i := range d {
		for x := byte('0'); x <= '9'; x++ {
			if x == d[i] {
				continue
			}
			typo := append([]byte(nil), d...)
			typo[i] = x
			if _, err := Parse(string(typo)); !errors.Is(err, ErrMistyped) {
				t.Fatalf("typo %s not detected: %v", typo, err)
			}
		}
	}
	for i := 0; i+1 < len(d); i++ {
		if d[i] == d[i+1] {
			continue
		}
		swap := append([]byte(nil), d...)
		swap[i], swap[i+1] = swap[i+1], swap[i]
		if _, err := Parse(string(swap)); !errors.Is(err, ErrMistyped) {
			t.Fatalf("swap %s not detected: %v", swap, err)
		}
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	for _, in := range []string{"", "abc-def-ghij", "123", "123456789012345678901", "482-193-77５1"} {
		if _, err := Parse(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) = %v, want ErrMalformed", in, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("482-193-775-125")
	f.Add("000000000000")
	f.Add("  1 2 3 4 5 6 7 8 9 0 ")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		if !ValidLookup(c.Lookup) || len(c.Secret) != SecretDigits {
			t.Fatalf("Parse(%q) accepted a bad code %+v", s, c)
		}
		if back, err := Parse(c.String()); err != nil || back != c {
			t.Fatalf("re-parse of %q: %v %v", c.String(), back, err)
		}
	})
}
