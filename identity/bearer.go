package identity

import (
	"context"
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
// and no other.
func (s *Service) Resolve(ctx context.Context, token string) (Principal, error) {
	switch Classify(token) {
	case KindPAT:
		p, err := s.VerifyPAT(ctx, token)
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
