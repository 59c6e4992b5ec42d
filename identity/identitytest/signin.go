package identitytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/identity/oidc"
	"github.com/flametrench/server/tuples"
)

var signInTests = []suiteTest{
	{"PasskeySignIn", testPasskeySignIn},
	{"PasskeySignInRefusals", testPasskeySignInRefusals},
	{"OIDCSignIn", testOIDCSignIn},
}

// passkeyUser creates an active user with a passkey credential of a new
// authenticator, its counter at count.
func (e *env) passkeyUser(t *testing.T, count uint32) (identity.User, identity.Credential, *authenticator) {
	t.Helper()
	a := newAuthenticator(t)
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	c := must[identity.Credential](t, "CreateCredential(passkey)")(e.svc.CreateCredential(ctx, identity.NewCredential{
		UserID: u.ID, Type: identity.Passkey, Identifier: base64.RawURLEncoding.EncodeToString(a.credID),
		PublicKey: a.cose, SignCount: count, RPID: mfaRPID}))
	return u, c, a
}

// signIn answers a sign-in challenge with the authenticator.
func (a *authenticator) signIn(t *testing.T, c identity.Challenge, flags byte, count uint32) identity.VerifyInput {
	t.Helper()
	p := a.assert(t, c, flags, count)
	return identity.VerifyInput{Type: identity.Passkey, Identifier: p.CredentialID, Origin: p.Origin,
		ChallengeID: p.ChallengeID, Assertion: p.Assertion}
}

func (e *env) signInChallenge(t *testing.T, rpID string) identity.Challenge {
	t.Helper()
	return must[identity.Challenge](t, "NewSignInChallenge")(e.svc.NewSignInChallenge(ctx, rpID))
}

func testPasskeySignIn(t *testing.T, e *env) {
	u, c, a := e.passkeyUser(t, 3)
	ch := e.signInChallenge(t, mfaRPID)
	if !ch.UserID.IsZero() || len(ch.Bytes) < 16 || ch.RPID != mfaRPID {
		t.Fatalf("sign-in challenge %+v", ch)
	}
	in := a.signIn(t, ch, flagUP|flagUV, 4)
	v := must[identity.Verification](t, "VerifyCredential(passkey)")(e.svc.VerifyCredential(ctx, in))
	if v.UserID != u.ID || v.CredentialID != c.ID || v.MFARequired || v.Ticket == "" {
		t.Fatalf("verification %+v", v)
	}
	ses, _ := must2[identity.Session, string](t, "CreateSession")(e.svc.CreateSession(ctx, v, time.Hour))
	if ses.CredentialID != c.ID || ses.UserID != u.ID {
		t.Fatalf("session %+v", ses)
	}
	if got := must[identity.Credential](t, "GetCredential")(e.svc.GetCredential(ctx, c.ID)); got.PasskeySignCount != 4 {
		t.Fatalf("stored sign count %d, want 4", got.PasskeySignCount)
	}
	// The same assertion again: its challenge is used up.
	_, err := e.svc.VerifyCredential(ctx, in)
	wantErr(t, "a replayed assertion", err, identity.ErrInvalidCredential)

	// A challenge without an RP ID accepts any passkey's; an authenticator
	// that keeps no counter (always 0) is accepted while the stored one is 0.
	u0, c0, a0 := e.passkeyUser(t, 0)
	for range 2 {
		v := must[identity.Verification](t, "VerifyCredential(counter 0)")(e.svc.VerifyCredential(ctx, a0.signIn(t, e.signInChallenge(t, ""), flagUP|flagUV, 0)))
		if v.UserID != u0.ID || v.CredentialID != c0.ID {
			t.Fatalf("verification %+v", v)
		}
	}

	// The user's MFA policy applies to a passkey sign-in too.
	must[identity.Policy](t, "SetPolicy")(e.svc.SetPolicy(ctx, u.ID, true, nil))
	v = must[identity.Verification](t, "VerifyCredential(policy)")(e.svc.VerifyCredential(ctx, a.signIn(t, e.signInChallenge(t, mfaRPID), flagUP|flagUV, 5)))
	if !v.MFARequired {
		t.Fatal("MFARequired is false under an MFA policy")
	}
	_, _, err = e.svc.CreateSession(ctx, v, time.Hour)
	wantErr(t, "mint before MFA", err, identity.ErrMFARequired)
}

func must2[A, B any](t *testing.T, what string) func(A, B, error) (A, B) {
	return func(a A, b B, err error) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return a, b
	}
}

func testPasskeySignInRefusals(t *testing.T, e *env) {
	u, c, a := e.passkeyUser(t, 10)
	_, _, stranger := e.passkeyUser(t, 0)
	unknown := newAuthenticator(t)
	var last identity.Challenge // the challenge the case answered
	challenge := func(rpID string) identity.Challenge {
		last = e.signInChallenge(t, rpID)
		return last
	}
	tests := []struct {
		name string
		in   func() identity.VerifyInput
	}{
		{"counter regression", func() identity.VerifyInput { return a.signIn(t, challenge(mfaRPID), flagUP|flagUV, 10) }},
		{"no user verification", func() identity.VerifyInput { return a.signIn(t, challenge(mfaRPID), flagUP, 11) }},
		{"no user presence", func() identity.VerifyInput { return a.signIn(t, challenge(mfaRPID), flagUV, 11) }},
		{"wrong origin", func() identity.VerifyInput {
			in := a.signIn(t, challenge(mfaRPID), flagUP|flagUV, 11)
			in.Origin = "https://evil.example"
			return in
		}},
		{"challenge for another RP ID", func() identity.VerifyInput {
			return a.signIn(t, challenge("login.example.com"), flagUP|flagUV, 11)
		}},
		{"an MFA challenge", func() identity.VerifyInput {
			last = must[identity.Challenge](t, "NewWebAuthnChallenge")(e.svc.NewWebAuthnChallenge(ctx, u.ID, ""))
			return a.signIn(t, last, flagUP|flagUV, 11)
		}},
		{"no such challenge", func() identity.VerifyInput {
			in := a.signIn(t, challenge(mfaRPID), flagUP|flagUV, 11)
			in.ChallengeID = identity.UUID{}
			return in
		}},
		{"unknown credential", func() identity.VerifyInput { return unknown.signIn(t, challenge(mfaRPID), flagUP|flagUV, 1) }},
		{"another passkey's identifier", func() identity.VerifyInput {
			in := stranger.signIn(t, challenge(mfaRPID), flagUP|flagUV, 1)
			in.Identifier = c.Identifier
			return in
		}},
		{"identifier too long", func() identity.VerifyInput {
			// Refused before anything is looked at: its challenge is
			// not even taken.
			in := a.signIn(t, challenge(mfaRPID), flagUP|flagUV, 11)
			in.Identifier = string(make([]byte, 2000))
			in.ChallengeID = identity.UUID{}
			return in
		}},
		{"expired challenge", func() identity.VerifyInput {
			ch := challenge(mfaRPID)
			e.advance(identity.ChallengeTTL + time.Second)
			return a.signIn(t, ch, flagUP|flagUV, 11)
		}},
	}
	for _, tc := range tests {
		in := tc.in()
		_, err := e.svc.VerifyCredential(ctx, in)
		wantErr(t, tc.name, err, identity.ErrInvalidCredential)
		if in.ChallengeID.IsZero() {
			continue
		}
		// A challenge is answered once, rightly or not: the right answer
		// to a challenge that was already tried fails too.
		if _, err := e.svc.VerifyCredential(ctx, a.signIn(t, last, flagUP|flagUV, 11)); err == nil {
			t.Fatalf("%s: the challenge was still usable after a failed answer", tc.name)
		}
		// Let the identifier's throttle forget these failures.
		e.advance(16 * time.Minute)
	}
	if got := must[identity.Credential](t, "GetCredential")(e.svc.GetCredential(ctx, c.ID)); got.PasskeySignCount != 10 {
		t.Fatalf("failed sign-ins moved the stored count to %d", got.PasskeySignCount)
	}

	// A suspended user, or a suspended passkey, cannot sign in.
	must[identity.User](t, "SuspendUser")(e.svc.SuspendUser(ctx, u.ID))
	_, err := e.svc.VerifyCredential(ctx, a.signIn(t, e.signInChallenge(t, mfaRPID), flagUP|flagUV, 12))
	wantErr(t, "suspended user", err, identity.ErrInvalidCredential)
	must[identity.User](t, "ReinstateUser")(e.svc.ReinstateUser(ctx, u.ID))
	must[identity.Credential](t, "SuspendCredential")(e.svc.SuspendCredential(ctx, c.ID))
	_, err = e.svc.VerifyCredential(ctx, a.signIn(t, e.signInChallenge(t, mfaRPID), flagUP|flagUV, 12))
	wantErr(t, "suspended passkey", err, identity.ErrInvalidCredential)

	// Failures are throttled per identifier like a password's.
	var rl *identity.RateLimitError
	for i := 0; i < 20 && !errors.As(err, &rl); i++ {
		_, err = e.svc.VerifyCredential(ctx, a.signIn(t, e.signInChallenge(t, mfaRPID), flagUP|flagUV, 12))
	}
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 {
		t.Fatalf("repeated passkey failures: err = %v, want a rate limit", err)
	}
}

// testIdP is an OpenID provider on loopback: it serves one ES256 key and
// signs ID tokens with it.
type testIdP struct {
	srv *httptest.Server
	key *ecdsa.PrivateKey
}

func newTestIdP(t *testing.T) *testIdP {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &testIdP{key: key}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwks)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

const oidcAudience = "flametrench-test-client"

// verifier returns a verifier that trusts the provider for oidcAudience.
func (p *testIdP) verifier(t *testing.T, now func() time.Time) *oidc.Verifier {
	t.Helper()
	v, err := oidc.New(oidc.Config{Now: now, Providers: []oidc.Provider{{
		Issuer: p.srv.URL, JWKSURL: p.srv.URL + "/jwks", Audiences: []string{oidcAudience}}}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// token signs an ID token for sub, valid for an hour from now; edit
// changes its claims first.
func (p *testIdP) token(t *testing.T, now time.Time, sub string, edit func(map[string]any)) string {
	t.Helper()
	claims := map[string]any{"iss": p.srv.URL, "sub": sub, "aud": oidcAudience,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if edit != nil {
		edit(claims)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: p.key, KeyID: "k1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func testOIDCSignIn(t *testing.T, e *env) {
	idp := newTestIdP(t)
	svc := identity.NewService(e.store, identity.Config{Hasher: hasher, Now: e.mfaNow, OIDC: idp.verifier(t, e.mfaNow)})
	u := must[identity.User](t, "CreateUser")(svc.CreateUser(ctx, nil))
	// Stored with an upper-case scheme and a trailing slash: normalised on
	// both sides, the token's issuer still matches.
	c := must[identity.Credential](t, "CreateCredential(oidc)")(svc.CreateCredential(ctx, identity.NewCredential{
		UserID: u.ID, Type: identity.OIDC, Identifier: "ada@example.com",
		OIDCIssuer: strings.Replace(idp.srv.URL, "http://", "HTTP://", 1) + "/", OIDCSubject: "sub-ada"}))
	other := must[identity.User](t, "CreateUser")(svc.CreateUser(ctx, nil))
	must[identity.Credential](t, "CreateCredential(oidc other)")(svc.CreateCredential(ctx, identity.NewCredential{
		UserID: other.ID, Type: identity.OIDC, Identifier: "bob@example.com", OIDCIssuer: idp.srv.URL, OIDCSubject: "sub-bob"}))

	// signIn answers a fresh sign-in challenge with a token for sub whose
	// nonce is the challenge; edit changes the claims first.
	signIn := func(ident, sub string, edit func(map[string]any)) identity.VerifyInput {
		ch := must[identity.Challenge](t, "NewSignInChallenge")(svc.NewSignInChallenge(ctx, ""))
		tok := idp.token(t, e.mfaNow(), sub, func(c map[string]any) {
			c["nonce"] = base64.RawURLEncoding.EncodeToString(ch.Bytes)
			if edit != nil {
				edit(c)
			}
		})
		return identity.VerifyInput{Type: identity.OIDC, Identifier: ident, IDToken: tok, ChallengeID: ch.ID}
	}
	good := signIn("ada@example.com", "sub-ada", nil)
	v := must[identity.Verification](t, "VerifyCredential(oidc)")(svc.VerifyCredential(ctx, good))
	if v.UserID != u.ID || v.CredentialID != c.ID || v.Ticket == "" {
		t.Fatalf("verification %+v", v)
	}
	must2[identity.Session, string](t, "CreateSession")(svc.CreateSession(ctx, v, time.Hour))

	refusals := []struct {
		name string
		in   func() identity.VerifyInput
	}{
		{"the same token again", func() identity.VerifyInput { return good }},
		{"another subject's token", func() identity.VerifyInput { return signIn("ada@example.com", "sub-bob", nil) }},
		{"another challenge's nonce", func() identity.VerifyInput {
			in := signIn("ada@example.com", "sub-ada", nil)
			in.ChallengeID = signIn("ada@example.com", "sub-ada", nil).ChallengeID
			return in
		}},
		{"no nonce", func() identity.VerifyInput {
			return signIn("ada@example.com", "sub-ada", func(c map[string]any) { delete(c, "nonce") })
		}},
		{"wrong audience", func() identity.VerifyInput {
			return signIn("ada@example.com", "sub-ada", func(c map[string]any) { c["aud"] = "someone-else" })
		}},
		{"expired", func() identity.VerifyInput {
			return signIn("ada@example.com", "sub-ada", func(c map[string]any) { c["exp"] = e.mfaNow().Add(-time.Hour).Unix() })
		}},
		{"unknown issuer", func() identity.VerifyInput {
			return signIn("ada@example.com", "sub-ada", func(c map[string]any) { c["iss"] = "https://idp.example" })
		}},
		{"tampered", func() identity.VerifyInput {
			in := signIn("ada@example.com", "sub-ada", nil)
			in.IDToken += "x"
			return in
		}},
		{"not a token", func() identity.VerifyInput {
			in := signIn("ada@example.com", "sub-ada", nil)
			in.IDToken = "garbage"
			return in
		}},
		{"unknown identifier", func() identity.VerifyInput { return signIn("nobody@example.com", "sub-ada", nil) }},
	}
	for _, tc := range refusals {
		_, err := svc.VerifyCredential(ctx, tc.in())
		wantErr(t, tc.name, err, identity.ErrInvalidCredential)
		e.advance(16 * time.Minute) // let the identifier's throttle forget it
	}
	must[identity.Credential](t, "SuspendCredential")(svc.SuspendCredential(ctx, c.ID))
	_, err := svc.VerifyCredential(ctx, signIn("ada@example.com", "sub-ada", nil))
	wantErr(t, "suspended credential", err, identity.ErrInvalidCredential)

	// Without a verifier OIDC sign-in is off, and says so.
	_, err = e.svc.VerifyCredential(ctx, signIn("bob@example.com", "sub-bob", nil))
	wantErr(t, "no verifier", err, identity.ErrOIDCNotConfigured)

	// A provider that cannot be reached is unavailable, not a wrong proof.
	down := newTestIdP(t)
	downSvc := identity.NewService(e.store, identity.Config{Hasher: hasher, Now: e.mfaNow, OIDC: down.verifier(t, e.mfaNow)})
	tok := down.token(t, e.mfaNow(), "sub-bob", nil)
	down.srv.Close()
	_, err = downSvc.VerifyCredential(ctx, identity.VerifyInput{Type: identity.OIDC, Identifier: "bob@example.com", IDToken: tok})
	if tuples.KindOf(err) != tuples.Unavailable {
		t.Fatalf("provider down: err = %v, want kind unavailable", err)
	}
}
