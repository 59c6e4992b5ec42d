package tenancy

import (
	"context"
	"errors"

	"github.com/flametrench/server/tuples"
)

// Reads the transport's authorization needs: who the caller is in an
// organization, and whether a user is an invitation's invitee. They
// decide nothing and change nothing; each runs in one read-only view.

// ActiveMembership returns the user's active membership of the org, or
// ErrMembershipNotFound (MEM-1: there is at most one). The org's own
// status is not consulted: a suspended org's members are still members.
func (s *Service) ActiveMembership(ctx context.Context, org, user UUID) (Membership, error) {
	return read(ctx, s, func(tx Tx) (Membership, error) { return tx.ActiveMembership(ctx, org, user) })
}

// FirstOwner returns the user of the org's first active owner membership
// (in id order): the authority a platform admin who holds no membership
// acts on where a rule needs an acting member. The org must be active
// (ErrOrgNotActive) and have an owner (ErrNoOwner).
func (s *Service) FirstOwner(ctx context.Context, org UUID) (UUID, error) {
	return read(ctx, s, func(tx Tx) (UUID, error) {
		o, err := tx.Org(ctx, org)
		if err != nil {
			return UUID{}, err
		}
		if o.Status != Active {
			return UUID{}, ErrOrgNotActive.With("%s is %s", tuples.FormatID("org", org), o.Status)
		}
		owners, err := tx.ActiveOwners(ctx, org, 1)
		if err != nil {
			return UUID{}, err
		}
		if len(owners) == 0 {
			return UUID{}, ErrNoOwner.With("%s has no active owner", tuples.FormatID("org", org))
		}
		return owners[0].UserID, nil
	})
}

// HoldsIdentifier reports whether the user is the one an invitation to
// identifier is for, by the test accepting it applies (A32): the user
// holds an active credential with exactly that identifier, and no other
// user holds one of any type.
func (s *Service) HoldsIdentifier(ctx context.Context, user UUID, identifier string) (bool, error) {
	if !tuples.ValidText(identifier) { // no credential has it, and a store could not look it up
		return false, ErrInvalidInput.With("identifier must be UTF-8 without NUL")
	}
	return read(ctx, s, func(tx Tx) (bool, error) {
		err := ownsIdentifier(ctx, tx, user, identifier)
		if errors.Is(err, ErrIdentifierUnowned) {
			return false, nil
		}
		return err == nil, err
	})
}
