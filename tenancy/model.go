package tenancy

import (
	"regexp"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
)

// UUID is a 128-bit id; the wire adds a type prefix (org_, mem_, inv_).
type UUID = tuples.UUID

// Status is the tri-state lifecycle of organizations and memberships, the
// same as a user's (ADR 0005).
type Status = identity.Status

const (
	Active    = identity.Active
	Suspended = identity.Suspended
	Revoked   = identity.Revoked
)

// Role is a membership's role: one of the six built-in relation names, and
// the relation of its membership tuple (usr, role, org).
type Role string

const (
	Owner  Role = "owner"
	Admin  Role = "admin"
	Member Role = "member"
	Guest  Role = "guest"
	Viewer Role = "viewer"
	Editor Role = "editor"
)

// Valid reports whether r is one of the six roles.
func (r Role) Valid() bool {
	switch r {
	case Owner, Admin, Member, Guest, Viewer, Editor:
		return true
	}
	return false
}

// checkRole refuses a role that is not one of the six (400).
func checkRole(r Role) error {
	if !r.Valid() {
		return ErrInvalidInput.With("role %q is not one of owner, admin, member, guest, viewer, editor", tuples.Truncate(string(r)))
	}
	return nil
}

// Rank is r's place in the hierarchy owner (4) > admin (3) > member (2) >
// guest (1) that adminRemove compares (MEM-6); viewer and editor are
// outside it (0).
func (r Role) Rank() int {
	switch r {
	case Owner:
		return 4
	case Admin:
		return 3
	case Member:
		return 2
	case Guest:
		return 1
	}
	return 0
}

// Org is an organization. Name and Slug are optional (ADR 0011); a slug is
// unique among organizations that are not revoked.
type Org struct {
	ID        UUID
	Name      *string
	Slug      *string
	Status    Status
	CreatedAt time.Time
	UpdatedAt time.Time
}

// slugPattern is the DNS label of ORG-3: 1 to 63 lowercase letters, digits
// and inner hyphens.
var slugPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// maxOrgName bounds an organization's name (the spec sets no cap; a
// request body must not store megabytes).
const maxOrgName = 1000

// Membership is a user's membership of an organization. A role change
// revokes the row and adds one that Replaces it (MEM-3). RemovedBy is the
// admin of an adminRemove, zero for a self-leave.
type Membership struct {
	ID        UUID
	UserID    UUID
	OrgID     UUID
	Role      Role
	Status    Status
	Replaces  UUID
	InvitedBy UUID
	RemovedBy UUID
	CreatedAt time.Time
	UpdatedAt time.Time
}

// tupleKey is the membership tuple (usr, role, org) of ADR 0002.
func (m Membership) tupleKey() tuples.Key {
	return tuples.Key{Subject: tuples.Ref{Type: "usr", ID: m.UserID}, Relation: string(m.Role),
		Object: tuples.Ref{Type: "org", ID: m.OrgID}}
}

// tupleChange creates or deletes the membership tuple; its creator is the
// inviter, when there was one.
func (m Membership) tupleChange(op tuples.Op) tuples.Change {
	c := tuples.Change{Op: op, Key: m.tupleKey()}
	if op != tuples.OpDelete {
		c.CreatedBy = m.InvitedBy
	}
	return c
}

// InvitationStatus is an invitation's state (INV-1): pending, or one of
// the four terminal states.
type InvitationStatus string

const (
	InvitationPending  InvitationStatus = "pending"
	InvitationAccepted InvitationStatus = "accepted"
	InvitationDeclined InvitationStatus = "declined"
	InvitationRevoked  InvitationStatus = "revoked"
	InvitationExpired  InvitationStatus = "expired"
)

// PreTuple is a tuple an invitation grants on acceptance, its subject the
// invitee (INV-7).
type PreTuple struct {
	Relation   string
	ObjectType string
	ObjectID   UUID
}

// Invitation invites an identifier into an organization with a role and
// pre-declared tuples.
type Invitation struct {
	ID            UUID
	OrgID         UUID
	Identifier    string
	Role          Role
	Status        InvitationStatus
	PreTuples     []PreTuple
	InvitedBy     UUID
	InvitedUserID UUID
	CreatedAt     time.Time
	ExpiresAt     time.Time
	TerminalAt    *time.Time
	TerminalBy    UUID
	// AcceptTokenHash is the SHA-256 of the invitation's accept token
	// (NewAcceptToken), zero when it was made without one.
	AcceptTokenHash [32]byte
}

// StatusAt is the invitation's status as callers see it at t: a pending
// invitation is expired once t is past its expiry (INV-3: now >
// expires_at), whether or not the row says so yet.
func (inv Invitation) StatusAt(t time.Time) InvitationStatus {
	if inv.Status == InvitationPending && t.After(inv.ExpiresAt) {
		return InvitationExpired
	}
	return inv.Status
}

// seenAt is the invitation as callers see it at t: once expired, its
// status says so and terminal_at is its expiry (INV-2: expired has no
// terminal_by).
func (inv Invitation) seenAt(t time.Time) Invitation {
	if inv.StatusAt(t) == InvitationExpired && inv.Status == InvitationPending {
		at := inv.ExpiresAt
		inv.Status, inv.TerminalAt = InvitationExpired, &at
	}
	return inv
}
