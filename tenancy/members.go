package tenancy

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
)

// AddMember adds an active user to an active organization with a role
// (addMember): the membership and its tuple commit together. A user has at
// most one active membership of an org (ErrDuplicateMembership, MEM-1).
// invitedBy may be zero. by, when not zero, is the member adding: an
// active owner or admin whose rank is at least the role (acting).
func (s *Service) AddMember(ctx context.Context, org, user UUID, role Role, invitedBy, by UUID) (Membership, error) {
	if err := checkRole(role); err != nil {
		return Membership{}, err
	}
	now := s.clock()
	m := Membership{ID: tuples.NewUUID(), UserID: user, OrgID: org, Role: role, Status: Active, InvitedBy: invitedBy, CreatedAt: now, UpdatedAt: now}
	err := s.update(ctx, func(tx Tx) error {
		// The user first, then the org (lockFor's order).
		if _, err := activeUser(ctx, tx, user); err != nil {
			return err
		}
		if _, err := activeOrg(ctx, tx, org); err != nil {
			return err
		}
		if err := acting(ctx, tx, org, by, managers, role); err != nil {
			return err
		}
		return add(ctx, tx, m)
	})
	if err != nil {
		return Membership{}, err
	}
	return m, nil
}

// add stores a new active membership and its tuple. An org without an
// active owner (its last one was revoked with their account) takes an
// owner before anyone else, so it never has members and no owner (MEM-4).
func add(ctx context.Context, tx Tx, m Membership) error {
	if m.Role != Owner {
		owners, err := tx.ActiveOwners(ctx, m.OrgID, 1)
		if err != nil {
			return err
		}
		if len(owners) == 0 {
			return ErrNoOwner.With("%s has no active owner: add an owner first", tuples.FormatID("org", m.OrgID))
		}
	}
	if _, err := tx.ActiveMembership(ctx, m.OrgID, m.UserID); err == nil {
		return ErrDuplicateMembership.With("%s already has an active membership of %s",
			tuples.FormatID("usr", m.UserID), tuples.FormatID("org", m.OrgID))
	} else if !errors.Is(err, ErrMembershipNotFound) {
		return err
	}
	if err := tx.PutMembership(ctx, m); err != nil {
		return err
	}
	return grant(ctx, tx, m)
}

// GetMembership returns a membership in any state.
func (s *Service) GetMembership(ctx context.Context, id UUID) (Membership, error) {
	return read(ctx, s, func(tx Tx) (Membership, error) { return tx.Membership(ctx, id) })
}

// ListMembers pages through an organization's memberships in id order,
// optionally of one status.
func (s *Service) ListMembers(ctx context.Context, org UUID, status Status, cursor string, limit int) (Page[Membership], error) {
	limit, after, err := tuples.PageArgsOf("mem", cursor, limit)
	if err != nil {
		return Page[Membership]{}, err
	}
	if status != "" && status != Active && status != Suspended && status != Revoked {
		return Page[Membership]{}, ErrInvalidInput.With("status must be active, suspended or revoked")
	}
	ms, err := read(ctx, s, func(tx Tx) ([]Membership, error) {
		if _, err := tx.Org(ctx, org); err != nil {
			return nil, err
		}
		return tx.Memberships(ctx, MembershipQuery{Org: org, After: after, Limit: limit + 1, Status: status})
	})
	if err != nil {
		return Page[Membership]{}, err
	}
	return tuples.CutPage("mem", ms, limit, func(m Membership) UUID { return m.ID }), nil
}

// lockOrder is the order every rule takes its locks in, so that no two
// transactions wait on each other: the users involved, in id order, then
// the organization. lockFor takes them for membership id (and the extra
// users) and returns the membership as read under the locks (it may have
// changed before they were taken).
func lockFor(ctx context.Context, tx Tx, id UUID, users ...UUID) (Membership, error) {
	m, err := tx.Membership(ctx, id)
	if err != nil {
		return m, err
	}
	users = append(users, m.UserID)
	slices.SortFunc(users, UUID.Compare)
	for _, u := range slices.Compact(users) {
		if u.IsZero() {
			continue
		}
		if _, err := tx.Identity().User(ctx, u); err != nil {
			return m, err
		}
	}
	if _, err := activeOrg(ctx, tx, m.OrgID); err != nil {
		return m, err
	}
	return tx.Membership(ctx, id)
}

// loadActive is lockFor for a membership that must be active.
func loadActive(ctx context.Context, tx Tx, id UUID, users ...UUID) (Membership, error) {
	m, err := lockFor(ctx, tx, id, users...)
	if err == nil && m.Status != Active {
		err = ErrMembershipNotActive.With("%s is %s", tuples.FormatID("mem", id), m.Status)
	}
	return m, err
}

// requireOtherOwner refuses a change that would leave m's organization
// without an active owner (MEM-4): m is an active owner and the only one.
func requireOtherOwner(ctx context.Context, tx Tx, m Membership) error {
	if m.Role != Owner || m.Status != Active {
		return nil
	}
	owners, err := tx.ActiveOwners(ctx, m.OrgID, 2)
	if err != nil {
		return err
	}
	for _, o := range owners {
		if o.ID != m.ID {
			return nil
		}
	}
	return ErrSoleOwner.With("%s is the sole active owner of %s", tuples.FormatID("usr", m.UserID), tuples.FormatID("org", m.OrgID))
}

// replace is a role change by revoke-and-re-add (MEM-3): m is revoked, a
// new active membership with the role replaces it, and the tuple is
// swapped — four steps of the caller's transaction.
func replace(ctx context.Context, tx Tx, m Membership, role Role, now time.Time) (Membership, error) {
	old := m
	old.Status, old.UpdatedAt = Revoked, now
	if err := tx.PutMembership(ctx, old); err != nil {
		return Membership{}, err
	}
	if err := revokeTuple(ctx, tx, m); err != nil {
		return Membership{}, err
	}
	n := Membership{ID: tuples.NewUUID(), UserID: m.UserID, OrgID: m.OrgID, Role: role, Status: Active, Replaces: m.ID,
		InvitedBy: m.InvitedBy, CreatedAt: now, UpdatedAt: now}
	if err := tx.PutMembership(ctx, n); err != nil {
		return Membership{}, err
	}
	return n, grant(ctx, tx, n)
}

// ChangeRole changes an active membership's role by revoke-and-re-add, in
// one transaction (MEM-3), and returns the new membership. Demoting the
// sole active owner is ErrSoleOwner. The same role again changes nothing.
// by, when not zero, is the member changing it: an active owner or admin
// whose rank is at least both the current role and the new one (acting).
func (s *Service) ChangeRole(ctx context.Context, id UUID, role Role, by UUID) (Membership, error) {
	if err := checkRole(role); err != nil {
		return Membership{}, err
	}
	var n Membership
	err := s.update(ctx, func(tx Tx) error {
		m, err := loadActive(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := acting(ctx, tx, m.OrgID, by, managers, m.Role, role); err != nil {
			return err
		}
		if m.Role == role {
			n = m
			return nil
		}
		if role != Owner {
			if err := requireOtherOwner(ctx, tx, m); err != nil {
				return err
			}
		}
		n, err = replace(ctx, tx, m, role, s.clock())
		return err
	})
	if err != nil {
		return Membership{}, err
	}
	return n, nil
}

// SuspendMembership suspends an active membership and removes its tuple;
// the sole active owner cannot be suspended (ErrSoleOwner, A25).
// Suspending a suspended membership changes nothing. by, when not zero,
// is the member suspending it: an active owner or admin whose rank is at
// least the membership's role (acting); so too for ReinstateMembership.
func (s *Service) SuspendMembership(ctx context.Context, id, by UUID) (Membership, error) {
	return s.transitionMembership(ctx, id, Suspended, by)
}

// ReinstateMembership returns a suspended membership to active in place
// (A29) and restores its tuple; the user must be active and have no other
// active membership of the org. Reinstating an active one changes nothing.
func (s *Service) ReinstateMembership(ctx context.Context, id, by UUID) (Membership, error) {
	return s.transitionMembership(ctx, id, Active, by)
}

func (s *Service) transitionMembership(ctx context.Context, id UUID, to Status, by UUID) (Membership, error) {
	var m Membership
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if m, err = lockFor(ctx, tx, id); err != nil {
			return err
		}
		if err := acting(ctx, tx, m.OrgID, by, managers, m.Role); err != nil {
			return err
		}
		switch {
		case m.Status == Revoked:
			return ErrAlreadyTerminal.With("%s is revoked", tuples.FormatID("mem", id))
		case m.Status == to:
			return nil
		}
		now := s.clock()
		if to == Suspended {
			if err := requireOtherOwner(ctx, tx, m); err != nil {
				return err
			}
			m.Status, m.UpdatedAt = Suspended, now
			if err := tx.PutMembership(ctx, m); err != nil {
				return err
			}
			return revokeTuple(ctx, tx, m)
		}
		if _, err := activeUser(ctx, tx, m.UserID); err != nil {
			return err
		}
		m.Status, m.UpdatedAt = Active, now
		// add re-checks MEM-1 and writes the row and the tuple.
		return add(ctx, tx, m)
	})
	if err != nil {
		return Membership{}, err
	}
	return m, nil
}

// SelfLeave ends the caller's own membership (MEM-5): revoked, removed_by
// empty, tuple removed. An owner who names transferTo, an active member's
// user, makes them an owner in the same transaction; the sole active owner
// must name one (else ErrSoleOwner). A member who is not an owner leaves
// unconditionally, and transferTo, ownership they do not hold, is ignored.
// The caller's identity is the transport's to check.
func (s *Service) SelfLeave(ctx context.Context, id, transferTo UUID) (Membership, error) {
	var m Membership
	err := s.update(ctx, func(tx Tx) error {
		// A membership's role never changes (a role change makes a new
		// one), so whether the target matters is known before the locks;
		// a member's target is not even read.
		m0, err := tx.Membership(ctx, id)
		if err != nil {
			return err
		}
		if m0.Role != Owner {
			transferTo = UUID{}
		}
		if m, err = loadActive(ctx, tx, id, transferTo); err != nil {
			return err
		}
		now := s.clock()
		if !transferTo.IsZero() {
			if transferTo == m.UserID {
				return ErrSelfTransfer
			}
			if _, err := activeUser(ctx, tx, transferTo); err != nil {
				return err
			}
			to, err := tx.ActiveMembership(ctx, m.OrgID, transferTo)
			if errors.Is(err, ErrMembershipNotFound) {
				return ErrMembershipNotActive.With("transfer_to %s is not an active member of %s",
					tuples.FormatID("usr", transferTo), tuples.FormatID("org", m.OrgID))
			} else if err != nil {
				return err
			}
			if to.Role != Owner {
				if _, err := replace(ctx, tx, to, Owner, now); err != nil {
					return err
				}
			}
		} else if err := requireOtherOwner(ctx, tx, m); err != nil {
			return err
		}
		return remove(ctx, tx, &m, UUID{}, now)
	})
	if err != nil {
		return Membership{}, err
	}
	return m, nil
}

// remove revokes an active membership and its tuple, noting who removed it
// (zero: the member left).
func remove(ctx context.Context, tx Tx, m *Membership, by UUID, now time.Time) error {
	m.Status, m.RemovedBy, m.UpdatedAt = Revoked, by, now
	if err := tx.PutMembership(ctx, *m); err != nil {
		return err
	}
	return revokeTuple(ctx, tx, *m)
}

// AdminRemove revokes another member's membership on an admin's authority
// (MEM-6): the admin must hold an active owner or admin membership of the
// org (else ErrForbidden), an owner can never be removed this way, and the
// admin's rank must be at least the target's (ErrRoleHierarchy).
func (s *Service) AdminRemove(ctx context.Context, admin, id UUID) (Membership, error) {
	var m Membership
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if m, err = loadActive(ctx, tx, id); err != nil {
			return err
		}
		if err := standing(ctx, tx, m.OrgID, admin, managers, m.Role); err != nil {
			return err
		}
		if m.Role == Owner {
			return ErrRoleHierarchy.With("an owner cannot be removed by adminRemove")
		}
		return remove(ctx, tx, &m, admin, s.clock())
	})
	if err != nil {
		return Membership{}, err
	}
	return m, nil
}

// TransferOwnership makes to's user an owner and from's a member, both by
// revoke-and-re-add, in one transaction (MEM-7): no state with zero or two
// owners is ever committed. from must be an active owner (ErrNotOwner) and
// to an active membership of the same org (ErrOrgMismatch) of another user
// (ErrSelfTransfer). It returns the new memberships. by, when not zero, is
// the owner handing over their own ownership: an active owner whose
// membership is from (else ErrForbidden, as acting).
func (s *Service) TransferOwnership(ctx context.Context, org, fromID, toID, by UUID) (from, to Membership, err error) {
	err = s.update(ctx, func(tx Tx) error {
		t, err := tx.Membership(ctx, toID)
		if err != nil {
			return err
		}
		f, err := lockFor(ctx, tx, fromID, t.UserID)
		if err != nil {
			return err
		}
		if t, err = tx.Membership(ctx, toID); err != nil {
			return err
		}
		if err := acting(ctx, tx, org, by, []Role{Owner}); err != nil {
			return err
		}
		if !by.IsZero() && f.UserID != by {
			return ErrForbidden.With("an owner transfers their own ownership: %s is not %s's", tuples.FormatID("mem", fromID), tuples.FormatID("usr", by))
		}
		switch {
		case f.OrgID != org || t.OrgID != org:
			return ErrOrgMismatch.With("both memberships must be of %s", tuples.FormatID("org", org))
		case f.Status != Active || f.Role != Owner:
			return ErrNotOwner.With("%s is not an active owner membership", tuples.FormatID("mem", fromID))
		case f.UserID == t.UserID:
			return ErrSelfTransfer
		case t.Status != Active:
			return ErrMembershipNotActive.With("%s is %s", tuples.FormatID("mem", toID), t.Status)
		}
		if _, err := activeUser(ctx, tx, t.UserID); err != nil {
			return err // ownership goes to an active user only
		}
		now := s.clock()
		to = t
		if t.Role != Owner {
			if to, err = replace(ctx, tx, t, Owner, now); err != nil {
				return err
			}
		}
		from, err = replace(ctx, tx, f, Member, now)
		return err
	})
	if err != nil {
		return Membership{}, Membership{}, err
	}
	return from, to, nil
}

// RevokeUser is identity's OnRevokeUser hook: inside the user's revocation
// it revokes every membership of theirs not yet revoked, with the tuples of
// those in force (A36). An active owner with no other active owner is
// refused (ErrSoleOwner) while the org has other active members, who would
// be left without one: transfer ownership first (a suspended org must be
// reinstated for that, or revoked).
func (s *Service) RevokeUser(ctx context.Context, itx identity.Tx, user UUID) error {
	return s.store.Join(ctx, itx, func(tx Tx) error {
		ms, err := tx.MembershipsOf(ctx, user)
		if err != nil {
			return err
		}
		// Lock the orgs in id order, so two revocations sharing orgs
		// cannot deadlock, then list again under the locks: a membership
		// may have changed before they were taken.
		orgs := map[UUID]Org{}
		ids := make([]UUID, 0, len(ms))
		for _, m := range ms {
			ids = append(ids, m.OrgID)
		}
		slices.SortFunc(ids, UUID.Compare)
		for _, id := range slices.Compact(ids) {
			if orgs[id], err = tx.Org(ctx, id); err != nil {
				return err
			}
		}
		if ms, err = tx.MembershipsOf(ctx, user); err != nil {
			return err
		}
		now := s.clock()
		for _, m := range ms {
			o, ok := orgs[m.OrgID]
			if !ok { // a membership added between the two listings
				if o, err = tx.Org(ctx, m.OrgID); err != nil {
					return err
				}
			}
			if err := requireOtherOwner(ctx, tx, m); err != nil {
				others, lerr := tx.Memberships(ctx, MembershipQuery{Org: m.OrgID, Status: Active, Limit: 2})
				if lerr != nil {
					return lerr
				}
				if len(others) > 1 {
					return err
				}
			}
			if m.Status == Active && o.Status == Active {
				if err := revokeTuple(ctx, tx, m); err != nil {
					return err
				}
			}
			m.Status, m.UpdatedAt = Revoked, now
			if err := tx.PutMembership(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
}
