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
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/identity/totp"
	"github.com/flametrench/server/server"
	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
)

// idStores runs fn on both stores, with a newAPI that takes options.
func idStores(t *testing.T, fn func(t *testing.T, newAPI func(t *testing.T, opts ...apiOption) *api)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		fn(t, func(t *testing.T, opts ...apiOption) *api { return newAPI(t, "", false, opts...) })
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, func(t *testing.T, opts ...apiOption) *api { return newAPI(t, "", true, opts...) })
	})
}

// idSignupClosed builds a server with sign-up off (--signup=false).
func idSignupClosed(_ *identity.Config, c *server.Config) { c.Signup = false }

// idClock is the API's clock (identity's, which the server reads too)
// that a test can move: offset is added to the wall clock.
type idClock struct{ offset atomic.Int64 }

func (c *idClock) option(ic *identity.Config, _ *server.Config) {
	ic.Now = func() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }
}

// Wire shapes, as the client sees them.
type idUser struct {
	ID          string  `json:"id"`
	Status      string  `json:"status"`
	DisplayName *string `json:"display_name"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
}

type idCred struct {
	ID          string  `json:"id"`
	UserID      string  `json:"usr_id"`
	Type        string  `json:"type"`
	Identifier  string  `json:"identifier"`
	Status      string  `json:"status"`
	Replaces    *string `json:"replaces"`
	PasskeyRPID *string `json:"passkey_rp_id"`
	OIDCIssuer  *string `json:"oidc_issuer"`
	OIDCSubject *string `json:"oidc_subject"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
}

type idSession struct {
	ID        string  `json:"id"`
	UserID    string  `json:"usr_id"`
	CredID    string  `json:"cred_id"`
	CreatedAt string  `json:"created_at"`
	ExpiresAt string  `json:"expires_at"`
	RevokedAt *string `json:"revoked_at"`
}

type idSessionToken struct {
	Session idSession `json:"session"`
	Token   string    `json:"token"`
}

type idVerification struct {
	UserID          string `json:"usr_id"`
	CredID          string `json:"cred_id"`
	MFARequired     bool   `json:"mfa_required"`
	Ticket          string `json:"verification_ticket"`
	TicketExpiresAt string `json:"verification_ticket_expires_at"`
}

type idPage[T any] struct {
	Data []T `json:"data"`
	Page struct {
		NextCursor *string `json:"next_cursor"`
	} `json:"page"`
}

// The exact key sets of the wire schemas (additionalProperties: false, and
// every field present).
var (
	idUserKeys    = []string{"created_at", "display_name", "id", "status", "updated_at"}
	idCredKeys    = []string{"created_at", "id", "identifier", "oidc_issuer", "oidc_subject", "passkey_rp_id", "replaces", "status", "type", "updated_at", "usr_id"}
	idSessionKeys = []string{"created_at", "cred_id", "expires_at", "id", "revoked_at", "usr_id"}
	idVerifyKeys  = []string{"cred_id", "mfa_required", "usr_id", "verification_ticket", "verification_ticket_expires_at"}
)

// idKeys fails unless the JSON object (at path, dot-separated, "" for the
// top) has exactly the keys want.
func idKeys(t *testing.T, body []byte, path string, want []string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	if path != "" {
		for _, p := range strings.Split(path, ".") {
			raw := m[p]
			m = nil
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("decoding %s of %s: %v", p, body, err)
			}
		}
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("keys of %s = %v, want %v", body, got, want)
	}
}

// idTime fails unless s is an RFC 3339 UTC timestamp, and returns it.
func idTime(t *testing.T, what, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		t.Fatalf("%s = %q, want an RFC 3339 UTC timestamp", what, s)
	}
	return ts
}

// idSignUp creates a user anonymously and returns it.
func idSignUp(a *api, body any) idUser {
	a.t.Helper()
	r := a.call("POST", "/v1/users", "", body)
	a.want(r, http.StatusCreated)
	idKeys(a.t, r.body, "", idUserKeys)
	var u idUser
	r.decode(a.t, &u)
	return u
}

// idPassword asks for a password credential for usr with the token ("":
// anonymous).
func idPassword(a *api, token, usr, identifier, password string) response {
	a.t.Helper()
	return a.call("POST", "/v1/credentials", token, map[string]any{"usr_id": usr, "type": "password",
		"identifier": identifier, "password": password})
}

// idVerify verifies a password.
func idVerify(a *api, identifier, password string) response {
	a.t.Helper()
	return a.call("POST", "/v1/credentials/verify", "", map[string]any{"type": "password", "identifier": identifier,
		"proof": map[string]any{"password": password}})
}

// idMint exchanges a verification for a session.
func idMint(a *api, v idVerification, ttl int) response {
	a.t.Helper()
	return a.call("POST", "/v1/sessions", "", map[string]any{"usr_id": v.UserID, "cred_id": v.CredID, "ttl_seconds": ttl,
		"verification_ticket": v.Ticket})
}

// idSignIn verifies a password and mints a session from the ticket.
func idSignIn(a *api, identifier, password string) idSessionToken {
	a.t.Helper()
	r := idVerify(a, identifier, password)
	a.want(r, http.StatusOK)
	var v idVerification
	r.decode(a.t, &v)
	r = idMint(a, v, 3600)
	a.want(r, http.StatusCreated)
	var st idSessionToken
	r.decode(a.t, &st)
	return st
}

// idPasswordUser signs a user up over HTTP with a password credential and
// signs it in.
func idPasswordUser(a *api, identifier, password string) (idUser, idCred, idSessionToken) {
	a.t.Helper()
	u := idSignUp(a, nil)
	r := idPassword(a, "", u.ID, identifier, password)
	a.want(r, http.StatusCreated)
	var c idCred
	r.decode(a.t, &c)
	return u, c, idSignIn(a, identifier, password)
}

func idWire(typ string, id tuples.UUID) string { return tuples.FormatID(typ, id) }

// The whole sign-up and sign-in flow over HTTP: sign up, a first
// password credential without a token, verify, mint, use, refresh, revoke.
func TestIdentitySignUpFlow(t *testing.T) {
	idStores(t, func(t *testing.T, newAPI func(*testing.T, ...apiOption) *api) {
		a := newAPI(t)
		name := "Ada Lovelace"
		u := idSignUp(a, map[string]any{"display_name": name})
		if !tuples.IsValidID(u.ID, "usr") || u.Status != "active" || u.DisplayName == nil || *u.DisplayName != name {
			t.Fatalf("signed up %+v", u)
		}
		if idTime(t, "created_at", u.CreatedAt) != idTime(t, "updated_at", u.UpdatedAt) {
			t.Fatalf("a new user's created_at %s and updated_at %s differ", u.CreatedAt, u.UpdatedAt)
		}

		r := idPassword(a, "", u.ID, "ada@example.com", "correct horse")
		a.want(r, http.StatusCreated)
		idKeys(t, r.body, "", idCredKeys)
		var c idCred
		r.decode(t, &c)
		if !tuples.IsValidID(c.ID, "cred") || c.UserID != u.ID || c.Type != "password" || c.Identifier != "ada@example.com" ||
			c.Status != "active" || c.Replaces != nil || c.PasskeyRPID != nil || c.OIDCIssuer != nil || c.OIDCSubject != nil {
			t.Fatalf("credential %s", r.body)
		}
		idTime(t, "credential created_at", c.CreatedAt)
		if strings.Contains(string(r.body), "argon2") || strings.Contains(string(r.body), "correct horse") {
			t.Fatalf("the credential's answer shows its secret: %s", r.body)
		}
		// The user now has a credential: a second one takes their session.
		a.want(idPassword(a, "", u.ID, "ada2@example.com", "x"), http.StatusNotFound, "not_found")

		r = idVerify(a, "ada@example.com", "correct horse")
		a.want(r, http.StatusOK)
		idKeys(t, r.body, "", idVerifyKeys)
		var v idVerification
		r.decode(t, &v)
		if v.UserID != u.ID || v.CredID != c.ID || v.MFARequired || len(v.Ticket) < 40 {
			t.Fatalf("verification %s", r.body)
		}
		if exp := idTime(t, "ticket expiry", v.TicketExpiresAt); exp.Before(time.Now()) || exp.After(time.Now().Add(time.Minute+time.Second)) {
			t.Fatalf("ticket expires at %s, want within a minute", v.TicketExpiresAt)
		}

		r = idMint(a, v, 3600)
		a.want(r, http.StatusCreated)
		idKeys(t, r.body, "", []string{"session", "token"})
		idKeys(t, r.body, "session", idSessionKeys)
		var st idSessionToken
		r.decode(t, &st)
		s := st.Session
		if !tuples.IsValidID(s.ID, "ses") || s.UserID != u.ID || s.CredID != c.ID || s.RevokedAt != nil || st.Token == "" ||
			strings.Contains(st.Token, strings.TrimPrefix(s.ID, "ses_")) {
			t.Fatalf("session %s", r.body)
		}
		if d := idTime(t, "expires_at", s.ExpiresAt).Sub(idTime(t, "created_at", s.CreatedAt)); d != time.Hour {
			t.Fatalf("session lifetime %v, want 1h", d)
		}
		// A ticket mints once.
		a.want(idMint(a, v, 3600), http.StatusUnauthorized, "unauthorized.invalid_ticket")

		// The token works: the user reads themselves.
		r = a.call("GET", "/v1/users/"+u.ID, st.Token, nil)
		a.want(r, http.StatusOK)
		idKeys(t, r.body, "", idUserKeys)
		var me idUser
		r.decode(t, &me)
		idSame(t, "GET /users/me", me, u)

		// Refresh: a new session and token; the old token is dead at once.
		r = a.call("POST", "/v1/sessions/"+s.ID+"/refresh", st.Token, nil)
		a.want(r, http.StatusCreated)
		idKeys(t, r.body, "session", idSessionKeys)
		var nst idSessionToken
		r.decode(t, &nst)
		if nst.Session.ID == s.ID || nst.Token == st.Token || nst.Session.UserID != u.ID || nst.Session.CredID != c.ID ||
			nst.Session.RevokedAt != nil {
			t.Fatalf("refreshed %s", r.body)
		}
		a.want(a.call("GET", "/v1/users/"+u.ID, st.Token, nil), http.StatusUnauthorized)
		a.want(a.call("GET", "/v1/users/"+u.ID, nst.Token, nil), http.StatusOK)
		r = a.call("GET", "/v1/sessions/"+s.ID, nst.Token, nil)
		a.want(r, http.StatusOK)
		var old idSession
		r.decode(t, &old)
		if old.RevokedAt == nil {
			t.Fatalf("the refreshed session is not revoked: %s", r.body)
		}

		// Revoke: the token is refused.
		r = a.call("POST", "/v1/sessions/"+nst.Session.ID+"/revoke", nst.Token, nil)
		a.want(r, http.StatusOK)
		idKeys(t, r.body, "", idSessionKeys)
		var rev idSession
		r.decode(t, &rev)
		if rev.ID != nst.Session.ID || rev.RevokedAt == nil {
			t.Fatalf("revoked %s", r.body)
		}
		a.want(a.call("GET", "/v1/users/"+u.ID, nst.Token, nil), http.StatusUnauthorized, "unauthorized.session_expired")
	})
}

// idTOTPCode is the factor's code at t.
func idTOTPCode(t *testing.T, secretB32 string, at time.Time) string {
	t.Helper()
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secretB32)
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.Code(secret, at, totp.DefaultDigits, totp.SHA1)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// With the user's MFA policy in force, verify says so, and the ticket
// mints only once an MFA verification upgraded it.
func TestIdentityMFASignIn(t *testing.T) {
	idStores(t, func(t *testing.T, newAPI func(*testing.T, ...apiOption) *api) {
		a := newAPI(t)
		ctx := context.Background()
		u := idSignUp(a, nil)
		a.want(idPassword(a, "", u.ID, "mfa@example.com", "pw"), http.StatusCreated)
		uid, err := tuples.DecodeIDOf("usr", u.ID)
		if err != nil {
			t.Fatal(err)
		}
		en, err := a.ids.EnrollFactor(ctx, uid, identity.EnrollInput{Type: identity.TOTP, Identifier: "phone"})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if _, err := a.ids.ConfirmFactor(ctx, en.Factor.ID, identity.ConfirmInput{Type: identity.TOTP,
			Code: idTOTPCode(t, en.TOTPSecret, now)}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.ids.SetPolicy(ctx, uid, true, nil); err != nil {
			t.Fatal(err)
		}

		r := idVerify(a, "mfa@example.com", "pw")
		a.want(r, http.StatusOK)
		var v idVerification
		r.decode(t, &v)
		if !v.MFARequired || v.Ticket == "" {
			t.Fatalf("verification under an MFA policy: %s", r.body)
		}
		a.want(idMint(a, v, 3600), http.StatusUnauthorized, "unauthorized.mfa_required")

		// The next time step's code (the confirmation used this one's).
		if _, err := a.ids.VerifyMFA(ctx, uid, identity.MFAProof{Type: identity.TOTP,
			Code: idTOTPCode(t, en.TOTPSecret, now.Add(30*time.Second))}, tuples.UUID{}, v.Ticket); err != nil {
			t.Fatal(err)
		}
		r = idMint(a, v, 3600)
		a.want(r, http.StatusCreated)
		var st idSessionToken
		r.decode(t, &st)
		if st.Session.UserID != u.ID {
			t.Fatalf("minted %s", r.body)
		}
		a.want(a.call("GET", "/v1/users/"+u.ID, st.Token, nil), http.StatusOK)
		// An MFA-verified session may be refreshed while the policy holds.
		a.want(a.call("POST", "/v1/sessions/"+st.Session.ID+"/refresh", st.Token, nil), http.StatusCreated)
	})
}

func TestIdentityUsers(t *testing.T) {
	idStores(t, func(t *testing.T, newAPI func(*testing.T, ...apiOption) *api) {
		a := newAPI(t)
		root := a.admin()
		alice, aliceTok := a.user("alice")
		aliceID := idWire("usr", alice)

		// createUser: no body, {}, a name, null; bad bodies are 400.
		for _, body := range []any{nil, "{}", map[string]any{"display_name": nil}} {
			if u := idSignUp(a, body); u.DisplayName != nil || u.Status != "active" {
				t.Fatalf("signed up with %v: %+v", body, u)
			}
		}
		a.want(a.call("POST", "/v1/users", "", map[string]any{"display_name": 7}), http.StatusBadRequest, "invalid_format.display_name")
		a.want(a.call("POST", "/v1/users", "", map[string]any{"email": "x"}), http.StatusBadRequest, "invalid_format.body")
		a.want(a.call("POST", "/v1/users", "", "[]"), http.StatusBadRequest, "invalid_format.body")
		// A session may sign someone up too (sign-up is open); a PAT may not.
		a.want(a.call("POST", "/v1/users", aliceTok, nil), http.StatusCreated)
		a.want(a.call("POST", "/v1/users", a.pat(alice, "check"), nil), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/users", "made-up-token", nil), http.StatusUnauthorized)

		// getUser.
		r := a.call("GET", "/v1/users/"+aliceID, root, nil)
		a.want(r, http.StatusOK)
		var got idUser
		r.decode(t, &got)
		if got.ID != aliceID || got.Status != "active" {
			t.Fatalf("getUser = %s", r.body)
		}
		a.want(a.call("GET", "/v1/users/"+idWire("usr", tuples.NewUUID()), root, nil), http.StatusNotFound, "not_found")
		a.want(a.call("GET", "/v1/users/"+idWire("org", alice), root, nil), http.StatusBadRequest, "invalid_format.id")
		a.want(a.call("GET", "/v1/users/usr_00000000000000000000000000000000", root, nil), http.StatusBadRequest, "invalid_format.id")
		a.want(a.call("GET", "/v1/users/"+aliceID, "", nil), http.StatusUnauthorized, "unauthorized.missing_token")

		// updateUser: set, absent (no change), {} (the row), null (clear).
		r = a.call("PUT", "/v1/users/"+aliceID, aliceTok, map[string]any{"display_name": "Alice"})
		a.want(r, http.StatusOK)
		idKeys(t, r.body, "", idUserKeys)
		r.decode(t, &got)
		if got.DisplayName == nil || *got.DisplayName != "Alice" || got.UpdatedAt == got.CreatedAt {
			t.Fatalf("updateUser = %s", r.body)
		}
		r = a.call("PUT", "/v1/users/"+aliceID, aliceTok, "{}")
		a.want(r, http.StatusOK)
		r.decode(t, &got)
		if got.DisplayName == nil || *got.DisplayName != "Alice" {
			t.Fatalf("updateUser({}) = %s", r.body)
		}
		r = a.call("PUT", "/v1/users/"+aliceID, root, map[string]any{"display_name": nil})
		a.want(r, http.StatusOK)
		r.decode(t, &got)
		if got.DisplayName != nil {
			t.Fatalf("updateUser(null) = %s", r.body)
		}
		a.want(a.call("PUT", "/v1/users/"+aliceID, aliceTok, nil), http.StatusBadRequest, "invalid_format.body")
		a.want(a.call("PUT", "/v1/users/"+aliceID, aliceTok, map[string]any{"display_name": true}), http.StatusBadRequest, "invalid_format.display_name")
		a.want(a.call("PUT", "/v1/users/"+aliceID, aliceTok, map[string]any{"status": "revoked"}), http.StatusBadRequest, "invalid_format.body")
		a.want(a.call("PUT", "/v1/users/"+idWire("usr", tuples.NewUUID()), root, "{}"), http.StatusNotFound, "not_found")

		// listUsers: admin only, paged, filtered.
		r = a.call("GET", "/v1/users?limit=2", root, nil)
		a.want(r, http.StatusOK)
		idKeys(t, r.body, "", []string{"data", "page"})
		var p idPage[idUser]
		r.decode(t, &p)
		if len(p.Data) != 2 || p.Page.NextCursor == nil {
			t.Fatalf("listUsers(limit=2) = %s", r.body)
		}
		idKeys(t, idJSON(t, p.Data[0]), "", idUserKeys)
		r = a.call("GET", "/v1/users?limit=2&cursor="+*p.Page.NextCursor, root, nil)
		a.want(r, http.StatusOK)
		var p2 idPage[idUser]
		r.decode(t, &p2)
		if len(p2.Data) == 0 || p2.Data[0].ID <= p.Data[1].ID {
			t.Fatalf("the second page %s does not follow the first %s", r.body, idJSON(t, p))
		}
		r = a.call("GET", "/v1/users?query=ALICE@", root, nil)
		a.want(r, http.StatusOK)
		r.decode(t, &p)
		if len(p.Data) != 1 || p.Data[0].ID != aliceID || p.Page.NextCursor != nil {
			t.Fatalf("listUsers(query=ALICE@) = %s", r.body)
		}
		a.want(a.call("GET", "/v1/users?status=gone", root, nil), http.StatusBadRequest, "invalid_format.status")
		a.want(a.call("GET", "/v1/users?limit=0x", root, nil), http.StatusBadRequest, "invalid_format.limit")
		a.want(a.call("GET", "/v1/users?limit=500", root, nil), http.StatusBadRequest, "invalid_format.limit")
		a.want(a.call("GET", "/v1/users?cursor=nope", root, nil), http.StatusBadRequest, "invalid_format.cursor")
		a.want(a.call("GET", "/v1/users", aliceTok, nil), http.StatusForbidden, "forbidden")
		a.want(a.call("GET", "/v1/users", a.pat(alice, "tuples:read"), nil), http.StatusForbidden, "forbidden")
		a.want(a.call("GET", "/v1/users", "", nil), http.StatusUnauthorized)

		// Suspend ends the user's sessions; reinstate; both admin only.
		bob, bobTok := a.user("bob")
		bobID := idWire("usr", bob)
		a.want(a.call("POST", "/v1/users/"+bobID+"/suspend", bobTok, nil), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/users/"+bobID+"/suspend", aliceTok, nil), http.StatusForbidden, "forbidden")
		r = a.call("POST", "/v1/users/"+bobID+"/suspend", root, nil)
		a.want(r, http.StatusOK)
		idKeys(t, r.body, "", idUserKeys)
		r.decode(t, &got)
		if got.ID != bobID || got.Status != "suspended" {
			t.Fatalf("suspendUser = %s", r.body)
		}
		a.want(a.call("GET", "/v1/users/"+bobID, bobTok, nil), http.StatusUnauthorized)
		a.want(a.call("POST", "/v1/users/"+bobID+"/suspend", root, nil), http.StatusOK) // again: a no-op (A51)
		a.want(a.call("POST", "/v1/users/"+bobID+"/suspend", root, map[string]any{"why": "x"}), http.StatusBadRequest, "invalid_format.body")
		r = a.call("POST", "/v1/users/"+bobID+"/reinstate", root, nil)
		a.want(r, http.StatusOK)
		r.decode(t, &got)
		if got.Status != "active" {
			t.Fatalf("reinstateUser = %s", r.body)
		}
		a.want(a.call("POST", "/v1/users/"+bobID+"/reinstate", aliceTok, nil), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/users/"+idWire("usr", tuples.NewUUID())+"/suspend", root, nil), http.StatusNotFound, "not_found")

		// Revoke: the user themselves (deleting their account), or an
		// admin; terminal.
		carol, carolTok := a.user("carol")
		carolID := idWire("usr", carol)
		r = a.call("POST", "/v1/users/"+carolID+"/revoke", carolTok, nil)
		a.want(r, http.StatusOK)
		r.decode(t, &got)
		if got.Status != "revoked" {
			t.Fatalf("revokeUser = %s", r.body)
		}
		a.want(a.call("GET", "/v1/users/"+carolID, carolTok, nil), http.StatusUnauthorized)
		a.want(a.call("POST", "/v1/users/"+carolID+"/revoke", root, nil), http.StatusConflict, "conflict.already_terminal")
		a.want(a.call("POST", "/v1/users/"+carolID+"/reinstate", root, nil), http.StatusConflict, "conflict.already_terminal")
		a.want(a.call("POST", "/v1/users/"+carolID+"/suspend", root, nil), http.StatusConflict, "conflict.already_terminal")
		a.want(a.call("PUT", "/v1/users/"+carolID, root, map[string]any{"display_name": "x"}), http.StatusConflict, "conflict.already_terminal")
		a.want(a.call("POST", "/v1/users/"+bobID+"/revoke", root, nil), http.StatusOK)
	})
}

// idSame fails unless got and want encode to the same JSON.
func idSame(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := idJSON(t, got), idJSON(t, want); string(g) != string(w) {
		t.Fatalf("%s = %s, want %s", what, g, w)
	}
}

func idJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIdentityUserSessions(t *testing.T) {
	idStores(t, func(t *testing.T, newAPI func(*testing.T, ...apiOption) *api) {
		a := newAPI(t)
		root := a.admin()
		u, _, st := idPasswordUser(a, "lists@example.com", "pw")
		st2 := idSignIn(a, "lists@example.com", "pw")
		a.want(a.call("POST", "/v1/sessions/"+st2.Session.ID+"/revoke", st.Token, nil), http.StatusOK)

		r := a.call("GET", "/v1/users/"+u.ID+"/sessions?limit=1", st.Token, nil)
		a.want(r, http.StatusOK)
		var p idPage[idSession]
		r.decode(t, &p)
		if len(p.Data) != 1 || p.Data[0].ID != st.Session.ID || p.Data[0].RevokedAt != nil || p.Page.NextCursor == nil {
			t.Fatalf("listUserSessions(limit=1) = %s", r.body)
		}
		idKeys(t, idJSON(t, p.Data[0]), "", idSessionKeys)
		r = a.call("GET", "/v1/users/"+u.ID+"/sessions?cursor="+*p.Page.NextCursor, root, nil)
		a.want(r, http.StatusOK)
		r.decode(t, &p)
		if len(p.Data) != 1 || p.Data[0].ID != st2.Session.ID || p.Data[0].RevokedAt == nil || p.Page.NextCursor != nil {
			t.Fatalf("listUserSessions page 2 = %s", r.body)
		}
		a.want(a.call("GET", "/v1/users/"+u.ID+"/sessions?limit=201", st.Token, nil), http.StatusBadRequest, "invalid_format.limit")
		a.want(a.call("GET", "/v1/users/"+idWire("usr", tuples.NewUUID())+"/sessions", root, nil), http.StatusNotFound, "not_found")
		a.want(a.call("GET", "/v1/users/"+u.ID+"/sessions", "", nil), http.StatusUnauthorized)
	})
}

func TestIdentityCredentials(t *testing.T) {
	idStores(t, func(t *testing.T, newAPI func(*testing.T, ...apiOption) *api) {
		a := newAPI(t)
		root := a.admin()
		u, pw, st := idPasswordUser(a, "cred@example.com", "pw-1")

		// A user adds a credential to themselves; an admin to anyone.
		oidcBody := map[string]any{"usr_id": u.ID, "type": "oidc", "identifier": "cred@idp", "oidc_issuer": "https://IdP.example/",
			"oidc_subject": "sub-1"}
		r := a.call("POST", "/v1/credentials", st.Token, oidcBody)
		a.want(r, http.StatusCreated)
		idKeys(t, r.body, "", idCredKeys)
		var oc idCred
		r.decode(t, &oc)
		if oc.Type != "oidc" || oc.UserID != u.ID || oc.OIDCIssuer == nil || *oc.OIDCIssuer != "https://idp.example" ||
			oc.OIDCSubject == nil || *oc.OIDCSubject != "sub-1" || oc.PasskeyRPID != nil {
			t.Fatalf("oidc credential %s", r.body)
		}
		a.want(a.call("POST", "/v1/credentials", st.Token, oidcBody), http.StatusConflict, "conflict.duplicate_credential")
		r = a.call("POST", "/v1/credentials", root, map[string]any{"usr_id": u.ID, "type": "password", "identifier": "cred2@example.com",
			"password": "pw-2"})
		a.want(r, http.StatusCreated)
		var pw2 idCred
		r.decode(t, &pw2)

		// Bad input.
		bad := []struct {
			name string
			body any
			code string
		}{
			{"no body", nil, "invalid_format.body"},
			{"unknown field", map[string]any{"usr_id": u.ID, "type": "password", "identifier": "x", "password": "p", "hash": "h"}, "invalid_format.body"},
			{"missing usr_id", map[string]any{"type": "password", "identifier": "x", "password": "p"}, "invalid_format.usr_id"},
			{"missing type", map[string]any{"usr_id": u.ID, "identifier": "x", "password": "p"}, "invalid_format.type"},
			{"missing identifier", map[string]any{"usr_id": u.ID, "type": "password", "password": "p"}, "invalid_format.identifier"},
			{"missing password", map[string]any{"usr_id": u.ID, "type": "password", "identifier": "x"}, "invalid_format.password"},
			{"empty password", map[string]any{"usr_id": u.ID, "type": "password", "identifier": "x", "password": ""}, "invalid_format.password"},
			{"bad type", map[string]any{"usr_id": u.ID, "type": "magic", "identifier": "x", "password": "p"}, "invalid_format.type"},
			{"wrong id prefix", map[string]any{"usr_id": strings.Replace(u.ID, "usr_", "org_", 1), "type": "password", "identifier": "x", "password": "p"}, "invalid_format.usr_id"},
			{"passkey field on a password", map[string]any{"usr_id": u.ID, "type": "password", "identifier": "x", "password": "p", "rp_id": "example.com"}, "invalid_format.rp_id"},
			{"missing oidc_subject", map[string]any{"usr_id": u.ID, "type": "oidc", "identifier": "x", "oidc_issuer": "https://i"}, "invalid_format.oidc_subject"},
			{"relative issuer", map[string]any{"usr_id": u.ID, "type": "oidc", "identifier": "x", "oidc_issuer": "idp", "oidc_subject": "s"}, "invalid_format"},
			{"passkey public_key not base64", map[string]any{"usr_id": u.ID, "type": "passkey", "identifier": "AAEC", "public_key": "%%", "sign_count": 0, "rp_id": "example.com"}, "invalid_format.public_key"},
			{"passkey negative sign_count", map[string]any{"usr_id": u.ID, "type": "passkey", "identifier": "AAEC", "public_key": "AAEC", "sign_count": -1, "rp_id": "example.com"}, "invalid_format.sign_count"},
			{"passkey sign_count not an integer", map[string]any{"usr_id": u.ID, "type": "passkey", "identifier": "AAEC", "public_key": "AAEC", "sign_count": 1.5, "rp_id": "example.com"}, "invalid_format.sign_count"},
			{"passkey garbage key", map[string]any{"usr_id": u.ID, "type": "passkey", "identifier": "AAEC", "public_key": "AAEC", "sign_count": 0, "rp_id": "example.com"}, "invalid_format"},
		}
		for _, tc := range bad {
			r := a.call("POST", "/v1/credentials", st.Token, tc.body)
			if r.status != http.StatusBadRequest || r.errCode() != tc.code {
				t.Fatalf("%s: got %d %s, want 400 %s", tc.name, r.status, r.body, tc.code)
			}
		}
		a.want(a.call("POST", "/v1/credentials", root, map[string]any{"usr_id": idWire("usr", tuples.NewUUID()), "type": "password",
			"identifier": "x", "password": "p"}), http.StatusNotFound, "not_found")

		// getCredential.
		r = a.call("GET", "/v1/credentials/"+pw.ID, st.Token, nil)
		a.want(r, http.StatusOK)
		idKeys(t, r.body, "", idCredKeys)
		var gc idCred
		r.decode(t, &gc)
		idSame(t, "getCredential", gc, pw)
		a.want(a.call("GET", "/v1/credentials/"+idWire("cred", tuples.NewUUID()), root, nil), http.StatusNotFound, "not_found")
		a.want(a.call("GET", "/v1/credentials/"+strings.Replace(pw.ID, "cred_", "ses_", 1), st.Token, nil), http.StatusBadRequest, "invalid_format.id")

		// Rotate: a new row replacing the old, which is revoked with its
		// sessions (the caller's own session came from it).
		a.want(a.call("POST", "/v1/credentials/"+pw.ID+"/rotate", st.Token, map[string]any{"oidc_subject": "x"}), http.StatusBadRequest, "invalid_format.password")
		a.want(a.call("POST", "/v1/credentials/"+pw.ID+"/rotate", st.Token, map[string]any{"password": "n", "rp_id": "x"}), http.StatusBadRequest, "invalid_format.rp_id")
		a.want(a.call("POST", "/v1/credentials/"+pw.ID+"/rotate", st.Token, nil), http.StatusBadRequest, "invalid_format.body")
		r = a.call("POST", "/v1/credentials/"+pw.ID+"/rotate", st.Token, map[string]any{"password": "pw-new"})
		a.want(r, http.StatusOK)
		idKeys(t, r.body, "", idCredKeys)
		var rc idCred
		r.decode(t, &rc)
		if rc.ID == pw.ID || rc.Replaces == nil || *rc.Replaces != pw.ID || rc.Status != "active" || rc.Identifier != pw.Identifier || rc.UserID != u.ID {
			t.Fatalf("rotated %s", r.body)
		}
		a.want(a.call("GET", "/v1/users/"+u.ID, st.Token, nil), http.StatusUnauthorized)
		a.want(idVerify(a, "cred@example.com", "pw-1"), http.StatusUnauthorized, "unauthorized.invalid_credential")
		st = idSignIn(a, "cred@example.com", "pw-new")
		r = a.call("GET", "/v1/credentials/"+pw.ID, st.Token, nil)
		a.want(r, http.StatusOK)
		r.decode(t, &gc)
		if gc.Status != "revoked" {
			t.Fatalf("the rotated credential is %s", gc.Status)
		}
		a.want(a.call("POST", "/v1/credentials/"+pw.ID+"/rotate", st.Token, map[string]any{"password": "again"}), http.StatusConflict, "conflict.credential_not_active")
		r = a.call("POST", "/v1/credentials/"+oc.ID+"/rotate", st.Token, map[string]any{"oidc_issuer": "https://other.example", "oidc_subject": "sub-2"})
		a.want(r, http.StatusOK)
		r.decode(t, &rc)
		if rc.OIDCSubject == nil || *rc.OIDCSubject != "sub-2" || rc.Replaces == nil || *rc.Replaces != oc.ID {
			t.Fatalf("rotated oidc %s", r.body)
		}

		// Suspend ends the credential's sessions; only an admin
		// reinstates; revoke is terminal.
		st2 := idSignIn(a, "cred2@example.com", "pw-2")
		r = a.call("POST", "/v1/credentials/"+pw2.ID+"/suspend", st.Token, nil)
		a.want(r, http.StatusOK)
		idKeys(t, r.body, "", idCredKeys)
		r.decode(t, &gc)
		if gc.ID != pw2.ID || gc.Status != "suspended" {
			t.Fatalf("suspendCredential = %s", r.body)
		}
		a.want(a.call("GET", "/v1/users/"+u.ID, st2.Token, nil), http.StatusUnauthorized)
		a.want(idVerify(a, "cred2@example.com", "pw-2"), http.StatusUnauthorized, "unauthorized.invalid_credential")
		a.want(a.call("POST", "/v1/credentials/"+pw2.ID+"/reinstate", st.Token, nil), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/credentials/"+pw2.ID+"/suspend", st.Token, "{}"), http.StatusOK) // again: a no-op
		r = a.call("POST", "/v1/credentials/"+pw2.ID+"/reinstate", root, nil)
		a.want(r, http.StatusOK)
		r.decode(t, &gc)
		if gc.Status != "active" {
			t.Fatalf("reinstateCredential = %s", r.body)
		}
		a.want(a.call("POST", "/v1/credentials/"+pw2.ID+"/revoke", st.Token, map[string]any{"x": 1}), http.StatusBadRequest, "invalid_format.body")
		r = a.call("POST", "/v1/credentials/"+pw2.ID+"/revoke", st.Token, nil)
		a.want(r, http.StatusOK)
		r.decode(t, &gc)
		if gc.Status != "revoked" {
			t.Fatalf("revokeCredential = %s", r.body)
		}
		a.want(a.call("POST", "/v1/credentials/"+pw2.ID+"/revoke", st.Token, nil), http.StatusConflict, "conflict.already_terminal")
		a.want(a.call("POST", "/v1/credentials/"+pw2.ID+"/suspend", st.Token, nil), http.StatusConflict, "conflict.already_terminal")
		a.want(a.call("POST", "/v1/credentials/"+pw2.ID+"/reinstate", root, nil), http.StatusConflict, "conflict.already_terminal")
		a.want(a.call("POST", "/v1/credentials/"+idWire("cred", tuples.NewUUID())+"/revoke", root, nil), http.StatusNotFound, "not_found")
	})
}

// idAuthenticator is a software passkey: one ES256 credential.
type idAuthenticator struct {
	key    *ecdsa.PrivateKey
	credID string // base64url
	cose   []byte
}

func idNewAuthenticator(t *testing.T) *idAuthenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := key.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	cose, err := em.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pt[1:33], -3: pt[33:65]})
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	rand.Read(id)
	return &idAuthenticator{key: key, credID: base64.RawURLEncoding.EncodeToString(id), cose: cose}
}

// assertion answers a challenge (base64url) as navigator.credentials.get
// would, with UP and UV set, for RP ID example.com.
func (p *idAuthenticator) assertion(t *testing.T, challenge string, count uint32) map[string]any {
	t.Helper()
	rp := sha256.Sum256([]byte("example.com"))
	ad := binary.BigEndian.AppendUint32(append(rp[:], 0x01|0x04), count)
	cd, err := json.Marshal(map[string]any{"type": "webauthn.get", "challenge": challenge, "origin": webauthnOrigin})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte(nil), ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, p.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return map[string]any{"client_data_json_b64u": enc(cd), "authenticator_data_b64u": enc(ad), "signature_b64u": enc(sig),
		"credential_id_b64u": p.credID}
}

type idChallenge struct {
	ChallengeID   string `json:"challenge_id"`
	ChallengeB64u string `json:"challenge_b64u"`
	ExpiresAt     string `json:"expires_at"`
}

func idNewChallenge(a *api, body any) idChallenge {
	a.t.Helper()
	r := a.call("POST", "/v1/credentials/challenge", "", body)
	a.want(r, http.StatusCreated)
	idKeys(a.t, r.body, "", []string{"challenge_b64u", "challenge_id", "expires_at"})
	var c idChallenge
	r.decode(a.t, &c)
	return c
}

// Passkey sign-in over HTTP: a challenge from the extension route, an
// assertion answering it, a ticket, a session. And the proof's errors.
func TestIdentityPasskeySignIn(t *testing.T) {
	idStores(t, func(t *testing.T, newAPI func(*testing.T, ...apiOption) *api) {
		a := newAPI(t)
		u := idSignUp(a, nil)
		pk := idNewAuthenticator(t)
		r := a.call("POST", "/v1/credentials", "", map[string]any{"usr_id": u.ID, "type": "passkey", "identifier": pk.credID,
			"public_key": base64.StdEncoding.EncodeToString(pk.cose), "sign_count": 0, "rp_id": "example.com"})
		a.want(r, http.StatusCreated)
		var c idCred
		r.decode(t, &c)
		if c.Type != "passkey" || c.PasskeyRPID == nil || *c.PasskeyRPID != "example.com" || c.OIDCIssuer != nil ||
			strings.Contains(string(r.body), "public_key") || strings.Contains(string(r.body), "sign_count") {
			t.Fatalf("passkey credential %s", r.body)
		}

		ch := idNewChallenge(a, map[string]any{"rp_id": "example.com"})
		if raw, err := base64.RawURLEncoding.DecodeString(ch.ChallengeB64u); err != nil || len(raw) < 16 {
			t.Fatalf("challenge_b64u %q", ch.ChallengeB64u)
		}
		if exp := idTime(t, "challenge expires_at", ch.ExpiresAt); exp.Before(time.Now()) {
			t.Fatalf("the challenge expired already: %s", ch.ExpiresAt)
		}
		verify := func(identifier string, proof any) response {
			return a.call("POST", "/v1/credentials/verify", "", map[string]any{"type": "passkey", "identifier": identifier, "proof": proof})
		}
		r = verify(pk.credID, map[string]any{"challenge_id": ch.ChallengeID, "assertion": pk.assertion(t, ch.ChallengeB64u, 1)})
		a.want(r, http.StatusOK)
		var v idVerification
		r.decode(t, &v)
		if v.UserID != u.ID || v.CredID != c.ID || v.MFARequired {
			t.Fatalf("passkey verification %s", r.body)
		}
		r = idMint(a, v, 600)
		a.want(r, http.StatusCreated)
		var st idSessionToken
		r.decode(t, &st)
		a.want(a.call("GET", "/v1/users/"+u.ID, st.Token, nil), http.StatusOK)

		// The same answer again: the challenge is used up.
		a.want(verify(pk.credID, map[string]any{"challenge_id": ch.ChallengeID, "assertion": pk.assertion(t, ch.ChallengeB64u, 2)}),
			http.StatusUnauthorized, "unauthorized.invalid_credential")
		// No body: a challenge for any RP ID.
		ch = idNewChallenge(a, nil)
		good := pk.assertion(t, ch.ChallengeB64u, 3)
		noSig := pk.assertion(t, ch.ChallengeB64u, 3)
		delete(noSig, "signature_b64u")
		bad := []struct {
			name  string
			proof any
		}{
			{"no proof", nil},
			{"proof not an object", "x"},
			{"no challenge_id", map[string]any{"assertion": good}},
			{"malformed challenge_id", map[string]any{"challenge_id": "ch_1", "assertion": good}},
			{"no assertion", map[string]any{"challenge_id": ch.ChallengeID}},
			{"assertion without a signature", map[string]any{"challenge_id": ch.ChallengeID, "assertion": noSig}},
			{"unknown proof field", map[string]any{"challenge_id": ch.ChallengeID, "assertion": good, "password": "x"}},
			{"padded base64", map[string]any{"challenge_id": ch.ChallengeID, "assertion": map[string]any{"client_data_json_b64u": "AA==",
				"authenticator_data_b64u": "AA", "signature_b64u": "AA"}}},
			{"another credential id", map[string]any{"challenge_id": ch.ChallengeID, "assertion": map[string]any{"client_data_json_b64u": "AA",
				"authenticator_data_b64u": "AA", "signature_b64u": "AA", "credential_id_b64u": "AAAA"}}},
		}
		for _, tc := range bad {
			if r := verify(pk.credID, tc.proof); r.status != http.StatusBadRequest || r.errCode() != "invalid_format.proof" {
				t.Fatalf("%s: got %d %s, want 400 invalid_format.proof", tc.name, r.status, r.body)
			}
		}
		a.want(verify(pk.credID, map[string]any{"challenge_id": idWire("usr", tuples.NewUUID())[4:], "assertion": good}),
			http.StatusUnauthorized, "unauthorized.invalid_credential") // an unknown challenge
		a.want(a.call("POST", "/v1/credentials/challenge", "", map[string]any{"rp_id": "https://example.com/"}), http.StatusBadRequest)
		a.want(a.call("POST", "/v1/credentials/challenge", "", map[string]any{"origin": "x"}), http.StatusBadRequest, "invalid_format.body")

		// A server without a WebAuthn origin refuses passkey sign-in.
		noOrigin := newAPI(t, func(_ *identity.Config, c *server.Config) { c.WebAuthnOrigin = "" })
		ch2 := idNewChallenge(noOrigin, nil)
		noOrigin.want(noOrigin.call("POST", "/v1/credentials/verify", "", map[string]any{"type": "passkey", "identifier": pk.credID,
			"proof": map[string]any{"challenge_id": ch2.ChallengeID, "assertion": pk.assertion(t, ch2.ChallengeB64u, 1)}}),
			http.StatusBadRequest, "invalid_format")

		// OIDC: this server trusts no provider.
		a.want(a.call("POST", "/v1/credentials/verify", "", map[string]any{"type": "oidc", "identifier": "x",
			"proof": map[string]any{"challenge_id": ch.ChallengeID, "id_token": "a.b.c"}}), http.StatusConflict, "precondition.oidc_not_configured")
		a.want(a.call("POST", "/v1/credentials/verify", "", map[string]any{"type": "oidc", "identifier": "x",
			"proof": map[string]any{"id_token": "a.b.c"}}), http.StatusBadRequest, "invalid_format.proof")
	})
}

func TestIdentityVerifyErrors(t *testing.T) {
	idStores(t, func(t *testing.T, newAPI func(*testing.T, ...apiOption) *api) {
		a := newAPI(t)
		idPasswordUser(a, "v@example.com", "pw")
		// Every failure of the proof is the same 401.
		a.want(idVerify(a, "v@example.com", "wrong"), http.StatusUnauthorized, "unauthorized.invalid_credential")
		a.want(idVerify(a, "nobody@example.com", "pw"), http.StatusUnauthorized, "unauthorized.invalid_credential")
		bad := []struct {
			name string
			body any
			code string
		}{
			{"no body", nil, "invalid_format.body"},
			{"missing type", map[string]any{"identifier": "v@example.com", "proof": map[string]any{"password": "pw"}}, "invalid_format.type"},
			{"bad type", map[string]any{"type": "magic", "identifier": "v@example.com", "proof": map[string]any{}}, "invalid_format.type"},
			{"missing identifier", map[string]any{"type": "password", "proof": map[string]any{"password": "pw"}}, "invalid_format.identifier"},
			{"missing proof", map[string]any{"type": "password", "identifier": "v@example.com"}, "invalid_format.proof"},
			{"proof without password", map[string]any{"type": "password", "identifier": "v@example.com", "proof": map[string]any{}}, "invalid_format.proof"},
			{"proof of another type", map[string]any{"type": "password", "identifier": "v@example.com", "proof": map[string]any{"id_token": "x"}}, "invalid_format.proof"},
			{"unknown field", map[string]any{"type": "password", "identifier": "v@example.com", "proof": map[string]any{"password": "pw"}, "remember": true}, "invalid_format.body"},
		}
		for _, tc := range bad {
			if r := a.call("POST", "/v1/credentials/verify", "", tc.body); r.status != http.StatusBadRequest || r.errCode() != tc.code {
				t.Fatalf("%s: got %d %s, want 400 %s", tc.name, r.status, r.body, tc.code)
			}
		}
	})
}

func TestIdentitySessions(t *testing.T) {
	idStores(t, func(t *testing.T, newAPI func(*testing.T, ...apiOption) *api) {
		a := newAPI(t)
		root := a.admin()
		u, c, st := idPasswordUser(a, "ses@example.com", "pw")

		r := idVerify(a, "ses@example.com", "pw")
		a.want(r, http.StatusOK)
		var v idVerification
		r.decode(t, &v)
		// Refused mints leave the ticket unused.
		other := v
		other.UserID = idWire("usr", tuples.NewUUID())
		a.want(idMint(a, other, 3600), http.StatusUnauthorized, "unauthorized.invalid_ticket")
		other = v
		other.Ticket = "made-up"
		a.want(idMint(a, other, 3600), http.StatusUnauthorized, "unauthorized.invalid_ticket")
		a.want(idMint(a, v, 59), http.StatusBadRequest, "invalid_format.ttl_seconds")
		bad := []struct {
			name string
			body any
			code string
		}{
			{"no body", nil, "invalid_format.body"},
			{"missing usr_id", map[string]any{"cred_id": v.CredID, "ttl_seconds": 60, "verification_ticket": v.Ticket}, "invalid_format.usr_id"},
			{"missing cred_id", map[string]any{"usr_id": v.UserID, "ttl_seconds": 60, "verification_ticket": v.Ticket}, "invalid_format.cred_id"},
			{"missing ttl_seconds", map[string]any{"usr_id": v.UserID, "cred_id": v.CredID, "verification_ticket": v.Ticket}, "invalid_format.ttl_seconds"},
			{"ttl_seconds not an integer", map[string]any{"usr_id": v.UserID, "cred_id": v.CredID, "ttl_seconds": "60", "verification_ticket": v.Ticket}, "invalid_format.ttl_seconds"},
			{"negative ttl_seconds", map[string]any{"usr_id": v.UserID, "cred_id": v.CredID, "ttl_seconds": -5, "verification_ticket": v.Ticket}, "invalid_format.ttl_seconds"},
			{"wrong cred_id prefix", map[string]any{"usr_id": v.UserID, "cred_id": strings.Replace(v.CredID, "cred_", "usr_", 1), "ttl_seconds": 60, "verification_ticket": v.Ticket}, "invalid_format.cred_id"},
			{"unknown field", map[string]any{"usr_id": v.UserID, "cred_id": v.CredID, "ttl_seconds": 60, "verification_ticket": v.Ticket, "scope": "all"}, "invalid_format.body"},
		}
		for _, tc := range bad {
			if r := a.call("POST", "/v1/sessions", "", tc.body); r.status != http.StatusBadRequest || r.errCode() != tc.code {
				t.Fatalf("%s: got %d %s, want 400 %s", tc.name, r.status, r.body, tc.code)
			}
		}
		// The spec's literal request, two ids and no ticket, mints nothing
		// (A1), with or without the user's own session.
		literal := map[string]any{"usr_id": u.ID, "cred_id": c.ID, "ttl_seconds": 3600}
		a.want(a.call("POST", "/v1/sessions", "", literal), http.StatusUnauthorized, "unauthorized.invalid_ticket")
		a.want(a.call("POST", "/v1/sessions", st.Token, literal), http.StatusUnauthorized, "unauthorized.invalid_ticket")
		a.want(a.call("POST", "/v1/sessions", "not-a-token", literal), http.StatusUnauthorized, "unauthorized.invalid_token")
		// The ticket still mints, and caps the lifetime at the maximum.
		r = idMint(a, v, 1<<40)
		a.want(r, http.StatusCreated)
		var capped idSessionToken
		r.decode(t, &capped)
		if d := idTime(t, "expires_at", capped.Session.ExpiresAt).Sub(idTime(t, "created_at", capped.Session.CreatedAt)); d != identity.DefaultMaxTTL {
			t.Fatalf("a huge ttl_seconds gave a %v session, want the %v cap", d, identity.DefaultMaxTTL)
		}
		// A platform admin mints without a ticket.
		r = a.call("POST", "/v1/sessions", root, literal)
		a.want(r, http.StatusCreated)
		var byAdmin idSessionToken
		r.decode(t, &byAdmin)
		if byAdmin.Session.UserID != u.ID || byAdmin.Session.CredID != c.ID || byAdmin.Token == "" {
			t.Fatalf("admin mint %s", r.body)
		}
		a.want(a.call("POST", "/v1/sessions", root, map[string]any{"usr_id": u.ID, "cred_id": idWire("cred", tuples.NewUUID()), "ttl_seconds": 60}),
			http.StatusNotFound, "not_found")
		a.want(a.call("POST", "/v1/sessions", serviceKey, literal), http.StatusCreated)

		// getSession.
		r = a.call("GET", "/v1/sessions/"+st.Session.ID, st.Token, nil)
		a.want(r, http.StatusOK)
		idKeys(t, r.body, "", idSessionKeys)
		var got idSession
		r.decode(t, &got)
		idSame(t, "getSession", got, st.Session)
		a.want(a.call("GET", "/v1/sessions/"+idWire("ses", tuples.NewUUID()), root, nil), http.StatusNotFound, "not_found")
		a.want(a.call("GET", "/v1/sessions/"+strings.Replace(st.Session.ID, "ses_", "usr_", 1), st.Token, nil), http.StatusBadRequest, "invalid_format.id")
		a.want(a.call("GET", "/v1/sessions/"+st.Session.ID, "", nil), http.StatusUnauthorized)

		// An admin refreshes and revokes a user's session; a revoked
		// session cannot be refreshed; revoking it again returns it.
		a.want(a.call("POST", "/v1/sessions/"+byAdmin.Session.ID+"/refresh", root, map[string]any{"ttl_seconds": 60}),
			http.StatusBadRequest, "invalid_format.body")
		// A session refreshes itself only, never another session of its
		// user (which might carry an MFA verification it lacks).
		a.want(a.call("POST", "/v1/sessions/"+byAdmin.Session.ID+"/refresh", st.Token, nil), http.StatusNotFound, "not_found")
		r = a.call("POST", "/v1/sessions/"+byAdmin.Session.ID+"/refresh", root, nil)
		a.want(r, http.StatusCreated)
		var refreshed idSessionToken
		r.decode(t, &refreshed)
		if refreshed.Session.ID == byAdmin.Session.ID || refreshed.Session.UserID != u.ID {
			t.Fatalf("refreshed %s", r.body)
		}
		a.want(a.call("POST", "/v1/sessions/"+byAdmin.Session.ID+"/refresh", root, nil), http.StatusUnauthorized, "unauthorized.session_expired")
		r = a.call("POST", "/v1/sessions/"+refreshed.Session.ID+"/revoke", root, nil)
		a.want(r, http.StatusOK)
		var first idSession
		r.decode(t, &first)
		r = a.call("POST", "/v1/sessions/"+refreshed.Session.ID+"/revoke", st.Token, "{}")
		a.want(r, http.StatusOK)
		r.decode(t, &got)
		if first.RevokedAt == nil {
			t.Fatalf("revoked %+v", first)
		}
		idSame(t, "revoking a revoked session", got, first)
		a.want(a.call("POST", "/v1/sessions/"+refreshed.Session.ID+"/revoke", st.Token, "[]"), http.StatusBadRequest, "invalid_format.body")
		a.want(a.call("POST", "/v1/sessions/"+idWire("ses", tuples.NewUUID())+"/revoke", root, nil), http.StatusNotFound, "not_found")
	})
}

// Another user's session is told that a user's user, sessions,
// credentials and session do not exist, and cannot add a credential to
// them; a PAT, even the user's own, is refused on every identity route.
func TestIdentityCrossUser(t *testing.T) {
	idStores(t, func(t *testing.T, newAPI func(*testing.T, ...apiOption) *api) {
		a := newAPI(t)
		u, c, st := idPasswordUser(a, "victim@example.com", "pw")
		uid, err := tuples.DecodeIDOf("usr", u.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, mallory := a.user("mallory")
		ses := st.Session.ID
		hidden := []struct{ method, path string }{
			{"GET", "/v1/users/" + u.ID},
			{"PUT", "/v1/users/" + u.ID},
			{"POST", "/v1/users/" + u.ID + "/revoke"},
			{"GET", "/v1/users/" + u.ID + "/sessions"},
			{"GET", "/v1/credentials/" + c.ID},
			{"POST", "/v1/credentials/" + c.ID + "/rotate"},
			{"POST", "/v1/credentials/" + c.ID + "/suspend"},
			{"POST", "/v1/credentials/" + c.ID + "/revoke"},
			{"GET", "/v1/sessions/" + ses},
			{"POST", "/v1/sessions/" + ses + "/refresh"},
			{"POST", "/v1/sessions/" + ses + "/revoke"},
		}
		for _, h := range hidden {
			var b any
			switch {
			case h.method == "PUT":
				b = map[string]any{"display_name": "pwned"}
			case strings.HasSuffix(h.path, "/rotate"):
				b = map[string]any{"password": "pwned"}
			}
			if r := a.call(h.method, h.path, mallory, b); r.status != http.StatusNotFound || r.errCode() != "not_found" {
				t.Fatalf("mallory %s %s: got %d %s, want 404", h.method, h.path, r.status, r.body)
			}
		}
		// What is hidden looks exactly like what does not exist.
		missing := a.call("GET", "/v1/credentials/"+idWire("cred", tuples.NewUUID()), mallory, nil)
		seen := a.call("GET", "/v1/credentials/"+c.ID, mallory, nil)
		if string(missing.body) != string(seen.body) {
			t.Fatalf("hidden %s differs from missing %s", seen.body, missing.body)
		}
		// Not an admin: admin-only routes are 403 without looking.
		for _, path := range []string{"/v1/users/" + u.ID + "/suspend", "/v1/users/" + u.ID + "/reinstate", "/v1/credentials/" + c.ID + "/reinstate"} {
			a.want(a.call("POST", path, mallory, nil), http.StatusForbidden, "forbidden")
		}
		a.want(a.call("POST", "/v1/credentials", mallory, map[string]any{"usr_id": u.ID, "type": "password", "identifier": "m@example.com",
			"password": "x"}), http.StatusNotFound, "not_found")
		// Mallory's attempts changed nothing.
		a.want(a.call("GET", "/v1/users/"+u.ID, st.Token, nil), http.StatusOK)

		// A PAT of the user is refused on the user's own routes.
		pat := a.pat(uid, "tuples:read", "tuples:write", "check")
		for _, h := range hidden {
			if r := a.call(h.method, h.path, pat, nil); r.status != http.StatusForbidden || r.errCode() != "forbidden" {
				t.Fatalf("PAT %s %s: got %d %s, want 403", h.method, h.path, r.status, r.body)
			}
		}
		a.want(a.call("POST", "/v1/credentials", pat, map[string]any{"usr_id": u.ID, "type": "password", "identifier": "p@example.com",
			"password": "x"}), http.StatusForbidden, "forbidden")
		a.want(a.call("POST", "/v1/sessions", pat, map[string]any{"usr_id": u.ID, "cred_id": c.ID, "ttl_seconds": 60}), http.StatusForbidden, "forbidden")
		a.want(a.call("GET", "/v1/users", pat, nil), http.StatusForbidden, "forbidden")
		a.want(a.call("GET", "/v1/users/"+u.ID, st.Token, nil), http.StatusOK)
	})
}

// With sign-up closed, only a platform admin creates users, and nobody
// but an admin or the user gives a user a credential.
func TestIdentitySignupClosed(t *testing.T) {
	idStores(t, func(t *testing.T, newAPI func(*testing.T, ...apiOption) *api) {
		a := newAPI(t, idSignupClosed)
		root := a.admin()
		alice, aliceTok := a.user("alice")
		a.want(a.call("POST", "/v1/users", "", nil), http.StatusForbidden, "forbidden.signup_closed")
		a.want(a.call("POST", "/v1/users", aliceTok, nil), http.StatusForbidden, "forbidden.signup_closed")
		r := a.call("POST", "/v1/users", root, map[string]any{"display_name": "Invited"})
		a.want(r, http.StatusCreated)
		var u idUser
		r.decode(t, &u)
		a.want(a.call("POST", "/v1/users", serviceKey, nil), http.StatusCreated)

		// A brand-new user is not claimable while sign-up is closed.
		a.want(idPassword(a, "", u.ID, "new@example.com", "pw"), http.StatusNotFound, "not_found")
		a.want(idPassword(a, aliceTok, u.ID, "new@example.com", "pw"), http.StatusNotFound, "not_found")
		a.want(idPassword(a, root, u.ID, "new@example.com", "pw"), http.StatusCreated)
		// A user still adds credentials to themselves.
		a.want(a.call("POST", "/v1/credentials", aliceTok, map[string]any{"usr_id": idWire("usr", alice), "type": "oidc",
			"identifier": "alice2", "oidc_issuer": "https://idp.example", "oidc_subject": "alice2"}), http.StatusCreated)
		// Sign-in is unaffected.
		st := idSignIn(a, "new@example.com", "pw")
		a.want(a.call("GET", "/v1/users/"+u.ID, st.Token, nil), http.StatusOK)
	})
}

// Anyone may give a brand-new user its first credential, and no other
// user: one that has had a credential, an old one, an admin, or one who
// is in an organization (an invitation accepted without an account mints
// a user whose id the org's members see).
func TestIdentityBrandNewWindow(t *testing.T) {
	idStores(t, func(t *testing.T, newAPI func(*testing.T, ...apiOption) *api) {
		clock := &idClock{}
		a := newAPI(t, clock.option)
		ctx := context.Background()
		claim := func(usr tuples.UUID, token string) response {
			return a.call("POST", "/v1/credentials", token, map[string]any{"usr_id": idWire("usr", usr), "type": "oidc",
				"identifier": "claim-" + usr.Hex(), "oidc_issuer": "https://idp.example", "oidc_subject": usr.Hex()})
		}
		_, otherTok := a.user("other")

		// Has a credential (any status).
		withCred, _ := a.user("withcred")
		a.want(claim(withCred, ""), http.StatusNotFound, "not_found")
		revoked, err := a.ids.CreateUser(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := a.ids.CreateCredential(ctx, identity.NewCredential{UserID: revoked.ID, Type: identity.OIDC, Identifier: "gone",
			OIDCIssuer: "https://idp.example", OIDCSubject: "gone"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.ids.RevokeCredential(ctx, rc.ID); err != nil {
			t.Fatal(err)
		}
		a.want(claim(revoked.ID, ""), http.StatusNotFound, "not_found")

		// Old: created just over the window ago.
		clock.offset.Store(int64(-11 * time.Minute))
		old, err := a.ids.CreateUser(ctx, nil)
		clock.offset.Store(0)
		if err != nil {
			t.Fatal(err)
		}
		a.want(claim(old.ID, ""), http.StatusNotFound, "not_found")
		// Created just inside the window: still claimable.
		clock.offset.Store(int64(-9 * time.Minute))
		recent, err := a.ids.CreateUser(ctx, nil)
		clock.offset.Store(0)
		if err != nil {
			t.Fatal(err)
		}
		a.want(claim(recent.ID, ""), http.StatusCreated)

		// An admin (the bootstrap admin also has a credential, so this
		// exercises the has-a-credential branch as well).
		if _, _, err := a.ids.BootstrapAdmin(ctx, "root@example.com", "correct horse battery staple"); err != nil {
			t.Fatal(err)
		}
		r := a.call("GET", "/v1/users?query=root@example.com", serviceKey, nil)
		a.want(r, http.StatusOK)
		var p idPage[idUser]
		r.decode(t, &p)
		if len(p.Data) != 1 {
			t.Fatalf("finding the admin: %s", r.body)
		}
		adminID, err := tuples.DecodeIDOf("usr", p.Data[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		a.want(claim(adminID, ""), http.StatusNotFound, "not_found")

		// Granted something: an admin provisioned the user and a grant
		// (its id is in tuples others may list).
		provisioned, err := a.ids.CreateUser(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		a.want(a.call("POST", "/v1/tuples", serviceKey, map[string]string{"subject_type": "usr", "subject_id": provisioned.ID.String(),
			"relation": "editor", "object_type": "doc", "object_id": tuples.NewUUID().String()}), http.StatusCreated)
		a.want(claim(provisioned.ID, ""), http.StatusNotFound, "not_found")

		// In an organization: an org's creator, and a user minted by an
		// invitation accepted without an account.
		founder, err := a.ids.CreateUser(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		org, _, err := a.orgs.CreateOrg(ctx, founder.ID, tenancy.OrgInput{})
		if err != nil {
			t.Fatal(err)
		}
		a.want(claim(founder.ID, ""), http.StatusNotFound, "not_found")
		inv, err := a.orgs.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: org.ID, Identifier: "invitee@example.com",
			Role: tenancy.Role("member"), InvitedBy: founder.ID, ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		acc, err := a.orgs.AcceptInvitation(ctx, inv.ID, tuples.UUID{}, "")
		if err != nil {
			t.Fatal(err)
		}
		minted := acc.Membership.UserID
		a.want(claim(minted, ""), http.StatusNotFound, "not_found")
		a.want(claim(minted, otherTok), http.StatusNotFound, "not_found")
		a.want(claim(tuples.NewUUID(), ""), http.StatusNotFound, "not_found")

		// A brand-new user: anyone, with or without a token, once.
		fresh := idSignUp(a, nil)
		freshID, err := tuples.DecodeIDOf("usr", fresh.ID)
		if err != nil {
			t.Fatal(err)
		}
		a.want(claim(freshID, otherTok), http.StatusCreated)
		a.want(claim(freshID, ""), http.StatusNotFound, "not_found")
	})
}

// The sign-up window runs on the API's clock: a user signed up now may be
// given its first credential by anyone 9 minutes on, not 11.
func TestIdentitySignupWindowOnAPIClock(t *testing.T) {
	idStores(t, func(t *testing.T, newAPI func(*testing.T, ...apiOption) *api) {
		clock := &idClock{}
		a := newAPI(t, clock.option)
		early, late := idSignUp(a, nil), idSignUp(a, nil)
		claim := func(usr string) response {
			return a.call("POST", "/v1/credentials", "", map[string]any{"usr_id": usr, "type": "oidc",
				"identifier": "claim-" + usr, "oidc_issuer": "https://idp.example", "oidc_subject": usr})
		}
		clock.offset.Store(int64(9 * time.Minute))
		a.want(claim(early.ID), http.StatusCreated)
		clock.offset.Store(int64(11 * time.Minute))
		a.want(claim(late.ID), http.StatusNotFound, "not_found")
	})
}

// Wrong passwords over HTTP are throttled: 429 with Retry-After.
func TestIdentityThrottling(t *testing.T) {
	idStores(t, func(t *testing.T, newAPI func(*testing.T, ...apiOption) *api) {
		a := newAPI(t)
		idPasswordUser(a, "slow@example.com", "pw")
		for i := 0; ; i++ {
			r := idVerify(a, "slow@example.com", "guess-"+strconv.Itoa(i))
			if r.status == http.StatusUnauthorized {
				if i >= 10 {
					t.Fatalf("%d wrong passwords and no 429", i+1)
				}
				continue
			}
			a.want(r, http.StatusTooManyRequests, "rate_limited")
			if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 {
				t.Fatalf("Retry-After %q, want whole seconds ≥ 1", r.header.Get("Retry-After"))
			}
			if i < 5 {
				t.Fatalf("throttled after only %d failures", i)
			}
			break
		}
		// The right password is throttled too while the lock-out lasts.
		a.want(idVerify(a, "slow@example.com", "pw"), http.StatusTooManyRequests, "rate_limited")
	})
}
