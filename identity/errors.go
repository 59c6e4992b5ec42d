package identity

import (
	"fmt"
	"time"

	"github.com/flametrench/server/tuples"
)

func e(kind tuples.Kind, code, msg string) *tuples.Error {
	return &tuples.Error{Kind: kind, Code: code, Msg: msg}
}

// Errors of the identity module. The spec error name each one stands for is
// in its comment; codes are the spec's where it names one, else the Node
// reference server's vocabulary (SPEC-MAP §1.4).
var (
	ErrUserNotFound       = e(tuples.NotFound, "not_found", "user not found")       // NotFoundError
	ErrCredentialNotFound = e(tuples.NotFound, "not_found", "credential not found") // NotFoundError
	ErrSessionNotFound    = e(tuples.NotFound, "not_found", "session not found")    // NotFoundError
	ErrFactorNotFound     = e(tuples.NotFound, "not_found", "MFA factor not found") // NotFoundError
	ErrPATNotFound        = e(tuples.NotFound, "not_found", "personal access token not found")
	ErrShareNotFound      = e(tuples.NotFound, "not_found", "share not found") // ShareNotFoundError
	ErrChallengeNotFound  = e(tuples.Unauthenticated, "webauthn.challenge_mismatch", "challenge unknown, used or expired")

	ErrInvalidInput = e(tuples.Invalid, "invalid_format", "invalid input") // InvalidFormatError
	ErrInvalidTTL   = e(tuples.Invalid, "invalid_format.ttl_seconds", "ttl_seconds must be at least 60")

	ErrInvalidCredential = e(tuples.Unauthenticated, "unauthorized.invalid_credential", "invalid credential") // InvalidCredentialError
	ErrInvalidToken      = e(tuples.Unauthenticated, "unauthorized.invalid_token", "invalid token")
	ErrSessionExpired    = e(tuples.Unauthenticated, "unauthorized.session_expired", "session expired or revoked")
	ErrInvalidTicket     = e(tuples.Unauthenticated, "unauthorized.invalid_ticket", "verification ticket is invalid, used, expired or for another credential")
	ErrMFARequired       = e(tuples.Unauthenticated, "unauthorized.mfa_required", "the user's MFA policy requires an MFA verification first")
	ErrTokenFormat       = e(tuples.Unauthenticated, "auth.token_format_unrecognized", "bearer token format not recognised")

	ErrAlreadyTerminal     = e(tuples.Conflict, "conflict.already_terminal", "already revoked") // AlreadyTerminalError
	ErrDuplicateCredential = e(tuples.Conflict, "conflict.duplicate_credential", "an active credential of this type already has this identifier")
	ErrCredentialNotActive = e(tuples.Conflict, "conflict.credential_not_active", "credential is not active")
	// ErrAdminIdentifierTaken: the bootstrap admin's identifier belongs to
	// a user who is not an admin and whose password is another.
	ErrAdminIdentifierTaken = e(tuples.Conflict, "conflict.admin_identifier_taken", "the admin identifier belongs to another user")
	// ErrOIDCNotConfigured: an OIDC sign-in on a server that trusts no
	// identity provider.
	ErrOIDCNotConfigured    = e(tuples.Precondition, "precondition.oidc_not_configured", "OIDC sign-in is not configured on this server")
	ErrInvalidTransition    = e(tuples.Precondition, "precondition.invalid_transition", "transition not allowed from this state")
	ErrUserNotActive        = e(tuples.Precondition, "precondition.user_not_active", "user is not active")
	ErrCredentialUser       = e(tuples.Precondition, "precondition.cred_user_mismatch", "credential belongs to another user")
	ErrSignupClosed         = e(tuples.Forbidden, "forbidden.signup_closed", "sign-up is disabled")
	ErrForbidden            = e(tuples.Forbidden, "forbidden", "not allowed") // ForbiddenError
	ErrRateLimited          = e(tuples.RateLimited, "rate_limited", "too many attempts")
	ErrPasswordUnacceptable = e(tuples.Invalid, "invalid_format.password", "password must be 1 to 1024 bytes")
)

// RateLimitError is ErrRateLimited with the time after which a retry may
// succeed (the server's Retry-After).
type RateLimitError struct {
	RetryAfter time.Duration
}

func (r *RateLimitError) Error() string {
	return fmt.Sprintf("%v (retry after %v)", ErrRateLimited, r.RetryAfter.Round(time.Second))
}

// Unwrap makes errors.Is(err, ErrRateLimited) and tuples.KindOf work.
func (r *RateLimitError) Unwrap() error { return ErrRateLimited }
