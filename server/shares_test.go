package server_test

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/server"
	"github.com/flametrench/server/tuples"
)

var (
	mfShareKeys  = []string{"id", "object_type", "object_id", "relation", "created_by", "expires_at", "single_use", "consumed_at", "revoked_at", "created_at"}
	mfShareToken = regexp.MustCompile(`^shr_[A-Za-z0-9_-]{43}$`)
)

// mfShareBody is a createShare request for a doc.
func mfShareBody(doc tuples.UUID, rel string, singleUse bool) map[string]any {
	return map[string]any{"object_type": "doc", "object_id": doc.String(), "relation": rel, "expires_in_seconds": 3600, "single_use": singleUse}
}

// mfShare creates a share over HTTP and returns its view and token.
func mfShare(a *api, bearer string, body map[string]any) (map[string]any, string) {
	a.t.Helper()
	r := a.call("POST", "/v1/shares", bearer, body)
	a.want(r, http.StatusCreated)
	m := mfKeys(a.t, "createShare", mfObj(a.t, r), "share", "token")
	return mfKeys(a.t, "share", m["share"], mfShareKeys...), m["token"].(string)
}

func TestShareRoutes(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, rulesDoc)
		root := a.admin()
		alice, ses := a.user("alice")
		bob, bses := a.user("bob") // a member of nothing, holding nothing
		doc := tuples.NewUUID()
		r := a.call("POST", "/v1/tuples", serviceKey, tupleBody(alice, "editor", "doc", doc))
		a.want(r, http.StatusCreated)
		// The holder check honours a consistency token.
		a.want(a.call("POST", "/v1/shares", ses, mfShareBody(doc, "viewer", false), "Flametrench-Consistency-Token", r.header.Get("Flametrench-Consistency-Token")),
			http.StatusCreated)
		a.want(a.call("POST", "/v1/shares", ses, mfShareBody(doc, "viewer", false), "Flametrench-Consistency-Token", "nonsense"),
			http.StatusBadRequest, "invalid_format.consistency_token")

		// Alice shares what she holds (viewer, through editor).
		sh, token := mfShare(a, ses, mfShareBody(doc, "viewer", false))
		id := sh["id"].(string)
		if !strings.HasPrefix(id, "shr_") || !mfShareToken.MatchString(token) || sh["object_type"] != "doc" || sh["object_id"] != doc.String() ||
			sh["relation"] != "viewer" || sh["created_by"] != mfUsr(alice) || sh["single_use"] != false || sh["consumed_at"] != nil || sh["revoked_at"] != nil {
			t.Fatalf("share = %v, token %q", sh, token)
		}
		if d := mfTime(t, "expires_at", sh["expires_at"]).Sub(mfTime(t, "created_at", sh["created_at"])); d.Seconds() != 3600 {
			t.Fatalf("lifetime = %v", d)
		}

		// Verify, with the token in the body (no bearer) or as the bearer.
		r = a.call("POST", "/v1/shares/verify", "", map[string]string{"token": token})
		a.want(r, http.StatusOK)
		if v := mfKeys(t, "verified", mfObj(t, r), mfShareKeys...); v["id"] != id || v["relation"] != "viewer" || v["object_id"] != doc.String() {
			t.Fatalf("verify = %s", r.body)
		}
		r = a.call("POST", "/v1/shares/verify", token, nil)
		a.want(r, http.StatusOK)
		if mfObj(t, r)["id"] != id {
			t.Fatalf("verify by bearer = %s", r.body)
		}
		a.want(a.call("POST", "/v1/shares/verify", token, map[string]any{}), http.StatusOK)
		a.want(a.call("POST", "/v1/shares/verify", token, map[string]string{"token": token}), http.StatusBadRequest, "invalid_format.body")
		a.want(a.call("POST", "/v1/shares/verify", ses, map[string]string{"token": token}), http.StatusOK) // anyone may ask
		a.want(a.call("POST", "/v1/shares/verify", "", nil), http.StatusBadRequest, "invalid_format.token")
		a.want(a.call("POST", "/v1/shares/verify", "", map[string]string{"token": "shr_" + strings.Repeat("A", 43)}), http.StatusUnauthorized, "invalid_share_token")
		a.want(a.call("POST", "/v1/shares/verify", "", map[string]string{"token": "not a share"}), http.StatusUnauthorized, "invalid_share_token")
		a.want(a.call("POST", "/v1/shares/verify", "shr_made-up", nil), http.StatusUnauthorized, "invalid_share_token")

		// Single use: the first verification uses it up. A share bearer
		// is refused anywhere else (403), and that does not use it up.
		_, once := mfShare(a, ses, mfShareBody(doc, "viewer", true))
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/v1/users/" + mfUsr(alice) + "/mfa-factors", nil},
			{"GET", "/v1/shares/" + id, nil},
			{"GET", "/v1/shares?object_type=doc&object_id=" + doc.String(), nil},
			{"POST", "/v1/shares", mfShareBody(doc, "viewer", false)},
			{"POST", "/v1/tuples/check", checkBody(alice, "viewer", "doc", doc)},
			{"POST", "/v1/users/" + mfUsr(alice) + "/pats", map[string]any{"name": "x", "scope": []string{}}},
			{"POST", "/v1/users/" + mfUsr(alice) + "/mfa/verify", map[string]string{"type": "totp", "code": "123456"}},
		} {
			a.want(a.call(c.method, c.path, once, c.body), http.StatusForbidden, "forbidden")
		}
		r = a.call("POST", "/v1/shares/verify", once, nil)
		a.want(r, http.StatusOK)
		if v := mfObj(t, r); v["single_use"] != true || v["consumed_at"] == nil {
			t.Fatalf("single-use verify = %s", r.body)
		}
		a.want(a.call("POST", "/v1/shares/verify", once, nil), http.StatusUnauthorized, "share_consumed")
		a.want(a.call("POST", "/v1/shares/verify", "", map[string]string{"token": once}), http.StatusUnauthorized, "share_consumed")

		// Get: the creator, or an admin; others are told it does not exist.
		r = a.call("GET", "/v1/shares/"+id, ses, nil)
		a.want(r, http.StatusOK)
		if g := mfKeys(t, "getShare", mfObj(t, r), mfShareKeys...); g["id"] != id || strings.Contains(string(r.body), token) {
			t.Fatalf("getShare = %s", r.body)
		}
		a.want(a.call("GET", "/v1/shares/"+id, root, nil), http.StatusOK)
		a.want(a.call("GET", "/v1/shares/"+id, a.pat(alice, "shares:read"), nil), http.StatusOK)
		a.want(a.call("GET", "/v1/shares/"+id, a.pat(alice, "tuples:read"), nil), http.StatusForbidden, "forbidden")
		a.want(a.call("GET", "/v1/shares/"+id, bses, nil), http.StatusNotFound, "not_found")
		a.want(a.call("GET", "/v1/shares/"+id, a.pat(bob, "shares:read"), nil), http.StatusNotFound, "not_found")
		a.want(a.call("GET", "/v1/shares/"+id, "", nil), http.StatusUnauthorized, "unauthorized.missing_token")
		a.want(a.call("GET", "/v1/shares/"+tuples.FormatID("shr", tuples.NewUUID()), root, nil), http.StatusNotFound, "not_found")
		a.want(a.call("GET", "/v1/shares/"+tuples.FormatID("pat", tuples.NewUUID()), root, nil), http.StatusBadRequest)

		// Create: refused to those who do not hold the relation.
		a.want(a.call("POST", "/v1/shares", bses, mfShareBody(doc, "viewer", false)), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/shares", a.pat(bob, "shares:write"), mfShareBody(doc, "viewer", false)), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/shares", ses, mfShareBody(doc, "owner", false)), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/shares", a.pat(alice, "shares:read"), mfShareBody(doc, "viewer", false)), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/shares", serviceKey, mfShareBody(doc, "viewer", false)), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/shares", "", mfShareBody(doc, "viewer", false)), http.StatusUnauthorized, "unauthorized.missing_token")
		// … and allowed to her PAT with shares:write, and to an admin.
		bypat, _ := mfShare(a, a.pat(alice, "shares:write"), mfShareBody(doc, "editor", false))
		if bypat["created_by"] != mfUsr(alice) || bypat["relation"] != "editor" {
			t.Fatalf("share by PAT = %v", bypat)
		}
		byAdmin, _ := mfShare(a, root, mfShareBody(doc, "owner", false))
		if byAdmin["created_by"] == mfUsr(alice) || !strings.HasPrefix(byAdmin["created_by"].(string), "usr_") {
			t.Fatalf("share by admin = %v", byAdmin)
		}
		// Bad bodies.
		bad := func(field string, v any) map[string]any {
			b := mfShareBody(doc, "viewer", false)
			if v == nil {
				delete(b, field)
			} else {
				b[field] = v
			}
			return b
		}
		a.want(a.call("POST", "/v1/shares", ses, bad("expires_in_seconds", 0)), http.StatusBadRequest, "invalid_format.expires_in_seconds")
		a.want(a.call("POST", "/v1/shares", ses, bad("expires_in_seconds", 365*24*3600+1)), http.StatusBadRequest, "invalid_format.expires_in_seconds")
		a.want(a.call("POST", "/v1/shares", ses, bad("expires_in_seconds", nil)), http.StatusBadRequest, "invalid_format.expires_in_seconds")
		a.want(a.call("POST", "/v1/shares", ses, bad("expires_in_seconds", "1h")), http.StatusBadRequest, "invalid_format.expires_in_seconds")
		a.want(a.call("POST", "/v1/shares", ses, bad("relation", nil)), http.StatusBadRequest, "invalid_format.relation")
		a.want(a.call("POST", "/v1/shares", ses, bad("relation", "Viewer!")), http.StatusBadRequest, "invalid_format.relation")
		a.want(a.call("POST", "/v1/shares", ses, bad("object_type", "document")), http.StatusBadRequest, "invalid_format.object_type")
		a.want(a.call("POST", "/v1/shares", ses, bad("object_id", "nope")), http.StatusBadRequest, "invalid_format.object_id")
		a.want(a.call("POST", "/v1/shares", ses, bad("token", "mine")), http.StatusBadRequest, "invalid_format.body")

		// List per object, every state, paged: an admin or a PAT with
		// shares:read; not a session.
		list := "/v1/shares?object_type=doc&object_id=" + doc.String()
		var p struct {
			Data []map[string]any `json:"data"`
			Page struct {
				NextCursor *string `json:"next_cursor"`
			} `json:"page"`
		}
		r = a.call("GET", list+"&limit=3", root, nil)
		a.want(r, http.StatusOK)
		r.decode(t, &p)
		if len(p.Data) != 3 || p.Data[1]["id"] != id || p.Data[2]["single_use"] != true || p.Page.NextCursor == nil {
			t.Fatalf("page 1 = %s", r.body)
		}
		mfKeys(t, "listed share", p.Data[0], mfShareKeys...)
		r = a.call("GET", list+"&limit=3&cursor="+*p.Page.NextCursor, a.pat(bob, "shares:read"), nil)
		a.want(r, http.StatusOK)
		p.Page.NextCursor = nil
		r.decode(t, &p)
		if len(p.Data) != 2 || p.Data[0]["id"] != bypat["id"] || p.Data[1]["id"] != byAdmin["id"] || p.Page.NextCursor != nil {
			t.Fatalf("page 2 = %s", r.body)
		}
		a.want(a.call("GET", list, ses, nil), http.StatusForbidden, "forbidden")
		a.want(a.call("GET", list, a.pat(alice, "shares:write"), nil), http.StatusForbidden, "forbidden")
		a.want(a.call("GET", "/v1/shares?object_type=doc", root, nil), http.StatusBadRequest, "invalid_format.object_id")
		r = a.call("GET", "/v1/shares?object_type=doc&object_id="+tuples.NewUUID().String(), root, nil)
		a.want(r, http.StatusOK)
		if !strings.Contains(string(r.body), `"data":[]`) {
			t.Fatalf("shares of an unshared object = %s", r.body)
		}

		// Revoke: the creator (not with a read-only PAT, not another
		// user); idempotent; the token then fails.
		a.want(a.call("POST", "/v1/shares/"+id+"/revoke", a.pat(alice, "shares:read"), nil), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/shares/"+id+"/revoke", bses, nil), http.StatusNotFound, "not_found")
		a.want(a.call("POST", "/v1/shares/"+id+"/revoke", ses, "x"), http.StatusBadRequest, "invalid_format.body")
		r = a.call("POST", "/v1/shares/"+id+"/revoke", ses, nil)
		a.want(r, http.StatusOK)
		rv := mfKeys(t, "revoked", mfObj(t, r), mfShareKeys...)
		if rv["revoked_at"] == nil {
			t.Fatalf("revoked = %s", r.body)
		}
		r = a.call("POST", "/v1/shares/"+id+"/revoke", a.pat(alice, "shares:write"), nil)
		a.want(r, http.StatusOK)
		if mfObj(t, r)["revoked_at"] != rv["revoked_at"] {
			t.Fatalf("revoked again = %s, first %v", r.body, rv)
		}
		a.want(a.call("POST", "/v1/shares/verify", "", map[string]string{"token": token}), http.StatusUnauthorized, "share_revoked")
		a.want(a.call("POST", "/v1/shares/verify", token, nil), http.StatusUnauthorized, "share_revoked")
		a.want(a.call("POST", "/v1/shares/"+bypat["id"].(string)+"/revoke", root, nil), http.StatusOK)
	})
}

// Verifying share tokens is a guess at a secret, whoever asks: a share
// bearer pays the anonymous per-address bucket exactly as a token in the
// body does (it skipped it), so a burst from one address meets 429 with
// Retry-After either way, and the bucket is the one anonymous requests
// from the address share.
func TestShareVerifyPaysTheAnonymousBucket(t *testing.T) {
	limited := func(_ *identity.Config, c *server.Config) { c.AnonymousRate, c.AnonymousBurst = 0.01, 3 }
	for _, how := range []string{"bearer", "body"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			a := newAPI(t, "", false, limited)
			alice, ses := a.user("alice")
			_, token, err := a.ids.CreateShare(context.Background(), identity.NewShare{Object: tuples.Ref{Type: "doc", ID: tuples.NewUUID()},
				Relation: "viewer", CreatedBy: alice, ExpiresIn: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			verify := func(tok string) response {
				if how == "bearer" {
					return a.call("POST", "/v1/shares/verify", tok, nil)
				}
				return a.call("POST", "/v1/shares/verify", "", map[string]string{"token": tok})
			}
			a.want(verify(token), http.StatusOK)
			a.want(verify("shr_"+strings.Repeat("A", 43)), http.StatusUnauthorized, "invalid_share_token")
			a.want(verify("shr_"+strings.Repeat("B", 43)), http.StatusUnauthorized, "invalid_share_token")
			for _, guess := range []string{"shr_" + strings.Repeat("C", 43), token} { // the burst is spent: even the real one waits
				r := verify(guess)
				a.want(r, http.StatusTooManyRequests, "rate_limited")
				if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
					t.Fatalf("Retry-After = %q, want whole seconds ≥ 1", r.header.Get("Retry-After"))
				}
			}
			// One bucket per address: sign-up from it waits too; a session
			// does not pay it.
			a.want(a.call("POST", "/v1/users", "", map[string]any{}), http.StatusTooManyRequests, "rate_limited")
			a.want(a.call("GET", "/v1/users/"+tuples.FormatID("usr", alice), ses, nil), http.StatusOK)
		})
	}
}
