package oidc

import (
	"fmt"

	"github.com/flametrench/server/tuples"
)

// Errors of Verify. Every error Verify returns wraps ErrInvalidToken or
// ErrUnavailable, or else is the caller's context ending (context.Canceled or
// context.DeadlineExceeded, wrapped). The text before the sentinel is detail
// for logs: it may quote the token's iss, kid or alg (shortened and quoted),
// never the token itself. Clients should be shown the sentinel's Msg only.
var (
	// ErrInvalidToken: the ID token is not acceptable (malformed, unknown
	// issuer, bad signature, wrong audience, expired, ...). It carries the
	// spec's InvalidCredentialError code, so it also matches
	// identity.ErrInvalidCredential under errors.Is and maps to 401.
	ErrInvalidToken = &tuples.Error{Kind: tuples.Unauthenticated, Code: "unauthorized.invalid_credential", Msg: "invalid OIDC ID token"}
	// ErrUnavailable: the token's issuer is trusted but its signing keys
	// cannot be fetched (network error, non-200 answer, malformed discovery
	// document or key set, discovery issuer mismatch), and no earlier key set
	// is still usable. It maps to 503: the token may well be valid.
	ErrUnavailable = &tuples.Error{Kind: tuples.Unavailable, Code: "unavailable.identity_provider", Msg: "the identity provider's signing keys cannot be fetched; try again later"}
)

// invalidf wraps ErrInvalidToken with detail for logs.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("oidc: %s: %w", fmt.Sprintf(format, args...), ErrInvalidToken)
}

// clip shortens a token-supplied string for an error message, so a hostile
// kilobyte-long iss or kid does not end up whole in a log line.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
