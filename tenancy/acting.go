package tenancy

import (
	"context"
	"errors"
	"slices"

	"github.com/flametrench/server/tuples"
)

// managers are the roles that manage an organization's members and
// invitations (DESIGN §4).
var managers = []Role{Owner, Admin}

// standing requires user to hold an active membership of org with one of
// roles (ErrForbidden otherwise, a missing membership included), whose rank
// is at least each of ranks (ErrRoleHierarchy, MEM-6's hierarchy). It is
// the rank rule every write made on a member's authority applies inside
// its own transaction, after the organization's row is locked: every
// membership change locks it first, so the standing read here holds until
// the commit.
func standing(ctx context.Context, tx Tx, org, user UUID, roles []Role, ranks ...Role) error {
	m, err := tx.ActiveMembership(ctx, org, user)
	switch {
	case errors.Is(err, ErrMembershipNotFound):
		return ErrForbidden.With("%s is not an active member of %s", tuples.FormatID("usr", user), tuples.FormatID("org", org))
	case err != nil:
		return err
	case !slices.Contains(roles, m.Role):
		return ErrForbidden.With("%s is a %s of %s; this takes an %s", tuples.FormatID("usr", user), m.Role,
			tuples.FormatID("org", org), RoleList(roles))
	}
	for _, r := range ranks {
		if m.Role.Rank() < r.Rank() {
			return ErrRoleHierarchy.With("a %s cannot act on the role %s", m.Role, r)
		}
	}
	return nil
}

// acting is standing for the member a write acts on behalf of, by. Zero
// by is a write no member acts for (a platform admin, or a library caller
// that authorized it some other way), and nothing is checked: the
// transport's policy decides who may call, and this re-check closes the
// gap between its read and the write (a demotion or removal committed in
// between is refused here with the error the policy would have given, but
// 403 forbidden for a member removed, where the policy tells a non-member
// 404).
func acting(ctx context.Context, tx Tx, org, by UUID, roles []Role, ranks ...Role) error {
	if by.IsZero() {
		return nil
	}
	return standing(ctx, tx, org, by, roles, ranks...)
}

// RoleList words roles for a person: "owner", "owner or admin",
// "owner, admin or member".
func RoleList(roles []Role) string {
	s := ""
	for i, r := range roles {
		switch {
		case i == 0:
		case i == len(roles)-1:
			s += " or "
		default:
			s += ", "
		}
		s += string(r)
	}
	return s
}
