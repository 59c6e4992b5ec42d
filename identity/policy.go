package identity

import (
	"context"
	"time"

	"github.com/flametrench/server/tuples"
)

// GetPolicy returns the user's MFA policy. A user who never had one has
// Required false, no grace period, and UpdatedAt their creation time (A14:
// the spec requires updated_at but defines no value for a missing row; the
// moment since which "not required" has held is the honest one).
func (s *Service) GetPolicy(ctx context.Context, user UUID) (Policy, error) {
	var p Policy
	err := s.view(ctx, func(tx Tx) error {
		u, err := tx.User(ctx, user)
		if err != nil {
			return err
		}
		var ok bool
		if p, ok, err = tx.Policy(ctx, user); err == nil && !ok {
			p = Policy{UserID: user, UpdatedAt: u.CreatedAt}
		}
		return err
	})
	return p, err
}

// SetPolicy upserts the user's MFA policy (idempotent, X-4). With graceUntil
// set, MFA is required only from then on (MFA-8).
func (s *Service) SetPolicy(ctx context.Context, user UUID, required bool, graceUntil *time.Time) (Policy, error) {
	if graceUntil != nil {
		g := graceUntil.UTC().Truncate(time.Microsecond)
		graceUntil = &g
	}
	p := Policy{UserID: user, Required: required, GraceUntil: graceUntil, UpdatedAt: s.clock()}
	err := s.update(ctx, func(tx Tx) error {
		u, err := tx.User(ctx, user)
		if err != nil {
			return err
		}
		if u.Status == Revoked {
			return ErrAlreadyTerminal.With("usr %s is revoked", tuples.FormatID("usr", user))
		}
		return tx.PutPolicy(ctx, p)
	})
	return p, err
}
