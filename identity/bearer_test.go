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
	fail := func(keys ...string) {
		t.Helper()
		if _, err := l.Begin(keys...); err != nil {
			t.Fatalf("Begin(%q) = %v, want an attempt", keys, err)
		}
	}
	wait := func(keys ...string) time.Duration {
		t.Helper()
		_, err := l.Begin(keys...)
		rl, ok := err.(*identity.RateLimitError)
		if !ok {
			t.Fatalf("Begin(%q) = %v, want a RateLimitError", keys, err)
		}
		return rl.RetryAfter
	}
	fail("a")
	fail("a")
	fail("a") // the third failure is over the free budget of 2
	if w := wait("a", "b"); w != time.Second {
		t.Fatalf("first lock-out %v, want 1s", w)
	}
	now = now.Add(time.Second)
	fail("a")
	if w := wait("a"); w != 2*time.Second {
		t.Fatalf("second lock-out %v, want 2s (doubling)", w)
	}
	for range 40 {
		now = now.Add(time.Minute) // the lock-out has ended, the history has not
		fail("a")
	}
	if w := wait("a"); w != time.Minute {
		t.Fatalf("lock-out %v, want the 1m cap", w)
	}

	// Success forgets the first key and refunds the others; a refund takes
	// back one charged failure and lifts a lock-out it caused.
	at, err := l.Begin("c", "addr")
	if err != nil {
		t.Fatal(err)
	}
	at.Succeed()
	fail("addr")
	fail("addr")
	at, err = l.Begin("c", "addr")
	if err != nil {
		t.Fatalf("after a success the address has two failures, yet: %v", err)
	}
	wait("addr") // the charge of the attempt in flight locks it out
	at.Refund()
	if _, err := l.Begin("addr"); err != nil {
		t.Fatalf("a refunded attempt still counts: %v", err)
	}

	// A key quiet for longer than Max starts afresh.
	fail("b")
	fail("b")
	now = now.Add(2 * time.Minute)
	fail("b")
	if _, err := l.Begin("b"); err != nil {
		t.Fatalf("a failure after a quiet spell counted old ones: %v", err)
	}
	// The table stays bounded under a flood of distinct keys.
	for i := range 1000 {
		fail(string(rune('A' + i)))
	}
	fail("z")
	fail("z")
	fail("z")
	wait("z") // the newest key was not evicted with the flood
}
