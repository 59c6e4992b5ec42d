package server_test

import (
	"net/http"
	"testing"
)

// A NUL in any string is refused at the edge, on every store: PostgreSQL's
// text cannot hold one, and a client's input must never be a 500. The
// modules refuse it too (their suites' NULRefused tests), for callers
// that do not come through here.
func TestNULIsRefused(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(t *testing.T, rules string) *api) {
		a := newAPI(t, "")
		admin := a.admin()
		a.want(a.call("POST", "/v1/users", "", `{"display_name":"a\u0000b"}`), http.StatusBadRequest, "invalid_format.body")
		a.want(a.call("POST", "/v1/credentials/verify", "", `{"type":"password","identifier":"x\u0000","proof":{"password":"p"}}`),
			http.StatusBadRequest, "invalid_format.body")
		a.want(a.call("POST", "/v1/orgs", admin, `{"name":"\u0000"}`), http.StatusBadRequest, "invalid_format.body")
		a.want(a.call("GET", "/v1/users?query=a%00b", admin, nil), http.StatusBadRequest, "invalid_format.query")
		// Bytes that are not UTF-8 pass the edge; identity refuses them
		// itself.
		a.want(a.call("GET", "/v1/users?query=a%ffb", admin, nil), http.StatusBadRequest, "invalid_format")
		// An escaped backslash before u0000 is text, not a NUL.
		a.want(a.call("POST", "/v1/users", "", `{"display_name":"\\u0000"}`), http.StatusCreated)
	})
}
