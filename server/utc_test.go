package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the child's TZ loads without the system's zoneinfo

	"github.com/flametrench/server/tuples"
)

// utcChildEnv, set to 1, marks the test binary that TestViewTimesUTC
// re-executes in a time zone other than UTC.
const utcChildEnv = "FLAMETRENCH_TEST_UTC_CHILD"

// utcTimes fails the test unless every timestamp in the JSON body (a
// string under a key ending in _at or _until) is in UTC ("Z"), and returns
// how many it checked.
func utcTimes(t *testing.T, what string, body []byte) int {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v in %s", what, err, body)
	}
	n := 0
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(k, e)
			}
		case []any:
			for _, e := range v {
				walk(key, e)
			}
		case string:
			if !strings.HasSuffix(key, "_at") && !strings.HasSuffix(key, "_until") {
				return
			}
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil || !strings.HasSuffix(v, "Z") {
				t.Errorf("%s: %s = %q, want an RFC 3339 time in UTC (Z)", what, key, v)
			}
			n++
		}
	}
	walk("", v)
	return n
}

// Every time a PAT, an MFA factor, the MFA policy, a verification or a
// share shows is in UTC, also when read back from PostgreSQL, which pgx
// returns in the process's local zone. The test runs itself again in a
// process whose local zone is Asia/Kolkata (+05:30), so a view that
// forgets .UTC() shows +05:30 there.
func TestViewTimesUTC(t *testing.T) {
	if os.Getenv(utcChildEnv) != "1" {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(exe, "-test.run=^TestViewTimesUTC$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), utcChildEnv+"=1", "TZ=Asia/Kolkata")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestViewTimesUTC")) {
			t.Fatalf("TestViewTimesUTC with TZ=Asia/Kolkata: %v\n%s", err, out)
		}
		return
	}
	if _, off := time.Now().Zone(); off == 0 {
		t.Fatal("the local zone is UTC: this run proves nothing")
	}
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, rulesDoc)
		root := a.admin()
		alice, ses := a.user("alice")
		checked := 0
		check := func(what string, r response, status int) map[string]any {
			t.Helper()
			a.want(r, status)
			checked += utcTimes(t, what, r.body)
			return mfObj(t, r)
		}

		// A PAT with every time set: expires_at, last_used_at (it is used),
		// revoked_at.
		exp := time.Now().Add(time.Hour).Format(time.RFC3339) // local, +05:30
		m := check("createPat", a.call("POST", "/v1/users/"+mfUsr(alice)+"/pats", ses,
			map[string]any{"name": "utc", "scope": []string{"orgs:read"}, "expires_at": exp}), http.StatusCreated)
		pid := m["pat"].(map[string]any)["id"].(string)
		a.want(a.call("GET", "/v1/users/"+mfUsr(alice)+"/orgs", m["token"].(string), nil), http.StatusOK)
		check("getPat", a.call("GET", "/v1/pats/"+pid, ses, nil), http.StatusOK)
		check("listPatsForUser", a.call("GET", "/v1/users/"+mfUsr(alice)+"/pats", ses, nil), http.StatusOK)
		if p := check("revokePat", a.call("POST", "/v1/pats/"+pid+"/revoke", ses, nil), http.StatusOK); p["last_used_at"] == nil || p["revoked_at"] == nil {
			t.Fatalf("revoked PAT = %v, want last_used_at and revoked_at set", p)
		}

		// A factor, the policy (with grace_until) and a verification.
		_, secret, at := mfEnrollTOTP(a, ses, alice)
		check("listMfaFactors", a.call("GET", "/v1/users/"+mfUsr(alice)+"/mfa-factors", ses, nil), http.StatusOK)
		grace := time.Now().Add(time.Hour).Format(time.RFC3339)
		check("setMfaPolicy", a.call("PUT", "/v1/users/"+mfUsr(alice)+"/mfa-policy", root, map[string]any{"required": true, "grace_until": grace}), http.StatusOK)
		check("getMfaPolicy", a.call("GET", "/v1/users/"+mfUsr(alice)+"/mfa-policy", ses, nil), http.StatusOK)
		check("verifyMfa", a.call("POST", "/v1/users/"+mfUsr(alice)+"/mfa/verify", ses,
			map[string]string{"type": "totp", "code": mfTOTP(t, secret, at.Add(30*time.Second))}), http.StatusOK)

		// A single-use share, consumed and revoked.
		doc := tuples.NewUUID()
		a.want(a.call("POST", "/v1/tuples", serviceKey, tupleBody(alice, "editor", "doc", doc)), http.StatusCreated)
		m = check("createShare", a.call("POST", "/v1/shares", ses, mfShareBody(doc, "viewer", true)), http.StatusCreated)
		sid := m["share"].(map[string]any)["id"].(string)
		check("verifyShare", a.call("POST", "/v1/shares/verify", "", map[string]string{"token": m["token"].(string)}), http.StatusOK)
		check("getShare", a.call("GET", "/v1/shares/"+sid, ses, nil), http.StatusOK)
		if sh := check("revokeShare", a.call("POST", "/v1/shares/"+sid+"/revoke", ses, nil), http.StatusOK); sh["consumed_at"] == nil || sh["revoked_at"] == nil {
			t.Fatalf("share = %v, want consumed_at and revoked_at set", sh)
		}
		if checked < 30 {
			t.Fatalf("checked %d times, want every time of the answers above", checked)
		}
	})
}
