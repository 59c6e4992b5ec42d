package server_test

import (
	"net/http"
	"testing"

	"github.com/flametrench/server/tuples"
)

// A timestamp a client sends must fall within years 1 to 9999 in UTC: an
// offset could carry one past year 9999 (or before year 1), which the
// store kept and encoding/json could not write, so the MFA policy
// answered 200 with an empty body, then and on every later read (found
// by FuzzRoutes).
func TestTimestampsWithinYears1To9999(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(t *testing.T, rules string) *api) {
		a := newAPI(t, "")
		admin := a.admin()
		u, _ := a.user("alice")
		policy := "/v1/users/" + tuples.FormatID("usr", u) + "/mfa-policy"
		for _, ts := range []string{"9999-12-31T23:59:59-01:00", "0000-01-01T00:00:00+01:00", "0000-01-01T00:00:00Z"} {
			a.want(a.call("PUT", policy, admin, map[string]any{"required": false, "grace_until": ts}),
				http.StatusBadRequest, "invalid_format.grace_until")
			a.want(a.call("POST", "/v1/users/"+tuples.FormatID("usr", u)+"/pats", admin,
				map[string]any{"name": "ci", "scope": []string{"check"}, "expires_at": ts}), http.StatusBadRequest, "invalid_format.expires_at")
		}
		a.want(a.call("GET", policy, admin, nil), http.StatusOK)
		// The ends of the range are taken, and read back.
		for _, ts := range []string{"9999-12-31T23:59:59.999999Z", "0001-01-01T00:00:00Z"} {
			a.want(a.call("PUT", policy, admin, map[string]any{"required": false, "grace_until": ts}), http.StatusOK)
			var p struct {
				GraceUntil string `json:"grace_until"`
			}
			a.call("GET", policy, admin, nil).decode(t, &p)
			if p.GraceUntil != ts {
				t.Errorf("grace_until %s read back as %q", ts, p.GraceUntil)
			}
		}
	})
}
