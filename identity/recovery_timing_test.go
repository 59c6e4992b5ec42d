package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/identity/memory"
	"github.com/flametrench/server/identity/password"
	"github.com/flametrench/server/identity/recovery"
	"github.com/flametrench/server/tuples"
	tuplesmemory "github.com/flametrench/server/tuples/memory"
)

// argonRuns returns how many Argon2id computations the registry's pool has
// run, of every kind.
func argonRuns(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "flametrench_argon2_hashes_total" {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// A recovery-code verification costs the same number of Argon2id
// computations whether the user has no recovery codes, some used up, or
// all unused, and whether the code matches: its time tells none of these.
func TestRecoveryVerifyCostIsConstant(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	pool := password.NewPool(password.PoolConfig{Registerer: reg})
	svc := identity.NewService(memory.New(tuplesmemory.New()), identity.Config{Hasher: pool})
	sessions := map[identity.UUID]identity.UUID{}
	newUser := func(name string) identity.User {
		t.Helper()
		u, err := svc.CreateUser(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := svc.CreateCredential(ctx, identity.NewCredential{UserID: u.ID, Type: identity.Password, Identifier: name, Password: "pw"})
		if err != nil {
			t.Fatal(err)
		}
		ses, _, err := svc.CreateSessionFor(ctx, u.ID, c.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		sessions[u.ID] = ses.ID
		return u
	}
	cost := func(user identity.UUID, code string) float64 {
		t.Helper()
		before := argonRuns(t, reg)
		svc.VerifyMFA(ctx, user, identity.MFAProof{Type: identity.Recovery, Code: code}, sessions[user], "")
		return argonRuns(t, reg) - before
	}
	none, some := newUser("none@example.com"), newUser("some@example.com")
	en, err := svc.EnrollFactor(ctx, some.ID, identity.EnrollInput{Type: identity.Recovery})
	if err != nil {
		t.Fatal(err)
	}
	wrong := "AAAA-AAAA-AAAA"
	costs := map[string]float64{
		"no recovery factor":   cost(none.ID, wrong),
		"all unused, no match": cost(some.ID, wrong),
		"a match":              cost(some.ID, en.RecoveryCodes[0]),
		"one used, a match":    cost(some.ID, en.RecoveryCodes[1]),
		"two used, no match":   cost(some.ID, en.RecoveryCodes[0]),
	}
	for what, n := range costs {
		if n != recovery.Count {
			t.Errorf("%s: %v Argon2id computations, want %d", what, n, recovery.Count)
		}
	}
}

// A PAT whose id names no token costs one Argon2id verification, like one
// whose secret is wrong (ADR 0016 audit H2): the time does not tell which.
func TestPATVerifyCostIsConstant(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	svc := identity.NewService(memory.New(tuplesmemory.New()), identity.Config{Hasher: password.NewPool(password.PoolConfig{Registerer: reg})})
	u, err := svc.CreateUser(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := svc.CreatePAT(ctx, identity.NewPAT{UserID: u.ID, Name: "ci", Scope: []string{"check"}})
	if err != nil {
		t.Fatal(err)
	}
	secret := token[strings.LastIndexByte(token, '_')+1:]
	wrongSecret := token[:len(token)-len(secret)] + strings.Repeat("A", len(secret))
	unknownID := tuples.FormatID("pat", tuples.NewUUID()) + "_" + secret
	for what, tok := range map[string]string{"unknown id": unknownID, "wrong secret": wrongSecret} {
		before := argonRuns(t, reg)
		if _, err := svc.VerifyPAT(ctx, tok); !errors.Is(err, identity.ErrInvalidToken) {
			t.Fatalf("%s: %v, want invalid token", what, err)
		}
		if n := argonRuns(t, reg) - before; n != 1 {
			t.Errorf("%s: %v Argon2id computations, want 1", what, n)
		}
	}
}

// Concurrent first uses of one PAT share one Argon2id verification: a
// fleet of sidecars starting together costs one hash, not one each.
func TestPATFirstUsesShareOneVerification(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	svc := identity.NewService(memory.New(tuplesmemory.New()), identity.Config{Hasher: password.NewPool(password.PoolConfig{Registerer: reg})})
	u, err := svc.CreateUser(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := svc.CreatePAT(ctx, identity.NewPAT{UserID: u.ID, Name: "ci", Scope: []string{"check"}})
	if err != nil {
		t.Fatal(err)
	}
	before := argonRuns(t, reg) // the hash CreatePAT made
	const callers = 32
	errs := make(chan error, callers)
	start := make(chan struct{})
	for range callers {
		go func() {
			<-start
			_, err := svc.VerifyPAT(ctx, token)
			errs <- err
		}()
	}
	close(start)
	for range callers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := argonRuns(t, reg) - before; n != 1 {
		t.Errorf("%d concurrent first uses ran %v Argon2id verifications, want 1", callers, n)
	}
}

// Made-up PATs sent at once from one address cannot all run Argon2id: the
// address is charged before each run, so after the free budget the rest
// are throttled before any work (a review saw 40 of 40 hashed).
func TestBogusPATsFromOneAddressAreThrottledBeforeHashing(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	svc := identity.NewService(memory.New(tuplesmemory.New()), identity.Config{Hasher: password.NewPool(password.PoolConfig{Registerer: reg, QueueTimeout: time.Minute})})
	const callers = 40
	errs := make(chan error, callers)
	start := make(chan struct{})
	for range callers {
		go func() {
			<-start
			token := tuples.FormatID("pat", tuples.NewUUID()) + "_" + strings.Repeat("s", 43)
			_, err := svc.Resolve(ctx, token, "203.0.113.9")
			errs <- err
		}()
	}
	close(start)
	limited := 0
	for range callers {
		err := <-errs
		switch {
		case errors.Is(err, identity.ErrRateLimited):
			limited++
		case !errors.Is(err, identity.ErrInvalidToken):
			t.Fatalf("a made-up PAT: %v", err)
		}
	}
	if n := argonRuns(t, reg); n > 6 || limited < callers-6 {
		t.Errorf("%d concurrent made-up PATs ran %v Argon2id computations (%d throttled), want at most 6", callers, n, limited)
	}
	// A real PAT from a fresh address still works, and costs its address
	// nothing once proven.
	u, err := svc.CreateUser(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := svc.CreatePAT(ctx, identity.NewPAT{UserID: u.ID, Name: "ci", Scope: []string{"check"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := svc.Resolve(ctx, token, "198.51.100.7"); err != nil {
			t.Fatalf("a real PAT: %v", err)
		}
	}
}
