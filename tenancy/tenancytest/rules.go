package tenancytest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
)

func ptr[T any](v T) *T { return &v }

func testOrgLifecycle(t *testing.T, e *env) {
	o, owner := e.org(t)
	if o.Status != tenancy.Active || owner.Role != tenancy.Owner || owner.UserID.IsZero() {
		t.Fatalf("CreateOrg = %+v, %+v", o, owner)
	}
	if got := e.relationsOn(t, owner.UserID, o.ID); !slices.Equal(got, []string{"owner"}) {
		t.Fatalf("creator's relations on the org = %v, want [owner]", got)
	}
	bob := e.user(t)
	bm := must[tenancy.Membership](t, "AddMember")(e.svc.AddMember(ctx, o.ID, bob, tenancy.Member, owner.UserID, tenancy.UUID{}))
	_, err := e.svc.AddMember(ctx, o.ID, bob, tenancy.Admin, tenancy.UUID{}, tenancy.UUID{})
	wantErr(t, "a second active membership", err, tenancy.ErrDuplicateMembership)
	_, err = e.svc.AddMember(ctx, o.ID, e.user(t), "superuser", tenancy.UUID{}, tenancy.UUID{})
	wantErr(t, "an unknown role", err, tenancy.ErrInvalidInput)

	// A suspended creator cannot create an org.
	sus := e.user(t)
	must[identity.User](t, "SuspendUser")(e.ids.SuspendUser(ctx, sus))
	_, _, err = e.svc.CreateOrg(ctx, sus, tenancy.OrgInput{})
	wantErr(t, "a suspended creator", err, identity.ErrUserNotActive)

	// Slugs: format, uniqueness, freed by revocation.
	_, _, err = e.svc.CreateOrg(ctx, bob, tenancy.OrgInput{Slug: ptr("Bad_Slug")})
	wantErr(t, "a malformed slug", err, tenancy.ErrSlugFormat)
	acme, _, err := e.svc.CreateOrg(ctx, bob, tenancy.OrgInput{Name: ptr("Acme"), Slug: ptr("acme")})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.CreateOrg(ctx, bob, tenancy.OrgInput{Slug: ptr("acme")})
	wantErr(t, "a taken slug", err, tenancy.ErrSlugTaken)
	must[tenancy.Org](t, "RevokeOrg(acme)")(e.svc.RevokeOrg(ctx, acme.ID, tenancy.UUID{}))
	if _, _, err := e.svc.CreateOrg(ctx, bob, tenancy.OrgInput{Slug: ptr("acme")}); err != nil {
		t.Fatalf("a revoked org's slug is not free: %v", err)
	}

	// Suspension lifts the grants; reinstatement restores them.
	s := must[tenancy.Org](t, "SuspendOrg")(e.svc.SuspendOrg(ctx, o.ID))
	if s.Status != tenancy.Suspended || len(e.relationsOn(t, bob, o.ID)) != 0 || len(e.relationsOn(t, owner.UserID, o.ID)) != 0 {
		t.Fatalf("after suspension: org %s, bob %v, owner %v", s.Status, e.relationsOn(t, bob, o.ID), e.relationsOn(t, owner.UserID, o.ID))
	}
	if m := must[tenancy.Membership](t, "GetMembership")(e.svc.GetMembership(ctx, bm.ID)); m.Status != tenancy.Active {
		t.Fatalf("suspending the org changed a membership to %s", m.Status)
	}
	_, err = e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Member, tenancy.UUID{}, tenancy.UUID{})
	wantErr(t, "add to a suspended org", err, tenancy.ErrOrgNotActive)
	_, err = e.svc.ChangeRole(ctx, bm.ID, tenancy.Admin, tenancy.UUID{})
	wantErr(t, "change a role in a suspended org", err, tenancy.ErrOrgNotActive)
	must[tenancy.Org](t, "SuspendOrg(again)")(e.svc.SuspendOrg(ctx, o.ID))
	must[tenancy.Org](t, "ReinstateOrg")(e.svc.ReinstateOrg(ctx, o.ID))
	if got := e.relationsOn(t, bob, o.ID); !slices.Equal(got, []string{"member"}) {
		t.Fatalf("after reinstatement bob has %v, want [member]", got)
	}
	// Updates: partial, null clears, suspended allowed, revoked terminal.
	u := must[tenancy.Org](t, "UpdateOrg")(e.svc.UpdateOrg(ctx, o.ID, tenancy.OrgPatch{Name: ptr(ptr("Renamed"))}, tenancy.UUID{}))
	if u.Name == nil || *u.Name != "Renamed" || u.Slug != nil {
		t.Fatalf("UpdateOrg = %+v", u)
	}
	// Revoking a suspended org ends its memberships; its tuples were
	// lifted already.
	so, _ := e.org(t)
	sm := must[tenancy.Membership](t, "AddMember(so)")(e.svc.AddMember(ctx, so.ID, e.user(t), tenancy.Member, tenancy.UUID{}, tenancy.UUID{}))
	must[tenancy.Org](t, "SuspendOrg(so)")(e.svc.SuspendOrg(ctx, so.ID))
	must[tenancy.Org](t, "RevokeOrg(suspended so)")(e.svc.RevokeOrg(ctx, so.ID, tenancy.UUID{}))
	if m := must[tenancy.Membership](t, "GetMembership")(e.svc.GetMembership(ctx, sm.ID)); m.Status != tenancy.Revoked {
		t.Fatalf("a revoked suspended org's membership is %s", m.Status)
	}
	e.checkDuality(t, so.ID)
	// A patch that changes nothing writes nothing, not even updated_at.
	e.advance(time.Second)
	if same := must[tenancy.Org](t, "UpdateOrg(no-op)")(e.svc.UpdateOrg(ctx, o.ID, tenancy.OrgPatch{Name: ptr(ptr("Renamed"))}, tenancy.UUID{})); !same.UpdatedAt.Equal(u.UpdatedAt) {
		t.Fatalf("a no-op update moved updated_at from %v to %v", u.UpdatedAt, same.UpdatedAt)
	}
	if same := must[tenancy.Org](t, "UpdateOrg(empty)")(e.svc.UpdateOrg(ctx, o.ID, tenancy.OrgPatch{}, tenancy.UUID{})); !same.UpdatedAt.Equal(u.UpdatedAt) {
		t.Fatalf("an empty update moved updated_at from %v to %v", u.UpdatedAt, same.UpdatedAt)
	}
	// Revocation ends every membership and its tuple.
	r := must[tenancy.Org](t, "RevokeOrg")(e.svc.RevokeOrg(ctx, o.ID, tenancy.UUID{}))
	if r.Status != tenancy.Revoked || len(e.relationsOn(t, bob, o.ID)) != 0 || len(e.relationsOn(t, owner.UserID, o.ID)) != 0 {
		t.Fatalf("after revocation: %s, bob %v", r.Status, e.relationsOn(t, bob, o.ID))
	}
	page := must[tenancy.Page[tenancy.Membership]](t, "ListMembers")(e.svc.ListMembers(ctx, o.ID, tenancy.Active, "", 10))
	if len(page.Items) != 0 {
		t.Fatalf("active members of a revoked org: %+v", page.Items)
	}
	for name, op := range map[string]func() (tenancy.Org, error){
		"revoke again": func() (tenancy.Org, error) { return e.svc.RevokeOrg(ctx, o.ID, tenancy.UUID{}) },
		"reinstate":    func() (tenancy.Org, error) { return e.svc.ReinstateOrg(ctx, o.ID) },
		"update": func() (tenancy.Org, error) {
			return e.svc.UpdateOrg(ctx, o.ID, tenancy.OrgPatch{Name: ptr(ptr("x"))}, tenancy.UUID{})
		},
	} {
		_, err := op()
		wantErr(t, name+" a revoked org", err, tenancy.ErrAlreadyTerminal)
	}
}

func testMembers(t *testing.T, e *env) {
	o, owner := e.org(t)
	var ids []tenancy.UUID
	for range 3 {
		m := must[tenancy.Membership](t, "AddMember")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Guest, owner.UserID, tenancy.UUID{}))
		ids = append(ids, m.ID)
	}
	// Pages of two, in id order: owner, g1 | g2, g3.
	p1 := must[tenancy.Page[tenancy.Membership]](t, "ListMembers")(e.svc.ListMembers(ctx, o.ID, "", "", 2))
	p2 := must[tenancy.Page[tenancy.Membership]](t, "ListMembers(2)")(e.svc.ListMembers(ctx, o.ID, "", p1.Next, 2))
	if len(p1.Items) != 2 || p1.Next == "" || len(p2.Items) != 2 || p2.Next != "" || p2.Items[1].ID != ids[2] {
		t.Fatalf("pages %+v / %+v", p1, p2)
	}
	_, err := e.svc.ListMembers(ctx, o.ID, "", "mem_nonsense", 2)
	if err == nil {
		t.Fatal("a bad cursor was accepted")
	}

	// A role change is revoke-and-re-add with the tuple swapped.
	n := must[tenancy.Membership](t, "ChangeRole")(e.svc.ChangeRole(ctx, ids[0], tenancy.Editor, tenancy.UUID{}))
	old := must[tenancy.Membership](t, "GetMembership(old)")(e.svc.GetMembership(ctx, ids[0]))
	if n.ID == ids[0] || n.Replaces != ids[0] || n.Role != tenancy.Editor || old.Status != tenancy.Revoked {
		t.Fatalf("ChangeRole = %+v (old %+v)", n, old)
	}
	if got := e.relationsOn(t, n.UserID, o.ID); !slices.Equal(got, []string{"editor"}) {
		t.Fatalf("after the change: %v, want [editor]", got)
	}
	_, err = e.svc.ChangeRole(ctx, ids[0], tenancy.Admin, tenancy.UUID{})
	wantErr(t, "change a revoked membership", err, tenancy.ErrMembershipNotActive)

	// Suspension lifts the membership's tuple; reinstatement restores it,
	// unless the user joined again meanwhile.
	s := must[tenancy.Membership](t, "SuspendMembership")(e.svc.SuspendMembership(ctx, ids[1], tenancy.UUID{}))
	if s.Status != tenancy.Suspended || len(e.relationsOn(t, s.UserID, o.ID)) != 0 {
		t.Fatalf("suspended: %+v, relations %v", s, e.relationsOn(t, s.UserID, o.ID))
	}
	must[tenancy.Membership](t, "ReinstateMembership")(e.svc.ReinstateMembership(ctx, ids[1], tenancy.UUID{}))
	if got := e.relationsOn(t, s.UserID, o.ID); !slices.Equal(got, []string{"guest"}) {
		t.Fatalf("reinstated: %v, want [guest]", got)
	}
	s = must[tenancy.Membership](t, "SuspendMembership")(e.svc.SuspendMembership(ctx, ids[2], tenancy.UUID{}))
	must[tenancy.Membership](t, "AddMember(again)")(e.svc.AddMember(ctx, o.ID, s.UserID, tenancy.Member, tenancy.UUID{}, tenancy.UUID{}))
	_, err = e.svc.ReinstateMembership(ctx, ids[2], tenancy.UUID{})
	wantErr(t, "reinstate beside a newer active membership", err, tenancy.ErrDuplicateMembership)

	// The orgs of a user: each once, though s holds a suspended and an
	// active membership of o; in id order, paged.
	o2, _ := e.org(t)
	o3, _ := e.org(t)
	for _, org := range []tenancy.UUID{o2.ID, o3.ID} {
		must[tenancy.Membership](t, "AddMember(o2, o3)")(e.svc.AddMember(ctx, org, s.UserID, tenancy.Guest, tenancy.UUID{}, tenancy.UUID{}))
	}
	want := []tenancy.UUID{o.ID, o2.ID, o3.ID}
	slices.SortFunc(want, tenancy.UUID.Compare)
	if got := e.orgsOf(t, s.UserID); !slices.Equal(got, want) {
		t.Fatalf("ListOrgsOf = %v, want %v", got, want)
	}
	must[tenancy.Org](t, "SuspendOrg(o2)")(e.svc.SuspendOrg(ctx, o2.ID))
	must[tenancy.Org](t, "RevokeOrg(o3)")(e.svc.RevokeOrg(ctx, o3.ID, tenancy.UUID{}))
	want = []tenancy.UUID{o.ID, o2.ID} // a suspended org stays listed; a revoked one is gone
	slices.SortFunc(want, tenancy.UUID.Compare)
	if got := e.orgsOf(t, s.UserID); !slices.Equal(got, want) {
		t.Fatalf("ListOrgsOf after suspend and revoke = %v, want %v", got, want)
	}
}

func testSoleOwner(t *testing.T, e *env) {
	o, owner := e.org(t)
	bob := must[tenancy.Membership](t, "AddMember")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Admin, owner.UserID, tenancy.UUID{}))
	for name, op := range map[string]func() error{
		"demote":  func() error { _, err := e.svc.ChangeRole(ctx, owner.ID, tenancy.Admin, tenancy.UUID{}); return err },
		"suspend": func() error { _, err := e.svc.SuspendMembership(ctx, owner.ID, tenancy.UUID{}); return err },
		"leave":   func() error { _, err := e.svc.SelfLeave(ctx, owner.ID, tenancy.UUID{}); return err },
		"admin-remove": func() error {
			_, err := e.svc.AdminRemove(ctx, bob.UserID, owner.ID)
			if errors.Is(err, tenancy.ErrRoleHierarchy) {
				return tenancy.ErrSoleOwner // never removable this way at all
			}
			return err
		},
	} {
		wantErr(t, name+" the sole owner", op(), tenancy.ErrSoleOwner)
	}
	// With a second owner, the first may step down.
	co := must[tenancy.Membership](t, "ChangeRole(bob → owner)")(e.svc.ChangeRole(ctx, bob.ID, tenancy.Owner, tenancy.UUID{}))
	must[tenancy.Membership](t, "demote one of two owners")(e.svc.ChangeRole(ctx, owner.ID, tenancy.Member, tenancy.UUID{}))
	wantErr(t, "leave as the last owner left", func() error { _, err := e.svc.SelfLeave(ctx, co.ID, tenancy.UUID{}); return err }(), tenancy.ErrSoleOwner)
	// Leaving with a transfer target that is not a member fails whole.
	_, err := e.svc.SelfLeave(ctx, co.ID, e.user(t))
	wantErr(t, "transfer to a non-member", err, tenancy.ErrMembershipNotActive)
	if got := e.relationsOn(t, co.UserID, o.ID); !slices.Equal(got, []string{"owner"}) {
		t.Fatalf("a failed leave changed the owner's relations to %v", got)
	}
}

// TransferOwnership refuses each malformed request whole.
func testTransferRefusals(t *testing.T, e *env) {
	o, owner := e.org(t)
	other, otherOwner := e.org(t)
	bob := must[tenancy.Membership](t, "AddMember")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Member, owner.UserID, tenancy.UUID{}))
	carol := must[tenancy.Membership](t, "AddMember")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Member, owner.UserID, tenancy.UUID{}))
	carol = must[tenancy.Membership](t, "SuspendMembership")(e.svc.SuspendMembership(ctx, carol.ID, tenancy.UUID{}))
	for _, c := range []struct {
		name     string
		org      tenancy.UUID
		from, to tenancy.UUID
		want     error
	}{
		{"from a member", o.ID, bob.ID, owner.ID, tenancy.ErrNotOwner},
		{"to another org's member", o.ID, owner.ID, otherOwner.ID, tenancy.ErrOrgMismatch},
		{"naming another org", other.ID, owner.ID, bob.ID, tenancy.ErrOrgMismatch},
		{"to oneself", o.ID, owner.ID, owner.ID, tenancy.ErrSelfTransfer},
		{"to a suspended member", o.ID, owner.ID, carol.ID, tenancy.ErrMembershipNotActive},
		{"to no membership", o.ID, owner.ID, tuples.NewUUID(), tenancy.ErrMembershipNotFound},
	} {
		_, _, err := e.svc.TransferOwnership(ctx, c.org, c.from, c.to, tenancy.UUID{})
		wantErr(t, "transfer "+c.name, err, c.want)
	}
	if got := e.activeOwners(t, o.ID); !slices.Equal(got, []tenancy.UUID{owner.UserID}) {
		t.Fatalf("refused transfers changed the owners to %v", got)
	}
	// An owner who is not the sole one may still name a successor when
	// leaving, and the successor becomes an owner.
	co := must[tenancy.Membership](t, "AddMember(co-owner)")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Owner, owner.UserID, tenancy.UUID{}))
	must[tenancy.Membership](t, "SelfLeave(transfer to bob)")(e.svc.SelfLeave(ctx, co.ID, bob.UserID))
	want := []tenancy.UUID{owner.UserID, bob.UserID}
	slices.SortFunc(want, tenancy.UUID.Compare)
	got := e.activeOwners(t, o.ID)
	slices.SortFunc(got, tenancy.UUID.Compare)
	if !slices.Equal(got, want) {
		t.Fatalf("owners after a leave with transfer = %v, want %v", got, want)
	}
	// A non-owner leaves unconditionally; their transfer_to is ignored,
	// even one that names nobody.
	dave := must[tenancy.Membership](t, "AddMember(dave)")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Member, owner.UserID, tenancy.UUID{}))
	must[tenancy.Membership](t, "SelfLeave(member naming nobody)")(e.svc.SelfLeave(ctx, dave.ID, tuples.NewUUID()))
	// Ownership goes to active users only.
	sus := must[tenancy.Membership](t, "AddMember(sus)")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Member, owner.UserID, tenancy.UUID{}))
	must[identity.User](t, "SuspendUser")(e.ids.SuspendUser(ctx, sus.UserID))
	_, _, err := e.svc.TransferOwnership(ctx, o.ID, owner.ID, sus.ID, tenancy.UUID{})
	wantErr(t, "transfer to a suspended user", err, identity.ErrUserNotActive)
	_, err = e.svc.SelfLeave(ctx, owner.ID, sus.UserID)
	wantErr(t, "leave handing over to a suspended user", err, identity.ErrUserNotActive)
	e.checkDuality(t, o.ID)
}

// An org whose only owner's account was revoked takes an owner before
// anyone else.
func testOwnerless(t *testing.T, e *env) {
	o, owner := e.org(t)
	must[identity.User](t, "RevokeUser(sole owner, sole member)")(e.ids.RevokeUser(ctx, owner.UserID))
	_, err := e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Admin, tenancy.UUID{}, tenancy.UUID{})
	wantErr(t, "add an admin to an ownerless org", err, tenancy.ErrNoOwner)
	_, err = e.svc.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: o.ID, Identifier: "x@example.com", Role: tenancy.Member,
		InvitedBy: owner.UserID, ExpiresAt: time.Now().Add(time.Hour)})
	wantErr(t, "invite on behalf of a revoked owner", err, tenancy.ErrForbidden)
	must[tenancy.Membership](t, "AddMember(new owner)")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Owner, tenancy.UUID{}, tenancy.UUID{}))
	must[tenancy.Membership](t, "AddMember(then a member)")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Member, tenancy.UUID{}, tenancy.UUID{}))
	e.checkDuality(t, o.ID)
}

// Organization-wide changes work through memberships in batches: an org
// larger than one batch (tenancy reads 500 at a time) is suspended,
// reinstated and revoked whole, and a long revoked history does not get
// in the way.
func testLargeOrg(t *testing.T, e *env) {
	if testing.Short() {
		t.Skip("builds an org of 600 members")
	}
	o, owner := e.org(t)
	var mems []tenancy.Membership
	for i := range 600 {
		role := tenancy.Member
		if i%100 == 0 {
			role = tenancy.Admin
		}
		mems = append(mems, must[tenancy.Membership](t, "AddMember")(e.svc.AddMember(ctx, o.ID, e.user(t), role, owner.UserID, tenancy.UUID{})))
	}
	for _, m := range mems[:50] { // some history, some suspended
		must[tenancy.Membership](t, "ChangeRole")(e.svc.ChangeRole(ctx, m.ID, tenancy.Guest, tenancy.UUID{}))
	}
	for _, m := range mems[550:] {
		must[tenancy.Membership](t, "SuspendMembership")(e.svc.SuspendMembership(ctx, m.ID, tenancy.UUID{}))
	}
	count := func() int { return len(e.memberships(t, o.ID)) }
	if n := count(); n != 551 {
		t.Fatalf("%d active memberships, want 551", n)
	}
	must[tenancy.Org](t, "SuspendOrg")(e.svc.SuspendOrg(ctx, o.ID))
	e.checkDuality(t, o.ID)
	must[tenancy.Org](t, "ReinstateOrg")(e.svc.ReinstateOrg(ctx, o.ID))
	e.checkDuality(t, o.ID)
	must[tenancy.Org](t, "RevokeOrg")(e.svc.RevokeOrg(ctx, o.ID, tenancy.UUID{}))
	e.checkDuality(t, o.ID)
	for _, st := range []tenancy.Status{tenancy.Active, tenancy.Suspended} {
		if p := must[tenancy.Page[tenancy.Membership]](t, "ListMembers")(e.svc.ListMembers(ctx, o.ID, st, "", 10)); len(p.Items) != 0 {
			t.Fatalf("a revoked org keeps %s memberships: %+v", st, p.Items)
		}
	}
}

func testAdminRemove(t *testing.T, e *env) {
	o, owner := e.org(t)
	admin := must[tenancy.Membership](t, "AddMember(admin)")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Admin, owner.UserID, tenancy.UUID{}))
	member := must[tenancy.Membership](t, "AddMember(member)")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Member, owner.UserID, tenancy.UUID{}))
	outsider := e.user(t)
	_, err := e.svc.AdminRemove(ctx, outsider, member.ID)
	wantErr(t, "an outsider removes", err, tenancy.ErrForbidden)
	_, err = e.svc.AdminRemove(ctx, member.UserID, admin.ID)
	wantErr(t, "a member removes an admin", err, tenancy.ErrForbidden)
	r := must[tenancy.Membership](t, "AdminRemove")(e.svc.AdminRemove(ctx, admin.UserID, member.ID))
	if r.Status != tenancy.Revoked || r.RemovedBy != admin.UserID || len(e.relationsOn(t, member.UserID, o.ID)) != 0 {
		t.Fatalf("AdminRemove = %+v", r)
	}
	_, err = e.svc.AdminRemove(ctx, admin.UserID, owner.ID)
	wantErr(t, "an admin removes the owner", err, tenancy.ErrRoleHierarchy)
	l := must[tenancy.Membership](t, "SelfLeave")(e.svc.SelfLeave(ctx, admin.ID, tenancy.UUID{}))
	if !l.RemovedBy.IsZero() || l.Status != tenancy.Revoked {
		t.Fatalf("SelfLeave = %+v", l)
	}
}

func testInvitations(t *testing.T, e *env) {
	o, owner := e.org(t)
	admin := must[tenancy.Membership](t, "AddMember(admin)")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Admin, owner.UserID, tenancy.UUID{}))
	day := func() time.Time { return time.Now().Add(time.Duration(e.skew.Load()) + 24*time.Hour) }
	invite := func(by tenancy.UUID, role tenancy.Role, pre ...tenancy.PreTuple) (tenancy.Invitation, error) {
		return e.svc.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: o.ID, Identifier: "new@example.com", Role: role,
			InvitedBy: by, ExpiresAt: day(), PreTuples: pre})
	}
	_, err := invite(e.user(t), tenancy.Member)
	wantErr(t, "an outsider invites", err, tenancy.ErrForbidden)
	viewer := must[tenancy.Membership](t, "AddMember(viewer)")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Viewer, owner.UserID, tenancy.UUID{}))
	_, err = invite(viewer.UserID, tenancy.Editor)
	wantErr(t, "a viewer invites", err, tenancy.ErrForbidden)
	_, err = invite(owner.UserID, tenancy.Member, tenancy.PreTuple{Relation: "viewer", ObjectType: "doc", ObjectID: o.ID},
		tenancy.PreTuple{Relation: "viewer", ObjectType: "doc", ObjectID: o.ID})
	wantErr(t, "the same pre-tuple twice", err, tenancy.ErrInvalidInput)
	// With a grant checker, only what the inviter may grant.
	strict := tenancy.NewService(e.store, tenancy.Config{CanGrant: func(_ context.Context, _ tenancy.UUID, pt tenancy.PreTuple) (bool, error) {
		return pt.Relation == "viewer", nil
	}})
	_, err = strict.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: o.ID, Identifier: "x@example.com", Role: tenancy.Member,
		InvitedBy: owner.UserID, ExpiresAt: day(), PreTuples: []tenancy.PreTuple{{Relation: "owner", ObjectType: "proj", ObjectID: o.ID}}})
	wantErr(t, "a pre-tuple the inviter may not grant", err, tenancy.ErrForbidden)
	// An inviter who loses their role before the accept takes the
	// invitation's power with them.
	byAdmin := must[tenancy.Invitation](t, "CreateInvitation(admin)")(invite(admin.UserID, tenancy.Member))
	demoted := must[tenancy.Membership](t, "ChangeRole(admin → member)")(e.svc.ChangeRole(ctx, admin.ID, tenancy.Member, tenancy.UUID{}))
	_, err = e.svc.AcceptInvitation(ctx, byAdmin.ID, tenancy.UUID{}, "")
	wantErr(t, "accept an invitation of a demoted admin", err, tenancy.ErrForbidden)
	admin = must[tenancy.Membership](t, "ChangeRole(member → admin)")(e.svc.ChangeRole(ctx, demoted.ID, tenancy.Admin, tenancy.UUID{}))
	_, err = invite(admin.UserID, tenancy.Owner)
	wantErr(t, "an admin invites an owner", err, tenancy.ErrRoleHierarchy)
	_, err = invite(owner.UserID, tenancy.Member, tenancy.PreTuple{Relation: "admin", ObjectType: "org", ObjectID: o.ID})
	wantErr(t, "a pre-tuple granting an org role", err, tenancy.ErrInvalidInput)
	_, err = e.svc.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: o.ID, Identifier: "x@example.com", Role: tenancy.Member,
		InvitedBy: owner.UserID, ExpiresAt: time.Now().Add(-time.Minute)})
	wantErr(t, "an expiry in the past", err, tenancy.ErrPastExpiration)

	// Expiry: shown as expired, listed as expired, not acceptable.
	late := must[tenancy.Invitation](t, "CreateInvitation")(invite(owner.UserID, tenancy.Member))
	e.advance(25 * time.Hour)
	if got := must[tenancy.Invitation](t, "GetInvitation")(e.svc.GetInvitation(ctx, late.ID)); got.Status != tenancy.InvitationExpired {
		t.Fatalf("an invitation past expiry reads %s", got.Status)
	}
	exp := must[tenancy.Page[tenancy.Invitation]](t, "ListInvitations(expired)")(e.svc.ListInvitations(ctx, o.ID, tenancy.InvitationExpired, "", 10))
	pend := must[tenancy.Page[tenancy.Invitation]](t, "ListInvitations(pending)")(e.svc.ListInvitations(ctx, o.ID, tenancy.InvitationPending, "", 10))
	if !slices.ContainsFunc(exp.Items, func(i tenancy.Invitation) bool { return i.ID == late.ID }) || len(pend.Items) != 0 {
		t.Fatalf("expired %+v, pending %+v", exp.Items, pend.Items)
	}
	_, err = e.svc.AcceptInvitation(ctx, late.ID, tenancy.UUID{}, "")
	wantErr(t, "accept an expired invitation", err, tenancy.ErrInvitationExpired)

	// Decline and revoke are terminal; terminal states are immutable.
	d := must[tenancy.Invitation](t, "CreateInvitation")(invite(owner.UserID, tenancy.Member))
	dd := must[tenancy.Invitation](t, "DeclineInvitation")(e.svc.DeclineInvitation(ctx, d.ID, tenancy.UUID{}))
	if dd.Status != tenancy.InvitationDeclined || dd.TerminalAt == nil {
		t.Fatalf("declined: %+v", dd)
	}
	_, err = e.svc.RevokeInvitation(ctx, d.ID, owner.UserID)
	wantErr(t, "revoke a declined invitation", err, tenancy.ErrInvitationNotPending)
	rv := must[tenancy.Invitation](t, "CreateInvitation")(invite(owner.UserID, tenancy.Guest))
	rv = must[tenancy.Invitation](t, "RevokeInvitation")(e.svc.RevokeInvitation(ctx, rv.ID, owner.UserID))
	if rv.Status != tenancy.InvitationRevoked || rv.TerminalBy != owner.UserID || rv.TerminalAt == nil {
		t.Fatalf("revoked: %+v", rv)
	}
	_, err = e.svc.AcceptInvitation(ctx, rv.ID, tenancy.UUID{}, "")
	wantErr(t, "accept a revoked invitation", err, tenancy.ErrInvitationNotPending)
	_, err = e.svc.AcceptInvitation(ctx, d.ID, tenancy.UUID{}, "")
	wantErr(t, "accept a declined invitation", err, tenancy.ErrInvitationNotPending)

	// ADR 0009: accepting as an existing user needs that user to own the
	// identifier, not just to name it.
	p := must[tenancy.Invitation](t, "CreateInvitation")(invite(owner.UserID, tenancy.Member,
		tenancy.PreTuple{Relation: "viewer", ObjectType: "doc", ObjectID: o.ID}))
	_, err = e.svc.AcceptInvitation(ctx, p.ID, admin.UserID, "new@example.com")
	wantErr(t, "accept as a user without the identifier", err, tenancy.ErrIdentifierUnowned)
	must[identity.Credential](t, "CreateCredential")(e.ids.CreateCredential(ctx, identity.NewCredential{UserID: admin.UserID,
		Type: identity.OIDC, Identifier: "new@example.com", OIDCIssuer: "https://idp.example", OIDCSubject: "admin"}))
	// Accepting as a user who is already a member fails whole: nothing is
	// written and the invitation stays pending.
	_, err = e.svc.AcceptInvitation(ctx, p.ID, admin.UserID, "new@example.com")
	wantErr(t, "accept as an existing member", err, tenancy.ErrDuplicateMembership)
	if got := must[tenancy.Invitation](t, "GetInvitation")(e.svc.GetInvitation(ctx, p.ID)); got.Status != tenancy.InvitationPending {
		t.Fatalf("a failed accept left the invitation %s", got.Status)
	}
	for _, tup := range e.subjectTuples(t, admin.UserID) {
		if tup.Key.Relation == "viewer" {
			t.Fatal("a failed accept wrote a pre-tuple")
		}
	}
	// The mint-new path creates the invitee.
	a := must[tenancy.Accepted](t, "AcceptInvitation")(e.svc.AcceptInvitation(ctx, p.ID, tenancy.UUID{}, ""))
	if a.Invitation.Status != tenancy.InvitationAccepted || a.Invitation.TerminalBy != a.Membership.UserID ||
		a.Invitation.InvitedUserID != a.Membership.UserID || len(a.Tuples) != 1 || a.Membership.InvitedBy != owner.UserID {
		t.Fatalf("Accepted = %+v", a)
	}
	if u := must[identity.User](t, "GetUser(invitee)")(e.ids.GetUser(ctx, a.Membership.UserID)); u.Status != identity.Active {
		t.Fatalf("invitee %+v", u)
	}

	// A pre-tuple the invitee holds already is not an error, and the
	// accept reports the tuples as stored: the existing one with its id.
	held := e.user(t)
	must[identity.Credential](t, "CreateCredential")(e.ids.CreateCredential(ctx, identity.NewCredential{UserID: held,
		Type: identity.OIDC, Identifier: "held@example.com", OIDCIssuer: "https://idp.example", OIDCSubject: "held"}))
	doc := tuples.NewUUID()
	key := func(rel string) tuples.Key {
		return tuples.Key{Subject: tuples.Ref{Type: "usr", ID: held}, Relation: rel, Object: tuples.Ref{Type: "doc", ID: doc}}
	}
	had, err := e.tuples.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: key("viewer")}})
	if err != nil {
		t.Fatal(err)
	}
	hv := must[tenancy.Invitation](t, "CreateInvitation(held)")(e.svc.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: o.ID,
		Identifier: "held@example.com", Role: tenancy.Member, InvitedBy: owner.UserID, ExpiresAt: day(), PreTuples: []tenancy.PreTuple{
			{Relation: "viewer", ObjectType: "doc", ObjectID: doc}, {Relation: "editor", ObjectType: "doc", ObjectID: doc}}}))
	a = must[tenancy.Accepted](t, "AcceptInvitation(held)")(e.svc.AcceptInvitation(ctx, hv.ID, held, "held@example.com"))
	stored := map[tuples.Key]tuples.UUID{}
	for _, tup := range e.subjectTuples(t, held) {
		stored[tup.Key] = tup.ID
	}
	if len(a.Tuples) != 2 || a.Tuples[0].ID != had.Tuples[0].ID || a.Tuples[0].Key != key("viewer") ||
		a.Tuples[1].Key != key("editor") || a.Tuples[1].ID != stored[key("editor")] {
		t.Fatalf("Accepted.Tuples = %+v; had %+v, stored %v", a.Tuples, had.Tuples, stored)
	}
}

// Ending an invitation takes authority: revoking, an owner or admin of the
// org; declining, the invitee (or nobody, anonymously). Accepting needs the
// identifier to be the acceptor's alone.
func testInvitationAuthority(t *testing.T, e *env) {
	o, owner := e.org(t)
	_, otherOwner := e.org(t)
	member := must[tenancy.Membership](t, "AddMember")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Member, owner.UserID, tenancy.UUID{}))
	invite := func(identifier string) tenancy.Invitation {
		return must[tenancy.Invitation](t, "CreateInvitation")(e.svc.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: o.ID,
			Identifier: identifier, Role: tenancy.Admin, InvitedBy: owner.UserID, ExpiresAt: time.Now().Add(time.Hour)}))
	}
	inv := invite("ceo@corp.example")
	_, err := e.svc.RevokeInvitation(ctx, inv.ID, otherOwner.UserID)
	wantErr(t, "revoke as another org's owner", err, tenancy.ErrForbidden)
	_, err = e.svc.RevokeInvitation(ctx, inv.ID, member.UserID)
	wantErr(t, "revoke as a plain member", err, tenancy.ErrForbidden)
	_, err = e.svc.DeclineInvitation(ctx, inv.ID, member.UserID)
	wantErr(t, "decline as someone else", err, tenancy.ErrIdentifierUnowned)

	// The victim holds the identifier through OIDC; an attacker adds a
	// password credential with the same identifier (identifiers are unique
	// per type only) and may not accept with it.
	ceo := e.user(t)
	must[identity.Credential](t, "CreateCredential(ceo)")(e.ids.CreateCredential(ctx, identity.NewCredential{UserID: ceo,
		Type: identity.OIDC, Identifier: "ceo@corp.example", OIDCIssuer: "https://idp.example", OIDCSubject: "ceo"}))
	attacker := e.user(t)
	must[identity.Credential](t, "CreateCredential(attacker)")(e.ids.CreateCredential(ctx, identity.NewCredential{UserID: attacker,
		Type: identity.Password, Identifier: "ceo@corp.example", Password: "hunter2hunter2"}))
	_, err = e.svc.AcceptInvitation(ctx, inv.ID, attacker, "ceo@corp.example")
	wantErr(t, "accept with an identifier another user also holds", err, tenancy.ErrIdentifierUnowned)
	_, err = e.svc.AcceptInvitation(ctx, inv.ID, ceo, "ceo@corp.example")
	wantErr(t, "accept while the identifier is shared", err, tenancy.ErrIdentifierUnowned)

	// The owner may revoke; the invitee may decline, and so may the
	// anonymous holder of the id.
	r := must[tenancy.Invitation](t, "RevokeInvitation(owner)")(e.svc.RevokeInvitation(ctx, inv.ID, owner.UserID))
	if r.Status != tenancy.InvitationRevoked || r.TerminalBy != owner.UserID {
		t.Fatalf("revoked = %+v", r)
	}
	bob := e.user(t)
	must[identity.Credential](t, "CreateCredential(bob)")(e.ids.CreateCredential(ctx, identity.NewCredential{UserID: bob,
		Type: identity.OIDC, Identifier: "bob@example.com", OIDCIssuer: "https://idp.example", OIDCSubject: "bob"}))
	d := must[tenancy.Invitation](t, "DeclineInvitation(bob)")(e.svc.DeclineInvitation(ctx, invite("bob@example.com").ID, bob))
	if d.Status != tenancy.InvitationDeclined || d.TerminalBy != bob {
		t.Fatalf("declined = %+v", d)
	}
	must[tenancy.Invitation](t, "DeclineInvitation(anonymous)")(e.svc.DeclineInvitation(ctx, invite("x@example.com").ID, tenancy.UUID{}))

	// An expired invitation reads as expired, terminal at its expiry.
	short := must[tenancy.Invitation](t, "CreateInvitation(short)")(e.svc.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: o.ID,
		Identifier: "late@example.com", Role: tenancy.Member, InvitedBy: owner.UserID, ExpiresAt: time.Now().Add(time.Minute)}))
	e.advance(2 * time.Minute)
	got := must[tenancy.Invitation](t, "GetInvitation")(e.svc.GetInvitation(ctx, short.ID))
	if got.Status != tenancy.InvitationExpired || got.TerminalAt == nil || !got.TerminalAt.Equal(short.ExpiresAt) || !got.TerminalBy.IsZero() {
		t.Fatalf("expired invitation = %+v", got)
	}
}

// An org holds at most Config.MaxPendingInvitations pending invitations;
// expired and ended ones do not count.
func testInvitationCap(t *testing.T, e *env) {
	svc := tenancy.NewService(e.store, tenancy.Config{MaxPendingInvitations: 3,
		Now: func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) }})
	o, owner := e.org(t)
	invite := func(ttl time.Duration) (tenancy.Invitation, error) {
		return svc.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: o.ID, Identifier: "x@example.com", Role: tenancy.Member,
			InvitedBy: owner.UserID, ExpiresAt: time.Now().Add(time.Duration(e.skew.Load()) + ttl)})
	}
	short := must[tenancy.Invitation](t, "invite (1 min)")(invite(time.Minute))
	ended := must[tenancy.Invitation](t, "invite")(invite(time.Hour))
	must[tenancy.Invitation](t, "invite")(invite(time.Hour))
	_, err := invite(time.Hour)
	wantErr(t, "a fourth pending invitation", err, tenancy.ErrTooManyInvitations)
	must[tenancy.Invitation](t, "RevokeInvitation")(svc.RevokeInvitation(ctx, ended.ID, owner.UserID))
	must[tenancy.Invitation](t, "invite after a revocation")(invite(time.Hour))
	_, err = invite(time.Hour)
	wantErr(t, "a fourth pending invitation again", err, tenancy.ErrTooManyInvitations)
	e.advance(2 * time.Minute)
	if got := must[tenancy.Invitation](t, "GetInvitation")(svc.GetInvitation(ctx, short.ID)); got.Status != tenancy.InvitationExpired {
		t.Fatalf("status %s, want expired", got.Status)
	}
	must[tenancy.Invitation](t, "invite after an expiry")(invite(time.Hour))
}

func testRevokeUser(t *testing.T, e *env) {
	o, owner := e.org(t)
	alone, aloneOwner := e.org(t)
	bob := must[tenancy.Membership](t, "AddMember")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Member, owner.UserID, tenancy.UUID{}))
	must[tenancy.Membership](t, "AddMember(bob → alone)")(e.svc.AddMember(ctx, alone.ID, bob.UserID, tenancy.Admin, aloneOwner.UserID, tenancy.UUID{}))

	// A user whose revocation would strand other members without an owner
	// is refused, and nothing of the cascade happens.
	_, err := e.ids.RevokeUser(ctx, owner.UserID)
	wantErr(t, "revoke the sole owner of an org with members", err, tenancy.ErrSoleOwner)
	if u := must[identity.User](t, "GetUser")(e.ids.GetUser(ctx, owner.UserID)); u.Status != identity.Active {
		t.Fatalf("a refused revocation left the user %s", u.Status)
	}
	// A member's revocation revokes every membership and tuple of theirs.
	must[identity.User](t, "RevokeUser(bob)")(e.ids.RevokeUser(ctx, bob.UserID))
	for _, org := range []tenancy.UUID{o.ID, alone.ID} {
		if got := e.relationsOn(t, bob.UserID, org); len(got) != 0 {
			t.Fatalf("a revoked user keeps %v", got)
		}
	}
	if orgs := e.orgsOf(t, bob.UserID); len(orgs) != 0 {
		t.Fatalf("a revoked user's orgs: %v", orgs)
	}
	// The sole owner and sole member may go: nobody is stranded.
	must[identity.User](t, "RevokeUser(alone owner)")(e.ids.RevokeUser(ctx, aloneOwner.UserID))
}
