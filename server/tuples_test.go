package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/flametrench/server/tuples"
)

// rulesDoc is a small ADR 0007 model: editors are viewers, and a doc's
// viewers include its folder's.
const rulesDoc = `
spec_version: "0.3"
rules:
  doc:
    viewer:
      union:
        - this: {}
        - computed_userset: {relation: editor}
        - tuple_to_userset: {tupleset: {relation: parent}, computed_userset: {relation: viewer}}
  folder:
    viewer:
      union:
        - this: {}
`

type tupleJSON struct {
	ID          string  `json:"id"`
	SubjectType string  `json:"subject_type"`
	SubjectID   string  `json:"subject_id"`
	Relation    string  `json:"relation"`
	ObjectType  string  `json:"object_type"`
	ObjectID    string  `json:"object_id"`
	CreatedAt   string  `json:"created_at"`
	CreatedBy   *string `json:"created_by"`
}

type tuplePage struct {
	Data []tupleJSON `json:"data"`
	Page struct {
		NextCursor *string `json:"next_cursor"`
	} `json:"page"`
}

func tupleBody(subj tuples.UUID, rel, objType string, obj tuples.UUID) map[string]string {
	return map[string]string{"subject_type": "usr", "subject_id": tuples.FormatID("usr", subj), "relation": rel,
		"object_type": objType, "object_id": obj.String()}
}

func checkBody(subj tuples.UUID, rel, objType string, obj tuples.UUID) map[string]string {
	return tupleBody(subj, rel, objType, obj)
}

func TestTuplesAndChecks(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, rulesDoc)
		alice, _ := a.user("alice")
		writer := a.pat(alice, "tuples:write", "tuples:read", "check")
		doc, folder := tuples.NewUUID(), tuples.NewUUID()

		// Write with a scoped PAT; the answer is the spec's Tuple, with a
		// consistency token.
		r := a.call("POST", "/v1/tuples", writer, tupleBody(alice, "viewer", "folder", folder))
		a.want(r, http.StatusCreated)
		var tup tupleJSON
		r.decode(t, &tup)
		if !strings.HasPrefix(tup.ID, "tup_") || tup.SubjectID != alice.String() || tup.ObjectID != folder.String() ||
			tup.CreatedBy == nil || *tup.CreatedBy != tuples.FormatID("usr", alice) || tup.CreatedAt == "" {
			t.Fatalf("created %+v", tup)
		}
		token := r.header.Get("Flametrench-Consistency-Token")
		if token == "" {
			t.Fatal("no consistency token on a write")
		}
		// A service-key write: the doc's parent is the folder.
		r = a.call("POST", "/v1/tuples", serviceKey, map[string]string{"subject_type": "folder", "subject_id": folder.String(),
			"relation": "parent", "object_type": "doc", "object_id": doc.String()})
		a.want(r, http.StatusCreated)
		a.want(a.call("POST", "/v1/tuples", writer, tupleBody(alice, "viewer", "folder", folder)), http.StatusConflict, "conflict.duplicate_tuple")

		// The check, at least as fresh as the write, follows the rules.
		r = a.call("POST", "/v1/tuples/check", writer, checkBody(alice, "viewer", "doc", doc), "Flametrench-Consistency-Token", token)
		a.want(r, http.StatusOK)
		var res struct {
			Allowed bool `json:"allowed"`
		}
		r.decode(t, &res)
		if !res.Allowed || r.header.Get("Flametrench-Consistency-Token") == "" {
			t.Fatalf("check = %s, token %q; want allowed with a token", r.body, r.header.Get("Flametrench-Consistency-Token"))
		}
		set := map[string]any{"subject_type": "usr", "subject_id": alice.String(), "relations": []string{"editor", "owner"},
			"object_type": "doc", "object_id": doc.String()}
		r = a.call("POST", "/v1/tuples/check", writer, set)
		a.want(r, http.StatusOK)
		r.decode(t, &res)
		if res.Allowed {
			t.Fatal("the set form allowed editor|owner, which nobody holds")
		}

		// Listings, paged.
		r = a.call("GET", "/v1/tuples/by-object?object_type=doc&object_id="+doc.String()+"&limit=1", writer, nil)
		a.want(r, http.StatusOK)
		var p tuplePage
		r.decode(t, &p)
		if len(p.Data) != 1 || p.Data[0].SubjectType != "folder" {
			t.Fatalf("by-object = %s", r.body)
		}
		r = a.call("GET", "/v1/tuples/by-subject?subject_type=usr&subject_id="+tuples.FormatID("usr", alice), writer, nil)
		a.want(r, http.StatusOK)
		r.decode(t, &p)
		if len(p.Data) != 1 || p.Data[0].ID != tup.ID || p.Page.NextCursor != nil {
			t.Fatalf("by-subject = %s", r.body)
		}

		// Expand and the rules (extensions).
		r = a.call("POST", "/v1/tuples/expand", writer, map[string]string{"relation": "viewer", "object_type": "doc", "object_id": doc.String()})
		a.want(r, http.StatusOK)
		if !strings.Contains(string(r.body), alice.String()) {
			t.Fatalf("expand does not reach alice: %s", r.body)
		}
		r = a.call("GET", "/v1/rules", writer, nil)
		a.want(r, http.StatusOK)
		if !strings.Contains(string(r.body), "tuple_to_userset") {
			t.Fatalf("rules = %s", r.body)
		}

		// Delete by id: 204, then 404.
		a.want(a.call("DELETE", "/v1/tuples/"+tup.ID, writer, nil), http.StatusNoContent)
		a.want(a.call("DELETE", "/v1/tuples/"+tup.ID, writer, nil), http.StatusNotFound, "not_found")
		r = a.call("POST", "/v1/tuples/check", writer, checkBody(alice, "viewer", "doc", doc))
		r.decode(t, &res)
		if res.Allowed {
			t.Fatal("allowed after the grant was deleted")
		}

		// Each request was counted under its route and status.
		r = a.call("GET", "/metrics", "", nil)
		for _, want := range []string{`flametrench_http_requests_total{code="201",route="POST /v1/tuples"} 2`,
			`flametrench_http_requests_total{code="409",route="POST /v1/tuples"} 1`,
			`flametrench_http_request_duration_seconds_count{route="POST /v1/tuples/check"} 3`} {
			if !strings.Contains(string(r.body), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if id := r.header.Get("X-Request-Id"); id == "" {
			t.Error("no X-Request-Id on a response")
		}
	})
}

// Who may call the tuple routes: a plain session may check and list
// about itself only; writing takes tuples:write; membership tuples are
// tenancy's.
func TestTupleAuthorization(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, "")
		alice, session := a.user("alice")
		bob, _ := a.user("bob")
		readOnly := a.pat(alice, "tuples:read")
		doc := tuples.NewUUID()

		a.want(a.call("POST", "/v1/tuples", "", tupleBody(alice, "viewer", "doc", doc)), http.StatusUnauthorized, "unauthorized.missing_token")
		a.want(a.call("POST", "/v1/tuples", "not-a-session", tupleBody(alice, "viewer", "doc", doc)), http.StatusUnauthorized)
		a.want(a.call("POST", "/v1/tuples", session, tupleBody(alice, "viewer", "doc", doc)), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/tuples", readOnly, tupleBody(alice, "viewer", "doc", doc)), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/tuples", serviceKey, tupleBody(alice, "owner", "org", tuples.NewUUID())), http.StatusForbidden, "forbidden.membership_tuple")

		a.want(a.call("POST", "/v1/tuples/check", session, checkBody(alice, "viewer", "doc", doc)), http.StatusOK)
		a.want(a.call("POST", "/v1/tuples/check", session, checkBody(bob, "viewer", "doc", doc)), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/tuples/check", readOnly, checkBody(bob, "viewer", "doc", doc)), http.StatusForbidden, "forbidden")
		a.want(a.call("GET", "/v1/tuples/by-subject?subject_type=usr&subject_id="+alice.String(), session, nil), http.StatusOK)
		a.want(a.call("GET", "/v1/tuples/by-subject?subject_type=usr&subject_id="+bob.String(), session, nil), http.StatusForbidden)
		a.want(a.call("GET", "/v1/tuples/by-subject?subject_type=usr&subject_id="+bob.String(), readOnly, nil), http.StatusOK)
		a.want(a.call("GET", "/v1/tuples/by-object?object_type=doc&object_id="+doc.String(), session, nil), http.StatusForbidden)
		a.want(a.call("GET", "/v1/rules", session, nil), http.StatusForbidden)

		// A session of the platform admin may do it all; a PAT of the
		// admin holds its scopes only.
		root := a.admin()
		a.want(a.call("POST", "/v1/tuples", root, tupleBody(bob, "viewer", "doc", doc)), http.StatusCreated)
		a.want(a.call("POST", "/v1/tuples/check", root, checkBody(bob, "viewer", "doc", doc)), http.StatusOK)
		rootUser, err := a.ids.Resolve(context.Background(), root, "")
		if err != nil {
			t.Fatal(err)
		}
		a.want(a.call("POST", "/v1/tuples", a.pat(rootUser.UserID, "check"), tupleBody(bob, "editor", "doc", doc)), http.StatusForbidden, "forbidden")
	})
}

// Bad input is a 4xx in the error envelope with a precise code, before any
// work is done.
func TestTupleValidation(t *testing.T) {
	a := newAPI(t, "", false)
	doc := tuples.NewUUID()
	alice, _ := a.user("alice")
	valid := tupleBody(alice, "viewer", "doc", doc)
	for _, c := range []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"malformed JSON", "POST", "/v1/tuples", `{"subject_type":`, 400, "invalid_format.body"},
		{"not an object", "POST", "/v1/tuples", `[1]`, 400, "invalid_format.body"},
		{"no body", "POST", "/v1/tuples", nil, 400, "invalid_format.body"},
		{"unknown field", "POST", "/v1/tuples", `{"subject_type":"usr","extra":1}`, 400, "invalid_format.body"},
		{"trailing data", "POST", "/v1/tuples", `{} {}`, 400, "invalid_format.body"},
		{"wrong type", "POST", "/v1/tuples", `{"relation": 7}`, 400, "invalid_format.relation"},
		{"missing field", "POST", "/v1/tuples", `{"subject_type":"usr"}`, 400, "invalid_format.subject_id"},
		{"bad relation", "POST", "/v1/tuples", map[string]string{"subject_type": "usr", "subject_id": valid["subject_id"],
			"relation": "Viewer!", "object_type": "doc", "object_id": doc.String()}, 400, "invalid_format.relation"},
		{"bad subject id", "POST", "/v1/tuples", map[string]string{"subject_type": "usr", "subject_id": "usr_nope",
			"relation": "viewer", "object_type": "doc", "object_id": doc.String()}, 400, "invalid_format.subject_id"},
		{"too large", "POST", "/v1/tuples", `{"relation":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "too_large"},
		{"both relation forms", "POST", "/v1/tuples/check", map[string]any{"subject_type": "usr", "subject_id": alice.String(),
			"relation": "viewer", "relations": []string{"viewer"}, "object_type": "doc", "object_id": doc.String()}, 400, "invalid_format.relation"},
		{"empty relation set", "POST", "/v1/tuples/check", map[string]any{"subject_type": "usr", "subject_id": alice.String(),
			"relations": []string{}, "object_type": "doc", "object_id": doc.String()}, 400, "invalid_format.relations"},
		{"bad token", "POST", "/v1/tuples/check", checkBody(alice, "viewer", "doc", doc), 400, "invalid_format.consistency_token"},
		{"bad limit", "GET", "/v1/tuples/by-object?object_type=doc&object_id=" + doc.String() + "&limit=500", nil, 400, "invalid_format.limit"},
		{"limit not a number", "GET", "/v1/tuples/by-object?object_type=doc&object_id=" + doc.String() + "&limit=x", nil, 400, "invalid_format.limit"},
		{"bad cursor", "GET", "/v1/tuples/by-object?object_type=doc&object_id=" + doc.String() + "&cursor=zzz", nil, 400, "invalid_format.cursor"},
		{"bad tuple id", "DELETE", "/v1/tuples/tup_123", nil, 400, "invalid_format.id"},
		{"nil tuple id", "DELETE", "/v1/tuples/tup_00000000000000000000000000000000", nil, 400, "invalid_format.id"},
		{"another type's id", "DELETE", "/v1/tuples/" + tuples.FormatID("usr", alice), nil, 400, "invalid_format.id"},
		{"no such route", "GET", "/v1/nothing", nil, 404, "not_found"},
		{"wrong method", "PUT", "/v1/tuples/check", nil, 405, "method_not_allowed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.name == "bad token" {
				hdr = []string{"Flametrench-Consistency-Token", "garbage"}
			}
			r := a.call(c.method, c.path, serviceKey, c.body, hdr...)
			a.want(r, c.status, c.code)
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}
