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
	AcceptToken   string       `json:"accept_token"` // createInvitation's answer only
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
	return tnCreatedOf(a.t, r)
}

// tnCreatedOf decodes createInvitation's answer: an Invitation and its
// accept token.
func tnCreatedOf(t *testing.T, r response) tnInvitation {
	t.Helper()
	tnKeys(t, "created Invitation", r.body, append(slices.Clone(tnInvitationKeys), "accept_token")...)
	var inv tnInvitation
	r.decode(t, &inv)
	if !strings.HasPrefix(inv.AcceptToken, "ivt_") || len(inv.AcceptToken) != len("ivt_")+43 {
		t.Fatalf("accept_token %q, want ivt_ and 43 base64url characters", inv.AcceptToken)
	}
	return inv
}

// tnWithToken is the header that presents inv's accept token.
func tnWithToken(inv tnInvitation) []string {
	return []string{"Flametrench-Accept-Token", inv.AcceptToken}
}

// tnTokenBody is a body presenting inv's accept token, with more fields.
func tnTokenBody(inv tnInvitation, kv ...string) map[string]string {
	b := map[string]string{"accept_token": inv.AcceptToken}
	for i := 0; i+1 < len(kv); i += 2 {
		b[kv[i]] = kv[i+1]
	}
	return b
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
		if seen := tnInvitationOf(t, a.call("GET", "/v1/invitations/"+inv.ID, carolS, nil, tnWithToken(inv)...)); seen.ID != inv.ID {
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

		r = a.call("POST", "/v1/invitations/"+inv.ID+"/accept", carolS, tnTokenBody(inv))
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
		a.want(a.call("POST", "/v1/invitations/"+inv.ID+"/accept", carolS, tnTokenBody(inv)), http.StatusConflict, "conflict.invitation_not_pending")

		// Decline (the invitee) and revoke (an admin) other invitations.
		declined := tnInvite(a, bobS, org.ID, "frank@example.com", "guest")
		r = a.call("POST", "/v1/invitations/"+declined.ID+"/decline", frankS, tnTokenBody(declined))
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

// tnFixture is an org with an owner (alice), an admin (bob), a member
// (dave), a guest (erin), an outsider (mallory) and a pending invitation
// for carol, who is not yet a member.
type tnFixture struct {
	org                         tnOrg
	aliceM, bobM, daveM, erinM  tnMember
	alice, bob, carol, dave     tuples.UUID
	mallory                     tuples.UUID
	aliceS, bobS, carolS, daveS string
	erinS, malloryS             string
	inv                         tnInvitation
}

func tnSetup(a *api) *tnFixture {
	a.t.Helper()
	f := &tnFixture{}
	f.alice, f.aliceS = a.user("alice")
	f.bob, f.bobS = a.user("bob")
	f.carol, f.carolS = a.user("carol")
	f.dave, f.daveS = a.user("dave")
	var erin tuples.UUID
	erin, f.erinS = a.user("erin")
	f.mallory, f.malloryS = a.user("mallory")
	f.org, f.aliceM = tnCreateOrg(a, f.aliceS, map[string]string{"name": "Acme"})
	f.bobM = tnAdd(a, f.aliceS, f.org.ID, f.bob, "admin")
	f.daveM = tnAdd(a, f.aliceS, f.org.ID, f.dave, "member")
	f.erinM = tnAdd(a, f.aliceS, f.org.ID, erin, "guest")
	f.inv = tnInvite(a, f.aliceS, f.org.ID, "carol@example.com", "member")
	return f
}

// Who may call what: non-members are told 404, members without the role
// or rank are refused (403), PATs need their scope, and invitations are
// the invitee's to accept.
func TestTenancyAuthorization(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, "")
		f := tnSetup(a)
		org := "/v1/orgs/" + f.org.ID
		mem := func(m tnMember) string { return org + "/members/" + m.ID }
		inv := "/v1/invitations/" + f.inv.ID
		exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)

		// Without a token: 401.
		a.want(a.call("GET", org, "", nil), http.StatusUnauthorized, "unauthorized.missing_token")
		a.want(a.call("POST", inv+"/accept", "", nil), http.StatusUnauthorized, "unauthorized.missing_token")

		// A non-member is told the org, its members and invitations do not
		// exist, exactly as for an org that does not exist.
		missing := "/v1/orgs/" + tuples.FormatID("org", tuples.NewUUID())
		want404 := a.call("GET", missing, f.malloryS, nil)
		a.want(want404, http.StatusNotFound, "not_found")
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", org, nil},
			{"PUT", org, map[string]string{"name": "mine"}},
			{"POST", org + "/revoke", nil},
			{"POST", org + "/transfer-ownership", map[string]string{"from_mem_id": f.aliceM.ID, "to_mem_id": f.bobM.ID}},
			{"GET", org + "/members", nil},
			{"POST", org + "/members", map[string]string{"usr_id": tnUsr(f.mallory), "role": "owner"}},
			{"GET", mem(f.daveM), nil},
			{"POST", mem(f.daveM) + "/change-role", map[string]string{"new_role": "guest"}},
			{"POST", mem(f.daveM) + "/suspend", nil},
			{"POST", mem(f.daveM) + "/reinstate", nil},
			{"POST", mem(f.daveM) + "/self-leave", nil},
			{"POST", mem(f.daveM) + "/admin-remove", nil},
			{"GET", org + "/invitations", nil},
			{"POST", org + "/invitations", map[string]any{"identifier": "m@example.com", "role": "member", "expires_at": exp}},
		} {
			r := a.call(c.method, c.path, f.malloryS, c.body)
			if r.status != http.StatusNotFound || string(r.body) != string(want404.body) {
				t.Errorf("non-member %s %s = %d %s, want %s", c.method, c.path, r.status, r.body, want404.body)
			}
		}
		for _, path := range []string{inv, inv + "/accept", inv + "/decline", inv + "/revoke"} {
			method := "POST"
			if path == inv {
				method = "GET"
			}
			a.want(a.call(method, path, f.malloryS, nil), http.StatusNotFound, "not_found")
		}

		// A plain member reads the org and its members, and manages
		// nothing.
		a.want(a.call("GET", org, f.daveS, nil), http.StatusOK)
		a.want(a.call("GET", org+"/members", f.daveS, nil), http.StatusOK)
		a.want(a.call("GET", mem(f.bobM), f.daveS, nil), http.StatusOK)
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"PUT", org, map[string]string{"name": "mine"}},
			{"POST", org + "/revoke", nil},
			{"POST", org + "/members", map[string]string{"usr_id": tnUsr(f.mallory), "role": "guest"}},
			{"POST", mem(f.erinM) + "/change-role", map[string]string{"new_role": "member"}},
			{"POST", mem(f.erinM) + "/suspend", nil},
			{"POST", mem(f.erinM) + "/reinstate", nil},
			{"POST", mem(f.erinM) + "/admin-remove", nil},
			{"GET", org + "/invitations", nil},
			{"POST", org + "/invitations", map[string]any{"identifier": "m@example.com", "role": "guest", "expires_at": exp}},
		} {
			a.want(a.call(c.method, c.path, f.daveS, c.body), http.StatusForbidden, "forbidden")
		}
		// Nor may they see or end invitations.
		a.want(a.call("GET", inv, f.daveS, nil), http.StatusNotFound, "not_found")
		a.want(a.call("POST", inv+"/revoke", f.daveS, nil), http.StatusNotFound, "not_found")

		// An admin manages members up to their own rank: no owners.
		a.want(a.call("POST", org+"/members", f.bobS, map[string]string{"usr_id": tnUsr(f.mallory), "role": "owner"}),
			http.StatusForbidden, "forbidden.role_hierarchy")
		a.want(a.call("POST", mem(f.daveM)+"/change-role", f.bobS, map[string]string{"new_role": "owner"}),
			http.StatusForbidden, "forbidden.role_hierarchy")
		a.want(a.call("POST", mem(f.aliceM)+"/change-role", f.bobS, map[string]string{"new_role": "member"}),
			http.StatusForbidden, "forbidden.role_hierarchy")
		a.want(a.call("POST", mem(f.aliceM)+"/suspend", f.bobS, nil), http.StatusForbidden, "forbidden.role_hierarchy")
		a.want(a.call("POST", mem(f.aliceM)+"/admin-remove", f.bobS, nil), http.StatusForbidden, "forbidden.role_hierarchy")
		a.want(a.call("POST", org+"/invitations", f.bobS, map[string]any{"identifier": "m@example.com", "role": "owner", "expires_at": exp}),
			http.StatusForbidden, "forbidden.role_hierarchy")
		a.want(a.call("POST", org+"/revoke", f.bobS, nil), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", org+"/transfer-ownership", f.bobS, map[string]string{"from_mem_id": f.aliceM.ID, "to_mem_id": f.bobM.ID}),
			http.StatusForbidden, "forbidden")
		// An invitation can grant only what its inviter holds.
		a.want(a.call("POST", org+"/invitations", f.bobS, map[string]any{"identifier": "m@example.com", "role": "guest", "expires_at": exp,
			"pre_tuples": []map[string]string{{"relation": "viewer", "object_type": "doc", "object_id": tuples.NewUUID().String()}}}),
			http.StatusForbidden, "forbidden")
		// An owner transfers their own ownership only.
		a.want(a.call("POST", org+"/transfer-ownership", f.aliceS, map[string]string{"from_mem_id": f.bobM.ID, "to_mem_id": f.daveM.ID}),
			http.StatusForbidden, "forbidden")
		// Nobody leaves for someone else; the service key has no
		// membership to leave.
		a.want(a.call("POST", mem(f.daveM)+"/self-leave", f.aliceS, nil), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", mem(f.daveM)+"/self-leave", serviceKey, nil), http.StatusForbidden, "forbidden")
		// A plain user, even the owner, cannot suspend or reinstate an org.
		a.want(a.call("POST", org+"/suspend", f.aliceS, nil), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", org+"/reinstate", f.aliceS, nil), http.StatusForbidden, "forbidden")

		// Someone else's invitation: a manager sees it but may not accept
		// or decline it (403); the invitee may not revoke it (403); a body
		// naming another user or identifier is refused. Even with the
		// token, a user who does not hold the identifier is a stranger.
		a.want(a.call("POST", inv+"/accept", f.bobS, tnTokenBody(f.inv)), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", inv+"/decline", f.aliceS, tnTokenBody(f.inv)), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", inv+"/accept", f.daveS, tnTokenBody(f.inv)), http.StatusNotFound, "not_found")
		a.want(a.call("GET", inv, f.daveS, nil, tnWithToken(f.inv)...), http.StatusNotFound, "not_found")
		a.want(a.call("POST", inv+"/revoke", f.carolS, nil, tnWithToken(f.inv)...), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", inv+"/revoke", f.carolS, nil), http.StatusNotFound, "not_found")
		a.want(a.call("POST", inv+"/accept", f.carolS, tnTokenBody(f.inv, "as_usr_id", tnUsr(f.dave))), http.StatusForbidden, "forbidden.subject_mismatch")
		a.want(a.call("POST", inv+"/accept", f.carolS, tnTokenBody(f.inv, "accepting_identifier", "dave@example.com")),
			http.StatusForbidden, "forbidden.identifier_unowned")
		if st := tnInvitationOf(t, a.call("GET", inv, f.carolS, nil, tnWithToken(f.inv)...)).Status; st != "pending" {
			t.Fatalf("after refused accepts the invitation is %s", st)
		}
		// The invitee's matching body is accepted.
		r := a.call("POST", inv+"/accept", f.carolS, tnTokenBody(f.inv, "as_usr_id", tnUsr(f.carol), "accepting_identifier", "carol@example.com"))
		a.want(r, http.StatusOK)

		// PATs: the scope decides; a PAT is never the invitee.
		read := a.pat(f.alice, "orgs:read")
		write := a.pat(f.alice, "orgs:write")
		none := a.pat(f.alice, "tuples:read")
		a.want(a.call("GET", org, read, nil), http.StatusOK)
		a.want(a.call("GET", org+"/members", read, nil), http.StatusOK)
		a.want(a.call("GET", org, none, nil), http.StatusForbidden, "forbidden")
		a.want(a.call("PUT", org, read, map[string]string{"name": "x"}), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", org+"/members", read, map[string]string{"usr_id": tnUsr(f.mallory), "role": "guest"}), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/orgs", read, nil), http.StatusForbidden, "forbidden")
		a.want(a.call("PUT", org, write, map[string]string{"name": "by PAT"}), http.StatusOK)
		_, byPAT := tnCreateOrg(a, write, nil)
		if byPAT.UsrID != tnUsr(f.alice) {
			t.Fatalf("an org made with alice's PAT is owned by %s", byPAT.UsrID)
		}
		inv2 := tnInvite(a, write, f.org.ID, "mallory@example.com", "guest")
		mallory := a.pat(f.mallory, "orgs:read", "orgs:write")
		a.want(a.call("POST", "/v1/invitations/"+inv2.ID+"/accept", mallory, tnTokenBody(inv2)), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/invitations/"+inv2.ID+"/decline", mallory, tnTokenBody(inv2)), http.StatusForbidden, "forbidden")
		a.want(a.call("GET", "/v1/invitations/"+inv2.ID, mallory, nil, tnWithToken(inv2)...), http.StatusNotFound, "not_found")
		a.want(a.call("GET", "/v1/invitations/"+inv2.ID, read, nil), http.StatusOK)
		a.want(a.call("POST", "/v1/invitations/"+inv2.ID+"/revoke", write, nil), http.StatusOK)

		// Only a platform admin names an org's owner or an inviter.
		a.want(a.call("POST", "/v1/orgs", f.aliceS, map[string]string{"owner_usr_id": tnUsr(f.alice)}), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", org+"/invitations", f.aliceS, map[string]any{"identifier": "x@example.com", "role": "guest",
			"expires_at": exp, "invited_by": tnUsr(f.bob)}), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", org+"/members", f.bobS, map[string]string{"usr_id": tnUsr(f.mallory), "role": "guest",
			"invited_by": tnUsr(f.alice)}), http.StatusForbidden, "forbidden")
	})
}

// The platform admin may do everything, acting on the org's owner's
// authority where a rule needs an acting member; only it may create an
// invitee (the mint-new path).
func TestTenancyPlatformAdmin(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, "")
		f := tnSetup(a)
		root := a.admin()
		rootUser := tnAdminUser(a, root)
		org := "/v1/orgs/" + f.org.ID

		// The service key has no user: it names the owner.
		a.want(a.call("POST", "/v1/orgs", serviceKey, nil), http.StatusBadRequest, "invalid_format.owner_usr_id")
		o, owner := tnCreateOrg(a, serviceKey, map[string]string{"owner_usr_id": tnUsr(f.mallory), "slug": "mallory-co"})
		if owner.UsrID != tnUsr(f.mallory) || tnStr(o.Slug) != "mallory-co" {
			t.Fatalf("created for mallory: %+v %+v", o, owner)
		}
		// An admin's session without owner_usr_id owns what it creates.
		if _, m := tnCreateOrg(a, root, nil); m.UsrID != tnUsr(rootUser) {
			t.Fatalf("root's org is owned by %s", m.UsrID)
		}

		// Reads and member management of an org it is not a member of.
		a.want(a.call("GET", org, root, nil), http.StatusOK)
		a.want(a.call("GET", org+"/members", serviceKey, nil), http.StatusOK)
		m := tnAdd(a, serviceKey, f.org.ID, f.mallory, "owner")
		if m.InvitedBy != nil || m.Role != "owner" {
			t.Fatalf("added by the service key: %+v", m)
		}
		r := a.call("POST", org+"/members/"+m.ID+"/change-role", root, map[string]string{"new_role": "viewer"})
		a.want(r, http.StatusOK)
		// adminRemove on the first active owner's authority.
		r = a.call("POST", org+"/members/"+f.daveM.ID+"/admin-remove", serviceKey, nil)
		a.want(r, http.StatusOK)
		if rm := tnMemberOf(t, r); tnStr(rm.RemovedBy) != tnUsr(f.alice) {
			t.Fatalf("removed by %s, want the owner alice", tnStr(rm.RemovedBy))
		}
		// Invitations likewise: made and revoked by the owner's authority,
		// or by a named inviter.
		exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		r = a.call("POST", org+"/invitations", serviceKey, map[string]any{"identifier": "new@example.com", "role": "admin", "expires_at": exp})
		a.want(r, http.StatusCreated)
		byOwner := tnCreatedOf(t, r)
		if byOwner.InvitedBy != tnUsr(f.alice) {
			t.Fatalf("invited by %s, want alice", byOwner.InvitedBy)
		}
		r = a.call("POST", org+"/invitations", serviceKey, map[string]any{"identifier": "bob2@example.com", "role": "guest",
			"expires_at": exp, "invited_by": tnUsr(f.bob)})
		a.want(r, http.StatusCreated)
		if i := tnCreatedOf(t, r); i.InvitedBy != tnUsr(f.bob) {
			t.Fatalf("invited by %s, want bob", i.InvitedBy)
		}
		a.want(a.call("POST", org+"/invitations", serviceKey, map[string]any{"identifier": "x@example.com", "role": "guest",
			"expires_at": exp, "invited_by": tnUsr(f.dave)}), http.StatusForbidden, "forbidden")
		r = a.call("POST", "/v1/invitations/"+f.inv.ID+"/revoke", root, nil)
		a.want(r, http.StatusOK)
		if i := tnInvitationOf(t, r); i.Status != "revoked" || tnStr(i.TerminalBy) != tnUsr(f.alice) {
			t.Fatalf("revoked by the admin: %+v", i)
		}

		// The mint-new path: only a platform admin may create the invitee.
		r = a.call("POST", "/v1/invitations/"+byOwner.ID+"/accept", serviceKey, nil)
		a.want(r, http.StatusOK)
		var acc struct {
			Invitation tnInvitation `json:"invitation"`
			Membership tnMember     `json:"membership"`
			Tuples     []tupleJSON  `json:"materialized_tuples"`
		}
		r.decode(t, &acc)
		if acc.Membership.Role != "admin" || acc.Invitation.InvitedUserID == nil || *acc.Invitation.InvitedUserID != acc.Membership.UsrID ||
			acc.Tuples == nil || len(acc.Tuples) != 0 {
			t.Fatalf("minted: %s", r.body)
		}
		minted, err := tuples.DecodeIDOf("usr", acc.Membership.UsrID)
		if err != nil {
			t.Fatal(err)
		}
		if u, err := a.ids.GetUser(context.Background(), minted); err != nil || u.Status != "active" {
			t.Fatalf("the minted user: %+v, %v", u, err)
		}
		// A plain session never mints: it accepts as its own user, and a
		// stranger is told the invitation does not exist.
		plain := tnInvite(a, f.aliceS, f.org.ID, "zed@example.com", "guest")
		a.want(a.call("POST", "/v1/invitations/"+plain.ID+"/accept", f.malloryS, tnTokenBody(plain)), http.StatusNotFound, "not_found")
		a.want(a.call("POST", "/v1/invitations/"+plain.ID+"/accept", f.malloryS, `{"as_usr_id": null}`), http.StatusNotFound, "not_found")
		a.want(a.call("POST", "/v1/invitations/"+plain.ID+"/accept", "", nil), http.StatusUnauthorized)
		// An admin binds an existing user by naming both fields.
		a.want(a.call("POST", "/v1/invitations/"+plain.ID+"/accept", serviceKey, map[string]string{"as_usr_id": tnUsr(f.mallory)}),
			http.StatusConflict, "precondition.identifier_binding_required")
		a.want(a.call("POST", "/v1/invitations/"+plain.ID+"/accept", serviceKey, map[string]string{"accepting_identifier": "zed@example.com"}),
			http.StatusBadRequest, "invalid_format.as_usr_id")
		a.want(a.call("POST", "/v1/invitations/"+plain.ID+"/accept", serviceKey,
			map[string]string{"as_usr_id": tnUsr(f.mallory), "accepting_identifier": "mallory@example.com"}),
			http.StatusConflict, "precondition.identifier_mismatch")
		a.want(a.call("POST", "/v1/invitations/"+plain.ID+"/accept", serviceKey,
			map[string]string{"as_usr_id": tnUsr(f.mallory), "accepting_identifier": "zed@example.com"}),
			http.StatusForbidden, "forbidden.identifier_unowned")
		r = a.call("POST", "/v1/invitations/"+plain.ID+"/decline", serviceKey, nil)
		a.want(r, http.StatusOK)
		if i := tnInvitationOf(t, r); i.Status != "declined" || i.TerminalBy != nil {
			t.Fatalf("declined by the admin: %+v", i)
		}
		r = a.call("POST", "/v1/invitations/"+f.inv.ID+"/accept", serviceKey, nil)
		a.want(r, http.StatusConflict, "conflict.invitation_not_pending")

		// Leaving is the member's own, even for an admin.
		a.want(a.call("POST", org+"/members/"+f.erinM.ID+"/self-leave", root, nil), http.StatusForbidden, "forbidden")

		// Transfer ownership between any two members; revoke the org.
		r = a.call("POST", org+"/transfer-ownership", serviceKey, map[string]string{"from_mem_id": f.aliceM.ID, "to_mem_id": f.bobM.ID})
		a.want(r, http.StatusOK)
		a.want(a.call("POST", org+"/revoke", serviceKey, nil), http.StatusOK)
		// A revoked org has no owner whose authority the admin could use.
		a.want(a.call("POST", org+"/members/"+f.erinM.ID+"/admin-remove", serviceKey, nil), http.StatusConflict, "precondition.org_not_active")
	})
}

// A user's organizations (extension): their own, or a platform admin's
// view; others are told the user does not exist.
func TestTenancyOrgsOfUser(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, "")
		alice, aliceS := a.user("alice")
		bob, bobS := a.user("bob")
		var made []string
		for range 3 {
			o, _ := tnCreateOrg(a, aliceS, nil)
			made = append(made, o.ID)
		}
		shared, _ := tnCreateOrg(a, bobS, nil)
		tnAdd(a, bobS, shared.ID, alice, "member")
		made = append(made, shared.ID)
		path := "/v1/users/" + tnUsr(alice) + "/orgs"

		var all []string
		cursor := ""
		for pages := 0; ; pages++ {
			r := a.call("GET", path+"?limit=3"+cursor, aliceS, nil)
			a.want(r, http.StatusOK)
			tnKeys(t, "OrgPage", r.body, "data", "page")
			var p tnPage[tnOrg]
			r.decode(t, &p)
			for _, o := range p.Data {
				all = append(all, o.ID)
			}
			if p.Page.NextCursor == nil {
				break
			}
			if pages > 2 {
				t.Fatal("too many pages")
			}
			cursor = "&cursor=" + *p.Page.NextCursor
		}
		if !slices.Equal(all, made) {
			t.Fatalf("alice's orgs %v, want %v", all, made)
		}
		a.want(a.call("GET", path, a.pat(alice, "orgs:read"), nil), http.StatusOK)
		a.want(a.call("GET", path, a.pat(alice, "orgs:write"), nil), http.StatusForbidden, "forbidden")
		a.want(a.call("GET", path, bobS, nil), http.StatusNotFound, "not_found")
		a.want(a.call("GET", path, a.pat(bob, "orgs:read"), nil), http.StatusNotFound, "not_found")
		r := a.call("GET", "/v1/users/"+tnUsr(bob)+"/orgs", serviceKey, nil)
		a.want(r, http.StatusOK)
		var p tnPage[tnOrg]
		r.decode(t, &p)
		if len(p.Data) != 1 || p.Data[0].ID != shared.ID {
			t.Fatalf("bob's orgs %s", r.body)
		}
		a.want(a.call("GET", "/v1/users/"+tuples.FormatID("usr", tuples.NewUUID())+"/orgs", serviceKey, nil), http.StatusNotFound, "not_found")
		a.want(a.call("GET", "/v1/users/usr_123/orgs", serviceKey, nil), http.StatusBadRequest, "invalid_format.id")
	})
}

// Bad input is a 4xx with a precise code, never a 500.
func TestTenancyBadInput(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, "")
		f := tnSetup(a)
		other, otherOwner := tnCreateOrg(a, f.aliceS, nil)
		org := "/v1/orgs/" + f.org.ID
		mem := org + "/members/" + f.daveM.ID
		exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		invite := func(kv ...any) map[string]any {
			b := map[string]any{"identifier": "x@example.com", "role": "guest", "expires_at": exp}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] == nil {
					delete(b, kv[i].(string))
				} else {
					b[kv[i].(string)] = kv[i+1]
				}
			}
			return b
		}
		pt := func(rel, typ, id string) []map[string]string {
			return []map[string]string{{"relation": rel, "object_type": typ, "object_id": id}}
		}
		for _, c := range []struct {
			name         string
			method, path string
			body         any
			status       int
			code         string
		}{
			// Unknown fields and malformed bodies.
			{"createOrg unknown field", "POST", "/v1/orgs", `{"name":"x","owner":"me"}`, 400, "invalid_format.body"},
			{"createOrg not an object", "POST", "/v1/orgs", `["x"]`, 400, "invalid_format.body"},
			{"updateOrg unknown field", "PUT", org, `{"name":"x","status":"revoked"}`, 400, "invalid_format.body"},
			{"updateOrg no body", "PUT", org, nil, 400, "invalid_format.body"},
			{"updateOrg wrong type", "PUT", org, `{"name": 5}`, 400, "invalid_format.name"},
			{"suspend with a body", "POST", mem + "/suspend", `{"reason":"x"}`, 400, "invalid_format.body"},
			{"revokeOrg with a body", "POST", org + "/revoke", `{"now":true}`, 400, "invalid_format.body"},
			{"addMember unknown field", "POST", org + "/members", map[string]string{"usr_id": tnUsr(f.mallory), "role": "guest", "x": "y"}, 400, "invalid_format.body"},
			{"pre-tuple unknown field", "POST", org + "/invitations", invite("pre_tuples", []map[string]string{{"relation": "viewer",
				"object_type": "doc", "object_id": tuples.NewUUID().String(), "subject_id": "x"}}), 400, "invalid_format.body"},
			{"accept unknown field", "POST", "/v1/invitations/" + f.inv.ID + "/accept", tnTokenBody(f.inv, "as", "me"), 400, "invalid_format.body"},
			{"accept bad as_usr_id", "POST", "/v1/invitations/" + f.inv.ID + "/accept", tnTokenBody(f.inv, "as_usr_id", "carol"), 400, "invalid_format.as_usr_id"},
			{"decline unknown field", "POST", "/v1/invitations/" + f.inv.ID + "/decline", tnTokenBody(f.inv, "why", "no"), 400, "invalid_format.body"},
			{"accept bad token type", "POST", "/v1/invitations/" + f.inv.ID + "/accept", `{"accept_token": 5}`, 404, "not_found"},
			{"self-leave both spellings", "POST", org + "/members/" + f.aliceM.ID + "/self-leave", map[string]string{"transferTo": tnUsr(f.bob), "transfer_to": tnUsr(f.bob)}, 400, "invalid_format.transfer_to"},
			// Bad roles.
			{"addMember bad role", "POST", org + "/members", map[string]string{"usr_id": tnUsr(f.mallory), "role": "boss"}, 400, "invalid_format.role"},
			{"changeRole bad role", "POST", mem + "/change-role", map[string]string{"new_role": "Owner"}, 400, "invalid_format.new_role"},
			{"invitation bad role", "POST", org + "/invitations", invite("role", "root"), 400, "invalid_format.role"},
			// Bad ids.
			{"org id malformed", "GET", "/v1/orgs/org_123", nil, 400, "invalid_format.id"},
			{"org id of another type", "GET", "/v1/orgs/" + tnUsr(f.alice), nil, 400, "invalid_format.id"},
			{"org id nil", "GET", "/v1/orgs/org_00000000000000000000000000000000", nil, 400, "invalid_format.id"},
			{"mem id malformed", "GET", org + "/members/mem_xyz", nil, 400, "invalid_format.id"},
			{"mem id of another type", "POST", org + "/members/" + f.org.ID + "/suspend", nil, 400, "invalid_format.id"},
			{"inv id malformed", "GET", "/v1/invitations/inv_1", nil, 400, "invalid_format.id"},
			{"addMember bad usr_id", "POST", org + "/members", map[string]string{"usr_id": "bob", "role": "guest"}, 400, "invalid_format.usr_id"},
			{"addMember unknown user", "POST", org + "/members", map[string]string{"usr_id": tnUsr(tuples.NewUUID()), "role": "guest"}, 404, "not_found"},
			{"transfer bad from", "POST", org + "/transfer-ownership", map[string]string{"from_mem_id": f.aliceM.ID[4:], "to_mem_id": f.bobM.ID}, 400, "invalid_format.from_mem_id"},
			{"transfer bad to", "POST", org + "/transfer-ownership", map[string]string{"from_mem_id": f.aliceM.ID, "to_mem_id": tnUsr(f.bob)}, 400, "invalid_format.to_mem_id"},
			{"self-leave bad transferTo", "POST", org + "/members/" + f.aliceM.ID + "/self-leave", map[string]string{"transferTo": "bob"}, 400, "invalid_format.transferTo"},
			{"pre-tuple bad object id", "POST", org + "/invitations", invite("pre_tuples", pt("viewer", "doc", "doc_1")), 400, "invalid_format.pre_tuples"},
			{"pre-tuple bad type", "POST", org + "/invitations", invite("pre_tuples", pt("viewer", "Document", tuples.NewUUID().String())), 400, "invalid_format.pre_tuples"},
			{"pre-tuple membership role", "POST", org + "/invitations", invite("pre_tuples", pt("admin", "org", tnOrgUUID(t, other.ID).String())), 400, "invalid_format"},
			// A membership addressed under another org is not there.
			{"mem of another org", "GET", org + "/members/" + otherOwner.ID, nil, 404, "not_found"},
			{"mem of another org, change-role", "POST", org + "/members/" + otherOwner.ID + "/change-role", map[string]string{"new_role": "member"}, 404, "not_found"},
			{"mem of another org, admin-remove", "POST", "/v1/orgs/" + other.ID + "/members/" + f.daveM.ID + "/admin-remove", nil, 404, "not_found"},
			{"mem of another org, self-leave", "POST", "/v1/orgs/" + other.ID + "/members/" + f.aliceM.ID + "/self-leave", nil, 404, "not_found"},
			{"no such membership", "GET", org + "/members/" + tuples.FormatID("mem", tuples.NewUUID()), nil, 404, "not_found"},
			{"no such invitation", "GET", "/v1/invitations/" + tuples.FormatID("inv", tuples.NewUUID()), nil, 404, "not_found"},
			// Missing fields.
			{"addMember no role", "POST", org + "/members", map[string]string{"usr_id": tnUsr(f.mallory)}, 400, "invalid_format.role"},
			{"addMember no usr_id", "POST", org + "/members", map[string]string{"role": "guest"}, 400, "invalid_format.usr_id"},
			{"changeRole no new_role", "POST", mem + "/change-role", `{}`, 400, "invalid_format.new_role"},
			{"transfer no to", "POST", org + "/transfer-ownership", map[string]string{"from_mem_id": f.aliceM.ID}, 400, "invalid_format.to_mem_id"},
			{"invitation no expires_at", "POST", org + "/invitations", invite("expires_at", nil), 400, "invalid_format.expires_at"},
			{"invitation no identifier", "POST", org + "/invitations", invite("identifier", nil), 400, "invalid_format.identifier"},
			{"invitation empty identifier", "POST", org + "/invitations", invite("identifier", ""), 400, "invalid_format.identifier"},
			{"pre-tuple no relation", "POST", org + "/invitations", invite("pre_tuples", []map[string]string{{"object_type": "doc",
				"object_id": tuples.NewUUID().String()}}), 400, "invalid_format.pre_tuples"},
			// Bad values.
			{"invitation bad expires_at", "POST", org + "/invitations", invite("expires_at", "tomorrow"), 400, "invalid_format.expires_at"},
			{"invitation expired already", "POST", org + "/invitations", invite("expires_at", "2020-01-01T00:00:00Z"), 409, "precondition.past_expiration"},
			{"list bad status", "GET", org + "/members?status=gone", nil, 400, "invalid_format.status"},
			{"list invitations bad status", "GET", org + "/invitations?status=active", nil, 400, "invalid_format.status"},
			{"list bad limit", "GET", org + "/members?limit=500", nil, 400, "invalid_format.limit"},
			{"list bad cursor", "GET", org + "/members?cursor=" + f.org.ID, nil, 400, "invalid_format.cursor"},
			{"self transfer", "POST", org + "/transfer-ownership", map[string]string{"from_mem_id": f.aliceM.ID, "to_mem_id": f.aliceM.ID}, 409, "precondition.self_transfer"},
			{"transfer across orgs", "POST", org + "/transfer-ownership", map[string]string{"from_mem_id": f.aliceM.ID, "to_mem_id": otherOwner.ID}, 409, "precondition.org_mismatch"},
			{"wrong method", "DELETE", org, nil, 405, "method_not_allowed"},
		} {
			t.Run(c.name, func(t *testing.T) {
				token := f.aliceS
				if strings.HasPrefix(c.path, "/v1/invitations/"+f.inv.ID+"/") { // the invitee's routes
					token = f.carolS
				}
				r := a.call(c.method, c.path, token, c.body)
				if r.status != c.status || r.errCode() != c.code {
					t.Fatalf("got %d %s, want %d %s", r.status, r.body, c.status, c.code)
				}
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
			})
		}
		// The fixture is as it was: nothing above changed a thing.
		r := a.call("GET", org+"/members?status=active", f.aliceS, nil)
		a.want(r, http.StatusOK)
		var p tnPage[tnMember]
		r.decode(t, &p)
		if len(p.Data) != 4 {
			t.Fatalf("active members after bad input: %s", r.body)
		}
	})
}

// selfLeave takes the transfer target in either spelling (A26), from the
// member's session or PAT.
func TestTenancySelfLeaveSpellings(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, "")
		alice, aliceS := a.user("alice")
		bob, bobS := a.user("bob")
		for _, key := range []string{"transfer_to", "transferTo"} {
			org, owner := tnCreateOrg(a, aliceS, nil)
			bobM := tnAdd(a, aliceS, org.ID, bob, "member")
			r := a.call("POST", "/v1/orgs/"+org.ID+"/members/"+owner.ID+"/self-leave", a.pat(alice, "orgs:write"), map[string]string{key: tnUsr(bob)})
			a.want(r, http.StatusOK)
			if m := tnMemberOf(t, r); m.Status != "revoked" || m.RemovedBy != nil {
				t.Fatalf("%s: left %+v", key, m)
			}
			if !tnAllowed(a, bob, "owner", "org", tnOrgUUID(t, org.ID)) {
				t.Fatalf("%s: bob is not the owner after alice left", key)
			}
			// bob's member row was replaced by an owner row; the old one
			// cannot leave again.
			a.want(a.call("POST", "/v1/orgs/"+org.ID+"/members/"+bobM.ID+"/self-leave", bobS, nil), http.StatusConflict, "precondition.mem_not_active")
			a.want(a.call("POST", "/v1/orgs/"+org.ID+"/members/"+owner.ID+"/self-leave", a.pat(alice, "orgs:read"), nil), http.StatusForbidden, "forbidden")
		}
	})
}
