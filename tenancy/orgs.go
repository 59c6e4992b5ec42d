package tenancy

import (
	"context"

	"github.com/flametrench/server/tuples"
)

// OrgInput is createOrg's optional name and slug (ADR 0011).
type OrgInput struct {
	Name, Slug *string
}

func checkName(name *string) error {
	if name != nil && (len(*name) > maxOrgName || !tuples.ValidText(*name)) {
		return ErrInvalidInput.With("name must be at most %d bytes of UTF-8 without NUL", maxOrgName)
	}
	return nil
}

// checkSlug refuses a slug off ORG-3's pattern with the spec's
// ErrSlugFormat; one that is not even text a column could hold (a NUL, or
// bytes that are not UTF-8) is a format error like any other such string
// (tuples.ValidText), as the REST edge and the other modules answer it.
func checkSlug(slug *string) error {
	if slug != nil && !tuples.ValidText(*slug) {
		return ErrInvalidInput.With("slug must be UTF-8 without NUL")
	}
	if slug != nil && !slugPattern.MatchString(*slug) {
		return ErrSlugFormat.With("slug %q must match %s", tuples.Truncate(*slug), slugPattern)
	}
	return nil
}

// CreateOrg creates an organization with the creator, an active user, as
// its owner: the org, the owner membership and the owner tuple commit
// together (ORG-2).
func (s *Service) CreateOrg(ctx context.Context, creator UUID, in OrgInput) (Org, Membership, error) {
	if err := checkName(in.Name); err != nil {
		return Org{}, Membership{}, err
	}
	if err := checkSlug(in.Slug); err != nil {
		return Org{}, Membership{}, err
	}
	now := s.clock()
	o := Org{ID: tuples.NewUUID(), Name: in.Name, Slug: in.Slug, Status: Active, CreatedAt: now, UpdatedAt: now}
	m := Membership{ID: tuples.NewUUID(), UserID: creator, OrgID: o.ID, Role: Owner, Status: Active, CreatedAt: now, UpdatedAt: now}
	err := s.update(ctx, func(tx Tx) error {
		if _, err := activeUser(ctx, tx, creator); err != nil {
			return err
		}
		if err := tx.PutOrg(ctx, o); err != nil {
			return err
		}
		if err := tx.PutMembership(ctx, m); err != nil {
			return err
		}
		return grant(ctx, tx, m)
	})
	if err != nil {
		return Org{}, Membership{}, err
	}
	return o, m, nil
}

// GetOrg returns an organization in any state, or ErrOrgNotFound.
func (s *Service) GetOrg(ctx context.Context, id UUID) (Org, error) {
	return read(ctx, s, func(tx Tx) (Org, error) { return tx.Org(ctx, id) })
}

// OrgPatch is updateOrg's partial update: a nil field is left as it is; a
// field pointing at nil clears it.
type OrgPatch struct {
	Name, Slug **string
}

// UpdateOrg applies the patch (ORG-4); a patch that changes nothing
// writes nothing. A suspended org may be updated, a revoked one is
// ErrAlreadyTerminal. A slug is checked for format
// (ErrSlugFormat) and uniqueness (ErrSlugTaken); clearing or changing it
// frees the old one at once. by, when not zero, is the member updating it:
// an active owner or admin (acting).
func (s *Service) UpdateOrg(ctx context.Context, id UUID, p OrgPatch, by UUID) (Org, error) {
	if p.Name != nil {
		if err := checkName(*p.Name); err != nil {
			return Org{}, err
		}
	}
	if p.Slug != nil {
		if err := checkSlug(*p.Slug); err != nil {
			return Org{}, err
		}
	}
	var o Org
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if o, err = tx.Org(ctx, id); err != nil {
			return err
		}
		if err := acting(ctx, tx, id, by, managers); err != nil {
			return err
		}
		if o.Status == Revoked {
			return ErrAlreadyTerminal.With("%s is revoked", tuples.FormatID("org", id))
		}
		was := o
		if p.Name != nil {
			o.Name = *p.Name
		}
		if p.Slug != nil {
			o.Slug = *p.Slug
		}
		if equalPtr(o.Name, was.Name) && equalPtr(o.Slug, was.Slug) {
			return nil // nothing changes, not even updated_at
		}
		o.UpdatedAt = s.clock()
		return tx.PutOrg(ctx, o)
	})
	if err != nil {
		return Org{}, err
	}
	return o, nil
}

// SuspendOrg suspends an active organization. Its memberships keep their
// status, but their tuples are removed until ReinstateOrg puts them back
// (A28: "reinstating re-activates the authorization grants", so while
// suspended the grants are inactive). Suspending a suspended org changes
// nothing.
func (s *Service) SuspendOrg(ctx context.Context, id UUID) (Org, error) {
	return s.transitionOrg(ctx, id, Suspended, UUID{})
}

// ReinstateOrg returns a suspended organization to active and restores
// the tuples of its active memberships. Reinstating an active org changes
// nothing.
func (s *Service) ReinstateOrg(ctx context.Context, id UUID) (Org, error) {
	return s.transitionOrg(ctx, id, Active, UUID{})
}

// RevokeOrg ends an organization for good (ORG-1): every membership not
// yet revoked is revoked, and the tuples of those that were in force are
// removed, in one transaction. The row is kept. Revoking twice is
// ErrAlreadyTerminal. by, when not zero, is the member revoking it: an
// active owner (acting).
func (s *Service) RevokeOrg(ctx context.Context, id, by UUID) (Org, error) {
	return s.transitionOrg(ctx, id, Revoked, by)
}

// transitionOrg moves the org to status to, on the authority of by, an
// owner, when not zero (suspension and reinstatement are the platform's,
// and pass zero).
func (s *Service) transitionOrg(ctx context.Context, id UUID, to Status, by UUID) (Org, error) {
	var o Org
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if o, err = tx.Org(ctx, id); err != nil {
			return err
		}
		if err := acting(ctx, tx, id, by, []Role{Owner}); err != nil {
			return err
		}
		from := o.Status
		switch {
		case from == Revoked:
			return ErrAlreadyTerminal.With("%s is revoked", tuples.FormatID("org", id))
		case from == to:
			return nil
		}
		now := s.clock()
		o.Status, o.UpdatedAt = to, now
		if err := tx.PutOrg(ctx, o); err != nil {
			return err
		}
		// The active memberships' tuples go (suspend; revoke of an active
		// org) or come back (reinstate). Revocation also ends every
		// membership not yet revoked, the suspended ones with no tuple.
		op := tuples.OpDelete
		if to == Active {
			op = tuples.OpCreate
		}
		statuses := []Status{Active}
		if to == Revoked {
			statuses = append(statuses, Suspended)
		}
		for _, st := range statuses {
			err := eachBatch(ctx, tx, id, st, func(ms []Membership) error {
				var changes []tuples.Change
				for _, m := range ms {
					if st == Active && (to != Revoked || from == Active) {
						changes = append(changes, m.tupleChange(op))
					}
					if to == Revoked {
						m.Status, m.UpdatedAt = Revoked, now
						if err := tx.PutMembership(ctx, m); err != nil {
							return err
						}
					}
				}
				return writeTuples(ctx, tx, changes)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Org{}, err
	}
	return o, nil
}

// memberBatch is how many memberships an organization-wide change reads
// and writes the tuples of at a time.
const memberBatch = 500

// eachBatch calls fn with the org's memberships of one status, in id
// order, memberBatch at a time. fn may change the memberships it is given.
func eachBatch(ctx context.Context, tx Tx, org UUID, status Status, fn func([]Membership) error) error {
	var after UUID
	for {
		ms, err := tx.Memberships(ctx, MembershipQuery{Org: org, After: after, Limit: memberBatch, Status: status})
		if err != nil || len(ms) == 0 {
			return err
		}
		if err := fn(ms); err != nil {
			return err
		}
		if len(ms) < memberBatch {
			return nil
		}
		after = ms[len(ms)-1].ID
	}
}

// ListOrgsOf pages through the organizations the user holds an active or
// suspended membership of, in id order (A52's listOrgs).
func (s *Service) ListOrgsOf(ctx context.Context, user UUID, cursor string, limit int) (Page[Org], error) {
	limit, after, err := tuples.PageArgsOf("org", cursor, limit)
	if err != nil {
		return Page[Org]{}, err
	}
	orgs, err := read(ctx, s, func(tx Tx) ([]Org, error) {
		if _, err := tx.Identity().User(ctx, user); err != nil {
			return nil, err
		}
		return tx.OrgsOf(ctx, user, after, limit+1)
	})
	if err != nil {
		return Page[Org]{}, err
	}
	return tuples.CutPage("org", orgs, limit, func(o Org) UUID { return o.ID }), nil
}

func equalPtr[T comparable](a, b *T) bool {
	return a == b || (a != nil && b != nil && *a == *b)
}
