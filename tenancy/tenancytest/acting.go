package tenancytest

import (
	"fmt"
	"testing"
	"time"

	"github.com/flametrench/server/tenancy"
)

// A write made on a member's behalf checks again, in its own transaction,
// that the member still holds the role and rank it needs. The transport's
// policy reads the caller's role before the write begins; each call below
// is one a policy let through (the caller held the role then) made after
// the caller was demoted or removed, which is the race made deterministic.
// Each is refused with the error the policy would now give, and changes
// nothing.
func testActing(t *testing.T, e *env) {
	o, am := e.org(t)
	alice := am.UserID
	bob, carol, dave := e.user(t), e.user(t), e.user(t)
	bobM := must[tenancy.Membership](t, "AddMember(bob)")(e.svc.AddMember(ctx, o.ID, bob, tenancy.Admin, alice, alice))
	carolM := must[tenancy.Membership](t, "AddMember(carol)")(e.svc.AddMember(ctx, o.ID, carol, tenancy.Owner, alice, alice))
	// An admin in good standing acts up to their rank.
	daveM := must[tenancy.Membership](t, "AddMember(dave) by bob")(e.svc.AddMember(ctx, o.ID, dave, tenancy.Member, bob, bob))
	daveM = must[tenancy.Membership](t, "ChangeRole(dave) by bob")(e.svc.ChangeRole(ctx, daveM.ID, tenancy.Guest, bob))
	// An owner hands over their own ownership only.
	_, _, err := e.svc.TransferOwnership(ctx, o.ID, am.ID, daveM.ID, carol)
	wantErr(t, "carol transfers alice's ownership", err, tenancy.ErrForbidden)

	// Bob is demoted to member, carol to admin, after their requests
	// passed the policy.
	must[tenancy.Membership](t, "demote bob")(e.svc.ChangeRole(ctx, bobM.ID, tenancy.Member, alice))
	carolA := must[tenancy.Membership](t, "demote carol")(e.svc.ChangeRole(ctx, carolM.ID, tenancy.Admin, alice))
	before := e.state(t, o.ID)
	name := "Renamed"
	for _, c := range []struct {
		what string
		call func() error
		want error
	}{
		{"bob adds a member", func() error {
			_, err := e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Guest, bob, bob)
			return err
		}, tenancy.ErrForbidden},
		{"bob changes dave's role", func() error {
			_, err := e.svc.ChangeRole(ctx, daveM.ID, tenancy.Member, bob)
			return err
		}, tenancy.ErrForbidden},
		{"bob suspends dave", func() error { _, err := e.svc.SuspendMembership(ctx, daveM.ID, bob); return err }, tenancy.ErrForbidden},
		{"bob reinstates dave", func() error { _, err := e.svc.ReinstateMembership(ctx, daveM.ID, bob); return err }, tenancy.ErrForbidden},
		{"bob renames the org", func() error {
			_, err := e.svc.UpdateOrg(ctx, o.ID, tenancy.OrgPatch{Name: ptr(&name)}, bob)
			return err
		}, tenancy.ErrForbidden},
		{"carol revokes the org", func() error { _, err := e.svc.RevokeOrg(ctx, o.ID, carol); return err }, tenancy.ErrForbidden},
		{"carol transfers her old ownership", func() error {
			_, _, err := e.svc.TransferOwnership(ctx, o.ID, carolM.ID, daveM.ID, carol)
			return err
		}, tenancy.ErrForbidden},
		{"carol adds an owner", func() error {
			_, err := e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Owner, carol, carol)
			return err
		}, tenancy.ErrRoleHierarchy},
		{"carol demotes alice", func() error {
			_, err := e.svc.ChangeRole(ctx, am.ID, tenancy.Member, carol)
			return err
		}, tenancy.ErrRoleHierarchy},
		{"carol promotes dave to owner", func() error {
			_, err := e.svc.ChangeRole(ctx, daveM.ID, tenancy.Owner, carol)
			return err
		}, tenancy.ErrRoleHierarchy},
		{"carol suspends alice", func() error { _, err := e.svc.SuspendMembership(ctx, am.ID, carol); return err }, tenancy.ErrRoleHierarchy},
		{"carol invites an owner", func() error {
			_, err := e.svc.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: o.ID, Identifier: "x@example.com", Role: tenancy.Owner,
				InvitedBy: carol, ExpiresAt: time.Now().Add(time.Hour)})
			return err
		}, tenancy.ErrRoleHierarchy},
	} {
		wantErr(t, c.what, c.call(), c.want)
	}
	if after := e.state(t, o.ID); after != before {
		t.Fatalf("refused writes changed the org:\n%s\nwas\n%s", after, before)
	}

	// Removed altogether: bob is no member at all.
	must[tenancy.Membership](t, "remove bob")(e.svc.AdminRemove(ctx, alice, must[tenancy.Membership](t, "bob's membership")(
		e.svc.ActiveMembership(ctx, o.ID, bob)).ID))
	_, err = e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Guest, bob, bob)
	wantErr(t, "a removed admin adds a member", err, tenancy.ErrForbidden)
	_, err = e.svc.SuspendMembership(ctx, daveM.ID, bob)
	wantErr(t, "a removed admin suspends a member", err, tenancy.ErrForbidden)

	// Carol, an admin now, still acts within her rank; no acting member
	// (the platform) is not checked.
	must[tenancy.Membership](t, "carol suspends dave")(e.svc.SuspendMembership(ctx, daveM.ID, carolA.UserID))
	must[tenancy.Org](t, "the platform renames the org")(e.svc.UpdateOrg(ctx, o.ID, tenancy.OrgPatch{Name: ptr(&name)}, tenancy.UUID{}))
	e.checkDuality(t, o.ID)
}

// state renders an org and its memberships, to compare before and after.
func (e *env) state(t *testing.T, org tenancy.UUID) string {
	t.Helper()
	o := must[tenancy.Org](t, "GetOrg")(e.svc.GetOrg(ctx, org))
	name := "<null>"
	if o.Name != nil {
		name = *o.Name
	}
	s := fmt.Sprintf("%s %q %v\n", o.Status, name, o.UpdatedAt)
	all := must[tenancy.Page[tenancy.Membership]](t, "ListMembers")(e.svc.ListMembers(ctx, org, "", "", 100))
	for _, m := range all.Items {
		s += fmt.Sprintf("%s %s %s %s\n", m.UserID, m.Role, m.Status, e.relationsOn(t, m.UserID, org))
	}
	return s
}
