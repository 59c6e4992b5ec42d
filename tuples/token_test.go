package tuples_test

import (
	"errors"
	"testing"

	"github.com/flametrench/server/tuples"
)

func TestTokenRoundTrip(t *testing.T) {
	for _, tok := range []tuples.Token{{Epoch: 1, Revision: 0}, {Epoch: 1<<63 + 5, Revision: 1<<64 - 1}, {Epoch: 42, Revision: 300}} {
		got, err := tuples.ParseToken(tok.String(), tok.Epoch)
		if err != nil || got != tok {
			t.Errorf("ParseToken(%q) = %+v, %v; want %+v", tok.String(), got, err, tok)
		}
		if _, err := tuples.ParseToken(tok.String(), tok.Epoch+1); !errors.Is(err, tuples.ErrInvalidToken) {
			t.Errorf("ParseToken(other epoch) err = %v, want invalid token", err)
		}
	}
	for _, bad := range []string{"", "x", "AAAA", "!!!!", string(make([]byte, 100))} {
		if _, err := tuples.ParseToken(bad, 1); !errors.Is(err, tuples.ErrInvalidToken) {
			t.Errorf("ParseToken(%q) err = %v, want invalid token", bad, err)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add(tuples.Token{Epoch: 7, Revision: 99}.String())
	f.Add("AQAAAAAAAAAHYw")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := tuples.ParseToken(s, 7)
		if err != nil {
			return
		}
		if again, err := tuples.ParseToken(tok.String(), 7); err != nil || again != tok {
			t.Fatalf("ParseToken(%q) = %+v, but its String %q parses to %+v, %v", s, tok, tok.String(), again, err)
		}
	})
}
