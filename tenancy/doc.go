// Package tenancy is Flametrench's tenancy module: organizations,
// memberships and invitations (docs/tenancy.md; ADRs 0002, 0003, 0005,
// 0009, 0011). It is a thin layer over the authorization engine's tuples:
// every membership change writes the matching membership tuple
// (usr, role, org) in the same transaction, so check(usr, admin, org) is
// true exactly for the active admins of active organizations.
//
// # Rules, in one place
//
// Service holds every rule and runs it inside Store.Update (STYLE §1):
//
//   - the membership ⇄ tuple duality: a membership's tuple exists exactly
//     while the membership is active and its organization active (a
//     suspended organization's grants are lifted and restored on
//     reinstatement, A28);
//   - the sole-owner invariant (MEM-4): no change leaves an organization
//     with members but no active owner — demoting, suspending, leaving and
//     removing the last owner are refused (ErrSoleOwner) unless ownership
//     moves in the same transaction;
//   - role changes and ownership transfers are revoke-and-re-add (MEM-3):
//     the old row is revoked, a new one replaces it, the tuple is swapped;
//   - invitations: terminal states are immutable; a pending invitation past
//     its expiry reads as expired and cannot be accepted; acceptance is one
//     transaction (resolve or create the invitee, membership, tuples,
//     invitation accepted) with ADR 0009's identifier binding.
//
// A tenancy transaction is an identity transaction too (Store.Update opens
// one on the identity store, Store.Join enters an open one), because
// accepting an invitation may create a user and revoking a user revokes
// their memberships (Service.RevokeUser is identity's OnRevokeUser hook).
// Organization-wide rules read and lock the organization's row first, so
// concurrent changes to one organization run one after another.
//
// Authorization (who may call what) is the transport's: the service takes
// the acting user where a rule depends on it (AdminRemove's rank check,
// the inviter of an invitation), and a write made on a member's behalf
// takes that member (by) and checks again, inside its own transaction,
// that they still hold the role and rank the write needs (acting.go), so
// a demotion committed after the transport's check cannot slip through.
// A zero by is the platform's authority (or a library caller's own) and
// checks nothing.
package tenancy
