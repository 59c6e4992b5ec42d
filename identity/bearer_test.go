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
	begin := func(key string, others ...string) identity.Attempt {
		t.Helper()
		at, err := l.Begin(key, others...)
		if err != nil {
			t.Fatalf("Begin(%q, %q) = %v, want an attempt", key, others, err)
		}
		return at
	}
	fail := func(key string, others ...string) { t.Helper(); begin(key, others...).Fail(true) }
	wait := func(key string, others ...string) time.Duration {
		t.Helper()
		_, err := l.Begin(key, others...)
		rl, ok := err.(*identity.RateLimitError)
		if !ok {
			t.Fatalf("Begin(%q, %q) = %v, want a RateLimitError", key, others, err)
		}
		return rl.RetryAfter
	}
	fail("a")
	fail("a")
	fail("a") // the third failure is over the free budget of 2
	if w := wait("b", "a"); w != time.Second {
		t.Fatalf("first lock-out %v, want 1s (a locked key refuses as another's companion too)", w)
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

	// The key is charged when the attempt begins, so attempts in flight
	// count: the third concurrent one is refused before any has ended.
	at1, at2 := begin("c", "addr"), begin("c", "addr")
	at3 := begin("c", "addr")
	wait("c")
	// Success forgets the key; the address was never charged.
	at1.Succeed()
	at2.Succeed()
	at3.Succeed()
	for range 3 {
		begin("c", "addr").Succeed()
	}
	// A failure charges the address; one that was not the key's fault
	// refunds the key.
	for range 2 {
		begin("d", "addr").Fail(false)
	}
	begin("d", "addr").Fail(false)
	wait("e", "addr")
	if _, err := l.Begin("d"); err != nil {
		t.Fatalf("failures that were not the key's fault locked it: %v", err)
	}
	// A refund takes a charge back and lifts a lock-out it caused.
	fail("f")
	fail("f")
	at := begin("f")
	wait("f")
	at.Refund()
	begin("f")

	// A key quiet for longer than Max starts afresh.
	fail("b")
	fail("b")
	now = now.Add(2 * time.Minute)
	fail("b")
	begin("b")
	// The table stays bounded under a flood of distinct keys.
	for i := range 1000 {
		fail(string(rune('A' + i)))
	}
	fail("z")
	fail("z")
	fail("z")
	wait("z") // the newest key was not evicted with the flood
}
