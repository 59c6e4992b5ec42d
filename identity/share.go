package identity

import (
	"context"
	"strings"
	"time"

	"github.com/flametrench/server/tuples"
)

// Share errors (ADR 0012, docs/shares.md). A token that fails verification
// is a 401: the bearer has no valid proof.
var (
	ErrInvalidShareToken = e(tuples.Unauthenticated, "invalid_share_token", "share token is not valid") // InvalidShareTokenError
	ErrShareRevoked      = e(tuples.Unauthenticated, "share_revoked", "share revoked")                  // ShareRevokedError
	ErrShareConsumed     = e(tuples.Unauthenticated, "share_consumed", "single-use share already used") // ShareConsumedError
	ErrShareExpired      = e(tuples.Unauthenticated, "share_expired", "share expired")                  // ShareExpiredError
	ErrShareLifetime     = e(tuples.Invalid, "invalid_format.expires_in_seconds", "expires_in_seconds must be 1 to 31536000")
)

// SharePrefix starts every share token, so bearer routing can tell shares
// from sessions and PATs (PAT-6, A21: the reference SDKs mint unprefixed
// tokens, which no router could classify).
const SharePrefix = "shr_"

// NewShare is a createShare request.
type NewShare struct {
	Object    tuples.Ref
	Relation  string
	CreatedBy UUID
	ExpiresIn time.Duration
	SingleUse bool
}

// CreateShare mints a share token for read access to one object by one
// relation. The creator must be active (SHR-2: not revoked, and we also
// refuse suspended ones, the SHOULD). The token is returned once.
func (s *Service) CreateShare(ctx context.Context, in NewShare) (Share, string, error) {
	if err := tuples.CheckObject(in.Object); err != nil {
		return Share{}, "", err
	}
	if err := tuples.CheckRelation(in.Relation); err != nil {
		return Share{}, "", err
	}
	if in.ExpiresIn < time.Second || in.ExpiresIn > MaxShareLifetime {
		return Share{}, "", ErrShareLifetime // A22: a format error, as security.md and both SDKs have it
	}
	secret, _ := newSecret()
	token := SharePrefix + secret
	hash := hashToken(token)
	now := s.clock()
	sh := Share{ID: tuples.NewUUID(), Object: in.Object, Relation: in.Relation, CreatedBy: in.CreatedBy,
		ExpiresAt: now.Add(in.ExpiresIn), SingleUse: in.SingleUse, CreatedAt: now, TokenHash: hash}
	err := s.update(ctx, func(tx Tx) error {
		if _, err := activeUser(ctx, tx, in.CreatedBy); err != nil {
			return err
		}
		return tx.PutShare(ctx, sh)
	})
	if err != nil {
		return Share{}, "", err
	}
	return sh, token, nil
}

// GetShare returns the share, or ErrShareNotFound.
func (s *Service) GetShare(ctx context.Context, id UUID) (Share, error) {
	return read(ctx, s, func(tx Tx) (Share, error) { return tx.Share(ctx, id) })
}

// ListShares pages through an object's shares, every state, in id order
// (SHR-4).
func (s *Service) ListShares(ctx context.Context, object tuples.Ref, cursor string, limit int) (Page[Share], error) {
	if err := tuples.CheckObject(object); err != nil {
		return Page[Share]{}, err
	}
	limit, after, err := tuples.PageArgsOf("shr", cursor, limit)
	if err != nil {
		return Page[Share]{}, err
	}
	var out []Share
	err = s.view(ctx, func(tx Tx) error {
		out, err = tx.Shares(ctx, object, after, limit+1)
		return err
	})
	return tuples.CutPage("shr", out, limit, func(sh Share) UUID { return sh.ID }), err
}

// RevokeShare revokes a share; revoking again keeps the first revoked_at
//
func (s *Service) RevokeShare(ctx context.Context, id UUID) (Share, error) {
	var sh Share
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if sh, err = tx.Share(ctx, id); err != nil || sh.RevokedAt != nil {
			return err
		}
		now := s.clock()
		sh.RevokedAt = &now
		return tx.PutShare(ctx, sh)
	})
	return sh, err
}

// VerifyShare checks a share token in the normative order (SHR-3): look up
// by SHA-256 → compare in constant time → revoked → consumed → expired →
// consume a single-use share. Consumption happens under the row's lock, so
// of concurrent verifications of one single-use token exactly one succeeds.
// The result grants only what the share names; it is never a user
// (SHR-5).
func (s *Service) VerifyShare(ctx context.Context, token string) (Share, error) {
	if !strings.HasPrefix(token, SharePrefix) || len(token) > maxTokenLen {
		return Share{}, ErrInvalidShareToken
	}
	hash := hashToken(token)
	byToken := func(tx Tx) (Share, error) {
		sh, err := tx.ShareByToken(ctx, hash)
		if err != nil {
			return sh, err
		}
		return sh, shareState(sh, hash, s.clock())
	}
	sh, err := read(ctx, s, byToken)
	if isNotFound(err) {
		return Share{}, ErrInvalidShareToken
	}
	if err != nil || !sh.SingleUse {
		return sh, err
	}
	// Single use: check again and consume under the row's lock.
	err = s.update(ctx, func(tx Tx) error {
		var err error
		if sh, err = byToken(tx); isNotFound(err) {
			return ErrInvalidShareToken
		} else if err != nil {
			return err
		}
		now := s.clock()
		sh.ConsumedAt = &now
		return tx.PutShare(ctx, sh)
	})
	return sh, err
}

// shareState applies the verification order after the lookup (SHR-3).
func shareState(sh Share, hash [32]byte, now time.Time) error {
	switch {
	case !sameHash(sh.TokenHash, hash):
		return ErrInvalidShareToken
	case sh.RevokedAt != nil:
		return ErrShareRevoked
	case sh.SingleUse && sh.ConsumedAt != nil:
		return ErrShareConsumed
	case !now.Before(sh.ExpiresAt):
		return ErrShareExpired
	}
	return nil
}
