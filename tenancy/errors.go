package tenancy

import "github.com/flametrench/server/tuples"

func e(kind tuples.Kind, code, msg string) *tuples.Error {
	return &tuples.Error{Kind: kind, Code: code, Msg: msg}
}

// Errors of the tenancy module. The spec error name each one stands for is
// in its comment; codes are the spec's where it names one, else the Node
// reference server's vocabulary (SPEC-MAP §1.4).
var (
	ErrOrgNotFound        = e(tuples.NotFound, "not_found", "organization not found") // NotFoundError
	ErrMembershipNotFound = e(tuples.NotFound, "not_found", "membership not found")   // NotFoundError
	ErrInvitationNotFound = e(tuples.NotFound, "not_found", "invitation not found")   // NotFoundError

	ErrInvalidInput = e(tuples.Invalid, "invalid_format", "invalid input") // InvalidFormatError

	ErrAlreadyTerminal      = e(tuples.Conflict, "conflict.already_terminal", "already revoked")            // AlreadyTerminalError
	ErrSlugTaken            = e(tuples.Conflict, "conflict.org_slug", "another organization has this slug") // OrgSlugConflictError
	ErrDuplicateMembership  = e(tuples.Conflict, "conflict.duplicate_membership", "the user already has an active membership of this organization")
	ErrSoleOwner            = e(tuples.Conflict, "conflict.sole_owner", "the organization would be left without an active owner") // SoleOwnerError
	ErrInvitationNotPending = e(tuples.Conflict, "conflict.invitation_not_pending", "the invitation is no longer pending")        // InvitationNotPendingError
	ErrInvitationExpired    = e(tuples.Conflict, "conflict.invitation_expired", "the invitation has expired")

	ErrSlugFormat          = e(tuples.Precondition, "precondition.org_slug_format", "slug must be 1 to 63 lowercase letters, digits and inner hyphens") // PreconditionError
	ErrOrgNotActive        = e(tuples.Precondition, "precondition.org_not_active", "organization is not active")
	ErrMembershipNotActive = e(tuples.Precondition, "precondition.mem_not_active", "membership is not active")
	ErrNoOwner             = e(tuples.Precondition, "precondition.org_without_owner", "the organization has no active owner")
	ErrSelfTransfer        = e(tuples.Precondition, "precondition.self_transfer", "ownership cannot be transferred to its holder")
	ErrNotOwner            = e(tuples.Precondition, "precondition.from_not_owner", "the membership transferring ownership is not an active owner")
	ErrOrgMismatch         = e(tuples.Precondition, "precondition.org_mismatch", "the memberships belong to different organizations")
	ErrTooManyInvitations  = e(tuples.Precondition, "precondition.invitation_limit", "the organization has the most pending invitations allowed")
	ErrPastExpiration      = e(tuples.Precondition, "precondition.past_expiration", "expires_at must be in the future")
	ErrBindingRequired     = e(tuples.Precondition, "precondition.identifier_binding_required", "accepting as an existing user requires accepting_identifier") // IdentifierBindingRequiredError
	ErrIdentifierMismatch  = e(tuples.Precondition, "precondition.identifier_mismatch", "accepting_identifier is not the invitation's identifier")             // IdentifierMismatchError

	ErrIdentifierUnowned = e(tuples.Forbidden, "forbidden.identifier_unowned", "the accepting user holds no credential with the invitation's identifier")
	ErrForbidden         = e(tuples.Forbidden, "forbidden", "not allowed")                                           // ForbiddenError
	ErrRoleHierarchy     = e(tuples.Forbidden, "forbidden.role_hierarchy", "the target's role outranks the actor's") // RoleHierarchyError
)
