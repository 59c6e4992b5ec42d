package tenancytest

import (
	"errors"
	"testing"
	"time"

	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
)

// testNULRefused: every string the module stores or looks rows up by
// refuses what PostgreSQL text cannot hold — a NUL, or bytes that are not
// UTF-8 — with an invalid-format error (tenancy's, or tuples' for the
// pattern-checked pre-tuple fields), before any store call: on the memory
// store as on PostgreSQL, where it would otherwise be a 500.
func testNULRefused(t *testing.T, e *env) {
	o, owner := e.org(t)
	ptr := func(s string) *string { return &s }
	pptr := func(s string) **string { p := ptr(s); return &p }
	invite := func(identifier string, pts ...tenancy.PreTuple) func() error {
		return func() error {
			_, err := e.svc.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: o.ID, Identifier: identifier, Role: tenancy.Member,
				PreTuples: pts, InvitedBy: owner.UserID, ExpiresAt: time.Now().Add(time.Hour)})
			return err
		}
	}
	doc := tuples.NewUUID()
	const nul, notUTF8 = "a\x00b", "a\xffb"
	cases := []struct {
		name string
		call func() error
		want error
	}{
		{"CreateOrg name", func() error {
			_, _, err := e.svc.CreateOrg(ctx, e.user(t), tenancy.OrgInput{Name: ptr(nul)})
			return err
		}, tenancy.ErrInvalidInput},
		{"CreateOrg name not UTF-8", func() error {
			_, _, err := e.svc.CreateOrg(ctx, e.user(t), tenancy.OrgInput{Name: ptr(notUTF8)})
			return err
		}, tenancy.ErrInvalidInput},
		{"CreateOrg slug", func() error {
			_, _, err := e.svc.CreateOrg(ctx, e.user(t), tenancy.OrgInput{Slug: ptr("acme\x00")})
			return err
		}, tenancy.ErrInvalidInput},
		{"UpdateOrg name", func() error {
			_, err := e.svc.UpdateOrg(ctx, o.ID, tenancy.OrgPatch{Name: pptr(nul)}, tenancy.UUID{})
			return err
		}, tenancy.ErrInvalidInput},
		{"UpdateOrg slug", func() error {
			_, err := e.svc.UpdateOrg(ctx, o.ID, tenancy.OrgPatch{Slug: pptr("\x00")}, tenancy.UUID{})
			return err
		}, tenancy.ErrInvalidInput},
		{"UpdateOrg slug not UTF-8", func() error {
			_, err := e.svc.UpdateOrg(ctx, o.ID, tenancy.OrgPatch{Slug: pptr(notUTF8)}, tenancy.UUID{})
			return err
		}, tenancy.ErrInvalidInput},
		{"CreateInvitation identifier", invite("x\x00@example.com"), tenancy.ErrInvalidInput},
		{"CreateInvitation identifier not UTF-8", invite(notUTF8), tenancy.ErrInvalidInput},
		{"CreateInvitation pre-tuple relation", invite("pt@example.com", tenancy.PreTuple{Relation: "vie\x00wer", ObjectType: "doc", ObjectID: doc}),
			tuples.ErrInvalidRelation},
		{"CreateInvitation pre-tuple object_type", invite("pt@example.com", tenancy.PreTuple{Relation: "viewer", ObjectType: "do\x00c", ObjectID: doc}),
			tuples.ErrInvalidObjType},
		{"HoldsIdentifier", func() error { _, err := e.svc.HoldsIdentifier(ctx, owner.UserID, nul); return err }, tenancy.ErrInvalidInput},
	}
	for _, tc := range cases {
		err := tc.call()
		if !errors.Is(err, tc.want) || tuples.KindOf(err) != tuples.Invalid {
			t.Errorf("%s: err = %v, want %v (kind Invalid)", tc.name, err, tc.want)
		}
	}
	got := must[tenancy.Org](t, "GetOrg")(e.svc.GetOrg(ctx, o.ID))
	if got.Name != nil || got.Slug != nil || !got.UpdatedAt.Equal(o.UpdatedAt) {
		t.Errorf("org after refused updates = %+v, want it unchanged", got)
	}
	if p := must[tenancy.Page[tenancy.Invitation]](t, "ListInvitations")(e.svc.ListInvitations(ctx, o.ID, "", "", 0)); len(p.Items) != 0 {
		t.Errorf("refused invitations left %d rows", len(p.Items))
	}
}
