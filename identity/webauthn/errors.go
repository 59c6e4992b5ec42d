package webauthn

import "fmt"

// Reason is why a verification failed. The values are the spec's WebAuthn
// failure reasons (SPEC-MAP MFA-6), the strings the conformance fixtures
// expect; the spec's error code is "webauthn." followed by the reason.
type Reason string

// The spec's failure reasons.
const (
	SignatureInvalid  Reason = "signature_invalid"
	CounterRegression Reason = "counter_regression"
	RPIDMismatch      Reason = "rp_id_mismatch"
	UserNotVerified   Reason = "user_not_verified"
	UserNotPresent    Reason = "user_not_present"
	ChallengeMismatch Reason = "challenge_mismatch"
	OriginMismatch    Reason = "origin_mismatch"
	TypeMismatch      Reason = "type_mismatch"
	Malformed         Reason = "malformed"
	UnsupportedKey    Reason = "unsupported_key"
)

// Failure is a verification failure with one of the spec's reasons. Every
// error this package returns is a *Failure. Detail is for logs; it never
// contains the expected challenge.
type Failure struct {
	Reason Reason
	Detail string
}

func (f *Failure) Error() string {
	if f.Detail == "" {
		return "webauthn: " + string(f.Reason)
	}
	return "webauthn: " + string(f.Reason) + ": " + f.Detail
}

// Code is the spec's error code for the failure, such as
// "webauthn.counter_regression".
func (f *Failure) Code() string { return "webauthn." + string(f.Reason) }

// Is reports whether target is a *Failure with the same Reason and either
// no Detail or the same Detail, so that
// errors.Is(err, &webauthn.Failure{Reason: webauthn.CounterRegression})
// matches any counter regression.
func (f *Failure) Is(target error) bool {
	t, ok := target.(*Failure)
	if !ok || t == nil {
		return false
	}
	return t.Reason == f.Reason && (t.Detail == "" || t.Detail == f.Detail)
}

func failf(r Reason, format string, args ...any) *Failure {
	return &Failure{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// clip shortens a client-supplied string for a Detail, so a hostile 64 KiB
// origin does not end up whole in a log line.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
