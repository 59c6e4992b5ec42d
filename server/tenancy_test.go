package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flametrench/server/tuples"
)

// The wire shapes of the tenancy schemas: every key, exactly
// (additionalProperties: false; nullable fields present as null).
var (
	tnOrgKeys        = []string{"id", "status", "name", "slug", "created_at", "updated_at"}
	tnMemberKeys     = []string{"id", "usr_id", "org_id", "role", "status", "replaces", "invited_by", "removed_by", "created_at", "updated_at"}
	tnInvitationKeys = []string{"id", "org_id", "identifier", "role", "status", "pre_tuples", "invited_by", "invited_user_id",
		"created_at", "expires_at", "terminal_at", "terminal_by"}
	tnTupleKeys = []string{"id", "subject_type", "subject_id", "relation", "object_type", "object_id", "created_at", "created_by"}
)

type tnOrg struct {
	ID        string  `json:"id"`
	Status    string  `json:"status"`
	Name      *string `json:"name"`
	Slug      *string `json:"slug"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
}

type tnMember struct {
	ID        string  `json:"id"`
	UsrID     string  `json:"usr_id"`
	OrgID     string  `json:"org_id"`
	Role      string  `json:"role"`
	Status    string  `json:"status"`
	Replaces  *string `json:"replaces"`
	InvitedBy *string `json:"invited_by"`
	RemovedBy *string `json:"removed_by"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
}

type tnPreTuple struct {
	Relation   string `json:"relation"`
	ObjectType string `json:"object_type"`
	ObjectID   string `json:"object_id"`
}

type tnInvitation struct {
	ID            string       `json:"id"`
	OrgID         string       `json:"org_id"`
	Identifier    string       `json:"identifier"`
	Role          string       `json:"role"`
	Status        string       `json:"status"`
	PreTuples     []tnPreTuple `json:"pre_tuples"`
	InvitedBy     string       `json:"invited_by"`
	InvitedUserID *string      `json:"invited_user_id"`
	CreatedAt     string       `json:"created_at"`
	ExpiresAt     string       `json:"expires_at"`
	TerminalAt    *string      `json:"terminal_at"`
	TerminalBy    *string      `json:"terminal_by"`
}

type tnPage[T any] struct {
	Data []T `json:"data"`
	Page struct {
		NextCursor *string `json:"next_cursor"`
	} `json:"page"`
}

// tnKeys fails unless the JSON object raw has exactly the keys.
func tnKeys(t *testing.T, what string, raw json.RawMessage, keys ...string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %s is not an object: %v", what, raw, err)
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, want) {
		t.Fatalf("%s has keys %v, want %v (%s)", what, got, want, raw)
	}
}

// tnField is one top-level member of a JSON object response.
func tnField(t *testing.T, r response, name string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	r.decode(t, &m)
	v, ok := m[name]
	if !ok {
		t.Fatalf("no %q in %s", name, r.body)
	}
	return v
}

func tnUsr(u tuples.UUID) string { return tuples.FormatID("usr", u) }

func tnStr(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// tnOrgOf decodes an Organization response, checking its shape.
func tnOrgOf(t *testing.T, r response) tnOrg {
	t.Helper()
	tnKeys(t, "Organization", r.body, tnOrgKeys...)
	var o tnOrg
	r.decode(t, &o)
	return o
}

// tnMemberOf decodes a Membership response, checking its shape.
func tnMemberOf(t *testing.T, r response) tnMember {
	t.Helper()
	tnKeys(t, "Membership", r.body, tnMemberKeys...)
	var m tnMember
	r.decode(t, &m)
	return m
}

// tnInvitationOf decodes an Invitation response, checking its shape.
func tnInvitationOf(t *testing.T, r response) tnInvitation {
	t.Helper()
	tnKeys(t, "Invitation", r.body, tnInvitationKeys...)
	var inv tnInvitation
	r.decode(t, &inv)
	return inv
}

// tnCreateOrg creates an org as token (body may be nil) and returns it
// and the owner membership.
func tnCreateOrg(a *api, token string, body any) (tnOrg, tnMember) {
	a.t.Helper()
	r := a.call("POST", "/v1/orgs", token, body)
	a.want(r, http.StatusCreated)
	tnKeys(a.t, "CreateOrgResponse", r.body, "org", "owner_membership")
	tnKeys(a.t, "org", tnField(a.t, r, "org"), tnOrgKeys...)
	tnKeys(a.t, "owner_membership", tnField(a.t, r, "owner_membership"), tnMemberKeys...)
	var v struct {
		Org   tnOrg    `json:"org"`
		Owner tnMember `json:"owner_membership"`
	}
	r.decode(a.t, &v)
	return v.Org, v.Owner
}

// tnAdd adds user to org with role, as token.
func tnAdd(a *api, token, org string, user tuples.UUID, role string) tnMember {
	a.t.Helper()
	r := a.call("POST", "/v1/orgs/"+org+"/members", token, map[string]string{"usr_id": tnUsr(user), "role": role})
	a.want(r, http.StatusCreated)
	return tnMemberOf(a.t, r)
}

// tnInvite invites identifier to org with role, as token.
func tnInvite(a *api, token, org, identifier, role string, pre ...map[string]string) tnInvitation {
	a.t.Helper()
	body := map[string]any{"identifier": identifier, "role": role, "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
	if pre != nil {
		body["pre_tuples"] = pre
	}
	r := a.call("POST", "/v1/orgs/"+org+"/invitations", token, body)
	a.want(r, http.StatusCreated)
	return tnInvitationOf(a.t, r)
}

// tnAllowed asks POST /v1/tuples/check as the service key.
func tnAllowed(a *api, subj tuples.UUID, rel, objType string, obj tuples.UUID) bool {
	a.t.Helper()
	r := a.call("POST", "/v1/tuples/check", serviceKey, checkBody(subj, rel, objType, obj))
	a.want(r, http.StatusOK)
	var v struct {
		Allowed bool `json:"allowed"`
	}
	r.decode(a.t, &v)
	return v.Allowed
}

// tnOrgUUID is the UUID of a wire org id.
func tnOrgUUID(t *testing.T, id string) tuples.UUID {
	t.Helper()
	u, err := tuples.DecodeIDOf("org", id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// tnAdminUser is the bootstrap admin's user, given its session.
func tnAdminUser(a *api, session string) tuples.UUID {
	a.t.Helper()
	p, err := a.ids.Resolve(context.Background(), session, "")
	if err != nil {
		a.t.Fatal(err)
	}
	return p.UserID
}

// An organization's whole life over HTTP: create, read, update, members,
// roles, suspension, invitations with pre-tuples accepted by the invitee's
// session, decline and revoke, ownership transfer, leaving, removal, and
// the platform admin's sanctions.
func TestTenancyLifecycle(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, "")
		alice, aliceS := a.user("alice")
		bob, bobS := a.user("bob")
		carol, carolS := a.user("carol")
		dave, _ := a.user("dave")
		erin, _ := a.user("erin")
		frank, frankS := a.user("frank")
		root := a.admin()

		// Create with a name and slug: the org and its owner membership.
		org, owner := tnCreateOrg(a, aliceS, map[string]string{"name": "Acme", "slug": "acme"})
		if !strings.HasPrefix(org.ID, "org_") || org.Status != "active" || tnStr(org.Name) != "Acme" || tnStr(org.Slug) != "acme" ||
			org.CreatedAt == "" || org.UpdatedAt == "" {
			t.Fatalf("created org %+v", org)
		}
		if owner.OrgID != org.ID || owner.UsrID != tnUsr(alice) || owner.Role != "owner" || owner.Status != "active" ||
			owner.Replaces != nil || owner.InvitedBy != nil || owner.RemovedBy != nil {
			t.Fatalf("owner membership %+v", owner)
		}
		orgID := tnOrgUUID(t, org.ID)
		if !tnAllowed(a, alice, "owner", "org", orgID) {
			t.Fatal("the owner tuple was not written with the org")
		}
		// Without a body: name and slug are null.
		other, _ := tnCreateOrg(a, bobS, nil)
		if other.Name != nil || other.Slug != nil {
			t.Fatalf("an org made without a body has %+v", other)
		}
		a.want(a.call("PUT", "/v1/orgs/"+other.ID, bobS, map[string]string{"slug": "other"}), http.StatusOK)

		// Read.
		got := tnOrgOf(t, a.call("GET", "/v1/orgs/"+org.ID, aliceS, nil))
		if !reflect.DeepEqual(got, org) {
			t.Fatalf("GET = %+v, want %+v", got, org)
		}

		// Update: rename, clash, bad slug, clear, no-op.
		r := a.call("PUT", "/v1/orgs/"+org.ID, aliceS, map[string]any{"name": "Acme Inc", "slug": "acme-inc"})
		a.want(r, http.StatusOK)
		if up := tnOrgOf(t, r); tnStr(up.Name) != "Acme Inc" || tnStr(up.Slug) != "acme-inc" || up.CreatedAt != org.CreatedAt {
			t.Fatalf("updated %+v", up)
		}
		a.want(a.call("PUT", "/v1/orgs/"+org.ID, aliceS, map[string]string{"slug": "other"}), http.StatusConflict, "conflict.org_slug")
		a.want(a.call("PUT", "/v1/orgs/"+org.ID, aliceS, map[string]string{"slug": "Not A Slug"}), http.StatusConflict, "precondition.org_slug_format")
		r = a.call("PUT", "/v1/orgs/"+org.ID, aliceS, `{"name": null}`)
		a.want(r, http.StatusOK)
		if up := tnOrgOf(t, r); up.Name != nil || tnStr(up.Slug) != "acme-inc" {
			t.Fatalf("after clearing the name: %+v", up)
		}
		r = a.call("PUT", "/v1/orgs/"+org.ID, aliceS, `{}`)
		a.want(r, http.StatusOK)
		if up := tnOrgOf(t, r); up.Name != nil || tnStr(up.Slug) != "acme-inc" {
			t.Fatalf("an empty update changed %+v", up)
		}

		// Members: the owner adds an admin; the admin adds the rest.
		bobM := tnAdd(a, aliceS, org.ID, bob, "admin")
		if bobM.Role != "admin" || bobM.UsrID != tnUsr(bob) || tnStr(bobM.InvitedBy) != tnUsr(alice) || bobM.Status != "active" {
			t.Fatalf("added %+v", bobM)
		}
		daveM := tnAdd(a, bobS, org.ID, dave, "member")
		erinM := tnAdd(a, bobS, org.ID, erin, "guest")
		if tnStr(daveM.InvitedBy) != tnUsr(bob) {
			t.Fatalf("dave was invited by %s, want bob", tnStr(daveM.InvitedBy))
		}
		if !tnAllowed(a, dave, "member", "org", orgID) {
			t.Fatal("no membership tuple for an added member")
		}
		a.want(a.call("POST", "/v1/orgs/"+org.ID+"/members", aliceS, map[string]string{"usr_id": tnUsr(dave), "role": "guest"}),
			http.StatusConflict, "conflict.duplicate_membership")

		// List, two pages.
		r = a.call("GET", "/v1/orgs/"+org.ID+"/members?limit=3", bobS, nil)
		a.want(r, http.StatusOK)
		tnKeys(t, "MembershipPage", r.body, "data", "page")
		var page tnPage[tnMember]
		r.decode(t, &page)
		if len(page.Data) != 3 || page.Page.NextCursor == nil || page.Data[0].ID != owner.ID {
			t.Fatalf("first page %s", r.body)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(tnField(t, r, "data"), &items); err != nil {
			t.Fatal(err)
		}
		tnKeys(t, "a listed Membership", items[0], tnMemberKeys...)
		r = a.call("GET", "/v1/orgs/"+org.ID+"/members?limit=3&cursor="+*page.Page.NextCursor, bobS, nil)
		a.want(r, http.StatusOK)
		r.decode(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != erinM.ID || page.Page.NextCursor != nil {
			t.Fatalf("second page %s", r.body)
		}

		// Change a role: revoke-and-re-add.
		r = a.call("POST", "/v1/orgs/"+org.ID+"/members/"+daveM.ID+"/change-role", bobS, map[string]string{"new_role": "editor"})
		a.want(r, http.StatusOK)
		daveE := tnMemberOf(t, r)
		if daveE.ID == daveM.ID || tnStr(daveE.Replaces) != daveM.ID || daveE.Role != "editor" || daveE.Status != "active" {
			t.Fatalf("role changed to %+v", daveE)
		}
		if old := tnMemberOf(t, a.call("GET", "/v1/orgs/"+org.ID+"/members/"+daveM.ID, bobS, nil)); old.Status != "revoked" {
			t.Fatalf("the replaced membership is %s", old.Status)
		}
		if tnAllowed(a, dave, "member", "org", orgID) || !tnAllowed(a, dave, "editor", "org", orgID) {
			t.Fatal("the membership tuple was not swapped")
		}

		// Suspend and reinstate a membership; filter the listing by status.
		r = a.call("POST", "/v1/orgs/"+org.ID+"/members/"+erinM.ID+"/suspend", bobS, nil)
		a.want(r, http.StatusOK)
		if m := tnMemberOf(t, r); m.Status != "suspended" || m.ID != erinM.ID {
			t.Fatalf("suspended %+v", m)
		}
		r = a.call("GET", "/v1/orgs/"+org.ID+"/members?status=suspended", aliceS, nil)
		a.want(r, http.StatusOK)
		r.decode(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != erinM.ID {
			t.Fatalf("suspended members %s", r.body)
		}
		if tnAllowed(a, erin, "guest", "org", orgID) {
			t.Fatal("a suspended membership kept its tuple")
		}
		r = a.call("POST", "/v1/orgs/"+org.ID+"/members/"+erinM.ID+"/reinstate", bobS, `{}`)
		a.want(r, http.StatusOK)
		if m := tnMemberOf(t, r); m.Status != "active" {
			t.Fatalf("reinstated %+v", m)
		}
		r = a.call("GET", "/v1/orgs/"+org.ID+"/members?status=active", aliceS, nil)
		a.want(r, http.StatusOK)
		r.decode(t, &page)
		if len(page.Data) != 4 { // alice, bob, erin, dave's editor row
			t.Fatalf("active members %s", r.body)
		}

		// Invite with a pre-tuple the inviter holds; the invitee accepts
		// with their own session.
		doc := tuples.NewUUID()
		a.want(a.call("POST", "/v1/tuples", serviceKey, tupleBody(alice, "viewer", "doc", doc)), http.StatusCreated)
		inv := tnInvite(a, aliceS, org.ID, "carol@example.com", "member",
			map[string]string{"relation": "viewer", "object_type": "doc", "object_id": doc.String()})
		if !strings.HasPrefix(inv.ID, "inv_") || inv.OrgID != org.ID || inv.Status != "pending" || inv.InvitedBy != tnUsr(alice) ||
			inv.Identifier != "carol@example.com" || inv.Role != "member" || inv.InvitedUserID != nil || inv.TerminalAt != nil ||
			inv.TerminalBy != nil || len(inv.PreTuples) != 1 || inv.PreTuples[0] != (tnPreTuple{"viewer", "doc", doc.String()}) {
			t.Fatalf("invitation %+v", inv)
		}
		if seen := tnInvitationOf(t, a.call("GET", "/v1/invitations/"+inv.ID, carolS, nil)); seen.ID != inv.ID {
			t.Fatalf("the invitee sees %+v", seen)
		}
		a.want(a.call("GET", "/v1/invitations/"+inv.ID, aliceS, nil), http.StatusOK)
		r = a.call("GET", "/v1/orgs/"+org.ID+"/invitations?status=pending", bobS, nil)
		a.want(r, http.StatusOK)
		var invs tnPage[tnInvitation]
		r.decode(t, &invs)
		if len(invs.Data) != 1 || invs.Data[0].ID != inv.ID || invs.Page.NextCursor != nil {
			t.Fatalf("pending invitations %s", r.body)
		}

		r = a.call("POST", "/v1/invitations/"+inv.ID+"/accept", carolS, nil)
		a.want(r, http.StatusOK)
		tnKeys(t, "AcceptInvitationResponse", r.body, "invitation", "membership", "materialized_tuples")
		tnKeys(t, "accepted invitation", tnField(t, r, "invitation"), tnInvitationKeys...)
		tnKeys(t, "accepted membership", tnField(t, r, "membership"), tnMemberKeys...)
		var acc struct {
			Invitation tnInvitation `json:"invitation"`
			Membership tnMember     `json:"membership"`
			Tuples     []tupleJSON  `json:"materialized_tuples"`
		}
		r.decode(t, &acc)
		if acc.Invitation.Status != "accepted" || tnStr(acc.Invitation.TerminalBy) != tnUsr(carol) ||
			tnStr(acc.Invitation.InvitedUserID) != tnUsr(carol) || acc.Invitation.TerminalAt == nil {
			t.Fatalf("accepted invitation %+v", acc.Invitation)
		}
		if acc.Membership.UsrID != tnUsr(carol) || acc.Membership.Role != "member" || acc.Membership.OrgID != org.ID ||
			tnStr(acc.Membership.InvitedBy) != tnUsr(alice) || acc.Membership.Status != "active" {
			t.Fatalf("accepted membership %+v", acc.Membership)
		}
		var tups []json.RawMessage
		if err := json.Unmarshal(tnField(t, r, "materialized_tuples"), &tups); err != nil || len(tups) != 1 {
			t.Fatalf("materialized_tuples %s", r.body)
		}
		tnKeys(t, "materialized tuple", tups[0], tnTupleKeys...)
		if tp := acc.Tuples[0]; !strings.HasPrefix(tp.ID, "tup_") || tp.SubjectType != "usr" || tp.SubjectID != carol.String() ||
			tp.Relation != "viewer" || tp.ObjectType != "doc" || tp.ObjectID != doc.String() || tnStr(tp.CreatedBy) != tnUsr(alice) {
			t.Fatalf("materialized tuple %+v", tp)
		}
		// The grant holds, checked by the invitee about themselves.
		r = a.call("POST", "/v1/tuples/check", carolS, checkBody(carol, "viewer", "doc", doc))
		a.want(r, http.StatusOK)
		var chk struct {
			Allowed bool `json:"allowed"`
		}
		r.decode(t, &chk)
		if !chk.Allowed || !tnAllowed(a, carol, "member", "org", orgID) {
			t.Fatalf("after accepting, check = %s", r.body)
		}
		a.want(a.call("POST", "/v1/invitations/"+inv.ID+"/accept", carolS, nil), http.StatusConflict, "conflict.invitation_not_pending")

		// Decline (the invitee) and revoke (an admin) other invitations.
		declined := tnInvite(a, bobS, org.ID, "frank@example.com", "guest")
		r = a.call("POST", "/v1/invitations/"+declined.ID+"/decline", frankS, nil)
		a.want(r, http.StatusOK)
		if d := tnInvitationOf(t, r); d.Status != "declined" || tnStr(d.TerminalBy) != tnUsr(frank) || d.TerminalAt == nil || d.InvitedUserID != nil {
			t.Fatalf("declined %+v", d)
		}
		revoked := tnInvite(a, aliceS, org.ID, "gina@example.com", "admin")
		r = a.call("POST", "/v1/invitations/"+revoked.ID+"/revoke", bobS, nil)
		a.want(r, http.StatusOK)
		if d := tnInvitationOf(t, r); d.Status != "revoked" || tnStr(d.TerminalBy) != tnUsr(bob) {
			t.Fatalf("revoked %+v", d)
		}
		a.want(a.call("POST", "/v1/invitations/"+revoked.ID+"/revoke", bobS, nil), http.StatusConflict, "conflict.invitation_not_pending")
		r = a.call("GET", "/v1/orgs/"+org.ID+"/invitations", aliceS, nil)
		a.want(r, http.StatusOK)
		r.decode(t, &invs)
		var states []string
		for _, i := range invs.Data {
			states = append(states, i.Status)
		}
		if !slices.Equal(states, []string{"accepted", "declined", "revoked"}) {
			t.Fatalf("invitation states %v", states)
		}

		// Transfer ownership: alice hands it to bob.
		r = a.call("POST", "/v1/orgs/"+org.ID+"/transfer-ownership", aliceS, map[string]string{"from_mem_id": owner.ID, "to_mem_id": bobM.ID})
		a.want(r, http.StatusOK)
		tnKeys(t, "TransferOwnershipResponse", r.body, "from_membership", "to_membership")
		var tr struct {
			From tnMember `json:"from_membership"`
			To   tnMember `json:"to_membership"`
		}
		r.decode(t, &tr)
		if tr.From.UsrID != tnUsr(alice) || tr.From.Role != "member" || tnStr(tr.From.Replaces) != owner.ID ||
			tr.To.UsrID != tnUsr(bob) || tr.To.Role != "owner" || tnStr(tr.To.Replaces) != bobM.ID {
			t.Fatalf("transferred %+v", tr)
		}
		if tnAllowed(a, alice, "owner", "org", orgID) || !tnAllowed(a, bob, "owner", "org", orgID) {
			t.Fatal("the owner tuples did not move")
		}

		// Self-leave: the sole owner must hand over (transferTo), a member
		// just goes.
		a.want(a.call("POST", "/v1/orgs/"+org.ID+"/members/"+tr.To.ID+"/self-leave", bobS, nil), http.StatusConflict, "conflict.sole_owner")
		r = a.call("POST", "/v1/orgs/"+org.ID+"/members/"+tr.To.ID+"/self-leave", bobS, map[string]string{"transferTo": tnUsr(carol)})
		a.want(r, http.StatusOK)
		if m := tnMemberOf(t, r); m.Status != "revoked" || m.RemovedBy != nil || m.UsrID != tnUsr(bob) {
			t.Fatalf("left %+v", m)
		}
		if !tnAllowed(a, carol, "owner", "org", orgID) || tnAllowed(a, bob, "owner", "org", orgID) {
			t.Fatal("ownership did not pass to carol on bob's leave")
		}
		r = a.call("POST", "/v1/orgs/"+org.ID+"/members/"+tr.From.ID+"/self-leave", aliceS, `{"transfer_to": null}`)
		a.want(r, http.StatusOK)
		if m := tnMemberOf(t, r); m.Status != "revoked" || m.RemovedBy != nil {
			t.Fatalf("alice left %+v", m)
		}
		a.want(a.call("GET", "/v1/orgs/"+org.ID, aliceS, nil), http.StatusNotFound, "not_found")

		// Admin-remove: the new owner removes erin.
		r = a.call("POST", "/v1/orgs/"+org.ID+"/members/"+erinM.ID+"/admin-remove", carolS, nil)
		a.want(r, http.StatusOK)
		if m := tnMemberOf(t, r); m.Status != "revoked" || tnStr(m.RemovedBy) != tnUsr(carol) {
			t.Fatalf("removed %+v", m)
		}
		if tnAllowed(a, erin, "guest", "org", orgID) {
			t.Fatal("a removed member kept the tuple")
		}

		// The platform admin suspends the org (its grants lapse, A28) and
		// reinstates it.
		r = a.call("POST", "/v1/orgs/"+org.ID+"/suspend", root, nil)
		a.want(r, http.StatusOK)
		if o := tnOrgOf(t, r); o.Status != "suspended" {
			t.Fatalf("suspended %+v", o)
		}
		if tnAllowed(a, carol, "owner", "org", orgID) {
			t.Fatal("a suspended org's grants hold")
		}
		if o := tnOrgOf(t, a.call("GET", "/v1/orgs/"+org.ID, carolS, nil)); o.Status != "suspended" {
			t.Fatalf("the owner sees %+v", o)
		}
		a.want(a.call("POST", "/v1/orgs/"+org.ID+"/reinstate", serviceKey, nil), http.StatusOK)
		if !tnAllowed(a, carol, "owner", "org", orgID) {
			t.Fatal("reinstating did not restore the grants")
		}

		// The owner revokes it: every membership ends, and with them the
		// owner's sight of it.
		r = a.call("POST", "/v1/orgs/"+org.ID+"/revoke", carolS, nil)
		a.want(r, http.StatusOK)
		if o := tnOrgOf(t, r); o.Status != "revoked" {
			t.Fatalf("revoked %+v", o)
		}
		if tnAllowed(a, carol, "owner", "org", orgID) || tnAllowed(a, dave, "editor", "org", orgID) {
			t.Fatal("a revoked org's membership tuples remain")
		}
		a.want(a.call("GET", "/v1/orgs/"+org.ID, carolS, nil), http.StatusNotFound, "not_found")
		if o := tnOrgOf(t, a.call("GET", "/v1/orgs/"+org.ID, root, nil)); o.Status != "revoked" {
			t.Fatalf("the admin sees %+v", o)
		}
		a.want(a.call("POST", "/v1/orgs/"+org.ID+"/revoke", root, nil), http.StatusConflict, "conflict.already_terminal")
		r = a.call("GET", "/v1/orgs/"+org.ID+"/members?status=active", root, nil)
		a.want(r, http.StatusOK)
		r.decode(t, &page)
		if len(page.Data) != 0 {
			t.Fatalf("active members of a revoked org: %s", r.body)
		}
	})
}
