package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/flametrench/server/tuples"
)

// FuzzRoutes sends every route arbitrary bodies, path ids and queries, as
// each kind of caller (fuzzCallers), over the memory stores: client input
// never gets a 500 (a panic would be one, through the recover middleware)
// and every answer keeps the invariants of checkFuzzResponse.
func FuzzRoutes(f *testing.F) { fuzzRoutes(f, false) }

// FuzzRoutesPostgres is FuzzRoutes over PostgreSQL-backed identity,
// tenancy and tuple stores, whose text refuses what Go strings allow (NUL,
// invalid UTF-8). It skips without FLAMETRENCH_TEST_DATABASE_URL.
func FuzzRoutesPostgres(f *testing.F) { fuzzRoutes(f, true) }

// fuzzRoutes seeds the corpus and runs the target. An input is a route
// (index into apiRoutes), a caller (who), a body, a path segment (every
// path parameter takes it) and a query. Body, segment and query may hold
// placeholders of the current fixtures ({usr}, {org}.uuid…; in the
// segment, "{}" is each parameter's own fixture), so inputs reach
// existing users, orgs, invitations, credentials, sessions, PATs, shares
// and factors as well as made-up ids.
func fuzzRoutes(f *testing.F, pg bool) {
	for i, rt := range apiRoutes {
		for _, seed := range fuzzSeeds(rt) {
			f.Add(uint(i), seed.who, seed.body, seed.segment, seed.query)
		}
	}
	w := newFuzzWorld(f, pg)
	f.Fuzz(func(t *testing.T, i uint, who byte, body []byte, segment, query string) {
		fx := w.fixtures(t)
		rt := apiRoutes[i%uint(len(apiRoutes))]
		kind := int(who) % fuzzCallers
		r, fixturePath := fuzzRequest(fx, rt, kind, body, segment, query)
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, r)
		if err := checkFuzzResponse(rt, kind, rec); err != nil {
			t.Fatalf("%s %s as %s with body %q (segment %q, query %q): %v\n%d %s", r.Method, r.URL, fuzzCallerNames[kind],
				body, segment, query, err, rec.Code, rec.Body)
		}
		if fixturePath && r.Method != http.MethodGet && rec.Code < 300 {
			// The write may have changed a fixture: suspended a user,
			// revoked a session…
			w.dirty = true
			w.patDirty = w.patDirty || strings.Contains(r.URL.Path, fx.values["{pat}"])
		}
	})
}

// fuzzRequest makes route rt's request as caller kind: the body and query
// with the fixtures' placeholders replaced, and the segment in every path
// parameter ("{}" there: that parameter's fixture). fixturePath reports
// whether a path parameter named a fixture.
func fuzzRequest(fx *fuzzFixtures, rt route, kind int, body []byte, segment, query string) (r *http.Request, fixturePath bool) {
	path := rt.path
	for {
		a := strings.IndexByte(path, '{')
		b := strings.IndexByte(path, '}')
		if a < 0 || b < a {
			break
		}
		seg := fx.rep.Replace(strings.ReplaceAll(segment, "{}", fuzzParamFixture[path[a+1:b]]))
		fixturePath = fixturePath || seg != segment
		path = path[:a] + url.PathEscape(seg) + path[b+1:]
	}
	r = httptest.NewRequest(rt.method, "/v1"+path, bytes.NewReader([]byte(fx.rep.Replace(string(body)))))
	var raw []string
	for _, p := range strings.Split(fx.rep.Replace(query), "&") {
		if k, v, ok := strings.Cut(p, "="); ok {
			raw = append(raw, url.QueryEscape(k)+"="+url.QueryEscape(v))
		} else {
			raw = append(raw, url.QueryEscape(p))
		}
	}
	r.URL.RawQuery = strings.Join(raw, "&")
	if tok := fx.tokens[kind]; tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return r, fixturePath
}

// checkFuzzResponse checks what holds of every answer, whatever the
// input:
//   - no 5xx but 503 (a 500 is a bug, a panic included);
//   - an error (4xx, 503) is the spec's envelope, a JSON object of exactly
//     a non-empty code and message (and details, which the spec allows);
//   - any other answer but a 204 or a redirect has a JSON body;
//   - a 429 says when to come back (Retry-After);
//   - a 2xx goes only to a caller the route's policy admits by kind: an
//     admin-only route to an admin; a route that takes a token, never to
//     anonymous; a share bearer only to verifyShare (SHR-5).
func checkFuzzResponse(rt route, kind int, rec *httptest.ResponseRecorder) error {
	body := rec.Body.Bytes()
	switch {
	case rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable:
		return fmt.Errorf("a server error")
	case rec.Code >= 400:
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			return fmt.Errorf("an error with Content-Type %q", ct)
		}
		var e map[string]any
		if err := json.Unmarshal(body, &e); err != nil {
			return fmt.Errorf("an error body that is not a JSON object: %v", err)
		}
		for k := range e {
			if k != "code" && k != "message" && k != "details" {
				return fmt.Errorf("an error body with field %q", k)
			}
		}
		for _, k := range []string{"code", "message"} {
			if s, _ := e[k].(string); s == "" {
				return fmt.Errorf("an error body without a %s", k)
			}
		}
		if rec.Code == http.StatusTooManyRequests {
			if n, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || n < 1 {
				return fmt.Errorf("a 429 with Retry-After %q", rec.Header().Get("Retry-After"))
			}
		}
	case rec.Code >= 300:
		// a redirect of the mux's path cleaning (an empty or dot segment)
	case rec.Code == http.StatusNoContent:
		if len(body) > 0 {
			return fmt.Errorf("a 204 with a body")
		}
	case !json.Valid(body):
		return fmt.Errorf("a body that is not JSON")
	}
	if rec.Code >= 200 && rec.Code < 300 && rt.allow.allow != nil {
		switch {
		case rt.allow.who == admin.who && kind != asAdmin:
			return fmt.Errorf("an admin-only route served to a non-admin")
		case kind == asAnonymous && !rt.allow.optional:
			return fmt.Errorf("a route that takes a token served without one")
		case kind == asShare && rt.op != "verifyShare":
			return fmt.Errorf("a share bearer served outside verifyShare")
		}
	}
	return nil
}

// A fuzzSeed is one seed input of a route.
type fuzzSeed struct {
	who            byte
	body           []byte
	segment, query string
}

// fuzzSeeds are a route's seeds, without repeats: as every caller kind,
// its plausible bodies and queries (fuzzBodiesByOp, fuzzQueriesByOp) on
// the path ids that exist ("{}"), and the first of them on a made-up id
// (and on "{owner}", for a user); as an admin, bodies of every JSON shape
// its request schema's fields could be sent as, and the plausible ones
// with edge values (fuzzEdgeBodies, fuzzEdgeQueries); a few malformed
// ones.
func fuzzSeeds(rt route) []fuzzSeed {
	existing, others := "", []string(nil)
	if a := strings.IndexByte(rt.path, '{'); a >= 0 {
		p := rt.path[a+1 : strings.IndexByte(rt.path, '}')]
		existing, others = "{}", []string{tuples.FormatID(strings.TrimSuffix(p, "_id"), fuzzMadeUpID)}
		if p == "usr_id" {
			others = append(others, "{owner}")
		}
	}
	bodies := fuzzBodiesByOp[rt.op]
	if len(bodies) == 0 {
		bodies = []string{""}
	}
	queries := fuzzQueriesByOp[rt.op]
	if len(queries) == 0 {
		queries = []string{"limit=3"}
	}
	var out []fuzzSeed
	seen := map[string]bool{}
	add := func(who byte, body []byte, segment, query string) {
		if k := fmt.Sprintf("%d %q %q %q", who, body, segment, query); !seen[k] {
			seen[k] = true
			out = append(out, fuzzSeed{who, body, segment, query})
		}
	}
	for who := range byte(fuzzCallers) {
		for j, body := range bodies {
			add(who, []byte(body), existing, queries[j%len(queries)])
		}
		for _, seg := range others {
			add(who, []byte(bodies[0]), seg, queries[0])
		}
	}
	for _, body := range fuzzBodies(rt) {
		add(asAdmin, body, existing, "limit=3")
	}
	edgeCaller := byte(asAdmin)
	if rt.op == "createShare" { // the service key makes no shares
		edgeCaller = asOwner
	}
	for _, body := range bodies {
		for _, b := range fuzzEdgeBodies(body) {
			add(edgeCaller, b, existing, queries[0])
		}
	}
	for _, q := range queries {
		for _, e := range fuzzEdgeQueries(q) {
			add(asAdmin, []byte(bodies[0]), existing, e)
		}
	}
	add(asAdmin, []byte(`{}`), "", "cursor=%%%")
	add(asUser, []byte(`null`), "x", "limit=-1")
	add(asOwner, []byte(`{"a":`), "00000000-0000-0000-0000-000000000000", "status=bogus")
	return out
}

// fuzzEdgeValues are values that have broken servers before, for the
// fields of plausible bodies: timestamps whose UTC falls outside years
// 1-9999, numbers at and past int64's ends, a string longer than a
// PostgreSQL index entry may be, and an empty one.
var fuzzEdgeValues = []any{"9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00+23:59", json.Number("9223372036854775807"),
	json.Number("1e20"), strings.Repeat("a", 3000), ""}

// fuzzEdgeBodies are body with each of its top-level fields set, in turn,
// to each of fuzzEdgeValues.
func fuzzEdgeBodies(body string) [][]byte {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&m) != nil {
		return nil
	}
	var out [][]byte
	for k, v := range m {
		for _, e := range fuzzEdgeValues {
			m[k] = e
			b, _ := json.Marshal(m)
			out = append(out, b)
		}
		m[k] = v
	}
	return out
}

// fuzzEdgeQueries are query with each parameter's value set, in turn, to
// invalid UTF-8, a long string and a lone percent sign.
func fuzzEdgeQueries(query string) []string {
	params := strings.Split(query, "&")
	var out []string
	for i, p := range params {
		k, _, _ := strings.Cut(p, "=")
		for _, e := range []string{"\xff\xfe", strings.Repeat("a", 3000), "%"} {
			params[i] = k + "=" + e
			out = append(out, strings.Join(params, "&"))
		}
		params[i] = p
	}
	return out
}

// fuzzMadeUpID is the UUID of made-up path ids: well formed, never
// issued.
var fuzzMadeUpID = tuples.UUID{0x01, 0x90, 0xa0, 0xe1, 0xd2, 0xc3, 0x4b, 0x5a, 0x8f, 0x6e, 0x7d, 0x8c, 0x9b, 0x0a, 0x1f, 0x2e}

// fuzzBodiesByOp are plausible request bodies per operation, with
// placeholders of the fixtures: most succeed for some caller, so the
// fuzzer starts from inputs that reach the store.
var fuzzBodiesByOp = map[string][]string{
	"createUser": {`{"display_name":"Fuzz"}`, ``},
	"updateUser": {`{"display_name":"Renamed"}`, `{"display_name":null}`},
	"createCredential": {
		`{"usr_id":"{usr}","type":"oidc","identifier":"new@example.com","oidc_issuer":"https://idp.example","oidc_subject":"new"}`,
		`{"usr_id":"{owner}","type":"password","identifier":"pw@example.com","password":"correct horse battery staple"}`,
		`{"usr_id":"{usr}","type":"passkey","identifier":"pk@example.com","public_key":"pQECAyYgASFYIA==","sign_count":0,"rp_id":"example.com"}`,
	},
	"verifyCredential": {
		`{"type":"password","identifier":"pw@example.com","proof":{"password":"correct horse battery staple"}}`,
		`{"type":"oidc","identifier":"{usr.identifier}","proof":{"id_token":"a.b.c"}}`,
		`{"type":"passkey","identifier":"pk@example.com","proof":{"challenge_id":"{doc.uuid}","assertion":{"client_data_json_b64u":"e30","authenticator_data_b64u":"AA","signature_b64u":"AA","credential_id_b64u":"AA"}}}`,
	},
	"createSignInChallenge": {`{"rp_id":"example.com"}`, ``},
	"rotateCredential":      {`{"oidc_issuer":"https://idp.example","oidc_subject":"rotated"}`, `{"password":"another long passphrase"}`},
	"createSession": {
		`{"usr_id":"{usr}","cred_id":"{cred}","ttl_seconds":3600}`,
		`{"usr_id":"{usr}","cred_id":"{cred}","ttl_seconds":3600,"verification_ticket":"vt_x"}`,
	},
	"enrollMfaFactor":      {`{"type":"totp","identifier":"laptop"}`, `{"type":"webauthn","rp_id":"example.com"}`, `{"type":"recovery"}`},
	"confirmMfaEnrollment": {`{"type":"totp","code":"123456"}`, `{"type":"webauthn","attestation":{"client_data_json_b64u":"e30","attestation_object_b64u":"oA","credential_id_b64u":"AA"}}`},
	"verifyMfa":            {`{"type":"totp","code":"123456"}`, `{"type":"recovery","code":"ABCD-EFGH"}`},
	"createMfaChallenge":   {`{"rp_id":"example.com"}`, ``},
	"setMfaPolicy":         {`{"required":true,"grace_until":"2030-01-01T00:00:00Z"}`, `{"required":false,"grace_until":null}`, `{"required":true,"grace_until":"9999-12-31T23:59:59Z"}`},
	"createPat":            {`{"name":"ci","scope":["tuples:read"],"expires_at":"2030-01-01T00:00:00Z"}`, `{"name":"ci","scope":[]}`, `{"name":"ci","scope":["check"],"expires_at":"9999-12-31T23:59:59Z"}`},
	"createShare": {
		`{"object_type":"doc","object_id":"{doc.uuid}","relation":"editor","expires_in_seconds":3600}`,
		`{"object_type":"doc","object_id":"{doc.uuid}","relation":"editor","expires_in_seconds":60,"single_use":true}`,
	},
	"verifyShare": {`{"token":"{share.token}"}`, ``},
	"createOrg":   {`{"name":"Acme","slug":"acme"}`, `{"owner_usr_id":"{usr}"}`},
	"updateOrg":   {`{"name":"Renamed","slug":null}`, `{"slug":"renamed"}`},
	"transferOwnership": {
		`{"from_mem_id":"{ownermem}","to_mem_id":"{mem}"}`,
	},
	"addMember":  {`{"usr_id":"{usr}","role":"member"}`, `{"usr_id":"{usr}","role":"admin","invited_by":"{owner}"}`},
	"changeRole": {`{"new_role":"admin"}`, `{"new_role":"owner"}`},
	"selfLeave":  {``, `{"transferTo":"{usr}"}`, `{"transfer_to":"{usr}"}`},
	"createInvitation": {
		`{"identifier":"someone@example.com","role":"member","expires_at":"2030-01-01T00:00:00Z"}`,
		`{"identifier":"{usr.identifier}","role":"viewer","expires_at":"2030-01-01T00:00:00Z","invited_by":"{owner}","pre_tuples":[{"relation":"viewer","object_type":"doc","object_id":"{doc.uuid}"}]}`,
	},
	"acceptInvitation": {``, `{"as_usr_id":"{usr}","accepting_identifier":"{usr.identifier}"}`, `{"as_usr_id":null}`},
	"createTuple": {
		`{"subject_type":"usr","subject_id":"{usr.uuid}","relation":"viewer","object_type":"doc","object_id":"{doc.uuid}"}`,
	},
	"check": {
		`{"subject_type":"usr","subject_id":"{owner.uuid}","relation":"editor","object_type":"doc","object_id":"{doc.uuid}"}`,
		`{"subject_type":"usr","subject_id":"{usr.uuid}","relations":["viewer","editor"],"object_type":"doc","object_id":"{doc.uuid}"}`,
	},
	"expand": {`{"relation":"editor","object_type":"doc","object_id":"{doc.uuid}"}`},
}

// fuzzQueriesByOp are plausible queries of the listings.
var fuzzQueriesByOp = map[string][]string{
	"listUsers":           {"status=active&query=plain&limit=2"},
	"listPatsForUser":     {"status=active&limit=1"},
	"listShares":          {"object_type=doc&object_id={doc.uuid}&limit=1"},
	"listTuplesBySubject": {"subject_type=usr&subject_id={owner.uuid}&limit=1"},
	"listTuplesByObject":  {"object_type=doc&object_id={doc.uuid}&relation=editor"},
	"listMembers":         {"status=active&limit=1"},
	"listInvitations":     {"status=pending&limit=1"},
}

// fuzzBodies are seed bodies for a route: its request schema's fields
// (from openapi.json) all set to a string, a number, a boolean, null, an
// object, an array, or a long string.
func fuzzBodies(rt route) [][]byte {
	var doc map[string]any
	_ = json.Unmarshal(openAPIDocument, &doc)
	schema := lookup(doc, "paths", rt.path, strings.ToLower(rt.method), "requestBody", "content", "application/json", "schema")
	fields := map[string]bool{}
	collectFields(doc, schema, fields, 0)
	var out [][]byte
	for _, v := range []any{"x", "usr_0190a0e1d2c34b5a8f6e7d8c9b0a1f2e", 1, -1, 1e300, true, nil, map[string]any{}, []any{}, []any{"x"}, strings.Repeat("é", 2000)} {
		m := map[string]any{}
		for f := range fields {
			m[f] = v
		}
		b, _ := json.Marshal(m)
		out = append(out, b)
	}
	return out
}

// collectFields gathers the property names of a schema, through $ref,
// oneOf, anyOf and allOf.
func collectFields(doc map[string]any, schema any, fields map[string]bool, depth int) {
	s, ok := schema.(map[string]any)
	if !ok || depth > 5 {
		return
	}
	if ref, ok := s["$ref"].(string); ok {
		collectFields(doc, lookup(doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...), fields, depth+1)
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for k := range props {
			fields[k] = true
		}
	}
	for _, k := range []string{"oneOf", "anyOf", "allOf"} {
		if list, ok := s[k].([]any); ok {
			for _, sub := range list {
				collectFields(doc, sub, fields, depth+1)
			}
		}
	}
}
