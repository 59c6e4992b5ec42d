package tenancy

import (
	"context"
	"errors"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
)

// Bounds on invitation input.
const (
	maxIdentifier = 320
	maxPreTuples  = 100
	// DefaultMaxPendingInvitations bounds an organization's pending
	// invitations: revoke some, or let them expire, to invite more.
	DefaultMaxPendingInvitations = 1000
	MaxInvitationTTL             = 365 * 24 * time.Hour
)

// NewInvitation is a createInvitation request.
type NewInvitation struct {
	OrgID      UUID
	Identifier string
	Role       Role
	PreTuples  []PreTuple
	InvitedBy  UUID
	ExpiresAt  time.Time
	// AcceptTokenHash, if not zero, is stored with the invitation, in the
	// transaction that creates it: the SHA-256 of the accept token
	// (NewAcceptToken) the transport hands out.
	AcceptTokenHash [32]byte
}

// CreateInvitation invites an identifier into an active organization. The
// inviter must be an active owner or admin of it whose rank is at least the
// role's (mayInvite); expires_at is required, in the future and at most a
// year ahead; an org holds at most Config.MaxPendingInvitations pending ones
// (ErrTooManyInvitations). A pre-tuple may appear once, may not be a
// membership tuple of an organization (a role relation on org: those
// belong to tenancy, DESIGN §4), and must be one the inviter may grant
// (Config.CanGrant).
func (s *Service) CreateInvitation(ctx context.Context, in NewInvitation) (Invitation, error) {
	if err := checkRole(in.Role); err != nil {
		return Invitation{}, err
	}
	now := s.clock()
	switch {
	case in.Identifier == "" || len(in.Identifier) > maxIdentifier || !tuples.ValidText(in.Identifier):
		return Invitation{}, ErrInvalidInput.With("identifier must be 1 to %d bytes of UTF-8 without NUL", maxIdentifier)
	case !in.ExpiresAt.After(now):
		return Invitation{}, ErrPastExpiration
	case in.ExpiresAt.Sub(now) > MaxInvitationTTL:
		return Invitation{}, ErrInvalidInput.With("expires_at must be at most 365 days ahead")
	case len(in.PreTuples) > maxPreTuples:
		return Invitation{}, ErrInvalidInput.With("at most %d pre_tuples", maxPreTuples)
	}
	seen := map[PreTuple]bool{}
	for _, pt := range in.PreTuples {
		if err := tuples.CheckRelation(pt.Relation); err != nil {
			return Invitation{}, err
		}
		if err := tuples.CheckObject(tuples.Ref{Type: pt.ObjectType, ID: pt.ObjectID}); err != nil {
			return Invitation{}, err
		}
		if pt.ObjectType == "org" && Role(pt.Relation).Valid() {
			return Invitation{}, ErrInvalidInput.With("pre_tuples may not grant a membership role on an org; use the invitation's role")
		}
		if seen[pt] {
			return Invitation{}, ErrInvalidInput.With("pre_tuples lists %s on %s twice", pt.Relation, tuples.FormatID(pt.ObjectType, pt.ObjectID))
		}
		seen[pt] = true
	}
	inv := Invitation{ID: tuples.NewUUID(), OrgID: in.OrgID, Identifier: in.Identifier, Role: in.Role, Status: InvitationPending,
		PreTuples: append([]PreTuple{}, in.PreTuples...), InvitedBy: in.InvitedBy, CreatedAt: now,
		ExpiresAt: in.ExpiresAt.UTC().Truncate(time.Microsecond), AcceptTokenHash: in.AcceptTokenHash}
	err := s.update(ctx, func(tx Tx) error {
		if _, err := activeOrg(ctx, tx, in.OrgID); err != nil {
			return err
		}
		if err := mayInvite(ctx, tx, in.OrgID, in.InvitedBy, in.Role); err != nil {
			return err
		}
		if err := s.checkGrants(ctx, in.InvitedBy, in.PreTuples); err != nil {
			return err
		}
		n, err := tx.PendingInvitations(ctx, in.OrgID, now, s.maxInvites)
		if err != nil {
			return err
		}
		if n >= s.maxInvites {
			return ErrTooManyInvitations.With("%s has %d pending invitations, the most allowed", tuples.FormatID("org", in.OrgID), n)
		}
		return tx.PutInvitation(ctx, inv)
	})
	if err != nil {
		return Invitation{}, err
	}
	return inv, nil
}

// mayInvite requires the inviter to hold an active owner or admin
// membership of the org (DESIGN §4: owners and admins manage invitations)
// whose rank is at least the role's (an admin cannot invite an owner).
func mayInvite(ctx context.Context, tx Tx, org, inviter UUID, role Role) error {
	return standing(ctx, tx, org, inviter, managers, role)
}

// checkGrants asks Config.CanGrant whether the inviter may grant each
// pre-tuple; a refusal is ErrForbidden.
func (s *Service) checkGrants(ctx context.Context, inviter UUID, pts []PreTuple) error {
	if s.canGrant == nil {
		return nil
	}
	for _, pt := range pts {
		ok, err := s.canGrant(ctx, inviter, pt)
		if err != nil {
			return err
		}
		if !ok {
			return ErrForbidden.With("%s does not hold %s on %s, so cannot grant it", tuples.FormatID("usr", inviter),
				pt.Relation, tuples.FormatID(pt.ObjectType, pt.ObjectID))
		}
	}
	return nil
}

// GetInvitation returns an invitation, a pending one past expiry shown as
// expired (INV-3).
func (s *Service) GetInvitation(ctx context.Context, id UUID) (Invitation, error) {
	inv, err := read(ctx, s, func(tx Tx) (Invitation, error) { return tx.Invitation(ctx, id) })
	return inv.seenAt(s.clock()), err
}

// ListInvitations pages through an org's invitations in id order,
// optionally of one status (expired: pending ones past expiry).
func (s *Service) ListInvitations(ctx context.Context, org UUID, status InvitationStatus, cursor string, limit int) (Page[Invitation], error) {
	limit, after, err := tuples.PageArgsOf("inv", cursor, limit)
	if err != nil {
		return Page[Invitation]{}, err
	}
	switch status {
	case "", InvitationPending, InvitationAccepted, InvitationDeclined, InvitationRevoked, InvitationExpired:
	default:
		return Page[Invitation]{}, ErrInvalidInput.With("status must be pending, accepted, declined, revoked or expired")
	}
	now := s.clock()
	invs, err := read(ctx, s, func(tx Tx) ([]Invitation, error) {
		if _, err := tx.Org(ctx, org); err != nil {
			return nil, err
		}
		return tx.Invitations(ctx, InvitationQuery{Org: org, After: after, Limit: limit + 1, Status: status, Now: now})
	})
	if err != nil {
		return Page[Invitation]{}, err
	}
	for i := range invs {
		invs[i] = invs[i].seenAt(now)
	}
	return tuples.CutPage("inv", invs, limit, func(inv Invitation) UUID { return inv.ID }), nil
}

// Accepted is a successful acceptInvitation: the invitation, the new
// membership, and the tuples its pre-tuples became.
type Accepted struct {
	Invitation Invitation
	Membership Membership
	Tuples     []tuples.Tuple
}

// AcceptInvitation accepts a pending, unexpired invitation in one
// transaction (INV-4): the invitee is resolved (asUser, an active user) or
// created (asUser zero), gets an active membership with the invitation's
// role and its tuple, and one tuple per pre-tuple; the invitation becomes
// accepted. Any failure leaves everything as it was, the invitation
// pending. With asUser, acceptingIdentifier is required (ErrBindingRequired)
// and must byte-equal the invitation's identifier (ErrIdentifierMismatch,
// ADR 0009), and asUser must hold an active credential with that
// identifier (ErrIdentifierUnowned). The inviter must still be an owner or
// admin who may invite the role and grant the pre-tuples. Of
// concurrent accepts, exactly one succeeds; the others find it accepted
// (ErrInvitationNotPending).
func (s *Service) AcceptInvitation(ctx context.Context, id, asUser UUID, acceptingIdentifier string) (Accepted, error) {
	// The binding's arguments are checked before anything is read (ADR
	// 0009), then the inviter's grants, again: they may have lost them
	// since the invitation was made.
	if !asUser.IsZero() && acceptingIdentifier == "" {
		return Accepted{}, ErrBindingRequired
	}
	pre, err := read(ctx, s, func(tx Tx) (Invitation, error) { return s.pendingInvitation(ctx, tx, id) })
	if err != nil {
		return Accepted{}, err
	}
	if !asUser.IsZero() && acceptingIdentifier != pre.Identifier {
		return Accepted{}, ErrIdentifierMismatch
	}
	if err := s.checkGrants(ctx, pre.InvitedBy, pre.PreTuples); err != nil {
		return Accepted{}, err
	}
	var a Accepted
	err = s.update(ctx, func(tx Tx) error {
		// The user first, then the invitation and its org: the order
		// user revocation locks in.
		if !asUser.IsZero() {
			if _, err := activeUser(ctx, tx, asUser); err != nil {
				return err
			}
		}
		inv, err := s.pendingInvitation(ctx, tx, id)
		if err != nil {
			return err
		}
		if !asUser.IsZero() {
			switch {
			case acceptingIdentifier == "":
				return ErrBindingRequired
			case acceptingIdentifier != inv.Identifier:
				return ErrIdentifierMismatch
			}
			if err := ownsIdentifier(ctx, tx, asUser, inv.Identifier); err != nil {
				return err
			}
		}
		if _, err := activeOrg(ctx, tx, inv.OrgID); err != nil {
			return err
		}
		if err := mayInvite(ctx, tx, inv.OrgID, inv.InvitedBy, inv.Role); err != nil {
			return err
		}
		now := s.clock()
		user := asUser
		if user.IsZero() {
			u := identity.User{ID: tuples.NewUUID(), Status: identity.Active, CreatedAt: now, UpdatedAt: now}
			if err := tx.Identity().PutUser(ctx, u); err != nil {
				return err
			}
			user = u.ID
		}
		m := Membership{ID: tuples.NewUUID(), UserID: user, OrgID: inv.OrgID, Role: inv.Role, Status: Active,
			InvitedBy: inv.InvitedBy, CreatedAt: now, UpdatedAt: now}
		if err := add(ctx, tx, m); err != nil {
			return err
		}
		changes := make([]tuples.Change, len(inv.PreTuples))
		for i, pt := range inv.PreTuples {
			changes[i] = tuples.Change{Op: tuples.OpTouch, CreatedBy: inv.InvitedBy, Key: tuples.Key{
				Subject: tuples.Ref{Type: "usr", ID: user}, Relation: pt.Relation,
				Object: tuples.Ref{Type: pt.ObjectType, ID: pt.ObjectID}}}
		}
		var tups []tuples.Tuple
		if len(changes) > 0 {
			if tups, err = tx.Identity().Tuples().Write(ctx, changes); err != nil {
				return err
			}
		}
		inv.Status, inv.TerminalAt, inv.TerminalBy, inv.InvitedUserID = InvitationAccepted, &now, user, user
		if err := tx.PutInvitation(ctx, inv); err != nil {
			return err
		}
		a = Accepted{Invitation: inv, Membership: m, Tuples: tups}
		return nil
	})
	if err != nil {
		return Accepted{}, err
	}
	return a, nil
}

// ownsIdentifier requires the user to hold an active credential whose
// identifier is the invitation's (ADR 0009: the accepting identifier comes
// from the caller's own credential, never from the request unchecked), and
// no other user to hold one: identifiers are unique per credential type
// only, so another user's password credential could otherwise claim the
// identifier of someone's OIDC one.
func ownsIdentifier(ctx context.Context, tx Tx, user UUID, identifier string) error {
	held := false
	for _, typ := range []identity.CredentialType{identity.Password, identity.Passkey, identity.OIDC} {
		c, err := tx.Identity().ActiveCredential(ctx, typ, identifier)
		switch {
		case errors.Is(err, identity.ErrCredentialNotFound):
			continue
		case err != nil:
			return err
		case c.UserID != user:
			return ErrIdentifierUnowned.With("another user also holds a credential with the invitation's identifier")
		}
		held = true
	}
	if !held {
		return ErrIdentifierUnowned.With("%s has no active credential with the invitation's identifier", tuples.FormatID("usr", user))
	}
	return nil
}

// pendingInvitation reads an invitation, locking it, and requires it
// pending and unexpired.
func (s *Service) pendingInvitation(ctx context.Context, tx Tx, id UUID) (Invitation, error) {
	inv, err := tx.Invitation(ctx, id)
	if err != nil {
		return inv, err
	}
	switch inv.StatusAt(s.clock()) {
	case InvitationPending:
		return inv, nil
	case InvitationExpired:
		return inv, ErrInvitationExpired.With("%s expired at %s", tuples.FormatID("inv", id), inv.ExpiresAt.Format(time.RFC3339))
	}
	return inv, ErrInvitationNotPending.With("%s is %s", tuples.FormatID("inv", id), inv.Status)
}

// DeclineInvitation declines a pending invitation (INV-6): only the row
// changes. by is the invitee, who must hold the invitation's identifier
// (as for accepting), or zero when anonymous: the holder of the
// invitation's id, which the transport decides whether to allow.
func (s *Service) DeclineInvitation(ctx context.Context, id, by UUID) (Invitation, error) {
	return s.endInvitation(ctx, id, InvitationDeclined, by, func(tx Tx, inv Invitation) error {
		if by.IsZero() {
			return nil
		}
		return ownsIdentifier(ctx, tx, by, inv.Identifier)
	})
}

// RevokeInvitation revokes a pending invitation on an admin's authority:
// by must be an active owner or admin of the org whose rank is at least
// the invited role's, as for inviting (mayInvite).
func (s *Service) RevokeInvitation(ctx context.Context, id, by UUID) (Invitation, error) {
	return s.endInvitation(ctx, id, InvitationRevoked, by, func(tx Tx, inv Invitation) error {
		return mayInvite(ctx, tx, inv.OrgID, by, inv.Role)
	})
}

func (s *Service) endInvitation(ctx context.Context, id UUID, to InvitationStatus, by UUID, allowed func(Tx, Invitation) error) (Invitation, error) {
	var inv Invitation
	err := s.update(ctx, func(tx Tx) error {
		if !by.IsZero() { // the user first, then the invitation (lock order)
			if _, err := tx.Identity().User(ctx, by); err != nil {
				return err
			}
		}
		var err error
		if inv, err = s.pendingInvitation(ctx, tx, id); err != nil {
			if errors.Is(err, ErrInvitationExpired) {
				return ErrInvitationNotPending.With("%s has expired", tuples.FormatID("inv", id))
			}
			return err
		}
		if err := allowed(tx, inv); err != nil {
			return err
		}
		now := s.clock()
		inv.Status, inv.TerminalAt, inv.TerminalBy = to, &now, by
		return tx.PutInvitation(ctx, inv)
	})
	if err != nil {
		return Invitation{}, err
	}
	return inv, nil
}
