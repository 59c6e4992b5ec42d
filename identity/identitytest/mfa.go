package identitytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/identity/recovery"
	"github.com/flametrench/server/identity/totp"
	"github.com/flametrench/server/identity/webauthn"
	"github.com/flametrench/server/tuples"
)

// mfaTests are the MFA tests of the suite.
var mfaTests = []suiteTest{
	{"MFAEnrolTOTP", testMFAEnrolTOTP},
	{"MFAPendingRules", testMFAPendingRules},
	{"MFATOTPVerify", testMFATOTPVerify},
	{"MFATOTPReenrol", testMFATOTPReenrol},
	{"MFARecovery", testMFARecovery},
	{"MFAWebAuthn", testMFAWebAuthn},
	{"MFATicketUpgrade", testMFATicketUpgrade},
	{"MFASessionStamp", testMFASessionStamp},
	{"MFAStoreBackstops", testMFAStoreBackstops},
	{"MFASuspendReinstate", testMFASuspendReinstate},
	{"MFAThrottleByAddress", testMFAThrottleByAddress},
	{"ThrottleConcurrent", testThrottleConcurrent},
	{"MFATOTPConcurrent", testMFATOTPConcurrent},
}

const (
	mfaRPID   = "example.com"
	mfaOrigin = "https://example.com"
)

// mfaNow is the test's clock, the one the service reads.
func (e *env) mfaNow() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) }

// mfaAlign moves the clock to one second into the next TOTP step and
// returns that time: the step then stays the same for 29 s of real time,
// so codes computed from the returned time land where the test means.
func (e *env) mfaAlign() time.Time {
	period := int64(totp.Period * time.Second)
	into := e.mfaNow().UnixNano() % period
	e.advance(time.Duration(period-into) + time.Second)
	return e.mfaNow()
}

func totpCode(t *testing.T, secret []byte, at time.Time) string {
	t.Helper()
	c, err := totp.Code(secret, at, totp.DefaultDigits, totp.SHA1)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrollTOTP starts a TOTP enrolment and returns it with the raw secret.
func (e *env) enrollTOTP(t *testing.T, user identity.UUID, label string) (identity.Enrollment, []byte) {
	t.Helper()
	en := must[identity.Enrollment](t, "EnrollFactor(totp)")(e.svc.EnrollFactor(ctx, user, identity.EnrollInput{Type: identity.TOTP, Identifier: label}))
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(en.TOTPSecret)
	if err != nil {
		t.Fatalf("TOTP secret %q: %v", en.TOTPSecret, err)
	}
	return en, secret
}

// confirmedTOTP enrols and confirms a TOTP factor; it returns the factor,
// its secret and the time of the confirming code (whose step is used).
func (e *env) confirmedTOTP(t *testing.T, user identity.UUID) (identity.Factor, []byte, time.Time) {
	t.Helper()
	en, secret := e.enrollTOTP(t, user, "phone")
	at := e.mfaAlign()
	f := must[identity.Factor](t, "ConfirmFactor(totp)")(e.svc.ConfirmFactor(ctx, en.Factor.ID, identity.ConfirmInput{
		Type: identity.TOTP, Code: totpCode(t, secret, at)}))
	return f, secret, at
}

func (e *env) verifyTOTP(user identity.UUID, code string) (identity.MFAResult, error) {
	return e.svc.VerifyMFA(ctx, user, identity.MFAProof{Type: identity.TOTP, Code: code}, e.mfaSession(user), "")
}

// mfaSession returns a session of the user for VerifyMFA to stamp, minted
// by the admin path on a passkey credential (no Argon2id) at first use.
// It panics on failure: it runs where a *testing.T is not at hand.
func (e *env) mfaSession(user identity.UUID) identity.UUID {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, ok := e.sessions[user]; ok {
		return id
	}
	a := newAuthenticatorOrPanic()
	c, err := e.svc.CreateCredential(ctx, identity.NewCredential{UserID: user, Type: identity.Passkey,
		Identifier: base64.RawURLEncoding.EncodeToString(a.credID), PublicKey: a.cose, RPID: mfaRPID})
	if err != nil {
		panic("mfaSession: CreateCredential: " + err.Error())
	}
	ses, _, err := e.svc.CreateSessionFor(ctx, user, c.ID, 24*time.Hour)
	if err != nil {
		panic("mfaSession: CreateSessionFor: " + err.Error())
	}
	if e.sessions == nil {
		e.sessions = map[identity.UUID]identity.UUID{}
	}
	e.sessions[user] = ses.ID
	return ses.ID
}

// wantCode checks an error's kind and spec code.
func wantCode(t *testing.T, what string, err error, kind tuples.Kind, code string) {
	t.Helper()
	var te *tuples.Error
	if !errors.As(err, &te) || te.Kind != kind || te.Code != code {
		t.Fatalf("%s: err = %v, want kind %v code %s", what, err, kind, code)
	}
}

func testMFAEnrolTOTP(t *testing.T, e *env) {
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	en, secret := e.enrollTOTP(t, u.ID, "phone")
	f := en.Factor
	if f.Status != identity.FactorPending || f.Type != identity.TOTP || f.Identifier != "phone" || f.UserID != u.ID ||
		f.ID.Version() != 7 || f.TOTPSecret != nil || !f.Replaces.IsZero() {
		t.Fatalf("enrolled %+v", f)
	}
	if len(secret) != totp.SecretLen || !strings.HasPrefix(en.TOTPURI, "otpauth://totp/") ||
		!strings.Contains(en.TOTPURI, "secret="+en.TOTPSecret) || !strings.Contains(en.TOTPURI, "digits=6") {
		t.Fatalf("enrolment secret %q uri %q", en.TOTPSecret, en.TOTPURI)
	}
	if got := must[identity.Factor](t, "GetFactor")(e.svc.GetFactor(ctx, f.ID)); got.Status != identity.FactorPending || got.TOTPSecret != nil {
		t.Fatalf("GetFactor = %+v (pending, no secret)", got)
	}
	for _, tc := range []struct {
		name string
		in   identity.EnrollInput
		want error
	}{
		{"unknown type", identity.EnrollInput{Type: "sms"}, identity.ErrInvalidInput},
		{"no label", identity.EnrollInput{Type: identity.TOTP}, identity.ErrInvalidInput},
		{"label with spaces", identity.EnrollInput{Type: identity.TOTP, Identifier: " phone"}, identity.ErrInvalidInput},
		{"bad algorithm", identity.EnrollInput{Type: identity.TOTP, Identifier: "x", Algorithm: "md5"}, identity.ErrInvalidInput},
		{"5 digits", identity.EnrollInput{Type: identity.TOTP, Identifier: "x", Digits: 5}, identity.ErrInvalidInput},
		{"webauthn without rp", identity.EnrollInput{Type: identity.WebAuthn}, identity.ErrInvalidInput},
	} {
		_, err := e.svc.EnrollFactor(ctx, u.ID, tc.in)
		wantErr(t, tc.name, err, tc.want)
	}
	_, err := e.svc.EnrollFactor(ctx, tuples.NewUUID(), identity.EnrollInput{Type: identity.TOTP, Identifier: "x"})
	wantErr(t, "enrol for an unknown user", err, identity.ErrUserNotFound)

	at := e.mfaAlign()
	_, err = e.svc.ConfirmFactor(ctx, f.ID, identity.ConfirmInput{Type: identity.TOTP, Code: totpCode(t, secret, at.Add(10*time.Minute))})
	wantErr(t, "confirm with a wrong code", err, identity.ErrConfirmCodeInvalid)
	wantCode(t, "confirm with a wrong code", err, tuples.Precondition, "mfa.code_invalid")
	_, err = e.svc.ConfirmFactor(ctx, f.ID, identity.ConfirmInput{Type: identity.WebAuthn, Origin: mfaOrigin})
	wantErr(t, "confirm as another type", err, identity.ErrInvalidInput)
	_, err = e.svc.ConfirmFactor(ctx, tuples.NewUUID(), identity.ConfirmInput{Type: identity.TOTP, Code: "123456"})
	wantErr(t, "confirm an unknown factor", err, identity.ErrFactorNotFound)

	got := must[identity.Factor](t, "ConfirmFactor")(e.svc.ConfirmFactor(ctx, f.ID, identity.ConfirmInput{
		Type: identity.TOTP, Code: totpCode(t, secret, at)}))
	if got.Status != identity.FactorActive || got.TOTPLastStep != at.Unix()/totp.Period || got.TOTPSecret != nil || !got.UpdatedAt.After(f.UpdatedAt) {
		t.Fatalf("confirmed %+v (active, last step %d)", got, at.Unix()/totp.Period)
	}
	_, err = e.svc.ConfirmFactor(ctx, f.ID, identity.ConfirmInput{Type: identity.TOTP, Code: totpCode(t, secret, at)})
	wantErr(t, "confirm an active factor", err, identity.ErrFactorNotPending)
	wantCode(t, "confirm an active factor", err, tuples.Precondition, "mfa.factor_not_pending")

	list := must[[]identity.Factor](t, "ListFactors")(e.svc.ListFactors(ctx, u.ID))
	if len(list) != 1 || list[0].ID != f.ID || list[0].Status != identity.FactorActive || list[0].TOTPSecret != nil {
		t.Fatalf("ListFactors = %+v", list)
	}
	e.mfaSession(u.ID) // before the suspension ends it
	must[identity.User](t, "SuspendUser")(e.svc.SuspendUser(ctx, u.ID))
	_, err = e.svc.EnrollFactor(ctx, u.ID, identity.EnrollInput{Type: identity.TOTP, Identifier: "x"})
	wantErr(t, "enrol for a suspended user", err, identity.ErrUserNotActive)
	_, err = e.verifyTOTP(u.ID, totpCode(t, secret, at.Add(totp.Period*time.Second)))
	wantErr(t, "verify for a suspended user (whose sessions ended)", err, identity.ErrSessionExpired)
}

func testMFAPendingRules(t *testing.T, e *env) {
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	en, secret := e.enrollTOTP(t, u.ID, "old")
	e.advance(identity.PendingFactorTTL + time.Second)
	_, err := e.svc.ConfirmFactor(ctx, en.Factor.ID, identity.ConfirmInput{Type: identity.TOTP, Code: totpCode(t, secret, e.mfaNow())})
	wantErr(t, "confirm after 10 minutes", err, identity.ErrPendingFactorExpired)
	if list := must[[]identity.Factor](t, "ListFactors")(e.svc.ListFactors(ctx, u.ID)); len(list) != 0 {
		t.Fatalf("ListFactors shows an expired pending factor: %+v", list)
	}

	// The queue of unexpired pending enrolments is bounded (MFA-2).
	var pending []identity.UUID
	for i := range identity.MaxPendingFactors {
		in := identity.EnrollInput{Type: identity.TOTP, Identifier: "t"}
		if i%2 == 1 {
			in = identity.EnrollInput{Type: identity.WebAuthn, RPID: mfaRPID}
		}
		en := must[identity.Enrollment](t, "EnrollFactor")(e.svc.EnrollFactor(ctx, u.ID, in))
		pending = append(pending, en.Factor.ID)
	}
	_, err = e.svc.EnrollFactor(ctx, u.ID, identity.EnrollInput{Type: identity.TOTP, Identifier: "one too many"})
	wantErr(t, "sixth pending enrolment", err, identity.ErrTooManyPendingFactors)

	r := must[identity.Factor](t, "RevokeFactor")(e.svc.RevokeFactor(ctx, pending[0]))
	if r.Status != identity.FactorRevoked {
		t.Fatalf("RevokeFactor status %s", r.Status)
	}
	again := must[identity.Factor](t, "RevokeFactor again")(e.svc.RevokeFactor(ctx, pending[0]))
	if again.Status != identity.FactorRevoked || !again.UpdatedAt.Equal(r.UpdatedAt) {
		t.Fatalf("revoking twice changed the factor: %+v, then %+v", r, again)
	}
	_, err = e.svc.ConfirmFactor(ctx, pending[0], identity.ConfirmInput{Type: identity.TOTP, Code: "123456"})
	wantErr(t, "confirm a revoked factor", err, identity.ErrFactorNotPending)
	_, err = e.svc.RevokeFactor(ctx, tuples.NewUUID())
	wantErr(t, "revoke an unknown factor", err, identity.ErrFactorNotFound)

	latest := must[identity.Enrollment](t, "enrol after a revocation")(e.svc.EnrollFactor(ctx, u.ID, identity.EnrollInput{Type: identity.TOTP, Identifier: "t"}))
	_, err = e.svc.EnrollFactor(ctx, u.ID, identity.EnrollInput{Type: identity.WebAuthn, RPID: mfaRPID})
	wantErr(t, "queue full again", err, identity.ErrTooManyPendingFactors)

	list := must[[]identity.Factor](t, "ListFactors")(e.svc.ListFactors(ctx, u.ID))
	if len(list) != identity.MaxPendingFactors {
		t.Fatalf("ListFactors has %d factors, want %d pending", len(list), identity.MaxPendingFactors)
	}
	for i, f := range list {
		if f.Status != identity.FactorPending || f.ID == pending[0] || (i > 0 && compareIDs(list[i-1].ID, f.ID) >= 0) {
			t.Fatalf("ListFactors = %+v: want pending, unrevoked, in id order", list)
		}
	}
	last := list[len(list)-1]
	if last.ID != latest.Factor.ID {
		t.Fatalf("ListFactors ends with %v, want %v", last.ID, latest.Factor.ID)
	}

	// Expired pending enrolments leave the queue.
	e.advance(identity.PendingFactorTTL + time.Second)
	must[identity.Enrollment](t, "enrol after the queue expired")(e.svc.EnrollFactor(ctx, u.ID, identity.EnrollInput{Type: identity.WebAuthn, RPID: mfaRPID}))
	if list := must[[]identity.Factor](t, "ListFactors")(e.svc.ListFactors(ctx, u.ID)); len(list) != 1 {
		t.Fatalf("ListFactors after expiry = %+v, want the one new enrolment", list)
	}
	_, err = e.svc.ListFactors(ctx, tuples.NewUUID())
	wantErr(t, "ListFactors(unknown user)", err, identity.ErrUserNotFound)
	_, err = e.svc.GetFactor(ctx, tuples.NewUUID())
	wantErr(t, "GetFactor(unknown)", err, identity.ErrFactorNotFound)
}

func compareIDs(a, b identity.UUID) int { return strings.Compare(a.Hex(), b.Hex()) }

func testMFATOTPVerify(t *testing.T, e *env) {
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	_, err := e.verifyTOTP(u.ID, "123456")
	wantErr(t, "verify without a factor", err, identity.ErrMFACodeInvalid)
	f, secret, t0 := e.confirmedTOTP(t, u.ID)
	step := time.Duration(totp.Period) * time.Second

	// The code that confirmed the factor is used (A12).
	_, err = e.verifyTOTP(u.ID, totpCode(t, secret, t0))
	wantErr(t, "the confirming code again", err, identity.ErrMFACodeReplayed)
	wantCode(t, "the confirming code again", err, tuples.Unauthenticated, "mfa.code_replayed")

	now := e.mfaAlign()
	r := must[identity.MFAResult](t, "VerifyMFA")(e.verifyTOTP(u.ID, totpCode(t, secret, now)))
	if r.FactorID != f.ID || r.Type != identity.TOTP || r.VerifiedAt.IsZero() || r.NewSignCount != nil {
		t.Fatalf("VerifyMFA = %+v", r)
	}
	_, err = e.verifyTOTP(u.ID, totpCode(t, secret, now))
	wantErr(t, "the same code twice", err, identity.ErrMFACodeReplayed)
	// ±1 step of drift (MFA-5): the next step is accepted, two ahead is not.
	must[identity.MFAResult](t, "code of the next step")(e.verifyTOTP(u.ID, totpCode(t, secret, now.Add(step))))
	_, err = e.verifyTOTP(u.ID, totpCode(t, secret, now.Add(2*step)))
	wantErr(t, "code two steps ahead", err, identity.ErrMFACodeInvalid)
	wantCode(t, "code two steps ahead", err, tuples.Unauthenticated, "mfa.code_invalid")

	now = e.mfaAlign()
	now = e.mfaAlign()
	now = e.mfaAlign() // three steps on: the last accepted step is now-2
	must[identity.MFAResult](t, "code of the previous step")(e.verifyTOTP(u.ID, totpCode(t, secret, now.Add(-step))))
	_, err = e.verifyTOTP(u.ID, totpCode(t, secret, now.Add(-2*step)))
	wantErr(t, "code two steps old", err, identity.ErrMFACodeInvalid)
	// After a later step was accepted, an earlier one in the window is a replay.
	if f := must[identity.Factor](t, "GetFactor")(e.svc.GetFactor(ctx, f.ID)); f.TOTPLastStep != now.Unix()/totp.Period-1 {
		t.Fatalf("last step %d, want %d", f.TOTPLastStep, now.Unix()/totp.Period-1)
	}
	for _, bad := range []string{"", "12345", "abcdef", strings.Repeat("1", 100)} {
		_, err = e.verifyTOTP(u.ID, bad)
		wantErr(t, "malformed code "+bad, err, identity.ErrMFACodeInvalid)
	}
	_, err = e.svc.VerifyMFA(ctx, u.ID, identity.MFAProof{Type: "sms", Code: "123456"}, e.mfaSession(u.ID), "")
	wantErr(t, "unknown proof type", err, identity.ErrInvalidInput)

	// Failures are throttled per user: the sixth in a row locks the user
	// out, even for a right code.
	must[identity.MFAResult](t, "right code")(e.verifyTOTP(u.ID, totpCode(t, secret, now)))
	for range 6 {
		e.verifyTOTP(u.ID, totpCode(t, secret, now.Add(time.Hour)))
	}
	_, err = e.verifyTOTP(u.ID, totpCode(t, secret, now.Add(step)))
	var rl *identity.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 {
		t.Fatalf("verify while throttled = %v, want a RateLimitError", err)
	}
	e.advance(rl.RetryAfter + time.Millisecond)
	now = e.mfaAlign()
	must[identity.MFAResult](t, "verify after the lock-out")(e.verifyTOTP(u.ID, totpCode(t, secret, now)))
}

func testMFATOTPReenrol(t *testing.T, e *env) {
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	a, secA, _ := e.confirmedTOTP(t, u.ID)
	// Enrolling while a TOTP factor is active is allowed (A13); the old one
	// stays active until the new one is confirmed.
	en, secB := e.enrollTOTP(t, u.ID, "laptop")
	if got := must[identity.Factor](t, "GetFactor(a)")(e.svc.GetFactor(ctx, a.ID)); got.Status != identity.FactorActive {
		t.Fatalf("old factor %s before the new one is confirmed", got.Status)
	}
	now := e.mfaAlign()
	b := must[identity.Factor](t, "ConfirmFactor(b)")(e.svc.ConfirmFactor(ctx, en.Factor.ID, identity.ConfirmInput{
		Type: identity.TOTP, Code: totpCode(t, secB, now)}))
	if b.Status != identity.FactorActive || b.Replaces != a.ID {
		t.Fatalf("re-enrolled factor %+v, want active replacing %v", b, a.ID)
	}
	if got := must[identity.Factor](t, "GetFactor(a)")(e.svc.GetFactor(ctx, a.ID)); got.Status != identity.FactorRevoked {
		t.Fatalf("old factor %s after re-enrolment, want revoked", got.Status)
	}
	list := must[[]identity.Factor](t, "ListFactors")(e.svc.ListFactors(ctx, u.ID))
	if len(list) != 1 || list[0].ID != b.ID {
		t.Fatalf("ListFactors = %+v, want only the new factor", list)
	}
	now = e.mfaAlign()
	_, err := e.verifyTOTP(u.ID, totpCode(t, secA, now))
	wantErr(t, "code of the replaced factor", err, identity.ErrMFACodeInvalid)
	if r := must[identity.MFAResult](t, "code of the new factor")(e.verifyTOTP(u.ID, totpCode(t, secB, now))); r.FactorID != b.ID {
		t.Fatalf("verified by %v, want %v", r.FactorID, b.ID)
	}
}

func testMFARecovery(t *testing.T, e *env) {
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	en := must[identity.Enrollment](t, "EnrollFactor(recovery)")(e.svc.EnrollFactor(ctx, u.ID, identity.EnrollInput{Type: identity.Recovery}))
	f := en.Factor
	if f.Status != identity.FactorActive || f.Type != identity.Recovery || f.Identifier != "" || f.Remaining() != recovery.Count || len(en.RecoveryCodes) != recovery.Count {
		t.Fatalf("recovery enrolment %+v, %d codes", f, len(en.RecoveryCodes))
	}
	seen := map[string]bool{}
	for _, c := range en.RecoveryCodes {
		if !recovery.Valid(c) || seen[c] {
			t.Fatalf("recovery code %q invalid or repeated", c)
		}
		seen[c] = true
	}
	for _, rc := range f.RecoveryCodes {
		if rc.Hash != "" {
			t.Fatal("a recovery code hash left the module")
		}
	}
	codes := en.RecoveryCodes
	verify := func(code string) (identity.MFAResult, error) {
		return e.svc.VerifyMFA(ctx, u.ID, identity.MFAProof{Type: identity.Recovery, Code: code}, e.mfaSession(u.ID), "")
	}
	r := must[identity.MFAResult](t, "VerifyMFA(recovery)")(verify(codes[0]))
	if r.FactorID != f.ID || r.Type != identity.Recovery {
		t.Fatalf("VerifyMFA = %+v", r)
	}
	_, err := verify(codes[0])
	wantErr(t, "a consumed code", err, identity.ErrMFACodeInvalid)
	// Input is normalised: lower case, no hyphens, surrounding spaces.
	must[identity.MFAResult](t, "normalisable code")(verify("  " + strings.ToLower(strings.ReplaceAll(codes[1], "-", "")) + " "))
	_, err = verify("0OIL-0OIL-0OIL")
	wantErr(t, "a code outside the alphabet", err, identity.ErrMFACodeInvalid)
	got := must[identity.Factor](t, "GetFactor")(e.svc.GetFactor(ctx, f.ID))
	if got.Remaining() != recovery.Count-2 || got.RecoveryCodes[0].ConsumedAt == nil || got.RecoveryCodes[1].ConsumedAt == nil {
		t.Fatalf("after two uses: %+v", got.RecoveryCodes)
	}

	// One code used from 8 goroutines at once succeeds exactly once.
	const n = 8
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := verify(codes[2])
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, identity.ErrMFACodeInvalid) && !errors.Is(err, identity.ErrRateLimited):
				t.Errorf("concurrent VerifyMFA: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d of %d concurrent uses of one recovery code succeeded, want exactly 1", wins.Load(), n)
	}
	if got := must[identity.Factor](t, "GetFactor")(e.svc.GetFactor(ctx, f.ID)); got.Remaining() != recovery.Count-3 {
		t.Fatalf("remaining %d after three codes", got.Remaining())
	}
	e.advance(time.Hour) // past the throttle the losers earned

	// Regenerating revokes the old set and replaces it (MFA-2).
	en2 := must[identity.Enrollment](t, "regenerate")(e.svc.EnrollFactor(ctx, u.ID, identity.EnrollInput{Type: identity.Recovery}))
	if en2.Factor.Replaces != f.ID || en2.Factor.Remaining() != recovery.Count {
		t.Fatalf("regenerated %+v, want replacing %v", en2.Factor, f.ID)
	}
	if got := must[identity.Factor](t, "GetFactor(old)")(e.svc.GetFactor(ctx, f.ID)); got.Status != identity.FactorRevoked {
		t.Fatalf("old recovery factor %s after regeneration", got.Status)
	}
	_, err = verify(codes[3])
	wantErr(t, "a code of the revoked set", err, identity.ErrMFACodeInvalid)
	if r := must[identity.MFAResult](t, "a code of the new set")(verify(en2.RecoveryCodes[9])); r.FactorID != en2.Factor.ID {
		t.Fatalf("verified by %v, want %v", r.FactorID, en2.Factor.ID)
	}
	list := must[[]identity.Factor](t, "ListFactors")(e.svc.ListFactors(ctx, u.ID))
	if len(list) != 1 || list[0].ID != en2.Factor.ID || list[0].Remaining() != recovery.Count-1 {
		t.Fatalf("ListFactors = %+v", list)
	}
}

// authenticator is a software WebAuthn authenticator with one ES256
// credential.
type authenticator struct {
	key    *ecdsa.PrivateKey
	credID []byte
	cose   []byte
	aaguid [16]byte
}

var cborEnc = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

func newAuthenticator(t *testing.T) *authenticator {
	t.Helper()
	return newAuthenticatorOrPanic()
}

func newAuthenticatorOrPanic() *authenticator {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	pt, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	cose, err := cborEnc.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pt[1:33], -3: pt[33:65]})
	if err != nil {
		panic(err)
	}
	a := &authenticator{key: key, credID: make([]byte, 32), cose: cose}
	rand.Read(a.credID)
	rand.Read(a.aaguid[:])
	return a
}

const (
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
)

func authData(rpID string, flags byte, count uint32, tail []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	b := append(h[:], flags)
	b = binary.BigEndian.AppendUint32(b, count)
	return append(b, tail...)
}

func clientData(typ string, challenge []byte, origin string) []byte {
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": base64.RawURLEncoding.EncodeToString(challenge),
		"origin": origin, "crossOrigin": false})
	if err != nil {
		panic(err)
	}
	return b
}

// register answers an enrolment: client data and a "none" attestation
// object.
func (a *authenticator) register(t *testing.T, challenge []byte, origin string) identity.ConfirmInput {
	t.Helper()
	acd := append(a.aaguid[:], byte(len(a.credID)>>8), byte(len(a.credID)))
	acd = append(acd, a.credID...)
	acd = append(acd, a.cose...)
	obj, err := cborEnc.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{},
		"authData": authData(mfaRPID, flagUP|flagUV|flagAT, 1, acd)})
	if err != nil {
		t.Fatal(err)
	}
	return identity.ConfirmInput{Type: identity.WebAuthn, Origin: origin, ClientDataJSON: clientData("webauthn.create", challenge, mfaOrigin),
		AttestationObject: obj, Transports: []string{"usb", "bogus", "usb", "internal"}}
}

// assert answers a verification challenge.
func (a *authenticator) assert(t *testing.T, c identity.Challenge, flags byte, count uint32) identity.MFAProof {
	t.Helper()
	ad := authData(mfaRPID, flags, count, nil)
	cd := clientData("webauthn.get", c.Bytes, mfaOrigin)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte(nil), ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return identity.MFAProof{Type: identity.WebAuthn, Origin: mfaOrigin, ChallengeID: c.ID, CredentialID: base64.RawURLEncoding.EncodeToString(a.credID),
		Assertion: webauthn.Assertion{AuthenticatorData: ad, ClientDataJSON: cd, Signature: sig}}
}

func testMFAWebAuthn(t *testing.T, e *env) {
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	a := newAuthenticator(t)
	en := must[identity.Enrollment](t, "EnrollFactor(webauthn)")(e.svc.EnrollFactor(ctx, u.ID, identity.EnrollInput{Type: identity.WebAuthn, Origin: mfaOrigin}))
	c := en.Challenge
	if en.Factor.Status != identity.FactorPending || en.Factor.RPID != mfaRPID || c == nil || len(c.Bytes) < 16 || c.RPID != mfaRPID ||
		c.ExpiresAt.Sub(en.Factor.CreatedAt) != identity.ChallengeTTL {
		t.Fatalf("webauthn enrolment %+v, challenge %+v", en.Factor, c)
	}
	f := must[identity.Factor](t, "ConfirmFactor(webauthn)")(e.svc.ConfirmFactor(ctx, en.Factor.ID, a.register(t, c.Bytes, mfaOrigin)))
	if f.Status != identity.FactorActive || f.Identifier != base64.RawURLEncoding.EncodeToString(a.credID) || f.SignCount != 1 ||
		f.AAGUID == nil || [16]byte(*f.AAGUID) != a.aaguid || string(f.PublicKey) != string(a.cose) ||
		strings.Join(f.Transports, ",") != "usb,internal" {
		t.Fatalf("confirmed %+v", f)
	}
	if got := must[identity.Factor](t, "GetFactor")(e.svc.GetFactor(ctx, f.ID)); got.SignCount != 1 || got.Identifier != f.Identifier ||
		strings.Join(got.Transports, ",") != "usb,internal" || got.AAGUID == nil || *got.AAGUID != *f.AAGUID {
		t.Fatalf("GetFactor = %+v", got)
	}

	// An enrolment's challenge is used once, even by a failed attempt.
	b := newAuthenticator(t)
	en2 := must[identity.Enrollment](t, "second enrolment")(e.svc.EnrollFactor(ctx, u.ID, identity.EnrollInput{Type: identity.WebAuthn, RPID: mfaRPID}))
	_, err := e.svc.ConfirmFactor(ctx, en2.Factor.ID, b.register(t, en2.Challenge.Bytes, "https://evil.example"))
	wantCode(t, "confirm from another origin", err, tuples.Precondition, "webauthn.origin_mismatch")
	_, err = e.svc.ConfirmFactor(ctx, en2.Factor.ID, b.register(t, en2.Challenge.Bytes, mfaOrigin))
	wantCode(t, "confirm with a used challenge", err, tuples.Precondition, "webauthn.challenge_mismatch")

	// A credential is enrolled once, across users.
	u2 := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	en3 := must[identity.Enrollment](t, "enrol for another user")(e.svc.EnrollFactor(ctx, u2.ID, identity.EnrollInput{Type: identity.WebAuthn, RPID: mfaRPID}))
	_, err = e.svc.ConfirmFactor(ctx, en3.Factor.ID, a.register(t, en3.Challenge.Bytes, mfaOrigin))
	wantErr(t, "the same credential for another user", err, identity.ErrDuplicateWebAuthnCredential)

	challenge := func(user identity.UUID) identity.Challenge {
		t.Helper()
		return must[identity.Challenge](t, "NewWebAuthnChallenge")(e.svc.NewWebAuthnChallenge(ctx, user, mfaRPID))
	}
	verify := func(p identity.MFAProof) (identity.MFAResult, error) {
		return e.svc.VerifyMFA(ctx, u.ID, p, e.mfaSession(u.ID), "")
	}
	p := a.assert(t, challenge(u.ID), flagUP|flagUV, 5)
	r := must[identity.MFAResult](t, "VerifyMFA(webauthn)")(verify(p))
	if r.FactorID != f.ID || r.Type != identity.WebAuthn || r.NewSignCount == nil || *r.NewSignCount != 5 {
		t.Fatalf("VerifyMFA = %+v", r)
	}
	if got := must[identity.Factor](t, "GetFactor")(e.svc.GetFactor(ctx, f.ID)); got.SignCount != 5 {
		t.Fatalf("stored sign count %d, want 5", got.SignCount)
	}
	_, err = verify(p)
	wantErr(t, "a challenge answered twice", err, identity.ErrChallengeNotFound)

	ch := challenge(u.ID)
	_, err = verify(a.assert(t, ch, flagUP|flagUV, 5))
	wantCode(t, "counter not advanced", err, tuples.Unauthenticated, "webauthn.counter_regression")
	_, err = verify(a.assert(t, ch, flagUP|flagUV, 6))
	wantErr(t, "the challenge of a failed verification", err, identity.ErrChallengeNotFound)
	must[identity.MFAResult](t, "VerifyMFA(counter 6)")(verify(a.assert(t, challenge(u.ID), flagUP|flagUV, 6)))

	_, err = verify(a.assert(t, challenge(u.ID), flagUP, 7))
	wantCode(t, "no user verification", err, tuples.Unauthenticated, "webauthn.user_not_verified")
	_, err = verify(a.assert(t, challenge(u2.ID), flagUP|flagUV, 8))
	wantErr(t, "another user's challenge", err, identity.ErrChallengeNotFound)
	other := b.assert(t, challenge(u.ID), flagUP|flagUV, 9)
	_, err = verify(other)
	wantCode(t, "an unenrolled credential", err, tuples.Unauthenticated, "webauthn.signature_invalid")
	old := challenge(u.ID)
	e.advance(identity.ChallengeTTL + time.Second)
	_, err = verify(a.assert(t, old, flagUP|flagUV, 10))
	wantErr(t, "an expired challenge", err, identity.ErrChallengeNotFound)
	if got := must[identity.Factor](t, "GetFactor")(e.svc.GetFactor(ctx, f.ID)); got.SignCount != 6 {
		t.Fatalf("failed verifications moved the sign count to %d", got.SignCount)
	}
}

func testMFATicketUpgrade(t *testing.T, e *env) {
	u, _ := e.user(t, "mfa-ticket@example.com", "pw")
	e.user(t, "mfa-other@example.com", "pw")
	_, secret, _ := e.confirmedTOTP(t, u.ID)
	must[identity.Policy](t, "SetPolicy")(e.svc.SetPolicy(ctx, u.ID, true, nil))
	verifyPW := func(ident string) identity.Verification {
		return must[identity.Verification](t, "VerifyCredential")(e.svc.VerifyCredential(ctx, identity.VerifyInput{
			Type: identity.Password, Identifier: ident, Password: "pw"}))
	}
	v := verifyPW("mfa-ticket@example.com")
	ov := verifyPW("mfa-other@example.com")
	if !v.MFARequired || ov.MFARequired {
		t.Fatalf("MFARequired = %v for the user with the policy, %v for the other", v.MFARequired, ov.MFARequired)
	}
	_, _, err := e.svc.CreateSession(ctx, v, time.Hour)
	wantErr(t, "mint before MFA", err, identity.ErrMFARequired)

	now := e.mfaAlign()
	code := totpCode(t, secret, now)
	proof := identity.MFAProof{Type: identity.TOTP, Code: code}
	_, err = e.svc.VerifyMFA(ctx, u.ID, proof, identity.UUID{}, ov.Ticket)
	wantErr(t, "another user's ticket", err, identity.ErrInvalidTicket)
	_, err = e.svc.VerifyMFA(ctx, u.ID, proof, identity.UUID{}, "made-up")
	wantErr(t, "a made-up ticket", err, identity.ErrInvalidTicket)
	// The failed attempts did not use the code up.
	r := must[identity.MFAResult](t, "VerifyMFA(ticket)")(e.svc.VerifyMFA(ctx, u.ID, proof, identity.UUID{}, v.Ticket))
	ses, _, err := e.svc.CreateSession(ctx, v, time.Hour)
	if err != nil {
		t.Fatalf("mint from an upgraded ticket: %v", err)
	}
	if ses.MFAVerifiedAt == nil || !ses.MFAVerifiedAt.Equal(r.VerifiedAt) {
		t.Fatalf("session MFAVerifiedAt = %v, want %v", ses.MFAVerifiedAt, r.VerifiedAt)
	}
	if got := must[identity.Session](t, "GetSession")(e.svc.GetSession(ctx, ses.ID)); got.MFAVerifiedAt == nil || !got.MFAVerifiedAt.Equal(r.VerifiedAt) {
		t.Fatalf("stored MFAVerifiedAt = %v", got.MFAVerifiedAt)
	}
	// The upgraded ticket is used up like any other.
	_, _, err = e.svc.CreateSession(ctx, v, time.Hour)
	wantErr(t, "upgraded ticket used twice", err, identity.ErrInvalidTicket)

	late := verifyPW("mfa-ticket@example.com")
	e.advance(identity.TicketTTL + time.Second)
	now = e.mfaAlign()
	_, err = e.svc.VerifyMFA(ctx, u.ID, identity.MFAProof{Type: identity.TOTP, Code: totpCode(t, secret, now)}, identity.UUID{}, late.Ticket)
	wantErr(t, "an expired ticket", err, identity.ErrInvalidTicket)
}

func testMFASessionStamp(t *testing.T, e *env) {
	u, c := e.user(t, "mfa-ses@example.com", "pw")
	other, oc := e.user(t, "mfa-ses-other@example.com", "pw")
	_, secret, _ := e.confirmedTOTP(t, u.ID)
	mint := func(user, cred identity.UUID) identity.Session {
		s, _, err := e.svc.CreateSessionFor(ctx, user, cred, time.Hour)
		if err != nil {
			t.Fatalf("CreateSessionFor: %v", err)
		}
		return s
	}
	ses, oses := mint(u.ID, c.ID), mint(other.ID, oc.ID)
	now := e.mfaAlign()
	proof := identity.MFAProof{Type: identity.TOTP, Code: totpCode(t, secret, now)}
	_, err := e.svc.VerifyMFA(ctx, u.ID, proof, oses.ID, "")
	wantErr(t, "another user's session", err, identity.ErrForbidden)
	_, err = e.svc.VerifyMFA(ctx, u.ID, proof, tuples.NewUUID(), "")
	wantErr(t, "an unknown session", err, identity.ErrSessionNotFound)
	r := must[identity.MFAResult](t, "VerifyMFA(session)")(e.svc.VerifyMFA(ctx, u.ID, proof, ses.ID, ""))
	if got := must[identity.Session](t, "GetSession")(e.svc.GetSession(ctx, ses.ID)); got.MFAVerifiedAt == nil || !got.MFAVerifiedAt.Equal(r.VerifiedAt) {
		t.Fatalf("session MFAVerifiedAt = %v, want %v", got.MFAVerifiedAt, r.VerifiedAt)
	}
	if got := must[identity.Session](t, "GetSession(other)")(e.svc.GetSession(ctx, oses.ID)); got.MFAVerifiedAt != nil {
		t.Fatal("another user's session was stamped")
	}

	// Once the policy is in force, a session without MFA cannot be kept
	// alive by refreshing it; an MFA-verified one can, and keeps its time.
	plain := mint(u.ID, c.ID)
	must[identity.Policy](t, "SetPolicy")(e.svc.SetPolicy(ctx, u.ID, true, nil))
	_, _, err = e.svc.RefreshSession(ctx, plain.ID)
	wantErr(t, "refresh a session without MFA under the policy", err, identity.ErrMFARequired)
	if got := must[identity.Session](t, "GetSession(plain)")(e.svc.GetSession(ctx, plain.ID)); got.RevokedAt != nil {
		t.Fatal("a refused refresh revoked the session")
	}
	refreshed, _ := must2[identity.Session, string](t, "RefreshSession(MFA)")(e.svc.RefreshSession(ctx, ses.ID))
	if refreshed.MFAVerifiedAt == nil || !refreshed.MFAVerifiedAt.Equal(r.VerifiedAt) {
		t.Fatalf("refreshed MFAVerifiedAt = %v, want %v", refreshed.MFAVerifiedAt, r.VerifiedAt)
	}
	ses = refreshed
	must[identity.Session](t, "RevokeSession")(e.svc.RevokeSession(ctx, ses.ID))
	now = e.mfaAlign()
	_, err = e.svc.VerifyMFA(ctx, u.ID, identity.MFAProof{Type: identity.TOTP, Code: totpCode(t, secret, now)}, ses.ID, "")
	wantErr(t, "a revoked session", err, identity.ErrSessionExpired)
}

// testMFAStoreBackstops holds the stores to the constraints behind the
// service's rules: one active TOTP per user, and a consumed recovery slot
// stays consumed.
func testMFAStoreBackstops(t *testing.T, e *env) {
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	now := e.mfaNow().UTC().Truncate(time.Microsecond)
	put := func(f identity.Factor) error {
		_, err := e.store.Update(ctx, func(tx identity.Tx) error { return tx.PutFactor(ctx, f) })
		return err
	}
	totpRow := func() identity.Factor {
		return identity.Factor{ID: tuples.NewUUID(), UserID: u.ID, Type: identity.TOTP, Status: identity.FactorActive, Identifier: "x",
			CreatedAt: now, UpdatedAt: now, TOTPSecret: make([]byte, totp.SecretLen), TOTPAlgorithm: "sha1", TOTPDigits: 6}
	}
	if err := put(totpRow()); err != nil {
		t.Fatalf("PutFactor(totp): %v", err)
	}
	wantErr(t, "a second active TOTP factor", put(totpRow()), identity.ErrFactorSingleton)

	rec := identity.Factor{ID: tuples.NewUUID(), UserID: u.ID, Type: identity.Recovery, Status: identity.FactorActive,
		CreatedAt: now, UpdatedAt: now, RecoveryCodes: make([]identity.RecoveryCode, recovery.Count)}
	for i := range rec.RecoveryCodes {
		rec.RecoveryCodes[i].Hash = "$argon2id$not-a-real-hash-" + string(rune('a'+i))
	}
	consumed := rec
	consumed.RecoveryCodes = append([]identity.RecoveryCode(nil), rec.RecoveryCodes...)
	consumed.RecoveryCodes[3].ConsumedAt = &now
	for _, f := range []identity.Factor{rec, consumed, rec} {
		if err := put(f); err != nil {
			t.Fatalf("PutFactor(recovery): %v", err)
		}
	}
	got := must[identity.Factor](t, "GetFactor")(e.svc.GetFactor(ctx, rec.ID))
	if got.Remaining() != recovery.Count-1 || got.RecoveryCodes[3].ConsumedAt == nil || !got.RecoveryCodes[3].ConsumedAt.Equal(now) {
		t.Fatalf("recovery slots after an attempt to un-consume one: %+v", got.RecoveryCodes)
	}
}
