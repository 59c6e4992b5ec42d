package identity

import (
	"context"
	"errors"
	"strings"
)

// PrincipalKind is the audit discriminator auth.kind (PAT-7).
type PrincipalKind string

const (
	KindSession PrincipalKind = "session"
	KindPAT     PrincipalKind = "pat"
	KindShare   PrincipalKind = "share"
)

// Principal is who a bearer token proves: a user through a session or a
// PAT (with its scopes), or a share, which grants one relation on one
// object and is never a user (SHR-5).
type Principal struct {
	Kind    PrincipalKind
	UserID  UUID    // session and pat
	Session Session // session
	PAT     PAT     // pat: Scope
	Share   Share   // share
}

// Classify routes a bearer token by its prefix alone (ADR 0016, PAT-6):
// pat_ → a PAT, shr_ → a share, anything else → a session. A malformed
// pat_ or shr_ token stays with its own verifier and fails there; it is
// never retried as a session.
func Classify(token string) PrincipalKind {
	switch {
	case strings.HasPrefix(token, "pat_"):
		return KindPAT
	case strings.HasPrefix(token, SharePrefix):
		return KindShare
	}
	return KindSession
}

// BearerToken extracts the token of an Authorization header, matching the
// scheme case-insensitively (RFC 6750, audit H5). ok is false when the
// header is missing or of another scheme.
func BearerToken(header string) (token string, ok bool) {
	scheme, token, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// Resolve authenticates a bearer token with the verifier its prefix names,
// and no other. address is the client's ("" if unknown): a PAT whose id or
// secret is wrong costs an Argon2id verification, so such failures are
// throttled per address, and a flood of made-up PATs cannot keep the
// hashing pool from sign-ins. (Session and share tokens cost one SHA-256
// and are 256-bit guesses: not throttled.)
func (s *Service) Resolve(ctx context.Context, token, address string) (Principal, error) {
	switch Classify(token) {
	case KindPAT:
		addr := addressKey(address)
		at, err := s.limit.Begin("", addr) // a locked-out address stops here
		if err != nil {
			return Principal{}, err
		}
		// An Argon2id run is charged to the address before it starts, so
		// concurrent made-up PATs from one address cannot all pass the
		// lock-out check first; a PAT that proves itself gets the charge
		// back. A cached PAT runs none and is charged nothing.
		var hashing Attempt
		p, err := s.verifyPAT(ctx, token, func() error {
			h, err := s.limit.Begin(addr)
			if err == nil {
				hashing, at = h, Attempt{}
			}
			return err
		})
		switch {
		case err == nil:
			hashing.Refund()
		case errors.Is(err, ErrInvalidToken):
			at.Fail(false) // no-op when the hash's charge stands for it
		}
		if err != nil {
			return Principal{}, err
		}
		return Principal{Kind: KindPAT, UserID: p.UserID, PAT: p}, nil
	case KindShare:
		sh, err := s.VerifyShare(ctx, token)
		if err != nil {
			return Principal{}, err
		}
		return Principal{Kind: KindShare, Share: sh}, nil
	}
	ses, err := s.Authenticate(ctx, token)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Kind: KindSession, UserID: ses.UserID, Session: ses}, nil
}
