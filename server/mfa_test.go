package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/identity/totp"
	"github.com/flametrench/server/tuples"
)

// ----- helpers shared by the MFA, PAT and share tests

// mfObj decodes a JSON object body.
func mfObj(t *testing.T, r response) map[string]any {
	t.Helper()
	var m map[string]any
	r.decode(t, &m)
	return m
}

// mfKeys fails unless obj has exactly the keys: the spec's schemas are
// additionalProperties: false, and every field is sent (null when unset).
func mfKeys(t *testing.T, what string, obj any, keys ...string) map[string]any {
	t.Helper()
	m, ok := obj.(map[string]any)
	if !ok {
		t.Fatalf("%s = %v, want an object", what, obj)
	}
	got := make([]string, 0, len(m))
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	want := slices.Clone(keys)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s has keys %v, want %v", what, got, want)
	}
	return m
}

// mfTime fails unless v is an RFC 3339 timestamp in UTC, and returns it.
func mfTime(t *testing.T, what string, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		t.Fatalf("%s = %v, want an RFC 3339 UTC timestamp", what, v)
	}
	return at
}

func mfUsr(u tuples.UUID) string { return tuples.FormatID("usr", u) }

// mfPasswordUser makes a user with a password credential and a session
// (minted without a ticket), and returns the user, the credential, the
// credential's identifier and password, and the session's token.
func mfPasswordUser(a *api, name string) (user, cred tuples.UUID, identifier, pw, token string) {
	a.t.Helper()
	ctx := context.Background()
	u, err := a.ids.CreateUser(ctx, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	identifier, pw = name+"@example.com", "a long password for "+name
	c, err := a.ids.CreateCredential(ctx, identity.NewCredential{UserID: u.ID, Type: identity.Password, Identifier: identifier, Password: pw})
	if err != nil {
		a.t.Fatal(err)
	}
	_, token, err = a.ids.CreateSessionFor(ctx, u.ID, c.ID, time.Hour)
	if err != nil {
		a.t.Fatal(err)
	}
	return u.ID, c.ID, identifier, pw, token
}

// mfTicket signs in with a password and returns the verification, whose
// Ticket is a verification_ticket.
func mfTicket(a *api, identifier, pw string) identity.Verification {
	a.t.Helper()
	v, err := a.ids.VerifyCredential(context.Background(), identity.VerifyInput{Type: identity.Password, Identifier: identifier, Password: pw})
	if err != nil {
		a.t.Fatal(err)
	}
	return v
}

// mfTOTP is the six-digit SHA-1 code of a base32 secret at a time.
func mfTOTP(t *testing.T, secretB32 string, at time.Time) string {
	t.Helper()
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secretB32)
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.Code(secret, at, 6, totp.SHA1)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// mfEnrollTOTP enrols and confirms a TOTP factor over HTTP with the bearer
// token, and returns the factor's id, its secret and the time the
// confirming code was for. The next code accepted must be of a later time
// step (replays are refused): the one for at+30s.
func mfEnrollTOTP(a *api, token string, user tuples.UUID) (id, secret string, at time.Time) {
	a.t.Helper()
	r := a.call("POST", "/v1/users/"+mfUsr(user)+"/mfa-factors", token, map[string]string{"type": "totp", "identifier": "phone"})
	a.want(r, http.StatusCreated)
	m := mfObj(a.t, r)
	id = m["factor"].(map[string]any)["id"].(string)
	secret = m["totp_enrollment"].(map[string]any)["secret_b32"].(string)
	at = time.Now()
	r = a.call("POST", "/v1/mfa-factors/"+id+"/confirm", token, map[string]string{"type": "totp", "code": mfTOTP(a.t, secret, at)})
	a.want(r, http.StatusOK)
	return id, secret, at
}

var (
	mfTOTPFactorKeys     = []string{"id", "type", "status", "identifier", "replaces", "created_at", "updated_at"}
	mfWebAuthnFactorKeys = []string{"id", "type", "status", "identifier", "rp_id", "sign_count", "aaguid", "transports", "replaces", "created_at", "updated_at"}
	mfRecoveryFactorKeys = []string{"id", "type", "status", "remaining", "replaces", "created_at", "updated_at"}
	mfEnrollKeys         = []string{"factor", "totp_enrollment", "webauthn_enrollment", "recovery_codes"}
	mfVerifyKeys         = []string{"ok", "mfa_id", "type", "mfa_verified_at", "new_sign_count"}
	mfPolicyKeys         = []string{"usr_id", "required", "grace_until", "updated_at"}
	mfRecoveryCode       = regexp.MustCompile(`^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$`)
)

// ----- TOTP and recovery codes, end to end

func TestMFATOTPAndRecovery(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, "")
		alice, ses := a.user("alice")
		factors := "/v1/users/" + mfUsr(alice) + "/mfa-factors"

		// Enrol: a pending factor and the secret, once.
		r := a.call("POST", factors, ses, map[string]string{"type": "totp", "identifier": "phone"})
		a.want(r, http.StatusCreated)
		m := mfKeys(t, "enrollment", mfObj(t, r), mfEnrollKeys...)
		f := mfKeys(t, "factor", m["factor"], mfTOTPFactorKeys...)
		if !strings.HasPrefix(f["id"].(string), "mfa_") || f["type"] != "totp" || f["status"] != "pending" ||
			f["identifier"] != "phone" || f["replaces"] != nil || m["webauthn_enrollment"] != nil || m["recovery_codes"] != nil {
			t.Fatalf("enrollment = %s", r.body)
		}
		mfTime(t, "created_at", f["created_at"])
		en := mfKeys(t, "totp_enrollment", m["totp_enrollment"], "secret_b32", "otpauth_uri", "period", "digits", "algorithm")
		secret := en["secret_b32"].(string)
		if !strings.HasPrefix(en["otpauth_uri"].(string), "otpauth://totp/") || !strings.Contains(en["otpauth_uri"].(string), "secret="+secret) ||
			en["period"] != 30.0 || en["digits"] != 6.0 || en["algorithm"] != "sha1" {
			t.Fatalf("totp_enrollment = %v", en)
		}
		id := f["id"].(string)

		// Listed while pending, without the secret.
		r = a.call("GET", factors, ses, nil)
		a.want(r, http.StatusOK)
		list := mfKeys(t, "list", mfObj(t, r), "factors")["factors"].([]any)
		if len(list) != 1 || mfKeys(t, "listed factor", list[0], mfTOTPFactorKeys...)["status"] != "pending" || strings.Contains(string(r.body), secret) {
			t.Fatalf("factors = %s", r.body)
		}

		// Confirm: a wrong code is 409, the right one activates it; an
		// active factor is no longer pending.
		at := time.Now()
		wrong := "000000"
		if mfTOTP(t, secret, at) == wrong {
			wrong = "111111"
		}
		a.want(a.call("POST", "/v1/mfa-factors/"+id+"/confirm", ses, map[string]string{"type": "totp", "code": wrong}), http.StatusConflict, "mfa.code_invalid")
		a.want(a.call("POST", "/v1/mfa-factors/"+id+"/confirm", ses, map[string]any{"type": "totp"}), http.StatusBadRequest, "invalid_format.code")
		a.want(a.call("POST", "/v1/mfa-factors/"+id+"/confirm", ses, map[string]any{"type": "webauthn", "code": "123456"}), http.StatusBadRequest, "invalid_format.attestation")
		r = a.call("POST", "/v1/mfa-factors/"+id+"/confirm", ses, map[string]string{"type": "totp", "code": mfTOTP(t, secret, at)})
		a.want(r, http.StatusOK)
		if f := mfKeys(t, "confirmed", mfObj(t, r), mfTOTPFactorKeys...); f["status"] != "active" || f["id"] != id {
			t.Fatalf("confirmed = %s", r.body)
		}
		a.want(a.call("POST", "/v1/mfa-factors/"+id+"/confirm", ses, map[string]string{"type": "totp", "code": mfTOTP(t, secret, at)}),
			http.StatusConflict, "mfa.factor_not_pending")

		// Verify with the user's own session: the next step's code.
		verify := "/v1/users/" + mfUsr(alice) + "/mfa/verify"
		next := mfTOTP(t, secret, at.Add(30*time.Second))
		r = a.call("POST", verify, ses, map[string]string{"type": "totp", "code": next})
		a.want(r, http.StatusOK)
		v := mfKeys(t, "verification", mfObj(t, r), mfVerifyKeys...)
		if v["ok"] != true || v["mfa_id"] != id || v["type"] != "totp" || v["new_sign_count"] != nil {
			t.Fatalf("verify = %s", r.body)
		}
		mfTime(t, "mfa_verified_at", v["mfa_verified_at"])
		// A wrong code, and the same code again, are 401.
		a.want(a.call("POST", verify, ses, map[string]string{"type": "totp", "code": wrong}), http.StatusUnauthorized, "mfa.code_invalid")
		a.want(a.call("POST", verify, ses, map[string]string{"type": "totp", "code": next}), http.StatusUnauthorized, "mfa.code_replayed")
		a.want(a.call("POST", verify, ses, map[string]string{"type": "sms", "code": next}), http.StatusBadRequest, "invalid_format.type")

		// The user turns MFA on for themselves.
		policy := "/v1/users/" + mfUsr(alice) + "/mfa-policy"
		r = a.call("PUT", policy, ses, map[string]any{"required": true})
		a.want(r, http.StatusOK)
		p := mfKeys(t, "policy", mfObj(t, r), mfPolicyKeys...)
		if p["usr_id"] != mfUsr(alice) || p["required"] != true || p["grace_until"] != nil {
			t.Fatalf("policy = %s", r.body)
		}
		mfTime(t, "updated_at", p["updated_at"])
		r = a.call("GET", policy, ses, nil)
		a.want(r, http.StatusOK)
		if p := mfKeys(t, "policy", mfObj(t, r), mfPolicyKeys...); p["required"] != true {
			t.Fatalf("policy = %s", r.body)
		}

		// Recovery codes: ten, active at once, each good once. The
		// session passed MFA above, so the policy lets it enrol them.
		r = a.call("POST", factors, ses, map[string]string{"type": "recovery"})
		a.want(r, http.StatusCreated)
		m = mfKeys(t, "recovery enrollment", mfObj(t, r), mfEnrollKeys...)
		rf := mfKeys(t, "recovery factor", m["factor"], mfRecoveryFactorKeys...)
		codes, _ := m["recovery_codes"].([]any)
		if rf["type"] != "recovery" || rf["status"] != "active" || rf["remaining"] != 10.0 || len(codes) != 10 ||
			m["totp_enrollment"] != nil || m["webauthn_enrollment"] != nil {
			t.Fatalf("recovery enrollment = %s", r.body)
		}
		for _, c := range codes {
			if !mfRecoveryCode.MatchString(c.(string)) {
				t.Fatalf("recovery code %q", c)
			}
		}
		r = a.call("POST", verify, ses, map[string]string{"type": "recovery", "code": codes[0].(string)})
		a.want(r, http.StatusOK)
		if v := mfKeys(t, "recovery verification", mfObj(t, r), mfVerifyKeys...); v["type"] != "recovery" || v["mfa_id"] != rf["id"] {
			t.Fatalf("recovery verify = %s", r.body)
		}
		a.want(a.call("POST", verify, ses, map[string]string{"type": "recovery", "code": codes[0].(string)}), http.StatusUnauthorized, "mfa.code_invalid")
		// Typed loosely (lower case, no hyphens), a code still counts.
		loose := strings.ToLower(strings.ReplaceAll(codes[1].(string), "-", ""))
		a.want(a.call("POST", verify, ses, map[string]string{"type": "recovery", "code": loose}), http.StatusOK)

		r = a.call("GET", factors, ses, nil)
		a.want(r, http.StatusOK)
		list = mfObj(t, r)["factors"].([]any)
		if len(list) != 2 || list[0].(map[string]any)["status"] != "active" || list[1].(map[string]any)["remaining"] != 8.0 {
			t.Fatalf("factors = %s", r.body)
		}

		// Sign-in of a user whose policy is in force: the ticket mints a
		// session only once verifyMfa upgraded it, with no bearer.
		bob, cred, ident, pw, bses := mfPasswordUser(a, "bob")
		_, bsecret, bat := mfEnrollTOTP(a, bses, bob)
		a.want(a.call("PUT", "/v1/users/"+mfUsr(bob)+"/mfa-policy", bses, map[string]any{"required": true, "grace_until": nil}), http.StatusOK)
		tk := mfTicket(a, ident, pw)
		if !tk.MFARequired || tk.UserID != bob || tk.CredentialID != cred {
			t.Fatalf("verification = %+v, want MFA required", tk)
		}
		if _, _, err := a.ids.CreateSession(context.Background(), tk, time.Hour); tuples.CodeOf(err) != "unauthorized.mfa_required" {
			t.Fatalf("CreateSession before MFA = %v, want unauthorized.mfa_required", err)
		}
		bverify := "/v1/users/" + mfUsr(bob) + "/mfa/verify"
		bnext := mfTOTP(t, bsecret, bat.Add(30*time.Second))
		a.want(a.call("POST", bverify, "", map[string]string{"type": "totp", "code": bnext}), http.StatusUnauthorized, "unauthorized.missing_token")
		// Bob's ticket is not Alice's.
		a.want(a.call("POST", verify, "", map[string]string{"type": "totp", "code": bnext, "verification_ticket": tk.Ticket}),
			http.StatusUnauthorized, "unauthorized.invalid_ticket")
		r = a.call("POST", bverify, "", map[string]string{"type": "totp", "code": bnext, "verification_ticket": tk.Ticket})
		a.want(r, http.StatusOK)
		if v := mfKeys(t, "ticket verification", mfObj(t, r), mfVerifyKeys...); v["ok"] != true || v["type"] != "totp" {
			t.Fatalf("verify with a ticket = %s", r.body)
		}
		ses2, _, err := a.ids.CreateSession(context.Background(), tk, time.Hour)
		if err != nil || ses2.UserID != bob || ses2.MFAVerifiedAt == nil {
			t.Fatalf("CreateSession after MFA = %+v, %v; want an MFA-verified session of bob", ses2, err)
		}
	})
}

// Failed verifications are throttled per user (and address): 429 with
// Retry-After.
func TestMFAVerifyRateLimited(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, "")
		alice, ses := a.user("alice")
		_, secret, at := mfEnrollTOTP(a, ses, alice)
		wrong := "000000"
		for _, d := range []time.Duration{-30, 0, 30, 60} {
			if mfTOTP(t, secret, at.Add(d*time.Second)) == wrong {
				wrong = "111111" // both can't be near: one in a million
			}
		}
		verify := "/v1/users/" + mfUsr(alice) + "/mfa/verify"
		var r response
		for range 10 {
			if r = a.call("POST", verify, ses, map[string]string{"type": "totp", "code": wrong}); r.status != http.StatusUnauthorized {
				break
			}
		}
		a.want(r, http.StatusTooManyRequests, "rate_limited")
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
			t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
		}
	})
}

// ----- policies

func TestMFAPolicies(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, "")
		root := a.admin()
		alice, ses := a.user("alice")
		_, bob := a.user("bob")
		pat := a.pat(alice, "tuples:read")
		factors := "/v1/users/" + mfUsr(alice) + "/mfa-factors"
		policy := "/v1/users/" + mfUsr(alice) + "/mfa-policy"
		verify := "/v1/users/" + mfUsr(alice) + "/mfa/verify"

		// No policy row: not required.
		r := a.call("GET", policy, ses, nil)
		a.want(r, http.StatusOK)
		if p := mfKeys(t, "default policy", mfObj(t, r), mfPolicyKeys...); p["required"] != false || p["grace_until"] != nil {
			t.Fatalf("default policy = %s", r.body)
		}
		mfTime(t, "updated_at", mfObj(t, r)["updated_at"])

		// Another user's session is told alice does not exist; a PAT and no
		// token are refused.
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"GET", factors, nil},
			{"POST", factors, map[string]string{"type": "recovery"}},
			{"GET", policy, nil},
			{"PUT", policy, map[string]any{"required": true}},
			{"POST", verify, map[string]string{"type": "totp", "code": "123456"}},
			{"POST", "/v1/users/" + mfUsr(alice) + "/mfa/challenge", map[string]any{}},
		} {
			a.want(a.call(c.method, c.path, bob, c.body), http.StatusNotFound, "not_found")
			a.want(a.call(c.method, c.path, pat, c.body), http.StatusForbidden, "forbidden")
			if c.path != verify && !strings.HasSuffix(c.path, "/challenge") {
				a.want(a.call(c.method, c.path, "", c.body), http.StatusUnauthorized, "unauthorized.missing_token")
			}
		}

		// The user may turn MFA on (once they have a factor), never off
		// nor deferred.
		a.want(a.call("PUT", policy, ses, map[string]any{"required": true}), http.StatusConflict, "precondition.no_active_factor")
		id, secret, at := mfEnrollTOTP(a, ses, alice)
		a.want(a.call("PUT", policy, ses, map[string]any{"required": false}), http.StatusForbidden, "forbidden")
		grace := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
		a.want(a.call("PUT", policy, ses, map[string]any{"required": true, "grace_until": grace}), http.StatusForbidden, "forbidden")
		a.want(a.call("PUT", policy, ses, map[string]any{"grace_until": nil}), http.StatusBadRequest, "invalid_format.required")
		a.want(a.call("PUT", policy, ses, map[string]any{"required": true, "grace_until": "tomorrow"}), http.StatusBadRequest, "invalid_format.grace_until")
		a.want(a.call("PUT", policy, ses, map[string]any{"required": true, "extra": 1}), http.StatusBadRequest, "invalid_format.body")
		// An admin may do both.
		r = a.call("PUT", policy, root, map[string]any{"required": true, "grace_until": grace})
		a.want(r, http.StatusOK)
		if p := mfObj(t, r); p["required"] != true || mfTime(t, "grace_until", p["grace_until"]).Format(time.RFC3339) != grace {
			t.Fatalf("policy with grace = %s", r.body)
		}
		a.want(a.call("PUT", policy, root, map[string]any{"required": false}), http.StatusOK)
		r = a.call("PUT", policy, root, map[string]any{"required": true})
		a.want(r, http.StatusOK)

		// With the policy in force, a session that has not passed MFA
		// cannot strip the active factor nor enrol another; a pending one
		// it may revoke.
		a.want(a.call("POST", "/v1/mfa-factors/"+id+"/revoke", ses, nil), http.StatusForbidden, "forbidden.mfa_required")
		a.want(a.call("POST", factors, ses, map[string]string{"type": "recovery"}), http.StatusForbidden, "forbidden.mfa_required")
		// Another user's session and a PAT cannot touch the factor.
		a.want(a.call("POST", "/v1/mfa-factors/"+id+"/revoke", bob, nil), http.StatusNotFound, "not_found")
		a.want(a.call("POST", "/v1/mfa-factors/"+id+"/confirm", bob, map[string]string{"type": "totp", "code": "123456"}), http.StatusNotFound, "not_found")
		a.want(a.call("POST", "/v1/mfa-factors/"+id+"/revoke", pat, nil), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/mfa-factors/mfa_"+strings.Repeat("0", 32)+"/revoke", ses, nil), http.StatusBadRequest)
		a.want(a.call("POST", "/v1/mfa-factors/"+tuples.FormatID("mfa", tuples.NewUUID())+"/revoke", ses, nil), http.StatusNotFound, "not_found")

		// Once the session passed MFA, it may.
		a.want(a.call("POST", verify, ses, map[string]string{"type": "totp", "code": mfTOTP(t, secret, at.Add(30*time.Second))}), http.StatusOK)
		a.want(a.call("POST", "/v1/mfa-factors/"+id+"/revoke", ses, "not empty"), http.StatusBadRequest, "invalid_format.body")
		r = a.call("POST", "/v1/mfa-factors/"+id+"/revoke", ses, nil)
		a.want(r, http.StatusOK)
		if f := mfKeys(t, "revoked factor", mfObj(t, r), mfTOTPFactorKeys...); f["status"] != "revoked" || f["id"] != id {
			t.Fatalf("revoked = %s", r.body)
		}
		a.want(a.call("POST", "/v1/mfa-factors/"+id+"/revoke", ses, map[string]any{}), http.StatusOK) // idempotent
		a.want(a.call("POST", "/v1/mfa-factors/"+id+"/confirm", ses, map[string]string{"type": "totp", "code": "123456"}),
			http.StatusConflict, "mfa.factor_not_pending")
		r = a.call("GET", factors, ses, nil)
		a.want(r, http.StatusOK)
		if len(mfObj(t, r)["factors"].([]any)) != 0 {
			t.Fatalf("factors after revoke = %s", r.body)
		}

		// A platform admin is not held by the user's policy.
		carol, cses := a.user("carol")
		cid, _, _ := mfEnrollTOTP(a, cses, carol)
		a.want(a.call("PUT", "/v1/users/"+mfUsr(carol)+"/mfa-policy", cses, map[string]any{"required": true}), http.StatusOK)
		a.want(a.call("POST", "/v1/mfa-factors/"+cid+"/revoke", cses, nil), http.StatusForbidden, "forbidden.mfa_required")
		r = a.call("POST", "/v1/mfa-factors/"+cid+"/revoke", root, nil)
		a.want(r, http.StatusOK)
		if mfObj(t, r)["status"] != "revoked" {
			t.Fatalf("admin revoke = %s", r.body)
		}
		// With no active factor left, carol may enrol again.
		a.want(a.call("POST", "/v1/users/"+mfUsr(carol)+"/mfa-factors", cses, map[string]string{"type": "totp", "identifier": "new phone"}), http.StatusCreated)

		// Bounded pending enrolments, and bad enrolment bodies.
		dave, dses := a.user("dave")
		dfactors := "/v1/users/" + mfUsr(dave) + "/mfa-factors"
		for range identity.MaxPendingFactors {
			a.want(a.call("POST", dfactors, dses, map[string]string{"type": "totp", "identifier": "phone"}), http.StatusCreated)
		}
		a.want(a.call("POST", dfactors, dses, map[string]string{"type": "totp", "identifier": "phone"}), http.StatusConflict, "precondition.too_many_pending_factors")
		a.want(a.call("POST", dfactors, dses, map[string]string{"type": "totp"}), http.StatusBadRequest, "invalid_format.identifier")
		a.want(a.call("POST", dfactors, dses, map[string]string{"type": "totp", "identifier": "x", "rp_id": "example.com"}), http.StatusBadRequest, "invalid_format.body")
		a.want(a.call("POST", dfactors, dses, map[string]string{"type": "recovery", "identifier": "x"}), http.StatusBadRequest, "invalid_format.body")
		a.want(a.call("POST", dfactors, dses, map[string]string{"type": "sms"}), http.StatusBadRequest, "invalid_format.type")
		a.want(a.call("POST", dfactors, dses, map[string]any{}), http.StatusBadRequest, "invalid_format.type")
		a.want(a.call("POST", dfactors, dses, nil), http.StatusBadRequest, "invalid_format.body")
		// An admin may list and enrol for a user.
		r = a.call("GET", dfactors, root, nil)
		a.want(r, http.StatusOK)
		if len(mfObj(t, r)["factors"].([]any)) != identity.MaxPendingFactors {
			t.Fatalf("dave's factors = %s", r.body)
		}
		a.want(a.call("GET", "/v1/users/"+tuples.FormatID("usr", tuples.NewUUID())+"/mfa-factors", root, nil), http.StatusNotFound, "not_found")
	})
}

// ----- WebAuthn

// mfAuthenticator is a software WebAuthn authenticator with one ES256
// credential, for example.com.
type mfAuthenticator struct {
	key    *ecdsa.PrivateKey
	credID []byte
	cose   []byte
	aaguid [16]byte
}

func mfNewAuthenticator(t *testing.T) *mfAuthenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pt[1:33], -3: pt[33:65]})
	if err != nil {
		t.Fatal(err)
	}
	au := &mfAuthenticator{key: key, credID: make([]byte, 32), cose: cose}
	rand.Read(au.credID)
	rand.Read(au.aaguid[:])
	return au
}

const (
	mfFlagUP = 0x01
	mfFlagUV = 0x04
	mfFlagAT = 0x40
)

func mfB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mfAuthData(flags byte, count uint32, tail []byte) []byte {
	h := sha256.Sum256([]byte("example.com"))
	b := append(h[:], flags)
	b = binary.BigEndian.AppendUint32(b, count)
	return append(b, tail...)
}

func mfClientData(t *testing.T, typ, challengeB64u string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "challenge": challengeB64u, "origin": webauthnOrigin, "crossOrigin": false})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// attestation answers an enrolment challenge: confirmMfaEnrollment's
// attestation, with a "none" attestation object.
func (au *mfAuthenticator) attestation(t *testing.T, challengeB64u string) map[string]any {
	t.Helper()
	acd := append(au.aaguid[:], byte(len(au.credID)>>8), byte(len(au.credID)))
	acd = append(acd, au.credID...)
	acd = append(acd, au.cose...)
	obj, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": mfAuthData(mfFlagUP|mfFlagUV|mfFlagAT, 1, acd)})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"client_data_json_b64u": mfB64(mfClientData(t, "webauthn.create", challengeB64u)),
		"attestation_object_b64u": mfB64(obj), "credential_id_b64u": mfB64(au.credID), "transports": []string{"usb", "internal"}}
}

// assertion answers a verification challenge with the counter.
func (au *mfAuthenticator) assertion(t *testing.T, challengeID, challengeB64u string, count uint32) map[string]any {
	t.Helper()
	ad := mfAuthData(mfFlagUP|mfFlagUV, count, nil)
	cd := mfClientData(t, "webauthn.get", challengeB64u)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte(nil), ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, au.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"client_data_json_b64u": mfB64(cd), "authenticator_data_b64u": mfB64(ad), "signature_b64u": mfB64(sig),
		"credential_id_b64u": mfB64(au.credID), "user_handle_b64u": nil, "challenge_id": challengeID}
}

var mfChallengeKeys = []string{"challenge_id", "challenge_b64u", "rp_id", "timeout_ms", "expires_at", "allow_credentials"}

func TestMFAWebAuthn(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, "")
		alice, _, ident, pw, ses := mfPasswordUser(a, "alice")
		_, bob := a.user("bob")
		au := mfNewAuthenticator(t)

		// Enrol: a pending factor and the registration options, the RP ID
		// from the configured origin.
		r := a.call("POST", "/v1/users/"+mfUsr(alice)+"/mfa-factors", ses, map[string]string{"type": "webauthn"})
		a.want(r, http.StatusCreated)
		m := mfKeys(t, "enrollment", mfObj(t, r), mfEnrollKeys...)
		f := mfKeys(t, "factor", m["factor"], mfWebAuthnFactorKeys...)
		if f["type"] != "webauthn" || f["status"] != "pending" || f["rp_id"] != "example.com" || f["sign_count"] != 0.0 ||
			f["aaguid"] != nil || len(f["transports"].([]any)) != 0 || m["totp_enrollment"] != nil || m["recovery_codes"] != nil {
			t.Fatalf("enrollment = %s", r.body)
		}
		en := mfKeys(t, "webauthn_enrollment", m["webauthn_enrollment"], "challenge_b64u", "rp_id", "user_id_b64u", "pub_key_cred_params", "timeout_ms")
		if en["rp_id"] != "example.com" || en["user_id_b64u"] != mfB64(alice[:]) || en["timeout_ms"] != 60000.0 {
			t.Fatalf("webauthn_enrollment = %v", en)
		}
		var algs []float64
		for _, p := range en["pub_key_cred_params"].([]any) {
			p := p.(map[string]any)
			if p["type"] != "public-key" {
				t.Fatalf("pub_key_cred_params = %v", en["pub_key_cred_params"])
			}
			algs = append(algs, p["alg"].(float64))
		}
		if slices.Sort(algs); !slices.Equal(algs, []float64{-257, -8, -7}) {
			t.Fatalf("algorithms = %v", algs)
		}
		if c, err := base64.RawURLEncoding.DecodeString(en["challenge_b64u"].(string)); err != nil || len(c) < 16 {
			t.Fatalf("challenge_b64u = %v", en["challenge_b64u"])
		}
		id := f["id"].(string)
		confirm := "/v1/mfa-factors/" + id + "/confirm"

		// Bad confirmations: malformed, then a wrong challenge (which uses
		// the enrolment's challenge up, so enrol again).
		att := au.attestation(t, en["challenge_b64u"].(string))
		bad := map[string]any{}
		for k, v := range att {
			bad[k] = v
		}
		bad["client_data_json_b64u"] = "not base64!"
		a.want(a.call("POST", confirm, ses, map[string]any{"type": "webauthn", "attestation": bad}), http.StatusBadRequest, "invalid_format.client_data_json_b64u")
		delete(bad, "client_data_json_b64u")
		a.want(a.call("POST", confirm, ses, map[string]any{"type": "webauthn", "attestation": bad}), http.StatusBadRequest, "invalid_format.client_data_json_b64u")
		a.want(a.call("POST", confirm, ses, map[string]any{"type": "webauthn"}), http.StatusBadRequest, "invalid_format.attestation")
		a.want(a.call("POST", confirm, ses, map[string]any{"type": "webauthn", "attestation": au.attestation(t, mfB64([]byte("another challenge, 32 bytes long")))}),
			http.StatusConflict, "webauthn.challenge_mismatch")
		a.want(a.call("POST", confirm, ses, map[string]any{"type": "webauthn", "attestation": att}), http.StatusConflict, "webauthn.challenge_mismatch")

		r = a.call("POST", "/v1/users/"+mfUsr(alice)+"/mfa-factors", ses, map[string]string{"type": "webauthn", "rp_id": "example.com"})
		a.want(r, http.StatusCreated)
		m = mfObj(t, r)
		id = m["factor"].(map[string]any)["id"].(string)
		challenge := m["webauthn_enrollment"].(map[string]any)["challenge_b64u"].(string)
		r = a.call("POST", "/v1/mfa-factors/"+id+"/confirm", ses, map[string]any{"type": "webauthn", "attestation": au.attestation(t, challenge)})
		a.want(r, http.StatusOK)
		f = mfKeys(t, "confirmed", mfObj(t, r), mfWebAuthnFactorKeys...)
		if f["status"] != "active" || f["identifier"] != mfB64(au.credID) || f["sign_count"] != 1.0 ||
			f["aaguid"] != tuples.UUID(au.aaguid).String() || !slices.Equal(f["transports"].([]any), []any{"usb", "internal"}) {
			t.Fatalf("confirmed = %s", r.body)
		}

		// A challenge for the user's session names its credentials.
		chURL := "/v1/users/" + mfUsr(alice) + "/mfa/challenge"
		r = a.call("POST", chURL, ses, nil)
		a.want(r, http.StatusCreated)
		ch := mfKeys(t, "challenge", mfObj(t, r), mfChallengeKeys...)
		creds := ch["allow_credentials"].([]any)
		if len(creds) != 1 || ch["rp_id"] != nil || ch["timeout_ms"] != 60000.0 {
			t.Fatalf("challenge = %s", r.body)
		}
		if c := mfKeys(t, "allowed credential", creds[0], "type", "id", "transports"); c["type"] != "public-key" || c["id"] != mfB64(au.credID) {
			t.Fatalf("allow_credentials = %v", creds)
		}
		if exp := mfTime(t, "expires_at", ch["expires_at"]); exp.Before(time.Now()) || exp.After(time.Now().Add(identity.ChallengeTTL+time.Minute)) {
			t.Fatalf("expires_at = %v", exp)
		}
		chID, chBytes := ch["challenge_id"].(string), ch["challenge_b64u"].(string)

		// Verify with the session: the assertion names its challenge.
		verify := "/v1/users/" + mfUsr(alice) + "/mfa/verify"
		as := au.assertion(t, chID, chBytes, 2)
		noID := map[string]any{}
		for k, v := range as {
			noID[k] = v
		}
		delete(noID, "challenge_id")
		a.want(a.call("POST", verify, ses, map[string]any{"type": "webauthn", "assertion": noID}), http.StatusBadRequest, "invalid_format.challenge_id")
		noID["challenge_id"] = "chl_nonsense"
		a.want(a.call("POST", verify, ses, map[string]any{"type": "webauthn", "assertion": noID}), http.StatusBadRequest, "invalid_format.challenge_id")
		noID["challenge_id"], noID["signature_b64u"] = chID, "%%%"
		a.want(a.call("POST", verify, ses, map[string]any{"type": "webauthn", "assertion": noID}), http.StatusBadRequest, "invalid_format.signature_b64u")
		a.want(a.call("POST", verify, ses, map[string]any{"type": "webauthn", "assertion": as, "code": "123456"}), http.StatusBadRequest, "invalid_format.body")
		a.want(a.call("POST", verify, ses, map[string]any{"type": "webauthn"}), http.StatusBadRequest, "invalid_format.assertion")
		r = a.call("POST", verify, ses, map[string]any{"type": "webauthn", "assertion": as})
		a.want(r, http.StatusOK)
		v := mfKeys(t, "verification", mfObj(t, r), mfVerifyKeys...)
		if v["ok"] != true || v["mfa_id"] != id || v["type"] != "webauthn" || v["new_sign_count"] != 2.0 {
			t.Fatalf("verify = %s", r.body)
		}
		// A challenge is answered once.
		a.want(a.call("POST", verify, ses, map[string]any{"type": "webauthn", "assertion": as}), http.StatusUnauthorized, "webauthn.challenge_mismatch")

		// Before a session: a ticket gets a challenge (with the credential
		// IDs: the route reads the ticket without using it up) and
		// verifies, and the upgraded ticket mints a session.
		a.want(a.call("PUT", "/v1/users/"+mfUsr(alice)+"/mfa-policy", ses, map[string]any{"required": true}), http.StatusOK)
		tk := mfTicket(a, ident, pw)
		a.want(a.call("POST", chURL, "", nil), http.StatusUnauthorized, "unauthorized.missing_token")
		a.want(a.call("POST", chURL, bob, nil), http.StatusNotFound, "not_found")
		// A ticket holder cannot tell a missing user from an active one:
		// both get a challenge (the missing user's is never stored).
		r = a.call("POST", "/v1/users/"+tuples.FormatID("usr", tuples.NewUUID())+"/mfa/challenge", "", map[string]string{"verification_ticket": tk.Ticket})
		a.want(r, http.StatusCreated)
		mfKeys(t, "challenge for a missing user", mfObj(t, r), mfChallengeKeys...)
		a.want(a.call("POST", chURL, "", map[string]string{"verification_ticket": tk.Ticket, "rp_id": "bad/rp"}), http.StatusBadRequest)
		r = a.call("POST", chURL, "", map[string]string{"verification_ticket": tk.Ticket, "rp_id": "example.com"})
		a.want(r, http.StatusCreated)
		ch = mfKeys(t, "ticket challenge", mfObj(t, r), mfChallengeKeys...)
		if creds, _ := ch["allow_credentials"].([]any); len(creds) != 1 || creds[0].(map[string]any)["id"] != mfB64(au.credID) || ch["rp_id"] != "example.com" {
			t.Fatalf("challenge for a ticket = %s", r.body)
		}
		as = au.assertion(t, ch["challenge_id"].(string), ch["challenge_b64u"].(string), 3)
		r = a.call("POST", verify, "", map[string]any{"type": "webauthn", "assertion": as, "verification_ticket": tk.Ticket})
		a.want(r, http.StatusOK)
		if v := mfObj(t, r); v["new_sign_count"] != 3.0 {
			t.Fatalf("verify with a ticket = %s", r.body)
		}
		if _, _, err := a.ids.CreateSession(context.Background(), tk, time.Hour); err != nil {
			t.Fatalf("CreateSession after WebAuthn MFA: %v", err)
		}
		r = a.call("GET", "/v1/users/"+mfUsr(alice)+"/mfa-factors", ses, nil)
		a.want(r, http.StatusOK)
		// The first enrolment still waits, unconfirmable; the second counts.
		list := mfObj(t, r)["factors"].([]any)
		if len(list) != 2 || list[0].(map[string]any)["status"] != "pending" || list[1].(map[string]any)["id"] != id ||
			list[1].(map[string]any)["sign_count"] != 3.0 {
			t.Fatalf("factors after verifications = %s", r.body)
		}
	})
}

// While a user's MFA policy is in force, a session that has not passed MFA
// cannot make what outlives it or locks the owner out: a PAT, a credential
// added, rotated, suspended or revoked, the account closed. Once it passes
// MFA it may. (A review found a password-only session minting a permanent
// PAT under an in-force policy.)
func TestMFAStepUpOnIdentityChanges(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, "")
		root := a.admin()
		alice, cred, _, _, ses := mfPasswordUser(a, "alice")
		_, secret, at := mfEnrollTOTP(a, ses, alice)
		a.want(a.call("PUT", "/v1/users/"+mfUsr(alice)+"/mfa-policy", root, map[string]any{"required": true}), http.StatusOK)

		credPath := "/v1/credentials/" + tuples.FormatID("cred", cred)
		refused := []struct {
			method, path string
			body         any
		}{
			{"POST", "/v1/users/" + mfUsr(alice) + "/pats", map[string]any{"name": "x", "scope": []string{"orgs:read"}}},
			{"POST", "/v1/credentials", map[string]any{"usr_id": mfUsr(alice), "type": "oidc", "identifier": "alice-oidc@example.com",
				"oidc_issuer": "https://idp.example", "oidc_subject": "alice"}},
			{"POST", credPath + "/rotate", map[string]any{"password": "another long password"}},
			{"POST", credPath + "/suspend", nil},
			{"POST", credPath + "/revoke", nil},
			{"POST", "/v1/users/" + mfUsr(alice) + "/revoke", nil},
		}
		for _, c := range refused {
			a.want(a.call(c.method, c.path, ses, c.body), http.StatusForbidden, "forbidden.mfa_required")
		}
		// An admin is not asked; the session, once verified, may.
		a.want(a.call("POST", "/v1/users/"+mfUsr(alice)+"/mfa/verify", ses,
			map[string]string{"type": "totp", "code": mfTOTP(t, secret, at.Add(30*time.Second))}), http.StatusOK)
		a.want(a.call("POST", "/v1/users/"+mfUsr(alice)+"/pats", ses, map[string]any{"name": "x", "scope": []string{"orgs:read"}}), http.StatusCreated)
		a.want(a.call("POST", credPath+"/suspend", ses, nil), http.StatusOK)
	})
}

// A session's MFA verification lasts the step-up window (15 minutes) on
// the API's clock: at +14 minutes it may still change factors and mint a
// PAT, at +16 it is asked to verify again.
func TestMFAStepUpWindow(t *testing.T) {
	idStores(t, func(t *testing.T, newAPI func(*testing.T, ...apiOption) *api) {
		clock := &idClock{}
		a := newAPI(t, clock.option)
		root := a.admin()
		alice, _, _, _, ses := mfPasswordUser(a, "alice")
		_, secret, at := mfEnrollTOTP(a, ses, alice)
		a.want(a.call("PUT", "/v1/users/"+mfUsr(alice)+"/mfa-policy", root, map[string]any{"required": true}), http.StatusOK)
		a.want(a.call("POST", "/v1/users/"+mfUsr(alice)+"/mfa/verify", ses,
			map[string]string{"type": "totp", "code": mfTOTP(t, secret, at.Add(30*time.Second))}), http.StatusOK)
		pats := "/v1/users/" + mfUsr(alice) + "/pats"
		factors := "/v1/users/" + mfUsr(alice) + "/mfa-factors"
		pat := map[string]any{"name": "x", "scope": []string{"orgs:read"}}
		enrol := map[string]string{"type": "totp", "identifier": "second phone"}

		clock.offset.Store(int64(14 * time.Minute))
		a.want(a.call("POST", pats, ses, pat), http.StatusCreated)
		a.want(a.call("POST", factors, ses, enrol), http.StatusCreated)
		clock.offset.Store(int64(16 * time.Minute))
		a.want(a.call("POST", pats, ses, pat), http.StatusForbidden, "forbidden.mfa_required")
		a.want(a.call("POST", factors, ses, enrol), http.StatusForbidden, "forbidden.mfa_required")
	})
}
