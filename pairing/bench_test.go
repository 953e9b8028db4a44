package pairing

import (
	"context"
	"testing"
	"time"

	"assist/internal/p2ptest"
	"assist/shortcode"
)

// BenchmarkClaim is one full pairing (SPAKE2 on P-256, key confirmation)
// between two hosts already connected on loopback.
func BenchmarkClaim(b *testing.B) {
	owner, joiner := p2ptest.NewHost(b, nil), p2ptest.NewHost(b, nil)
	g := NewGuard(owner, Hooks{})
	code, err := shortcodeForBench()
	if err != nil {
		b.Fatal(err)
	}
	g.Add(code, "support", 1<<30)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for b.Loop() {
		if _, err := Claim(ctx, joiner, p2ptest.Info(owner), code); err != nil {
			b.Fatal(err)
		}
	}
}

func shortcodeForBench() (shortcode.Code, error) { return shortcode.New(shortcode.MinLookupDigits) }
