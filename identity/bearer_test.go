package identity_test

import (
	"testing"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples/conformancetest"
)

// tokenInput is the input of both PAT fixture files.
type tokenInput struct {
	Token string `json:"token"`
}

func TestConformanceTokenFormat(t *testing.T) {
	f := conformancetest.Load[tokenInput, conformancetest.Result[bool]](t, "identity/pat/token-format.json", "verify_pat_token")
	for _, tc := range f.Tests {
		t.Run(tc.ID, func(t *testing.T) {
			if _, _, ok := identity.ParsePAT(tc.Input.Token); ok != tc.Expected.Result {
				t.Fatalf("ParsePAT(%q) ok = %v, want %v", tc.Input.Token, ok, tc.Expected.Result)
			}
		})
	}
}

func TestConformanceBearerRouting(t *testing.T) {
	f := conformancetest.Load[tokenInput, conformancetest.Result[string]](t, "identity/pat/bearer-prefix-routing.json", "resolve_bearer")
	for _, tc := range f.Tests {
		t.Run(tc.ID, func(t *testing.T) {
			if got := identity.Classify(tc.Input.Token); string(got) != tc.Expected.Result {
				t.Fatalf("Classify(%q) = %q, want %q", tc.Input.Token, got, tc.Expected.Result)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		header, token string
		ok            bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Basic abc", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"", "", false},
		{"Bearerabc", "", false},
	} {
		token, ok := identity.BearerToken(tc.header)
		if token != tc.token || ok != tc.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tc.header, token, ok, tc.token, tc.ok)
		}
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := identity.NewLimiter(identity.LimiterConfig{Free: 2, Base: time.Second, Max: time.Minute, MaxKeys: 4, Now: func() time.Time { return now }})
	l.Fail("a")
	l.Fail("a")
	if err := l.Allow("a"); err != nil {
		t.Fatalf("within the free budget: %v", err)
	}
	wait := func() time.Duration {
		t.Helper()
		err := l.Allow("a", "b")
		rl, ok := err.(*identity.RateLimitError)
		if !ok {
			t.Fatalf("Allow = %v, want a RateLimitError", err)
		}
		return rl.RetryAfter
	}
	l.Fail("a")
	if w := wait(); w != time.Second {
		t.Fatalf("first lock-out %v, want 1s", w)
	}
	l.Fail("a")
	l.Fail("a")
	if w := wait(); w != 4*time.Second {
		t.Fatalf("third lock-out %v, want 4s (doubling)", w)
	}
	for range 40 {
		l.Fail("a")
	}
	if w := wait(); w != time.Minute {
		t.Fatalf("lock-out %v, want the 1m cap", w)
	}
	l.Succeed("a")
	if err := l.Allow("a"); err != nil {
		t.Fatalf("after success: %v", err)
	}
	// A key quiet for longer than Max starts afresh.
	for range 3 {
		l.Fail("b")
	}
	now = now.Add(2 * time.Minute)
	l.Fail("b")
	if err := l.Allow("b"); err != nil {
		t.Fatalf("a failure after a quiet spell counted old ones: %v", err)
	}
	// The table stays bounded under a flood of distinct keys.
	for i := range 1000 {
		l.Fail(string(rune('A' + i)))
	}
	l.Fail("z")
	l.Fail("z")
	l.Fail("z")
	if err := l.Allow("z"); err == nil {
		t.Fatal("the newest key was evicted along with the flood")
	}
}
