package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/identity"
	identitymemory "github.com/flametrench/server/identity/memory"
	"github.com/flametrench/server/identity/password"
	"github.com/flametrench/server/tenancy"
	tenancymemory "github.com/flametrench/server/tenancy/memory"
	"github.com/flametrench/server/tuples/memory"
)

const fuzzKey = "fuzz-service-key-0123456789abcdef"

// fuzzServer is a whole server over the memory stores, as serve builds it.
func fuzzServer(tb testing.TB) http.Handler {
	g := memory.New()
	eng, err := check.New(func() check.Graph { return g.Snapshot() }, g.Intern, check.Config{Waiter: g})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(eng.Close)
	users := identitymemory.New(g)
	orgs := tenancy.NewService(tenancymemory.New(users), tenancy.Config{CanGrant: Grants(eng)})
	ids := identity.NewService(users, identity.Config{OnRevokeUser: orgs.RevokeUser,
		Hasher: password.NewPool(password.PoolConfig{QueueTimeout: time.Minute})})
	return New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Engine: eng, Tuples: g, Identity: ids,
		Tenancy: orgs, Signup: true, WebAuthnOrigin: "https://example.com", ServiceKey: fuzzKey, MaxBodyBytes: 64 << 10}).Handler()
}

// fuzzRequest makes route i's request with the fuzzer's body, path
// segment (for every path parameter) and query, as a platform admin (who
// passes every policy, so the input reaches the handler's decoding).
func fuzzRequest(i uint, body []byte, segment, query string) *http.Request {
	rt := apiRoutes[i%uint(len(apiRoutes))]
	path := rt.path
	for {
		a := strings.IndexByte(path, '{')
		b := strings.IndexByte(path, '}')
		if a < 0 || b < a {
			break
		}
		path = path[:a] + url.PathEscape(segment) + path[b+1:]
	}
	r := httptest.NewRequest(rt.method, "/v1"+path, bytes.NewReader(body))
	r.URL.RawQuery = url.QueryEscape(query)
	if k, v, ok := strings.Cut(query, "="); ok {
		r.URL.RawQuery = url.QueryEscape(k) + "=" + url.QueryEscape(v)
	}
	r.Header.Set("Authorization", "Bearer "+fuzzKey)
	return r
}

// FuzzRoutes sends every route arbitrary bodies, path ids and queries:
// client input never gets a 500 (a panic would be one, through the
// recover middleware). The seeds give each route bodies of every JSON
// shape its request schema's fields could be sent as.
func FuzzRoutes(f *testing.F) {
	for i, rt := range apiRoutes {
		for _, body := range fuzzBodies(rt) {
			f.Add(uint(i), body, "usr_0190a0e1d2c34b5a8f6e7d8c9b0a1f2e", "limit=3")
		}
		f.Add(uint(i), []byte(`{}`), "", "cursor=%%%")
		f.Add(uint(i), []byte(`null`), "x", "limit=-1")
		f.Add(uint(i), []byte(`{"a":`), "00000000-0000-0000-0000-000000000000", "status=bogus")
	}
	h := fuzzServer(f)
	f.Fuzz(func(t *testing.T, i uint, body []byte, segment, query string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, fuzzRequest(i, body, segment, query))
		if w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
			rt := apiRoutes[i%uint(len(apiRoutes))]
			t.Fatalf("%s /v1%s with %q (segment %q, query %q): %d %s", rt.method, rt.path, body, segment, query, w.Code, w.Body)
		}
	})
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
