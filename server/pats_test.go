package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flametrench/server/tuples"
)

var (
	mfPatKeys  = []string{"id", "usr_id", "name", "scope", "status", "expires_at", "last_used_at", "revoked_at", "created_at", "updated_at"}
	mfPatToken = regexp.MustCompile(`^pat_[0-9a-f]{32}_[A-Za-z0-9_-]+$`)
)

// mfCreatePat creates a PAT over HTTP and returns the view and the token.
func mfCreatePat(a *api, bearer string, user tuples.UUID, body map[string]any) (map[string]any, string) {
	a.t.Helper()
	r := a.call("POST", "/v1/users/"+mfUsr(user)+"/pats", bearer, body)
	a.want(r, http.StatusCreated)
	m := mfKeys(a.t, "createPat", mfObj(a.t, r), "pat", "token")
	return mfKeys(a.t, "pat", m["pat"], mfPatKeys...), m["token"].(string)
}

// mfPatPage lists a user's PATs and returns the ids and the next cursor.
func mfPatPage(a *api, bearer, query string, user tuples.UUID) ([]string, *string) {
	a.t.Helper()
	r := a.call("GET", "/v1/users/"+mfUsr(user)+"/pats"+query, bearer, nil)
	a.want(r, http.StatusOK)
	var p struct {
		Data []map[string]any `json:"data"`
		Page struct {
			NextCursor *string `json:"next_cursor"`
		} `json:"page"`
	}
	r.decode(a.t, &p)
	var ids []string
	for _, d := range p.Data {
		ids = append(ids, mfKeys(a.t, "listed pat", d, mfPatKeys...)["id"].(string))
	}
	return ids, p.Page.NextCursor
}

func TestPATRoutes(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, "")
		root := a.admin()
		alice, ses := a.user("alice")
		_, bob := a.user("bob")

		// Create: the row, and the token once.
		exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		// The tuple scopes, and listing anyone's shares, reach beyond the
		// user's own rights: only a platform admin grants them.
		for _, sc := range []string{"tuples:write", "tuples:read", "check", "shares:read"} {
			a.want(a.call("POST", "/v1/users/"+mfUsr(alice)+"/pats", ses, map[string]any{"name": "x", "scope": []string{"orgs:read", sc}}),
				http.StatusForbidden, "forbidden.scope")
		}
		carol, carolSes := a.user("carol")
		mfCreatePat(a, carolSes, carol, map[string]any{"name": "mine", "scope": []string{"orgs:read", "orgs:write", "shares:write"}})
		p, token := mfCreatePat(a, root, alice, map[string]any{"name": "ci", "scope": []string{"tuples:write"}, "expires_at": exp.Format(time.RFC3339)})
		id := p["id"].(string)
		if !mfPatToken.MatchString(token) || !strings.HasPrefix(token, id+"_") || p["usr_id"] != mfUsr(alice) || p["name"] != "ci" ||
			p["status"] != "active" || p["last_used_at"] != nil || p["revoked_at"] != nil || !mfTime(t, "expires_at", p["expires_at"]).Equal(exp) {
			t.Fatalf("created %v, token %q", p, token)
		}
		if sc := p["scope"].([]any); len(sc) != 1 || sc[0] != "tuples:write" {
			t.Fatalf("scope = %v", p["scope"])
		}
		mfTime(t, "created_at", p["created_at"])

		// The token is a bearer with its scope, and no more: it cannot
		// manage PATs.
		obj := tuples.NewUUID()
		a.want(a.call("POST", "/v1/tuples", token, tupleBody(alice, "viewer", "doc", obj)), http.StatusCreated)
		a.want(a.call("GET", "/v1/tuples/by-object?object_type=doc&object_id="+obj.String(), token, nil), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/users/"+mfUsr(alice)+"/pats", token, map[string]any{"name": "more", "scope": []string{}}), http.StatusForbidden, "forbidden")
		a.want(a.call("GET", "/v1/users/"+mfUsr(alice)+"/pats", token, nil), http.StatusForbidden, "forbidden")
		a.want(a.call("GET", "/v1/pats/"+id, token, nil), http.StatusForbidden, "forbidden")

		// Get: last_used_at now set.
		r := a.call("GET", "/v1/pats/"+id, ses, nil)
		a.want(r, http.StatusOK)
		got := mfKeys(t, "getPat", mfObj(t, r), mfPatKeys...)
		if got["id"] != id || got["last_used_at"] == nil || got["status"] != "active" || strings.Contains(string(r.body), strings.TrimPrefix(token, id+"_")) {
			t.Fatalf("getPat = %s", r.body)
		}

		// Two more: one without expiry nor scope (null, as the spec
		// allows), one made by an admin for alice.
		p2, _ := mfCreatePat(a, ses, alice, map[string]any{"name": "cli", "scope": []string{}, "expires_at": nil})
		if p2["expires_at"] != nil || len(p2["scope"].([]any)) != 0 {
			t.Fatalf("created %v", p2)
		}
		p3, token3 := mfCreatePat(a, root, alice, map[string]any{"name": "by admin", "scope": []string{"check"}})

		// List: all, in pages.
		ids, next := mfPatPage(a, ses, "?limit=2", alice)
		if len(ids) != 2 || ids[0] != id || ids[1] != p2["id"] || next == nil {
			t.Fatalf("page 1 = %v, %v", ids, next)
		}
		ids, next = mfPatPage(a, ses, "?limit=2&cursor="+*next, alice)
		if len(ids) != 1 || ids[0] != p3["id"] || next != nil {
			t.Fatalf("page 2 = %v, %v", ids, next)
		}

		// Revoke: idempotent; the token stops working at once.
		r = a.call("POST", "/v1/pats/"+p3["id"].(string)+"/revoke", ses, nil)
		a.want(r, http.StatusOK)
		rv := mfKeys(t, "revokePat", mfObj(t, r), mfPatKeys...)
		if rv["status"] != "revoked" || rv["revoked_at"] == nil {
			t.Fatalf("revoked = %s", r.body)
		}
		r = a.call("POST", "/v1/pats/"+p3["id"].(string)+"/revoke", ses, map[string]any{})
		a.want(r, http.StatusOK)
		if again := mfObj(t, r); again["revoked_at"] != rv["revoked_at"] || again["status"] != "revoked" {
			t.Fatalf("revoked again = %s, first %v", r.body, rv)
		}
		a.want(a.call("POST", "/v1/tuples/check", token3, checkBody(alice, "viewer", "doc", obj)), http.StatusUnauthorized, "pat.revoked")

		// Status filter.
		if ids, _ := mfPatPage(a, ses, "?status=revoked", alice); len(ids) != 1 || ids[0] != p3["id"] {
			t.Fatalf("revoked = %v", ids)
		}
		if ids, _ := mfPatPage(a, root, "?status=active", alice); len(ids) != 2 || ids[0] != id {
			t.Fatalf("active = %v", ids)
		}
		if ids, _ := mfPatPage(a, ses, "?status=expired", alice); len(ids) != 0 {
			t.Fatalf("expired = %v", ids)
		}
		a.want(a.call("GET", "/v1/users/"+mfUsr(alice)+"/pats?status=bogus", ses, nil), http.StatusBadRequest, "invalid_format.status")
		a.want(a.call("GET", "/v1/users/"+mfUsr(alice)+"/pats?limit=x", ses, nil), http.StatusBadRequest, "invalid_format.limit")
		a.want(a.call("GET", "/v1/users/"+mfUsr(alice)+"/pats?cursor=nonsense", ses, nil), http.StatusBadRequest)

		// Bad creations.
		pats := "/v1/users/" + mfUsr(alice) + "/pats"
		past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
		a.want(a.call("POST", pats, ses, map[string]any{"name": "old", "scope": []string{}, "expires_at": past}), http.StatusBadRequest, "pat.expires_in_past")
		a.want(a.call("POST", pats, ses, map[string]any{"name": "x", "scope": []string{}, "expires_at": "soon"}), http.StatusBadRequest, "invalid_format.expires_at")
		far := time.Now().Add(400 * 24 * time.Hour).UTC().Format(time.RFC3339)
		a.want(a.call("POST", pats, ses, map[string]any{"name": "x", "scope": []string{}, "expires_at": far}), http.StatusBadRequest, "invalid_format.expires_at")
		a.want(a.call("POST", pats, ses, map[string]any{"name": "x"}), http.StatusBadRequest, "invalid_format.scope")
		a.want(a.call("POST", pats, ses, map[string]any{"name": "x", "scope": nil}), http.StatusBadRequest, "invalid_format.scope")
		a.want(a.call("POST", pats, ses, map[string]any{"scope": []string{}}), http.StatusBadRequest, "invalid_format.name")
		a.want(a.call("POST", pats, ses, map[string]any{"name": "", "scope": []string{}}), http.StatusBadRequest, "invalid_format.name")
		a.want(a.call("POST", pats, ses, map[string]any{"name": "x", "scope": "tuples:read"}), http.StatusBadRequest, "invalid_format.scope")
		a.want(a.call("POST", pats, ses, map[string]any{"name": "x", "scope": []string{}, "prefix": "pat"}), http.StatusBadRequest, "invalid_format.body")

		// Another user is told none of it exists; no token is 401.
		a.want(a.call("GET", "/v1/pats/"+id, bob, nil), http.StatusNotFound, "not_found")
		a.want(a.call("POST", "/v1/pats/"+id+"/revoke", bob, nil), http.StatusNotFound, "not_found")
		a.want(a.call("GET", pats, bob, nil), http.StatusNotFound, "not_found")
		a.want(a.call("POST", pats, bob, map[string]any{"name": "x", "scope": []string{}}), http.StatusNotFound, "not_found")
		a.want(a.call("GET", "/v1/pats/"+id, "", nil), http.StatusUnauthorized, "unauthorized.missing_token")
		// An admin sees and revokes it; unknown and malformed ids.
		a.want(a.call("GET", "/v1/pats/"+id, root, nil), http.StatusOK)
		a.want(a.call("POST", "/v1/pats/"+id+"/revoke", root, nil), http.StatusOK)
		a.want(a.call("POST", "/v1/tuples", token, tupleBody(alice, "editor", "doc", obj)), http.StatusUnauthorized, "pat.revoked")
		a.want(a.call("GET", "/v1/pats/"+tuples.FormatID("pat", tuples.NewUUID()), root, nil), http.StatusNotFound, "not_found")
		a.want(a.call("GET", "/v1/pats/"+tuples.FormatID("usr", tuples.NewUUID()), root, nil), http.StatusBadRequest)
		a.want(a.call("GET", "/v1/users/"+tuples.FormatID("usr", tuples.NewUUID())+"/pats", root, nil), http.StatusNotFound, "not_found")
	})
}
