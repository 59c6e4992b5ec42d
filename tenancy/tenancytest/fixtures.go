package tenancytest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/conformancetest"
)

// stepFixtures are the spec's tenancy fixtures and the operation each
// file names.
var stepFixtures = []struct{ rel, op string }{
	{"tenancy/admin-remove.json", "admin_remove"},
	{"tenancy/change-role.json", "change_role"},
	{"tenancy/invitation-accept-binding.json", "accept_invitation"},
	{"tenancy/invitation-accept.json", "accept_invitation"},
	{"tenancy/org-name-slug.json", "update_org"},
	{"tenancy/self-leave.json", "self_leave"},
	{"tenancy/transfer-ownership.json", "transfer_ownership"},
}

// testFixtures runs every fixture test on fresh stores of its own.
func testFixtures(t *testing.T, e *env) {
	for _, f := range stepFixtures {
		for _, tc := range conformancetest.LoadSteps(t, f.rel, f.op).Tests {
			t.Run(tc.ID, func(t *testing.T) {
				t.Parallel()
				newEnv(t, e.newStores).runner().Run(t, tc)
			})
		}
	}
}

// fixtureErrors maps the spec error names the fixtures use to ours.
// PreconditionError, a family, means the one error each op that the
// fixtures expect it of should fail with.
var fixtureErrors = map[string]func(error) bool{
	"create_org PreconditionError":         func(err error) bool { return errors.Is(err, tenancy.ErrSlugFormat) },
	"transfer_ownership PreconditionError": func(err error) bool { return errors.Is(err, tenancy.ErrSelfTransfer) },
	"ForbiddenError":                       func(err error) bool { return errors.Is(err, tenancy.ErrForbidden) },
	"NotFoundError":                        func(err error) bool { return tuples.KindOf(err) == tuples.NotFound },
	"SoleOwnerError":                       func(err error) bool { return errors.Is(err, tenancy.ErrSoleOwner) },
	"RoleHierarchyError":                   func(err error) bool { return errors.Is(err, tenancy.ErrRoleHierarchy) },
	"InvitationNotPendingError":            func(err error) bool { return errors.Is(err, tenancy.ErrInvitationNotPending) },
	"OrgSlugConflictError":                 func(err error) bool { return errors.Is(err, tenancy.ErrSlugTaken) },
	"IdentifierMismatchError":              func(err error) bool { return errors.Is(err, tenancy.ErrIdentifierMismatch) },
	"IdentifierBindingRequiredError":       func(err error) bool { return errors.Is(err, tenancy.ErrBindingRequired) },
	"AlreadyTerminalError":                 func(err error) bool { return errors.Is(err, tenancy.ErrAlreadyTerminal) },
}

func (e *env) runner() conformancetest.Runner {
	return conformancetest.Runner{
		Ops: map[string]conformancetest.Op{
			"create_org":               e.opCreateOrg,
			"update_org":               e.opUpdateOrg,
			"revoke_org":               e.opRevokeOrg,
			"assert_org_fields":        e.opAssertOrgFields,
			"add_member":               e.opAddMember,
			"change_role":              e.opChangeRole,
			"self_leave":               e.opSelfLeave,
			"admin_remove":             e.opAdminRemove,
			"transfer_ownership":       e.opTransferOwnership,
			"create_invitation":        e.opCreateInvitation,
			"accept_invitation":        e.opAcceptInvitation,
			"decline_invitation":       e.opDeclineInvitation,
			"assert_invitation_status": e.opAssertInvitationStatus,
			"assert_subject_relations": e.opAssertSubjectRelations,
			"assert_equal":             opAssertEqual,
		},
		Errors: fixtureErrors,
		// A fixture user named alice holds the identifier
		// alice@example.com, the one the fixtures' invitations name: the
		// service requires an accepting user to own the identifier (ADR
		// 0009). An OIDC credential costs no Argon2id.
		NewUser: func(_ testing.TB, name string) (string, error) {
			u, err := e.ids.CreateUser(ctx, nil)
			if err != nil {
				return "", err
			}
			_, err = e.ids.CreateCredential(ctx, identity.NewCredential{UserID: u.ID, Type: identity.OIDC,
				Identifier: name + "@example.com", OIDCIssuer: "https://idp.example", OIDCSubject: name})
			return tuples.FormatID("usr", u.ID), err
		},
	}
}

// Wire views: what the spec returns, since captures read them.

type orgView struct {
	ID     string  `json:"id"`
	Status string  `json:"status"`
	Name   *string `json:"name"`
	Slug   *string `json:"slug"`
}

func viewOrg(o tenancy.Org) orgView {
	return orgView{ID: tuples.FormatID("org", o.ID), Status: string(o.Status), Name: o.Name, Slug: o.Slug}
}

type memView struct {
	ID        string  `json:"id"`
	UsrID     string  `json:"usr_id"`
	OrgID     string  `json:"org_id"`
	Role      string  `json:"role"`
	Status    string  `json:"status"`
	Replaces  *string `json:"replaces"`
	InvitedBy *string `json:"invited_by"`
	RemovedBy *string `json:"removed_by"`
}

func optID(typ string, id tenancy.UUID) *string {
	if id.IsZero() {
		return nil
	}
	s := tuples.FormatID(typ, id)
	return &s
}

func viewMem(m tenancy.Membership) memView {
	return memView{ID: tuples.FormatID("mem", m.ID), UsrID: tuples.FormatID("usr", m.UserID), OrgID: tuples.FormatID("org", m.OrgID),
		Role: string(m.Role), Status: string(m.Status), Replaces: optID("mem", m.Replaces),
		InvitedBy: optID("usr", m.InvitedBy), RemovedBy: optID("usr", m.RemovedBy)}
}

func id(typ, s string) (tenancy.UUID, error) {
	if s == "" {
		return tenancy.UUID{}, nil
	}
	return tuples.DecodeIDOf(typ, s)
}

func (e *env) opCreateOrg(_ testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		Creator string  `json:"creator"`
		RawName *string `json:"name"`
		RawSlug *string `json:"slug"`
	}
	c.Decode(&in)
	creator, err := id("usr", in.Creator)
	if err != nil {
		return nil, err
	}
	o, m, err := e.svc.CreateOrg(ctx, creator, tenancy.OrgInput{Name: in.RawName, Slug: in.RawSlug})
	return map[string]any{"org": viewOrg(o), "owner_membership": viewMem(m)}, err
}

// patchField reads an optional, nullable string: absent (nil), null (a
// pointer to nil) or a value.
func patchField(raw json.RawMessage) (**string, error) {
	if raw == nil {
		return nil, nil
	}
	var v *string
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

func (e *env) opUpdateOrg(_ testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		OrgID string          `json:"org_id"`
		Name  json.RawMessage `json:"name"`
		Slug  json.RawMessage `json:"slug"`
	}
	c.Decode(&in)
	org, err := id("org", in.OrgID)
	if err != nil {
		return nil, err
	}
	var p tenancy.OrgPatch
	if p.Name, err = patchField(in.Name); err != nil {
		return nil, err
	}
	if p.Slug, err = patchField(in.Slug); err != nil {
		return nil, err
	}
	o, err := e.svc.UpdateOrg(ctx, org, p, tenancy.UUID{})
	return viewOrg(o), err
}

func (e *env) opRevokeOrg(_ testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		OrgID string `json:"org_id"`
	}
	c.Decode(&in)
	org, err := id("org", in.OrgID)
	if err != nil {
		return nil, err
	}
	o, err := e.svc.RevokeOrg(ctx, org, tenancy.UUID{})
	return viewOrg(o), err
}

func (e *env) opAssertOrgFields(tb testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		OrgID        string          `json:"org_id"`
		ExpectedName json.RawMessage `json:"expected_name"`
		ExpectedSlug json.RawMessage `json:"expected_slug"`
	}
	c.Decode(&in)
	org, err := id("org", in.OrgID)
	if err != nil {
		return nil, err
	}
	o, err := e.svc.GetOrg(ctx, org)
	if err != nil {
		return nil, err
	}
	for field, pair := range map[string]struct {
		raw json.RawMessage
		got *string
	}{"name": {in.ExpectedName, o.Name}, "slug": {in.ExpectedSlug, o.Slug}} {
		want, err := patchField(pair.raw)
		if err != nil {
			tb.Fatalf("expected_%s: %v", field, err)
		}
		if want != nil && show(*want) != show(pair.got) {
			tb.Errorf("GetOrg(%s) %s = %s, want %s", in.OrgID, field, show(pair.got), show(*want))
		}
	}
	return viewOrg(o), nil
}

func (e *env) opAddMember(_ testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		OrgID string `json:"org_id"`
		UsrID string `json:"usr_id"`
		Role  string `json:"role"`
	}
	c.Decode(&in)
	org, err := id("org", in.OrgID)
	if err != nil {
		return nil, err
	}
	user, err := id("usr", in.UsrID)
	if err != nil {
		return nil, err
	}
	m, err := e.svc.AddMember(ctx, org, user, tenancy.Role(in.Role), tenancy.UUID{}, tenancy.UUID{})
	return viewMem(m), err
}

func (e *env) opChangeRole(_ testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		MemID   string `json:"mem_id"`
		NewRole string `json:"new_role"`
	}
	c.Decode(&in)
	mem, err := id("mem", in.MemID)
	if err != nil {
		return nil, err
	}
	m, err := e.svc.ChangeRole(ctx, mem, tenancy.Role(in.NewRole), tenancy.UUID{})
	return viewMem(m), err
}

func (e *env) opSelfLeave(_ testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		MemID      string `json:"mem_id"`
		TransferTo string `json:"transfer_to"`
	}
	c.Decode(&in)
	mem, err := id("mem", in.MemID)
	if err != nil {
		return nil, err
	}
	to, err := id("usr", in.TransferTo)
	if err != nil {
		return nil, err
	}
	m, err := e.svc.SelfLeave(ctx, mem, to)
	return viewMem(m), err
}

func (e *env) opAdminRemove(_ testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		MemID      string `json:"mem_id"`
		AdminUsrID string `json:"admin_usr_id"`
	}
	c.Decode(&in)
	mem, err := id("mem", in.MemID)
	if err != nil {
		return nil, err
	}
	admin, err := id("usr", in.AdminUsrID)
	if err != nil {
		return nil, err
	}
	m, err := e.svc.AdminRemove(ctx, admin, mem)
	return viewMem(m), err
}

func (e *env) opTransferOwnership(_ testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		OrgID     string `json:"org_id"`
		FromMemID string `json:"from_mem_id"`
		ToMemID   string `json:"to_mem_id"`
	}
	c.Decode(&in)
	org, err := id("org", in.OrgID)
	if err != nil {
		return nil, err
	}
	from, err := id("mem", in.FromMemID)
	if err != nil {
		return nil, err
	}
	to, err := id("mem", in.ToMemID)
	if err != nil {
		return nil, err
	}
	f, tm, err := e.svc.TransferOwnership(ctx, org, from, to, tenancy.UUID{})
	return map[string]any{"from": viewMem(f), "to": viewMem(tm)}, err
}

type invView struct {
	ID     string `json:"id"`
	OrgID  string `json:"org_id"`
	Status string `json:"status"`
}

func (e *env) opCreateInvitation(_ testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		OrgID      string `json:"org_id"`
		Identifier string `json:"identifier"`
		Role       string `json:"role"`
		InvitedBy  string `json:"invited_by"`
		TTLSeconds int64  `json:"ttl_seconds"`
		PreTuples  []struct {
			Relation   string `json:"relation"`
			ObjectType string `json:"object_type"`
			ObjectID   string `json:"object_id"`
		} `json:"pre_tuples"`
	}
	c.Decode(&in)
	org, err := id("org", in.OrgID)
	if err != nil {
		return nil, err
	}
	by, err := id("usr", in.InvitedBy)
	if err != nil {
		return nil, err
	}
	n := tenancy.NewInvitation{OrgID: org, Identifier: in.Identifier, Role: tenancy.Role(in.Role), InvitedBy: by,
		ExpiresAt: time.Now().Add(time.Duration(e.skew.Load()) + time.Duration(in.TTLSeconds)*time.Second)}
	for _, pt := range in.PreTuples {
		obj, err := tuples.ParseObject(pt.ObjectType, pt.ObjectID)
		if err != nil {
			return nil, err
		}
		n.PreTuples = append(n.PreTuples, tenancy.PreTuple{Relation: pt.Relation, ObjectType: obj.Type, ObjectID: obj.ID})
	}
	inv, err := e.svc.CreateInvitation(ctx, n)
	return invView{ID: tuples.FormatID("inv", inv.ID), OrgID: in.OrgID, Status: string(inv.Status)}, err
}

func (e *env) opAcceptInvitation(_ testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		InvID               string `json:"inv_id"`
		AsUsrID             string `json:"as_usr_id"`
		AcceptingIdentifier string `json:"accepting_identifier"`
	}
	c.Decode(&in)
	inv, err := id("inv", in.InvID)
	if err != nil {
		return nil, err
	}
	as, err := id("usr", in.AsUsrID)
	if err != nil {
		return nil, err
	}
	a, err := e.svc.AcceptInvitation(ctx, inv, as, in.AcceptingIdentifier)
	return map[string]any{"membership": viewMem(a.Membership)}, err
}

func (e *env) opDeclineInvitation(_ testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		InvID string `json:"inv_id"`
	}
	c.Decode(&in)
	inv, err := id("inv", in.InvID)
	if err != nil {
		return nil, err
	}
	v, err := e.svc.DeclineInvitation(ctx, inv, tenancy.UUID{})
	return invView{ID: in.InvID, Status: string(v.Status)}, err
}

func (e *env) opAssertInvitationStatus(tb testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		InvID          string `json:"inv_id"`
		ExpectedStatus string `json:"expected_status"`
	}
	c.Decode(&in)
	inv, err := id("inv", in.InvID)
	if err != nil {
		return nil, err
	}
	v, err := e.svc.GetInvitation(ctx, inv)
	if err != nil {
		return nil, err
	}
	if string(v.Status) != in.ExpectedStatus {
		tb.Errorf("GetInvitation(%s) status = %s, want %s", in.InvID, v.Status, in.ExpectedStatus)
	}
	return invView{ID: in.InvID, Status: string(v.Status)}, nil
}

// opAssertSubjectRelations checks the relations the subject holds across
// every tuple, as a set.
func (e *env) opAssertSubjectRelations(tb testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		SubjectType string   `json:"subject_type"`
		SubjectID   string   `json:"subject_id"`
		Relations   []string `json:"relations"`
	}
	c.Decode(&in)
	user, err := id(in.SubjectType, in.SubjectID)
	if err != nil {
		return nil, err
	}
	var got []string
	for _, tup := range e.subjectTuples(tb, user) {
		got = append(got, tup.Key.Relation)
	}
	slices.Sort(got)
	want := slices.Clone(in.Relations)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		tb.Errorf("relations of %s = %v, want %v", in.SubjectID, got, want)
	}
	return nil, nil
}

func opAssertEqual(tb testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		Actual   any `json:"actual"`
		Expected any `json:"expected"`
	}
	c.Decode(&in)
	if fmt.Sprint(in.Actual) != fmt.Sprint(in.Expected) {
		tb.Errorf("assert_equal: %v, want %v", in.Actual, in.Expected)
	}
	return nil, nil
}

// show prints an optional string: null, or quoted.
func show(s *string) string {
	if s == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *s)
}
