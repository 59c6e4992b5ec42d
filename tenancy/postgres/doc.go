// Package postgres is the tenancy module's store on PostgreSQL: the org,
// mem and inv tables of its embedded migrations (Migrations), read and
// written inside identity's transactions, so that a membership row, the
// user rows an invitation creates and the membership tuples commit
// together or not at all (ADR 0005, INV-4).
//
// A tenancy transaction is an identity transaction: Update opens one on the
// identity store, Join enters one already open. Either way the identity
// transaction must be identity/postgres's, which hands over its
// tuples/postgres.Tx through a PG method; this package finds that method
// by interface and imports neither identity/postgres nor any other sibling
// adapter.
//
// Locking, inside Update: Org locks the organization's row (FOR UPDATE)
// until commit, and every service rule that changes memberships reads the
// org first, so changes to one organization's memberships run one after
// another; Invitation locks the invitation's row, so of concurrent accepts
// exactly one finds it pending. Membership and ActiveMembership take no
// lock: the service re-reads a membership after locking its organization
// (READ COMMITTED: a statement sees what the previous lock holder
// committed), and a lock taken before the organization's would invert the
// org-then-membership order that the other rules follow, which deadlocks.
// Listings take no lock. A deadlock that does happen is retried by
// tuples/postgres. View reads without a transaction, and its Put methods
// fail.
//
// The foreign key mem.usr_id → usr is part of the locking: inserting a
// membership takes a key-share lock on the user's row, which conflicts with
// the FOR UPDATE that identity's user revocation holds. So a role change or
// transfer that adds a membership for a user being revoked waits for (or
// deadlocks with, and is retried against) the revocation, instead of
// leaving a revoked user an active membership. (Service.RevokeUser also
// lists the memberships again after locking their organizations, in id
// order.)
//
// A Put that violates a unique index returns the module's sentinel
// (ErrSlugTaken, ErrDuplicateMembership) and leaves the transaction
// aborted, as PostgreSQL does: the caller must return the error, not go on.
//
// It imports identity, tenancy, tuples and tuples/postgres; the rules stay
// in tenancy.Service.
package postgres
