package identitytest

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
)

// textTests: every string the module stores or looks rows up by refuses
// what PostgreSQL text cannot hold — a NUL, or bytes that are not UTF-8 —
// with the module's invalid-format error, before any store call: on the
// memory store as on PostgreSQL, where it would otherwise be a 500.
var textTests = []suiteTest{{"NULRefused", testNULRefused}}

func testNULRefused(t *testing.T, e *env) {
	u, _ := e.user(t, "text@example.com", "pw")
	a := newAuthenticator(t)
	passkeyID := base64.RawURLEncoding.EncodeToString(a.credID)
	oidcCred := must[identity.Credential](t, "CreateCredential(oidc)")(e.svc.CreateCredential(ctx, identity.NewCredential{
		UserID: u.ID, Type: identity.OIDC, Identifier: "text-oidc@example.com", OIDCIssuer: "https://idp.example.com", OIDCSubject: "sub"}))
	password := func(identifier string) identity.NewCredential {
		return identity.NewCredential{UserID: u.ID, Type: identity.Password, Identifier: identifier, Password: "pw"}
	}
	passkey := func(rp string) identity.NewCredential {
		return identity.NewCredential{UserID: u.ID, Type: identity.Passkey, Identifier: passkeyID, PublicKey: a.cose, RPID: rp}
	}
	oidc := func(iss, sub string) identity.NewCredential {
		return identity.NewCredential{UserID: u.ID, Type: identity.OIDC, Identifier: "o@example.com", OIDCIssuer: iss, OIDCSubject: sub}
	}
	create := func(in identity.NewCredential) func() error {
		return func() error { _, err := e.svc.CreateCredential(ctx, in); return err }
	}
	verify := func(typ identity.CredentialType, identifier string) func() error {
		return func() error {
			_, err := e.svc.VerifyCredential(ctx, identity.VerifyInput{Type: typ, Identifier: identifier, Password: "pw",
				Origin: "https://example.com", Address: "192.0.2.80"})
			return err
		}
	}
	pat := func(name string, scope ...string) func() error {
		return func() error {
			_, _, err := e.svc.CreatePAT(ctx, identity.NewPAT{UserID: u.ID, Name: name, Scope: scope})
			return err
		}
	}
	const nul, notUTF8 = "a\x00b", "a\xffb"
	cases := []struct {
		name string
		call func() error
		want error
	}{
		{"CreateUser display_name", func() error { _, err := e.svc.CreateUser(ctx, ptr(nul)); return err }, identity.ErrInvalidInput},
		{"CreateUser display_name not UTF-8", func() error { _, err := e.svc.CreateUser(ctx, ptr(notUTF8)); return err }, identity.ErrInvalidInput},
		{"UpdateUser display_name", func() error {
			_, err := e.svc.UpdateUser(ctx, u.ID, identity.UserPatch{DisplayName: ptr(ptr(nul))})
			return err
		}, identity.ErrInvalidInput},
		{"ListUsers query", func() error { _, err := e.svc.ListUsers(ctx, "", nul, "", 0); return err }, identity.ErrInvalidInput},
		{"ListUsers query not UTF-8", func() error { _, err := e.svc.ListUsers(ctx, "", notUTF8, "", 0); return err }, identity.ErrInvalidInput},
		{"password identifier", create(password("x\x00@example.com")), identity.ErrInvalidInput},
		{"password identifier not UTF-8", create(password(notUTF8)), identity.ErrInvalidInput},
		{"passkey rp_id", create(passkey("example.com\x00")), identity.ErrInvalidInput},
		{"oidc identifier", create(identity.NewCredential{UserID: u.ID, Type: identity.OIDC, Identifier: nul,
			OIDCIssuer: "https://idp.example.com", OIDCSubject: "s"}), identity.ErrInvalidInput},
		{"oidc issuer", create(oidc("https://idp.example.com/\x00", "s")), identity.ErrInvalidInput},
		{"oidc issuer not UTF-8", create(oidc("https://idp.example.com/\xff", "s")), identity.ErrInvalidInput},
		{"oidc subject", create(oidc("https://idp.example.com", nul)), identity.ErrInvalidInput},
		{"oidc subject not UTF-8", create(oidc("https://idp.example.com", notUTF8)), identity.ErrInvalidInput},
		{"RotateCredential oidc subject", func() error {
			_, err := e.svc.RotateCredential(ctx, oidcCred.ID, identity.NewCredential{OIDCIssuer: "https://idp.example.com", OIDCSubject: nul})
			return err
		}, identity.ErrInvalidInput},
		{"BootstrapAdmin identifier", func() error { _, _, err := e.svc.BootstrapAdmin(ctx, "root\x00", "pw"); return err }, identity.ErrInvalidInput},
		{"VerifyCredential password identifier", verify(identity.Password, "text@example.com\x00"), identity.ErrInvalidInput},
		{"VerifyCredential passkey identifier", verify(identity.Passkey, nul), identity.ErrInvalidInput},
		{"VerifyCredential oidc identifier", verify(identity.OIDC, notUTF8), identity.ErrInvalidInput},
		{"NewSignInChallenge rp_id", func() error { _, err := e.svc.NewSignInChallenge(ctx, "example.com\x00"); return err }, identity.ErrInvalidInput},
		{"NewWebAuthnChallenge rp_id", func() error { _, err := e.svc.NewWebAuthnChallenge(ctx, u.ID, "\x00"); return err }, identity.ErrInvalidInput},
		{"EnrollFactor totp label", func() error {
			_, err := e.svc.EnrollFactor(ctx, u.ID, identity.EnrollInput{Type: identity.TOTP, Identifier: "phone\x00"})
			return err
		}, identity.ErrInvalidInput},
		{"EnrollFactor totp label not UTF-8", func() error {
			_, err := e.svc.EnrollFactor(ctx, u.ID, identity.EnrollInput{Type: identity.TOTP, Identifier: notUTF8})
			return err
		}, identity.ErrInvalidInput},
		{"EnrollFactor webauthn rp_id", func() error {
			_, err := e.svc.EnrollFactor(ctx, u.ID, identity.EnrollInput{Type: identity.WebAuthn, RPID: "example.com\x00"})
			return err
		}, identity.ErrInvalidInput},
		{"CreatePAT name", pat("ci\x00", "check"), identity.ErrPATName},
		{"CreatePAT name not UTF-8", pat(notUTF8, "check"), identity.ErrPATName},
		{"CreatePAT scope", pat("ci", "check", "tuples:\x00read"), identity.ErrPATScope},
	}
	for _, tc := range cases {
		err := tc.call()
		if !errors.Is(err, tc.want) || tuples.KindOf(err) != tuples.Invalid {
			t.Errorf("%s: err = %v, want %v (kind Invalid)", tc.name, err, tc.want)
		}
	}
	// Nothing was stored or changed, and the user's password sign-in from
	// the address the refusals came from is not throttled by them.
	if got := must[identity.User](t, "GetUser")(e.svc.GetUser(ctx, u.ID)); got.DisplayName != nil {
		t.Errorf("display name = %q after refused updates, want unset", *got.DisplayName)
	}
	if fs := must[[]identity.Factor](t, "ListFactors")(e.svc.ListFactors(ctx, u.ID)); len(fs) != 0 {
		t.Errorf("refused enrolments left %d factors", len(fs))
	}
	if p := must[identity.Page[identity.PAT]](t, "ListPATs")(e.svc.ListPATs(ctx, u.ID, "", "", 0)); len(p.Items) != 0 {
		t.Errorf("refused PATs left %d tokens", len(p.Items))
	}
	for range 6 {
		verify(identity.Password, "text@example.com\x00")()
	}
	if _, err := e.svc.VerifyCredential(ctx, identity.VerifyInput{Type: identity.Password, Identifier: "text@example.com",
		Password: "pw", Address: "192.0.2.80"}); err != nil {
		t.Errorf("sign-in after refused verifications: %v", err)
	}
}
