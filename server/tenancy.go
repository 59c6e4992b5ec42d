package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
)

// The tenancy routes (SPEC-MAP §1.3: organizations, memberships,
// invitations). Who may call them is decided by the policies below, from
// the caller's own membership of the organization (DESIGN §4, A35):
//
//   - a user acts through a session, or through a PAT holding orgs:read
//     (read routes) or orgs:write (write routes); a PAT without the scope
//     is refused (403);
//   - a platform admin (the service key, or an admin user's session) may
//     call every route but selfLeave;
//   - someone who is not an active member of the organization is told it
//     does not exist (404), so organizations cannot be probed; a member
//     whose role does not allow the operation is refused (403 forbidden),
//     and one whose rank is below the role they act on is refused with
//     403 forbidden.role_hierarchy.
//
// tenancy.Service re-checks what it owns (the inviter's rank, adminRemove's
// hierarchy, the sole owner, identifier binding) inside its transactions,
// and the acting member's standing (orgActing): a policy reads the caller's
// role before the handler's write begins, so a demotion or removal
// committed in between is refused by the write itself (403).
// A write that can change membership tuples answers with the consistency
// token of the revision it committed at (orgWrites).

var orgRoutes = []route{
	{method: "POST", path: "/orgs", op: "createOrg", allow: orgCreatePolicy, serve: (*Server).createOrg},
	{method: "GET", path: "/orgs/{org_id}", op: "getOrg", allow: orgPolicy(scopeOrgsRead), serve: (*Server).getOrg},
	{method: "PUT", path: "/orgs/{org_id}", op: "updateOrg", allow: orgPolicy(scopeOrgsWrite, orgManagers...), serve: (*Server).updateOrg},
	{method: "POST", path: "/orgs/{org_id}/suspend", op: "suspendOrg", allow: orgSanctionPolicy, serve: (*Server).suspendOrg},
	{method: "POST", path: "/orgs/{org_id}/reinstate", op: "reinstateOrg", allow: orgSanctionPolicy, serve: (*Server).reinstateOrg},
	{method: "POST", path: "/orgs/{org_id}/revoke", op: "revokeOrg", allow: orgPolicy(scopeOrgsWrite, tenancy.Owner), serve: (*Server).revokeOrg},
	{method: "POST", path: "/orgs/{org_id}/transfer-ownership", op: "transferOwnership", allow: orgTransferPolicy, serve: (*Server).transferOwnership},
	{method: "GET", path: "/users/{usr_id}/orgs", op: "listOrgsOfUser", extension: true, allow: orgsOfUserPolicy, serve: (*Server).listOrgsOfUser},
}

var memberRoutes = []route{
	{method: "GET", path: "/orgs/{org_id}/members", op: "listMembers", allow: orgPolicy(scopeOrgsRead), serve: (*Server).listMembers},
	{method: "POST", path: "/orgs/{org_id}/members", op: "addMember", allow: memberAddPolicy, serve: (*Server).addMember},
	{method: "GET", path: "/orgs/{org_id}/members/{mem_id}", op: "getMembership", allow: memberReadPolicy, serve: (*Server).getMembership},
	{method: "POST", path: "/orgs/{org_id}/members/{mem_id}/change-role", op: "changeRole", allow: memberRolePolicy, serve: (*Server).changeRole},
	{method: "POST", path: "/orgs/{org_id}/members/{mem_id}/suspend", op: "suspendMembership", allow: memberManagePolicy, serve: (*Server).suspendMembership},
	{method: "POST", path: "/orgs/{org_id}/members/{mem_id}/reinstate", op: "reinstateMembership", allow: memberManagePolicy, serve: (*Server).reinstateMembership},
	{method: "POST", path: "/orgs/{org_id}/members/{mem_id}/self-leave", op: "selfLeave", allow: memberSelfPolicy, serve: (*Server).selfLeave},
	{method: "POST", path: "/orgs/{org_id}/members/{mem_id}/admin-remove", op: "adminRemove", allow: memberRemovePolicy, serve: (*Server).adminRemove},
}

var invitationRoutes = []route{
	{method: "GET", path: "/orgs/{org_id}/invitations", op: "listInvitations", allow: orgPolicy(scopeOrgsRead, orgManagers...), serve: (*Server).listInvitations},
	{method: "POST", path: "/orgs/{org_id}/invitations", op: "createInvitation", allow: invitationCreatePolicy, serve: (*Server).createInvitation},
	{method: "GET", path: "/invitations/{inv_id}", op: "getInvitation", allow: invitationReadPolicy, serve: (*Server).getInvitation},
	{method: "POST", path: "/invitations/{inv_id}/accept", op: "acceptInvitation", allow: invitationAcceptPolicy, serve: (*Server).acceptInvitation},
	{method: "POST", path: "/invitations/{inv_id}/decline", op: "declineInvitation", allow: invitationDeclinePolicy, serve: (*Server).declineInvitation},
	{method: "POST", path: "/invitations/{inv_id}/revoke", op: "revokeInvitation", allow: invitationRevokePolicy, serve: (*Server).revokeInvitation},
}

// The membership routes' policies (memberPolicy).
var (
	memberReadPolicy   = memberPolicy(scopeOrgsRead, nil, nil, orgWho(scopeOrgsRead, nil, ""))
	memberRolePolicy   = memberPolicy(scopeOrgsWrite, orgManagers, memberNewRole, orgWho(scopeOrgsWrite, orgManagers, "the target's role and the new role"))
	memberManagePolicy = memberPolicy(scopeOrgsWrite, orgManagers, nil, orgWho(scopeOrgsWrite, orgManagers, "the target's role"))
	memberRemovePolicy = memberPolicy(scopeOrgsWrite, orgManagers, nil,
		orgWho(scopeOrgsWrite, orgManagers, "the target's role (an owner is never removed this way)"))
)

// The invitation routes' policies (invitationPolicy).
var (
	invitationReadPolicy = invitationPolicy(scopeOrgsRead, true, true, headerAcceptToken,
		"an owner or admin of the invitation's org (a session, or a PAT with scope `orgs:read`), the invitee (a session of the user "+
			"holding the invitation's identifier, presenting its accept token in the `Flametrench-Accept-Token` header), or platform admin; "+
			"others are told 404")
	invitationAcceptPolicy = invitationPolicy("", false, true, bodyAcceptToken,
		"the invitee's session (its user holding the invitation's identifier, presenting its `accept_token` in the body), accepting "+
			"as that user bound by the identifier of the session's credential; or platform admin, naming the user, or neither to "+
			"create one; no PATs; others are told 404")
	invitationDeclinePolicy = invitationPolicy("", false, true, bodyAcceptToken,
		"the invitee's session (its user holding the invitation's identifier, presenting its `accept_token` in the body), or "+
			"platform admin; no PATs; others are told 404")
	invitationRevokePolicy = invitationPolicy(scopeOrgsWrite, true, false, headerAcceptToken,
		"an owner or admin of the invitation's org (a session, or a PAT with scope `orgs:write`) whose rank is at least the "+
			"invited role, or platform admin; others are told 404")
)

// PAT scopes of the tenancy routes (DESIGN §4).
const (
	scopeOrgsRead  = "orgs:read"
	scopeOrgsWrite = "orgs:write"
)

// orgManagers are the roles that manage an organization's members and
// invitations.
var orgManagers = []tenancy.Role{tenancy.Owner, tenancy.Admin}

// ----- policies

// orgActor is the user a caller acts as on a tenancy route: a session's
// user, or the user of a PAT holding scope. A PAT without it, a share and
// the service key (which has no user) are refused. Platform admins are let
// through by each policy before it asks.
func orgActor(q *request, scope string) (tuples.UUID, error) {
	switch q.caller.Kind {
	case identity.KindSession:
		return q.caller.UserID, nil
	case identity.KindPAT:
		if q.caller.scoped(scope) {
			return q.caller.UserID, nil
		}
		return tuples.UUID{}, errForbidden.With("this personal access token lacks scope %s", scope)
	}
	return tuples.UUID{}, errForbidden.With("this operation takes a user's session, a PAT with scope %s, or a platform admin", scope)
}

// orgCaller is the caller's active membership of org, acting as a user
// through scope. A caller who is not an active member is told the org
// does not exist (the same answer as for a missing org); one whose role
// is not among roles (when roles are given) is refused.
func (s *Server) orgCaller(q *request, org tuples.UUID, scope string, roles ...tenancy.Role) (tenancy.Membership, error) {
	user, err := orgActor(q, scope)
	if err != nil {
		return tenancy.Membership{}, err
	}
	m, err := s.orgs.ActiveMembership(q.Context(), org, user)
	switch {
	case errors.Is(err, tenancy.ErrMembershipNotFound):
		return m, tenancy.ErrOrgNotFound
	case err != nil:
		return m, err
	case len(roles) > 0 && !slices.Contains(roles, m.Role):
		return m, errForbidden.With("this takes an %s of the organization; you are a %s", tenancy.RoleList(roles), m.Role)
	}
	return m, nil
}

// orgOutranks requires the actor's rank to be at least each role's (MEM-6's
// hierarchy owner > admin > member > guest; viewer and editor rank 0).
func orgOutranks(actor tenancy.Membership, roles ...tenancy.Role) error {
	for _, r := range roles {
		if actor.Role.Rank() < r.Rank() {
			return tenancy.ErrRoleHierarchy.With("a %s cannot act on the role %s", actor.Role, r)
		}
	}
	return nil
}

// orgWho is a policy's words for docs/API.md; rank, if not empty, is the
// rank rule the caller's role must meet.
func orgWho(scope string, roles []tenancy.Role, rank string) string {
	who := "an active member of the org"
	if len(roles) > 0 {
		who = "an " + tenancy.RoleList(roles) + " of the org"
	}
	who += " (a session, or a PAT with scope `" + scope + "`)"
	if rank != "" {
		who += " whose rank is at least " + rank
	}
	return who + ", or platform admin; non-members are told 404"
}

// orgPolicy routes are about the organization named by the path's org_id:
// an active member of it holding one of roles (any role when none is
// given), or a platform admin.
func orgPolicy(scope string, roles ...tenancy.Role) policy {
	return policy{who: orgWho(scope, roles, ""), allow: func(s *Server, q *request) error {
		if q.caller.admin {
			return nil
		}
		org, err := pathID(q, "org_id", "org")
		if err != nil {
			return err
		}
		_, err = s.orgCaller(q, org, scope, roles...)
		return err
	}}
}

// orgCreatePolicy: any user may create an organization (becoming its
// owner), through a session or a PAT with orgs:write; a platform admin
// names the owner.
var orgCreatePolicy = policy{who: "any user (a session, or a PAT with scope `orgs:write`), who becomes the owner; or platform admin, naming the owner",
	allow: func(_ *Server, q *request) error {
		if q.caller.admin {
			return nil
		}
		_, err := orgActor(q, scopeOrgsWrite)
		return err
	}}

// orgSanctionPolicy: suspending and reinstating an organization are a
// platform's sanctions, which its owner must not be able to lift.
var orgSanctionPolicy = policy{who: "platform admin (a suspension is a platform sanction)", allow: admin.allow}

// orgTransferPolicy: an owner hands over their own ownership: from_mem_id
// must be the caller's membership.
var orgTransferPolicy = policy{who: "an owner of the org whose own membership is `from_mem_id` (a session, or a PAT with scope `orgs:write`), or platform admin; non-members are told 404",
	allow: func(s *Server, q *request) error {
		if q.caller.admin {
			return nil
		}
		org, err := pathID(q, "org_id", "org")
		if err != nil {
			return err
		}
		m, err := s.orgCaller(q, org, scopeOrgsWrite, tenancy.Owner)
		if err != nil {
			return err
		}
		from, _, err := orgTransferArgs(q)
		if err != nil {
			return err
		}
		if from != m.ID {
			return errForbidden.With("an owner transfers their own ownership: from_mem_id must be %s", tuples.FormatID("mem", m.ID))
		}
		return nil
	}}

// orgsOfUserPolicy: a user's organizations are theirs to list (or a
// platform admin's); anyone else is told the user does not exist.
var orgsOfUserPolicy = policy{who: "the user themselves (a session, or a PAT with scope `orgs:read`), or platform admin; others are told 404",
	allow: func(_ *Server, q *request) error {
		if q.caller.admin {
			return nil
		}
		user, err := orgActor(q, scopeOrgsRead)
		if err != nil {
			return err
		}
		id, err := pathID(q, "usr_id", "usr")
		if err != nil {
			return err
		}
		if id != user {
			return identity.ErrUserNotFound
		}
		return nil
	}}

// memberAddPolicy: an owner or admin adds members of a role at most their
// own rank (an admin cannot add an owner).
var memberAddPolicy = policy{who: orgWho(scopeOrgsWrite, orgManagers, "the role granted"),
	allow: func(s *Server, q *request) error {
		if q.caller.admin {
			return nil
		}
		org, err := pathID(q, "org_id", "org")
		if err != nil {
			return err
		}
		m, err := s.orgCaller(q, org, scopeOrgsWrite, orgManagers...)
		if err != nil {
			return err
		}
		var b memberAddBody
		if err := q.decode(&b, false); err != nil {
			return err
		}
		role, err := orgBodyRole("role", b.Role)
		if err != nil {
			return err
		}
		return orgOutranks(m, role)
	}}

// invitationCreatePolicy: an owner or admin invites; tenancy refuses a
// role above the inviter's and pre-tuples the inviter does not hold.
var invitationCreatePolicy = func() policy {
	p := orgPolicy(scopeOrgsWrite, orgManagers...)
	p.who = orgWho(scopeOrgsWrite, orgManagers, "the invited role (and who holds what each pre-tuple grants)")
	return p
}()

// pathMembership is the membership the path's mem_id names, which must be
// of the path's org (ErrMembershipNotFound otherwise: a membership is
// addressed under its own organization only).
func (s *Server) pathMembership(q *request, org tuples.UUID) (tenancy.Membership, error) {
	id, err := pathID(q, "mem_id", "mem")
	if err != nil {
		return tenancy.Membership{}, err
	}
	m, err := s.orgs.GetMembership(q.Context(), id)
	if err == nil && m.OrgID != org {
		err = tenancy.ErrMembershipNotFound
	}
	return m, err
}

// memberPolicy routes are about the membership the path's mem_id names,
// which must belong to the path's org (404 otherwise, for everyone). The
// caller is an active member of the org holding one of roles (any when
// none is given) or a platform admin; when roles are given, the caller's
// rank must be at least the target's current role's, and, when newRole
// finds one in the body, the new role's.
func memberPolicy(scope string, roles []tenancy.Role, newRole func(q *request) (tenancy.Role, error), who string) policy {
	return policy{who: who, allow: func(s *Server, q *request) error {
		org, err := pathID(q, "org_id", "org")
		if err != nil {
			return err
		}
		if _, err := pathID(q, "mem_id", "mem"); err != nil {
			return err
		}
		if q.caller.admin {
			_, err := s.pathMembership(q, org)
			return err
		}
		actor, err := s.orgCaller(q, org, scope, roles...)
		if err != nil {
			return err
		}
		target, err := s.pathMembership(q, org)
		if err != nil || len(roles) == 0 {
			return err
		}
		if err := orgOutranks(actor, target.Role); err != nil {
			return err
		}
		if newRole == nil {
			return nil
		}
		r, err := newRole(q)
		if err != nil {
			return err
		}
		return orgOutranks(actor, r)
	}}
}

// memberNewRole is changeRole's new role, for its policy.
func memberNewRole(q *request) (tenancy.Role, error) {
	var b memberRoleBody
	if err := q.decode(&b, false); err != nil {
		return "", err
	}
	return orgBodyRole("new_role", b.NewRole)
}

// memberSelfPolicy: a membership is left by its own user only; owners and
// admins remove others with adminRemove, and a platform admin has no
// membership to leave.
var memberSelfPolicy = policy{who: "the member themselves (a session, or a PAT with scope `orgs:write`); other members and platform admins are refused (they use adminRemove), non-members are told 404",
	allow: func(s *Server, q *request) error {
		org, err := pathID(q, "org_id", "org")
		if err != nil {
			return err
		}
		id, err := pathID(q, "mem_id", "mem")
		if err != nil {
			return err
		}
		user, err := orgActor(q, scopeOrgsWrite)
		if err != nil {
			return err
		}
		m, err := s.orgs.GetMembership(q.Context(), id)
		switch {
		case err == nil && m.OrgID == org && m.UserID == user:
			return nil
		case err != nil && !errors.Is(err, tenancy.ErrMembershipNotFound):
			return err
		case q.caller.admin:
			return errForbidden.With("a platform admin removes a member with admin-remove; self-leave is the member's own")
		}
		if _, cerr := s.orgCaller(q, org, scopeOrgsWrite); cerr != nil {
			return cerr
		}
		if err != nil || m.OrgID != org {
			return tenancy.ErrMembershipNotFound
		}
		return errForbidden.With("only the member may leave; an owner or admin removes a member with admin-remove")
	}}

// invitationPolicy routes are about the invitation the path's inv_id
// names. A platform admin may call them. Otherwise the caller may be, when
// managers is set, an owner or admin of the invitation's org acting
// through a session or a PAT with scope; when invitee is set, the
// invitee: a session presenting the invitation's accept token (token
// finds it in the request) whose user holds the invitation's identifier
// (A32's test). Identifiers are not verified, so holding one proves
// nothing by itself: without the token the holder is a stranger.
// Anyone who can see the invitation (its org's owners and admins, and
// the invitee) but is not allowed is refused (403); anyone else is told
// it does not exist (404), in exactly the words used for an invitation
// that does not exist, so a wrong token and a wrong id look alike. An
// empty scope: the route takes no PAT.
func invitationPolicy(scope string, managers, invitee bool, token func(q *request) string, who string) policy {
	return policy{who: who, allow: func(s *Server, q *request) error {
		if q.caller.admin {
			return nil
		}
		id, err := pathID(q, "inv_id", "inv")
		if err != nil {
			return err
		}
		if scope == "" && q.caller.Kind != identity.KindSession {
			return errSessionOnly
		}
		user, err := orgActor(q, scope)
		if err != nil {
			return err
		}
		inv, err := s.orgs.GetInvitation(q.Context(), id)
		if err != nil {
			return err
		}
		m, err := s.orgs.ActiveMembership(q.Context(), inv.OrgID, user)
		if err != nil && !errors.Is(err, tenancy.ErrMembershipNotFound) {
			return err
		}
		isManager := err == nil && slices.Contains(orgManagers, m.Role)
		if isManager && managers {
			return nil
		}
		isInvitee := false
		if q.caller.Kind == identity.KindSession && inv.AcceptTokenMatches(token(q)) {
			if isInvitee, err = s.orgs.HoldsIdentifier(q.Context(), user, inv.Identifier); err != nil {
				return err
			}
		}
		switch {
		case isInvitee && invitee:
			return nil
		case isManager:
			return errForbidden.With("only the invitee may do this")
		case isInvitee:
			return errForbidden.With("only an owner or admin of the organization may do this")
		}
		return tenancy.ErrInvitationNotFound
	}}
}

// acceptTokenHeader carries an invitation's accept token on the invitee's
// routes that take no body (getInvitation; revokeInvitation, which is not
// theirs, but answers them 403 rather than 404).
const acceptTokenHeader = "Flametrench-Accept-Token"

func headerAcceptToken(q *request) string { return q.Header.Get(acceptTokenHeader) }

// bodyAcceptToken is the body's accept_token, read leniently (the handler
// decodes the body strictly): a body the token cannot be read from
// presents none, so the invitee's mistakes in the rest of the body are
// 400s with the token and 404s without it.
func bodyAcceptToken(q *request) string {
	var b struct {
		AcceptToken *string `json:"accept_token"`
	}
	if json.Unmarshal(q.body, &b) != nil || b.AcceptToken == nil {
		return ""
	}
	return *b.AcceptToken
}

// orgPlatformActor is the user a platform admin acts as where a tenancy rule
// needs an acting member (adminRemove's remover, an invitation's inviter
// or revoker): their own user if it holds an active owner or admin
// membership of the org, else the org's first active owner, on whose
// authority the admin acts.
func (s *Server) orgPlatformActor(ctx context.Context, q *request, org tuples.UUID) (tuples.UUID, error) {
	if u, ok := q.caller.user(); ok {
		m, err := s.orgs.ActiveMembership(ctx, org, u)
		if err == nil && slices.Contains(orgManagers, m.Role) {
			return u, nil
		}
		if err != nil && !errors.Is(err, tenancy.ErrMembershipNotFound) {
			return tuples.UUID{}, err
		}
	}
	return s.orgs.FirstOwner(ctx, org)
}

// orgActing is the member a tenancy write acts for, whose standing in the
// organization tenancy checks again inside the write's transaction (the
// policy's read came earlier, and a demotion or removal may have committed
// since): the caller's user, or zero for a platform admin, who acts on the
// platform's authority.
func orgActing(q *request) tuples.UUID {
	if q.caller.admin {
		return tuples.UUID{}
	}
	u, _ := q.caller.user() // the policies let only users through
	return u
}

// orgWrites is the tenancy service for a route whose write may change
// membership tuples: the response carries the consistency token of the
// revision the write committed at (DESIGN §7), as a tuple write's does, so
// that a check sent with it sees the change.
func (s *Server) orgWrites(q *request) *tenancy.Service {
	return s.orgs.OnCommit(func(rev uint64) { s.setToken(q, rev) })
}

// ----- wire views

// orgView is the spec's Organization (v0.2: name and slug always present).
type orgView struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Name      *string   `json:"name"`
	Slug      *string   `json:"slug"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewOrg(o tenancy.Org) orgView {
	return orgView{ID: tuples.FormatID("org", o.ID), Status: string(o.Status), Name: o.Name, Slug: o.Slug,
		CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC()}
}

// membershipView is the spec's Membership.
type membershipView struct {
	ID        string    `json:"id"`
	UsrID     string    `json:"usr_id"`
	OrgID     string    `json:"org_id"`
	Role      string    `json:"role"`
	Status    string    `json:"status"`
	Replaces  *string   `json:"replaces"`
	InvitedBy *string   `json:"invited_by"`
	RemovedBy *string   `json:"removed_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewMembership(m tenancy.Membership) membershipView {
	return membershipView{ID: tuples.FormatID("mem", m.ID), UsrID: tuples.FormatID("usr", m.UserID), OrgID: tuples.FormatID("org", m.OrgID),
		Role: string(m.Role), Status: string(m.Status), Replaces: tenancyOptID("mem", m.Replaces),
		InvitedBy: tenancyOptID("usr", m.InvitedBy), RemovedBy: tenancyOptID("usr", m.RemovedBy),
		CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC()}
}

// tenancyOptID is a nullable id: null for the zero UUID.
func tenancyOptID(typ string, u tuples.UUID) *string {
	if u.IsZero() {
		return nil
	}
	id := tuples.FormatID(typ, u)
	return &id
}

// preTupleView is the spec's PreTuple (object_id a hyphenated UUID, A4).
type preTupleView struct {
	Relation   string `json:"relation"`
	ObjectType string `json:"object_type"`
	ObjectID   string `json:"object_id"`
}

// invitationView is the spec's Invitation.
type invitationView struct {
	ID            string         `json:"id"`
	OrgID         string         `json:"org_id"`
	Identifier    string         `json:"identifier"`
	Role          string         `json:"role"`
	Status        string         `json:"status"`
	PreTuples     []preTupleView `json:"pre_tuples"`
	InvitedBy     string         `json:"invited_by"`
	InvitedUserID *string        `json:"invited_user_id"`
	CreatedAt     time.Time      `json:"created_at"`
	ExpiresAt     time.Time      `json:"expires_at"`
	TerminalAt    *time.Time     `json:"terminal_at"`
	TerminalBy    *string        `json:"terminal_by"`
}

func viewInvitation(inv tenancy.Invitation) invitationView {
	v := invitationView{ID: tuples.FormatID("inv", inv.ID), OrgID: tuples.FormatID("org", inv.OrgID), Identifier: inv.Identifier,
		Role: string(inv.Role), Status: string(inv.Status), PreTuples: make([]preTupleView, len(inv.PreTuples)),
		InvitedBy: tuples.FormatID("usr", inv.InvitedBy), InvitedUserID: tenancyOptID("usr", inv.InvitedUserID),
		CreatedAt: inv.CreatedAt.UTC(), ExpiresAt: inv.ExpiresAt.UTC(), TerminalBy: tenancyOptID("usr", inv.TerminalBy)}
	for i, pt := range inv.PreTuples {
		v.PreTuples[i] = preTupleView{Relation: pt.Relation, ObjectType: pt.ObjectType, ObjectID: pt.ObjectID.String()}
	}
	if inv.TerminalAt != nil {
		at := inv.TerminalAt.UTC()
		v.TerminalAt = &at
	}
	return v
}

// ----- request bodies

// orgBodyID parses a prefixed id from body field name (400
// invalid_format.<name> if it is not a typ id).
func orgBodyID(name, typ, s string) (tuples.UUID, error) {
	u, err := tuples.DecodeIDOf(typ, s)
	if err != nil {
		return tuples.UUID{}, &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format." + name,
			Msg: fmt.Sprintf("%s must be a %s_<32 hex> id", name, typ)}
	}
	return u, nil
}

// orgBodyRole reads a required role from body field name.
func orgBodyRole(name string, s *string) (tenancy.Role, error) {
	if err := required(field(name, s)); err != nil {
		return "", err
	}
	r := tenancy.Role(*s)
	if !r.Valid() {
		return "", &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format." + name,
			Msg: fmt.Sprintf("%s %q is not one of owner, admin, member, guest, viewer, editor", name, tuples.Truncate(*s))}
	}
	return r, nil
}

// ----- organizations

// orgCreateBody is createOrg's body: no body in the OpenAPI; we accept the
// service's optional name and slug (A47), and owner_usr_id from a
// platform admin.
type orgCreateBody struct {
	Name       *string `json:"name"`
	Slug       *string `json:"slug"`
	OwnerUsrID *string `json:"owner_usr_id"`
}

type orgCreatedView struct {
	Org             orgView        `json:"org"`
	OwnerMembership membershipView `json:"owner_membership"`
}

func (s *Server) createOrg(q *request) (int, any, error) {
	var b orgCreateBody
	if err := q.decode(&b, true); err != nil {
		return 0, nil, err
	}
	owner, hasUser := q.caller.user()
	switch {
	case b.OwnerUsrID != nil && !q.caller.admin:
		return 0, nil, errForbidden.With("only a platform admin may name owner_usr_id; the creator is the owner")
	case b.OwnerUsrID != nil:
		var err error
		if owner, err = orgBodyID("owner_usr_id", "usr", *b.OwnerUsrID); err != nil {
			return 0, nil, err
		}
	case !hasUser:
		return 0, nil, required(field("owner_usr_id", b.OwnerUsrID))
	}
	o, m, err := s.orgWrites(q).CreateOrg(q.Context(), owner, tenancy.OrgInput{Name: b.Name, Slug: b.Slug})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, orgCreatedView{Org: viewOrg(o), OwnerMembership: viewMembership(m)}, nil
}

func (s *Server) getOrg(q *request) (int, any, error) {
	return fetch(q, "org_id", "org", s.orgs.GetOrg, viewOrg)
}

// orgUpdateBody is updateOrg's partial update: absent leaves a field,
// null clears it.
type orgUpdateBody struct {
	Name nullable[string] `json:"name"`
	Slug nullable[string] `json:"slug"`
}

func (s *Server) updateOrg(q *request) (int, any, error) {
	id, err := pathID(q, "org_id", "org")
	if err != nil {
		return 0, nil, err
	}
	var b orgUpdateBody
	if err := q.decode(&b, false); err != nil {
		return 0, nil, err
	}
	o, err := s.orgs.UpdateOrg(q.Context(), id, tenancy.OrgPatch{Name: b.Name.patch(), Slug: b.Slug.patch()}, orgActing(q))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewOrg(o), nil
}

func (s *Server) suspendOrg(q *request) (int, any, error) {
	return transition(q, "org_id", "org", s.orgWrites(q).SuspendOrg, viewOrg)
}

func (s *Server) reinstateOrg(q *request) (int, any, error) {
	return transition(q, "org_id", "org", s.orgWrites(q).ReinstateOrg, viewOrg)
}

func (s *Server) revokeOrg(q *request) (int, any, error) {
	return transition(q, "org_id", "org", func(ctx context.Context, id tuples.UUID) (tenancy.Org, error) {
		return s.orgWrites(q).RevokeOrg(ctx, id, orgActing(q))
	}, viewOrg)
}

// orgTransferBody is transferOwnership's request.
type orgTransferBody struct {
	FromMemID *string `json:"from_mem_id"`
	ToMemID   *string `json:"to_mem_id"`
}

// orgTransferArgs reads transferOwnership's two membership ids.
func orgTransferArgs(q *request) (from, to tuples.UUID, err error) {
	var b orgTransferBody
	if err := q.decode(&b, false); err != nil {
		return from, to, err
	}
	if err := required(field("from_mem_id", b.FromMemID), field("to_mem_id", b.ToMemID)); err != nil {
		return from, to, err
	}
	if from, err = orgBodyID("from_mem_id", "mem", *b.FromMemID); err != nil {
		return from, to, err
	}
	to, err = orgBodyID("to_mem_id", "mem", *b.ToMemID)
	return from, to, err
}

type orgTransferredView struct {
	FromMembership membershipView `json:"from_membership"`
	ToMembership   membershipView `json:"to_membership"`
}

func (s *Server) transferOwnership(q *request) (int, any, error) {
	org, err := pathID(q, "org_id", "org")
	if err != nil {
		return 0, nil, err
	}
	fromID, toID, err := orgTransferArgs(q)
	if err != nil {
		return 0, nil, err
	}
	from, to, err := s.orgWrites(q).TransferOwnership(q.Context(), org, fromID, toID, orgActing(q))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, orgTransferredView{FromMembership: viewMembership(from), ToMembership: viewMembership(to)}, nil
}

func (s *Server) listOrgsOfUser(q *request) (int, any, error) {
	user, err := pathID(q, "usr_id", "usr")
	if err != nil {
		return 0, nil, err
	}
	cursor, limit, err := pageArgs(q)
	if err != nil {
		return 0, nil, err
	}
	p, err := s.orgs.ListOrgsOf(q.Context(), user, cursor, limit)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewPage(p.Items, p.Next, viewOrg), nil
}

// ----- memberships

func (s *Server) listMembers(q *request) (int, any, error) {
	return listOf(q, "org_id", "org", []tenancy.Status{tenancy.Active, tenancy.Suspended, tenancy.Revoked}, s.orgs.ListMembers, viewMembership)
}

// memberAddBody is addMember's request.
type memberAddBody struct {
	UsrID     *string          `json:"usr_id"`
	Role      *string          `json:"role"`
	InvitedBy nullable[string] `json:"invited_by"`
}

func (s *Server) addMember(q *request) (int, any, error) {
	org, err := pathID(q, "org_id", "org")
	if err != nil {
		return 0, nil, err
	}
	var b memberAddBody
	if err := q.decode(&b, false); err != nil {
		return 0, nil, err
	}
	if err := required(field("usr_id", b.UsrID)); err != nil {
		return 0, nil, err
	}
	user, err := orgBodyID("usr_id", "usr", *b.UsrID)
	if err != nil {
		return 0, nil, err
	}
	role, err := orgBodyRole("role", b.Role)
	if err != nil {
		return 0, nil, err
	}
	by, err := s.memberInviter(q, b.InvitedBy)
	if err != nil {
		return 0, nil, err
	}
	m, err := s.orgWrites(q).AddMember(q.Context(), org, user, role, by, orgActing(q))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, viewMembership(m), nil
}

// memberInviter is addMember's invited_by. A member's addition is always
// theirs: invited_by, if given, must name the caller (null reads as
// absent). A platform admin's is as given (null: nobody; it must name a
// user), or by default the admin's own user, if any.
func (s *Server) memberInviter(q *request, given nullable[string]) (tuples.UUID, error) {
	self, _ := q.caller.user()
	if !given.set {
		return self, nil
	}
	if given.value == nil {
		if q.caller.admin {
			return tuples.UUID{}, nil
		}
		return self, nil
	}
	by, err := orgBodyID("invited_by", "usr", *given.value)
	if err != nil {
		return by, err
	}
	if !q.caller.admin {
		if by != self {
			return by, errForbidden.With("invited_by must be the caller; only a platform admin may name another user")
		}
		return by, nil
	}
	if _, err := s.ids.GetUser(q.Context(), by); err != nil {
		return by, err
	}
	return by, nil
}

func (s *Server) getMembership(q *request) (int, any, error) {
	m, err := s.policyCheckedMembership(q)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewMembership(m), nil
}

// policyCheckedMembership reads the path's membership, which the route's
// policy found to be of the path's org.
func (s *Server) policyCheckedMembership(q *request) (tenancy.Membership, error) {
	org, err := pathID(q, "org_id", "org")
	if err != nil {
		return tenancy.Membership{}, err
	}
	return s.pathMembership(q, org)
}

// memberRoleBody is changeRole's request.
type memberRoleBody struct {
	NewRole *string `json:"new_role"`
}

func (s *Server) changeRole(q *request) (int, any, error) {
	id, err := pathID(q, "mem_id", "mem")
	if err != nil {
		return 0, nil, err
	}
	role, err := memberNewRole(q)
	if err != nil {
		return 0, nil, err
	}
	m, err := s.orgWrites(q).ChangeRole(q.Context(), id, role, orgActing(q))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewMembership(m), nil
}

func (s *Server) suspendMembership(q *request) (int, any, error) {
	return transition(q, "mem_id", "mem", func(ctx context.Context, id tuples.UUID) (tenancy.Membership, error) {
		return s.orgWrites(q).SuspendMembership(ctx, id, orgActing(q))
	}, viewMembership)
}

func (s *Server) reinstateMembership(q *request) (int, any, error) {
	return transition(q, "mem_id", "mem", func(ctx context.Context, id tuples.UUID) (tenancy.Membership, error) {
		return s.orgWrites(q).ReinstateMembership(ctx, id, orgActing(q))
	}, viewMembership)
}

// memberLeaveBody is selfLeave's optional request: the user to hand
// ownership to, spelt either way (A26).
type memberLeaveBody struct {
	TransferTo      *string `json:"transferTo"`
	TransferToSnake *string `json:"transfer_to"`
}

func (s *Server) selfLeave(q *request) (int, any, error) {
	id, err := pathID(q, "mem_id", "mem")
	if err != nil {
		return 0, nil, err
	}
	var b memberLeaveBody
	if err := q.decode(&b, true); err != nil {
		return 0, nil, err
	}
	given, name := b.TransferTo, "transferTo"
	switch {
	case b.TransferTo != nil && b.TransferToSnake != nil:
		return 0, nil, &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.transfer_to", Msg: "give transferTo or transfer_to, not both"}
	case b.TransferToSnake != nil:
		given, name = b.TransferToSnake, "transfer_to"
	}
	var to tuples.UUID
	if given != nil {
		if to, err = orgBodyID(name, "usr", *given); err != nil {
			return 0, nil, err
		}
	}
	m, err := s.orgWrites(q).SelfLeave(q.Context(), id, to)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewMembership(m), nil
}

func (s *Server) adminRemove(q *request) (int, any, error) {
	org, err := pathID(q, "org_id", "org")
	if err != nil {
		return 0, nil, err
	}
	id, err := pathID(q, "mem_id", "mem")
	if err != nil {
		return 0, nil, err
	}
	if err := q.noBody(); err != nil {
		return 0, nil, err
	}
	by, _ := q.caller.user()
	if q.caller.admin {
		if by, err = s.orgPlatformActor(q.Context(), q, org); err != nil {
			return 0, nil, err
		}
	}
	m, err := s.orgWrites(q).AdminRemove(q.Context(), by, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewMembership(m), nil
}

// ----- invitations

func (s *Server) listInvitations(q *request) (int, any, error) {
	return listOf(q, "org_id", "org", []tenancy.InvitationStatus{tenancy.InvitationPending, tenancy.InvitationAccepted,
		tenancy.InvitationDeclined, tenancy.InvitationRevoked, tenancy.InvitationExpired}, s.orgs.ListInvitations, viewInvitation)
}

// invitationCreateBody is createInvitation's request, plus invited_by,
// which only a platform admin may give.
type invitationCreateBody struct {
	Identifier *string        `json:"identifier"`
	Role       *string        `json:"role"`
	PreTuples  []preTupleBody `json:"pre_tuples"`
	ExpiresAt  *string        `json:"expires_at"`
	InvitedBy  *string        `json:"invited_by"`
}

type preTupleBody struct {
	Relation   *string `json:"relation"`
	ObjectType *string `json:"object_type"`
	ObjectID   *string `json:"object_id"`
}

// preTuples reads an invitation's pre-tuples; a problem with one is
// invalid_format.pre_tuples, naming which and why.
func invitationPreTuples(in []preTupleBody) ([]tenancy.PreTuple, error) {
	out := make([]tenancy.PreTuple, len(in))
	for i, p := range in {
		bad := func(err error) error {
			msg := "invalid"
			if te := (*tuples.Error)(nil); errors.As(err, &te) {
				msg = te.Msg
			}
			return &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.pre_tuples", Msg: fmt.Sprintf("pre_tuples[%d]: %s", i, msg)}
		}
		if err := required(field("relation", p.Relation), field("object_type", p.ObjectType), field("object_id", p.ObjectID)); err != nil {
			return nil, bad(err)
		}
		if err := tuples.CheckRelation(*p.Relation); err != nil {
			return nil, bad(err)
		}
		obj, err := tuples.ParseObject(*p.ObjectType, *p.ObjectID)
		if err != nil {
			return nil, bad(err)
		}
		out[i] = tenancy.PreTuple{Relation: *p.Relation, ObjectType: obj.Type, ObjectID: obj.ID}
	}
	return out, nil
}

func (s *Server) createInvitation(q *request) (int, any, error) {
	org, err := pathID(q, "org_id", "org")
	if err != nil {
		return 0, nil, err
	}
	var b invitationCreateBody
	if err := q.decode(&b, false); err != nil {
		return 0, nil, err
	}
	if err := required(field("identifier", b.Identifier), field("role", b.Role), field("expires_at", b.ExpiresAt)); err != nil {
		return 0, nil, err
	}
	if *b.Identifier == "" {
		return 0, nil, &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.identifier", Msg: "identifier must not be empty"}
	}
	role, err := orgBodyRole("role", b.Role)
	if err != nil {
		return 0, nil, err
	}
	expires, err := parseTime("expires_at", *b.ExpiresAt)
	if err != nil {
		return 0, nil, err
	}
	pts, err := invitationPreTuples(b.PreTuples)
	if err != nil {
		return 0, nil, err
	}
	by, _ := q.caller.user()
	switch {
	case b.InvitedBy != nil && !q.caller.admin:
		return 0, nil, errForbidden.With("only a platform admin may name invited_by; the inviter is the caller")
	case b.InvitedBy != nil:
		if by, err = orgBodyID("invited_by", "usr", *b.InvitedBy); err != nil {
			return 0, nil, err
		}
	case q.caller.admin:
		if by, err = s.orgPlatformActor(q.Context(), q, org); err != nil {
			return 0, nil, err
		}
	}
	token, hash := tenancy.NewAcceptToken()
	inv, err := s.orgs.CreateInvitation(q.Context(), tenancy.NewInvitation{OrgID: org, Identifier: *b.Identifier, Role: role,
		PreTuples: pts, InvitedBy: by, ExpiresAt: expires, AcceptTokenHash: hash})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, invitationCreatedView{viewInvitation(inv), token}, nil
}

// invitationCreatedView is createInvitation's answer: the Invitation, and
// the accept token the invitee must present (extension), shown this once.
type invitationCreatedView struct {
	invitationView
	AcceptToken string `json:"accept_token"`
}

func (s *Server) getInvitation(q *request) (int, any, error) {
	id, err := pathID(q, "inv_id", "inv")
	if err != nil {
		return 0, nil, err
	}
	inv, err := s.orgs.GetInvitation(q.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewInvitation(inv), nil
}

// invitationAcceptBody is acceptInvitation's optional request, and the
// invitee's accept token (which the policy checked).
type invitationAcceptBody struct {
	AsUsrID             *string `json:"as_usr_id"`
	AcceptingIdentifier *string `json:"accepting_identifier"`
	AcceptToken         *string `json:"accept_token"`
}

// invitationDeclineBody is declineInvitation's optional request: the
// invitee's accept token (which the policy checked).
type invitationDeclineBody struct {
	AcceptToken *string `json:"accept_token"`
}

type invitationAcceptedView struct {
	Invitation         invitationView `json:"invitation"`
	Membership         membershipView `json:"membership"`
	MaterializedTuples []tupleView    `json:"materialized_tuples"`
}

// errInvitationSubjectMismatch: a session accepts as its own user only.
var errInvitationSubjectMismatch = &tuples.Error{Kind: tuples.Forbidden, Code: "forbidden.subject_mismatch",
	Msg: "a session accepts an invitation as its own user: as_usr_id must be the session's user"}

// acceptInvitation accepts as the caller. A session accepts as its user,
// bound by the identifier of the credential the session was made from
// (ADR 0009: the identifier comes from the authenticated session, never
// from the body; a body that names another user or identifier is
// refused), and only with the invitation's accept token, which its policy
// checked. A platform admin needs no token, and names the user and
// identifier, or neither to create the invitee (ADR 0009's mint-new path,
// which only a platform admin may take).
func (s *Server) acceptInvitation(q *request) (int, any, error) {
	id, err := pathID(q, "inv_id", "inv")
	if err != nil {
		return 0, nil, err
	}
	var b invitationAcceptBody
	if err := q.decode(&b, true); err != nil {
		return 0, nil, err
	}
	var as tuples.UUID
	if b.AsUsrID != nil {
		if as, err = orgBodyID("as_usr_id", "usr", *b.AsUsrID); err != nil {
			return 0, nil, err
		}
	}
	var ident string
	if q.caller.admin {
		if b.AcceptingIdentifier != nil {
			if as.IsZero() {
				return 0, nil, &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.as_usr_id",
					Msg: "accepting_identifier binds an existing user: give as_usr_id with it, or neither to create the invitee"}
			}
			ident = *b.AcceptingIdentifier
		}
	} else { // a session: the policy refused everything else
		user := q.caller.UserID
		if b.AsUsrID != nil && as != user {
			return 0, nil, errInvitationSubjectMismatch
		}
		cred, err := s.ids.GetCredential(q.Context(), q.caller.Session.CredentialID)
		if err != nil {
			return 0, nil, err
		}
		if b.AcceptingIdentifier != nil && *b.AcceptingIdentifier != cred.Identifier {
			return 0, nil, tenancy.ErrIdentifierUnowned.With("accepting_identifier must be the identifier of the credential this session signed in with")
		}
		as, ident = user, cred.Identifier
	}
	a, err := s.orgWrites(q).AcceptInvitation(q.Context(), id, as, ident)
	if err != nil {
		return 0, nil, err
	}
	v := invitationAcceptedView{Invitation: viewInvitation(a.Invitation), Membership: viewMembership(a.Membership),
		MaterializedTuples: make([]tupleView, len(a.Tuples))}
	for i, t := range a.Tuples {
		v.MaterializedTuples[i] = viewTuple(t)
	}
	return http.StatusOK, v, nil
}

func (s *Server) declineInvitation(q *request) (int, any, error) {
	id, err := pathID(q, "inv_id", "inv")
	if err != nil {
		return 0, nil, err
	}
	if err := q.decode(&invitationDeclineBody{}, true); err != nil {
		return 0, nil, err
	}
	var by tuples.UUID // a platform admin declines for nobody in particular
	if !q.caller.admin {
		by = q.caller.UserID
	}
	inv, err := s.orgs.DeclineInvitation(q.Context(), id, by)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewInvitation(inv), nil
}

func (s *Server) revokeInvitation(q *request) (int, any, error) {
	id, err := pathID(q, "inv_id", "inv")
	if err != nil {
		return 0, nil, err
	}
	if err := q.noBody(); err != nil {
		return 0, nil, err
	}
	by, _ := q.caller.user()
	if q.caller.admin {
		inv, err := s.orgs.GetInvitation(q.Context(), id)
		if err != nil {
			return 0, nil, err
		}
		if by, err = s.orgPlatformActor(q.Context(), q, inv.OrgID); err != nil {
			return 0, nil, err
		}
	}
	inv, err := s.orgs.RevokeInvitation(q.Context(), id, by)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewInvitation(inv), nil
}
