package tenancy

import (
	"context"
	"time"

	"github.com/flametrench/server/identity"
)

// Store holds the module's rows. Every rule lives once, in Service, and
// runs inside Update (STYLE §1). A tenancy transaction is also an identity
// transaction: accepting an invitation may create the invitee, and a
// user's revocation revokes their memberships, each in one transaction
// with the membership tuples (ADR 0005, INV-4).
type Store interface {
	// Update runs fn in one transaction, opened on the identity store the
	// tenancy store was built on, and commits it if fn returns nil.
	// Otherwise nothing fn did is kept and fn's error is returned
	// unchanged. rev is the tuple revision committed, 0 if none.
	Update(ctx context.Context, fn func(Tx) error) (rev uint64, err error)
	// Join runs fn inside an identity transaction that is already open
	// (identity's user-revocation hook): what fn writes commits or rolls
	// back with it.
	Join(ctx context.Context, itx identity.Tx, fn func(Tx) error) error
	// View runs fn on a consistent read-only view.
	View(ctx context.Context, fn func(Tx) error) error
}

// Tx is the row access of one transaction. Getters return the package's
// NotFound sentinels; Put methods insert or replace a whole row. Org locks
// the organization's row until the end of an Update: every rule that
// counts an organization's memberships (the sole owner) reads the org
// first, so concurrent changes of one organization run one after another.
type Tx interface {
	// Identity is the identity transaction this one shares: users,
	// credentials and the tuple writer.
	Identity() identity.Tx

	Org(ctx context.Context, id UUID) (Org, error)
	// PutOrg fails with ErrSlugTaken if another organization that is not
	// revoked has the slug.
	PutOrg(ctx context.Context, o Org) error

	Membership(ctx context.Context, id UUID) (Membership, error)
	// ActiveMembership is the user's active membership of the org, or
	// ErrMembershipNotFound (MEM-1: at most one exists).
	ActiveMembership(ctx context.Context, org, user UUID) (Membership, error)
	// Memberships lists an org's memberships after q.After in id order, of
	// one status when q.Status is set. A negative q.Limit means no limit.
	Memberships(ctx context.Context, q MembershipQuery) ([]Membership, error)
	// ActiveOwners lists up to limit of the org's active owner
	// memberships, in id order: the sole-owner rules need at most two.
	ActiveOwners(ctx context.Context, org UUID, limit int) ([]Membership, error)
	// MembershipsOf lists a user's memberships that are not revoked, in
	// id order.
	MembershipsOf(ctx context.Context, user UUID) ([]Membership, error)
	// OrgsOf lists, in id order after the cursor, up to limit of the
	// organizations the user holds a membership of that is not revoked.
	OrgsOf(ctx context.Context, user, after UUID, limit int) ([]Org, error)
	// PutMembership fails with ErrDuplicateMembership if the row would make
	// a second active membership of its user and org.
	PutMembership(ctx context.Context, m Membership) error

	Invitation(ctx context.Context, id UUID) (Invitation, error)
	// Invitations lists an org's invitations after q.After in id order, of
	// one status at q.Now when q.Status is set.
	Invitations(ctx context.Context, q InvitationQuery) ([]Invitation, error)
	// PendingInvitations counts the org's invitations pending at now, up
	// to limit.
	PendingInvitations(ctx context.Context, org UUID, now time.Time, limit int) (int, error)
	PutInvitation(ctx context.Context, inv Invitation) error
}

// MembershipQuery filters listMembers.
type MembershipQuery struct {
	Org    UUID
	After  UUID
	Limit  int
	Status Status // "": any
}

// InvitationQuery filters listInvitations.
type InvitationQuery struct {
	Org    UUID
	After  UUID
	Limit  int
	Status InvitationStatus // "": any; expired matches pending rows past expiry
	Now    time.Time
}
