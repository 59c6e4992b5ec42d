package server_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
)

const tokenHeader = "Flametrench-Consistency-Token"

// tnTokenRev is the revision the consistency token on r names, failing
// the test if r has none or it is malformed (the wire form of
// CONFORMANCE: base64url of a version byte, the 8-byte epoch and the
// uvarint revision).
func tnTokenRev(t *testing.T, what string, r response) uint64 {
	t.Helper()
	tok := r.header.Get(tokenHeader)
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if tok == "" || err != nil || len(b) < 10 || b[0] != 1 {
		t.Fatalf("%s: consistency token %q (%d %s)", what, tok, r.status, r.body)
	}
	rev, n := binary.Uvarint(b[9:])
	if n <= 0 || 9+n != len(b) {
		t.Fatalf("%s: consistency token %q does not end with a revision", what, tok)
	}
	return rev
}

// Every tenancy route that writes membership tuples answers with the
// consistency token of the revision its write committed at (DESIGN §7),
// as a tuple write does: a check sent with it sees the change, and the
// revisions only grow.
func TestTenancyConsistencyTokens(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, "")
		alice, aliceS := a.user("alice")
		bob, bobS := a.user("bob")
		carol, carolS := a.user("carol")
		root := a.admin()
		var orgID tuples.UUID

		// now is the graph's revision: a check's token, with no other
		// writer about.
		now := func() uint64 {
			r := a.call("POST", "/v1/tuples/check", serviceKey, checkBody(alice, "owner", "org", tuples.NewUUID()))
			a.want(r, http.StatusOK)
			return tnTokenRev(t, "check", r)
		}
		last := now()
		// wrote checks a write's answer: its token names a revision after
		// the last one, the one the write committed at, and a check sent
		// with it answers allowed as want.
		wrote := func(what string, r response, status int, subj tuples.UUID, rel string, want bool) response {
			t.Helper()
			a.want(r, status)
			rev := tnTokenRev(t, what, r)
			if rev <= last {
				t.Fatalf("%s: token revision %d, want after %d", what, rev, last)
			}
			if n := now(); n != rev {
				t.Fatalf("%s: token revision %d, but the write left the graph at %d", what, rev, n)
			}
			last = rev
			c := a.call("POST", "/v1/tuples/check", serviceKey, checkBody(subj, rel, "org", orgID), tokenHeader, r.header.Get(tokenHeader))
			a.want(c, http.StatusOK)
			var v struct {
				Allowed bool `json:"allowed"`
			}
			c.decode(t, &v)
			if v.Allowed != want {
				t.Fatalf("%s: check(%s %s) with its token = %v, want %v", what, tnUsr(subj), rel, v.Allowed, want)
			}
			if at := tnTokenRev(t, what+": check", c); at < rev {
				t.Fatalf("%s: the check answered at %d, before the token's %d", what, at, rev)
			}
			return r
		}

		r := a.call("POST", "/v1/orgs", aliceS, nil)
		a.want(r, http.StatusCreated)
		var created struct {
			Org   tnOrg    `json:"org"`
			Owner tnMember `json:"owner_membership"`
		}
		r.decode(t, &created)
		orgID = tnOrgUUID(t, created.Org.ID)
		wrote("createOrg", r, http.StatusCreated, alice, "owner", true)
		org := "/v1/orgs/" + created.Org.ID

		r = wrote("addMember", a.call("POST", org+"/members", aliceS, map[string]string{"usr_id": tnUsr(bob), "role": "member"}),
			http.StatusCreated, bob, "member", true)
		bobM := tnMemberOf(t, r)
		r = wrote("changeRole", a.call("POST", org+"/members/"+bobM.ID+"/change-role", aliceS, map[string]string{"new_role": "admin"}),
			http.StatusOK, bob, "admin", true)
		bobM = tnMemberOf(t, r)
		wrote("suspendMembership", a.call("POST", org+"/members/"+bobM.ID+"/suspend", aliceS, nil), http.StatusOK, bob, "admin", false)
		wrote("reinstateMembership", a.call("POST", org+"/members/"+bobM.ID+"/reinstate", aliceS, nil), http.StatusOK, bob, "admin", true)
		// A write that changes nothing answers with the revision it read.
		r = a.call("POST", org+"/members/"+bobM.ID+"/reinstate", aliceS, nil)
		a.want(r, http.StatusOK)
		if rev := tnTokenRev(t, "reinstate again", r); rev != last {
			t.Fatalf("a reinstatement that changed nothing has token revision %d, want %d", rev, last)
		}

		inv := tnInvite(a, aliceS, created.Org.ID, "carol@example.com", "member")
		r = wrote("acceptInvitation", tnAccept(a, carolS, inv), http.StatusOK, carol, "member", true)
		var acc struct {
			Membership tnMember `json:"membership"`
		}
		r.decode(t, &acc)
		wrote("adminRemove", a.call("POST", org+"/members/"+acc.Membership.ID+"/admin-remove", bobS, nil), http.StatusOK, carol, "member", false)

		r = wrote("transferOwnership", a.call("POST", org+"/transfer-ownership", aliceS,
			map[string]string{"from_mem_id": created.Owner.ID, "to_mem_id": bobM.ID}), http.StatusOK, bob, "owner", true)
		var tr struct {
			From tnMember `json:"from_membership"`
		}
		r.decode(t, &tr)
		wrote("selfLeave", a.call("POST", org+"/members/"+tr.From.ID+"/self-leave", aliceS, nil), http.StatusOK, alice, "member", false)

		wrote("suspendOrg", a.call("POST", org+"/suspend", root, nil), http.StatusOK, bob, "owner", false)
		wrote("reinstateOrg", a.call("POST", org+"/reinstate", root, nil), http.StatusOK, bob, "owner", true)
		wrote("revokeOrg", a.call("POST", org+"/revoke", bobS, nil), http.StatusOK, bob, "owner", false)

		// A refused write carries no token.
		r = a.call("POST", org+"/revoke", bobS, nil)
		a.want(r, http.StatusNotFound)
		if tok := r.header.Get(tokenHeader); tok != "" {
			t.Fatalf("a refused write answered with token %q", tok)
		}
	})
}

// tnAccept accepts inv as the session, presenting its accept token.
func tnAccept(a *api, session string, inv tnInvitation) response {
	a.t.Helper()
	return a.call("POST", "/v1/invitations/"+inv.ID+"/accept", session, tnTokenBody(inv))
}

// viewHook is a tenancy store that runs a function once, after the next
// read-only view returns: between a route's policy, which reads the
// caller's membership, and its handler's write.
type viewHook struct {
	tenancy.Store
	after atomic.Pointer[func()]
}

func (h *viewHook) View(ctx context.Context, fn func(tenancy.Tx) error) error {
	err := h.Store.View(ctx, fn)
	if f := h.after.Swap(nil); f != nil {
		(*f)()
	}
	return err
}

// A member demoted or removed after a route's policy let them through,
// and before the handler writes, is refused by the write itself with the
// policy's 403, and nothing changes.
func TestTenancyPolicyRace(t *testing.T) {
	for name, pg := range map[string]bool{"memory": false, "postgres": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testTenancyPolicyRace(t, pg)
		})
	}
}

func testTenancyPolicyRace(t *testing.T, pg bool) {
	hook := &viewHook{}
	a := newAPIWith(t, "", pg, func(s tenancy.Store) tenancy.Store { hook.Store = s; return hook })
	ctx := context.Background()
	f := tnSetup(a)
	org := "/v1/orgs/" + f.org.ID
	// meanwhile arms the hook: fn runs right after the request's
	// policy has read the caller's membership.
	meanwhile := func(what string, fn func() error) {
		run := func() {
			if err := fn(); err != nil {
				t.Errorf("%s: %v", what, err)
			}
		}
		hook.after.Store(&run)
	}
	demote := func(m *tnMember, role tenancy.Role) func() error {
		return func() error {
			id, err := tuples.DecodeIDOf("mem", m.ID)
			if err != nil {
				return err
			}
			n, err := a.orgs.ChangeRole(ctx, id, role, tuples.UUID{})
			m.ID = tuples.FormatID("mem", n.ID)
			return err
		}
	}
	members := func() int {
		r := a.call("GET", org+"/members?status=active", f.aliceS, nil)
		a.want(r, http.StatusOK)
		var p tnPage[tnMember]
		r.decode(t, &p)
		return len(p.Data)
	}
	n := members()

	// Bob, an admin when the policy looked, a member when he writes.
	bobM := f.bobM
	meanwhile("demote bob", demote(&bobM, tenancy.Member))
	a.want(a.call("POST", org+"/members", f.bobS, map[string]string{"usr_id": tnUsr(f.mallory), "role": "guest"}),
		http.StatusForbidden, "forbidden")
	if got := members(); got != n {
		t.Fatalf("the refused add left %d active members, want %d", got, n)
	}
	// Promoted back, the same request succeeds.
	if err := demote(&bobM, tenancy.Admin)(); err != nil {
		t.Fatal(err)
	}
	a.want(a.call("POST", org+"/members", f.bobS, map[string]string{"usr_id": tnUsr(f.mallory), "role": "guest"}), http.StatusCreated)

	// Alice's co-owner carol, demoted to admin while her request to
	// demote alice is on its way: her rank no longer reaches an owner.
	carolM := tnAdd(a, f.aliceS, f.org.ID, f.carol, "owner")
	meanwhile("demote carol", demote(&carolM, tenancy.Admin))
	a.want(a.call("POST", org+"/members/"+f.aliceM.ID+"/change-role", f.carolS, map[string]string{"new_role": "member"}),
		http.StatusForbidden, "forbidden.role_hierarchy")
	if !tnAllowed(a, f.alice, "owner", "org", tnOrgUUID(t, f.org.ID)) {
		t.Fatal("alice lost ownership to a refused request")
	}

	// Bob, removed while his suspension of dave is on its way.
	meanwhile("remove bob", func() error {
		id, _ := tuples.DecodeIDOf("mem", bobM.ID)
		_, err := a.orgs.AdminRemove(ctx, f.alice, id)
		return err
	})
	a.want(a.call("POST", org+"/members/"+f.daveM.ID+"/suspend", f.bobS, nil), http.StatusForbidden, "forbidden")
	if m := tnMemberOf(t, a.call("GET", org+"/members/"+f.daveM.ID, f.aliceS, nil)); m.Status != "active" {
		t.Fatalf("dave is %s after a refused suspension", m.Status)
	}
	if hook.after.Load() != nil {
		t.Fatal("a hook did not run")
	}
}
