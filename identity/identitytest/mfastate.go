package identitytest

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flametrench/server/identity"
)

func testMFASuspendReinstate(t *testing.T, e *env) {
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	f, secret, _ := e.confirmedTOTP(t, u.ID)
	step := func() string {
		t.Helper()
		e.advance(30 * time.Second)
		return totpCode(t, secret, e.mfaAlign())
	}
	listed := func(id identity.UUID) bool {
		t.Helper()
		fs := must[[]identity.Factor](t, "ListFactors")(e.svc.ListFactors(ctx, u.ID))
		return slices.ContainsFunc(fs, func(f identity.Factor) bool { return f.ID == id })
	}

	s := must[identity.Factor](t, "SuspendFactor")(e.svc.SuspendFactor(ctx, f.ID))
	if s.Status != identity.FactorSuspended || !s.UpdatedAt.After(f.UpdatedAt) || s.TOTPSecret != nil {
		t.Fatalf("suspended factor %+v", s)
	}
	_, err := e.verifyTOTP(u.ID, step())
	wantErr(t, "a code of a suspended factor", err, identity.ErrMFACodeInvalid)
	if listed(f.ID) {
		t.Fatal("a suspended factor is listed")
	}
	again := must[identity.Factor](t, "SuspendFactor(again)")(e.svc.SuspendFactor(ctx, f.ID))
	if again.Status != identity.FactorSuspended || !again.UpdatedAt.Equal(s.UpdatedAt) {
		t.Fatalf("suspending twice changed the factor: %+v", again)
	}

	// A TOTP enrolled meanwhile keeps the suspended one from coming back.
	nf, _, _ := e.confirmedTOTP(t, u.ID)
	_, err = e.svc.ReinstateFactor(ctx, f.ID)
	wantErr(t, "reinstate beside another active TOTP", err, identity.ErrFactorSingleton)
	must[identity.Factor](t, "RevokeFactor(new)")(e.svc.RevokeFactor(ctx, nf.ID))
	r := must[identity.Factor](t, "ReinstateFactor")(e.svc.ReinstateFactor(ctx, f.ID))
	if r.Status != identity.FactorActive || !listed(f.ID) {
		t.Fatalf("reinstated factor %+v", r)
	}
	must[identity.MFAResult](t, "VerifyMFA(reinstated)")(e.verifyTOTP(u.ID, step()))
	if got := must[identity.Factor](t, "ReinstateFactor(active)")(e.svc.ReinstateFactor(ctx, f.ID)); got.Status != identity.FactorActive {
		t.Fatalf("reinstating an active factor: %+v", got)
	}

	// A suspended recovery factor's codes do not work until it is back.
	en := must[identity.Enrollment](t, "EnrollFactor(recovery)")(e.svc.EnrollFactor(ctx, u.ID, identity.EnrollInput{Type: identity.Recovery}))
	must[identity.Factor](t, "SuspendFactor(recovery)")(e.svc.SuspendFactor(ctx, en.Factor.ID))
	recoveryProof := identity.MFAProof{Type: identity.Recovery, Code: en.RecoveryCodes[0]}
	_, err = e.svc.VerifyMFA(ctx, u.ID, recoveryProof, e.mfaSession(u.ID), "")
	wantErr(t, "a code of a suspended recovery factor", err, identity.ErrMFACodeInvalid)
	must[identity.Factor](t, "ReinstateFactor(recovery)")(e.svc.ReinstateFactor(ctx, en.Factor.ID))
	must[identity.MFAResult](t, "VerifyMFA(recovery)")(e.svc.VerifyMFA(ctx, u.ID, recoveryProof, e.mfaSession(u.ID), ""))

	// Pending and revoked factors have no such transitions.
	pending, _ := e.enrollTOTP(t, u.ID, "tablet")
	_, err = e.svc.SuspendFactor(ctx, pending.Factor.ID)
	wantErr(t, "suspend a pending factor", err, identity.ErrInvalidTransition)
	_, err = e.svc.ReinstateFactor(ctx, pending.Factor.ID)
	wantErr(t, "reinstate a pending factor", err, identity.ErrInvalidTransition)
	must[identity.Factor](t, "RevokeFactor")(e.svc.RevokeFactor(ctx, f.ID))
	_, err = e.svc.SuspendFactor(ctx, f.ID)
	wantErr(t, "suspend a revoked factor", err, identity.ErrAlreadyTerminal)
	_, err = e.svc.ReinstateFactor(ctx, f.ID)
	wantErr(t, "reinstate a revoked factor", err, identity.ErrAlreadyTerminal)
	_, err = e.svc.SuspendFactor(ctx, identity.UUID{})
	wantErr(t, "suspend a missing factor", err, identity.ErrFactorNotFound)

	must[identity.User](t, "RevokeUser")(e.svc.RevokeUser(ctx, u.ID))
	_, err = e.svc.SetPolicy(ctx, u.ID, true, nil)
	wantErr(t, "set the policy of a revoked user", err, identity.ErrAlreadyTerminal)
}

// Wrong codes are throttled per address too: spreading guesses over many
// users from one address does not escape the throttle.
func testMFAThrottleByAddress(t *testing.T, e *env) {
	var err error
	var rl *identity.RateLimitError
	for i := 0; i < 20 && !errors.As(err, &rl); i++ {
		u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
		e.confirmedTOTP(t, u.ID)
		_, err = e.svc.VerifyMFA(ctx, u.ID, identity.MFAProof{Type: identity.TOTP, Code: "000000", Address: "192.0.2.7"}, e.mfaSession(u.ID), "")
	}
	if !errors.As(err, &rl) {
		t.Fatalf("wrong codes for many users from one address: err = %v, want a rate limit", err)
	}
	// Another address, and the same user without an address, still get an
	// answer.
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	_, err = e.svc.VerifyMFA(ctx, u.ID, identity.MFAProof{Type: identity.TOTP, Code: "000000", Address: "192.0.2.8"}, e.mfaSession(u.ID), "")
	wantErr(t, "another address", err, identity.ErrMFACodeInvalid)
}

// Guesses sent all at once cannot slip past the throttle: each attempt
// counts as a failure from the moment it starts, so of 40 concurrent wrong
// codes for one user, or wrong passwords for one identifier, at most the
// free budget plus one is checked and the rest are rate-limited.
func testThrottleConcurrent(t *testing.T, e *env) {
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	e.confirmedTOTP(t, u.ID)
	ses := e.mfaSession(u.ID)
	e.user(t, "flood@example.com", "right")
	attempts := map[string]func(i int) error{
		"TOTP": func(i int) error {
			_, err := e.svc.VerifyMFA(ctx, u.ID, identity.MFAProof{Type: identity.TOTP, Code: "00000" + string(rune('0'+i%10))}, ses, "")
			return err
		},
		"password": func(int) error {
			_, err := e.svc.VerifyCredential(ctx, identity.VerifyInput{Type: identity.Password, Identifier: "flood@example.com", Password: "wrong"})
			return err
		},
	}
	for name, attempt := range attempts {
		const n = 40
		var wg sync.WaitGroup
		var checked, limited atomic.Int32
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var rl *identity.RateLimitError
				switch err := attempt(i); {
				case errors.As(err, &rl):
					limited.Add(1)
				case err != nil:
					checked.Add(1)
				}
			}()
		}
		wg.Wait()
		if c := checked.Load(); c > 6 || c+limited.Load() != n {
			t.Errorf("%s: %d concurrent guesses checked, %d rate-limited; want at most 6 checked, the rest limited", name, c, limited.Load())
		}
	}
}

// One TOTP code sent several times at once is accepted exactly once.
func testMFATOTPConcurrent(t *testing.T, e *env) {
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	_, secret, _ := e.confirmedTOTP(t, u.ID)
	e.advance(30 * time.Second)
	code := totpCode(t, secret, e.mfaAlign())
	const n = 5 // within the throttle's free budget
	var wg sync.WaitGroup
	var ok, replayed atomic.Int32
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch _, err := e.verifyTOTP(u.ID, code); {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, identity.ErrMFACodeReplayed):
				replayed.Add(1)
			default:
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent use of one code: %v", err)
	}
	if ok.Load() != 1 || replayed.Load() != n-1 {
		t.Fatalf("%d of %d concurrent uses of one code succeeded (%d replayed), want exactly 1", ok.Load(), n, replayed.Load())
	}
}
