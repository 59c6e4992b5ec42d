package webauthn

import (
	"encoding/hex"
	"errors"
	"github.com/flametrench/server/tuples/conformancetest"
	"testing"
)

var assertionFixtures = []string{
	"webauthn-assertion.json",
	"webauthn-counter-decrease-rejected.json",
	"webauthn-assertion-algorithms.json",
}

// fixtureInput holds the inputs; every field is a pointer so that a test's
// input can be merged over the file's shared object field by field.
type fixtureInput struct {
	COSEPublicKeyHex     *string `json:"cose_public_key_hex"`
	AuthenticatorDataHex *string `json:"authenticator_data_hex"`
	ClientDataJSONHex    *string `json:"client_data_json_hex"`
	SignatureHex         *string `json:"signature_hex"`
	ExpectedChallengeHex *string `json:"expected_challenge_hex"`
	StoredRPID           *string `json:"stored_rp_id"`
	ExpectedOrigin       *string `json:"expected_origin"`
	StoredSignCount      *uint32 `json:"stored_sign_count"`
	RequireUserVerified  *bool   `json:"require_user_verified"`
	RequireUserPresent   *bool   `json:"require_user_present"`
}

type fixtureResult struct {
	OK           bool    `json:"ok"`
	NewSignCount *uint32 `json:"new_sign_count"`
	Reason       Reason  `json:"reason"`
}

// merge returns shared overlaid with the fields test sets.
func merge(shared, test fixtureInput) fixtureInput {
	m := shared
	set := func(dst **string, src *string) {
		if src != nil {
			*dst = src
		}
	}
	set(&m.COSEPublicKeyHex, test.COSEPublicKeyHex)
	set(&m.AuthenticatorDataHex, test.AuthenticatorDataHex)
	set(&m.ClientDataJSONHex, test.ClientDataJSONHex)
	set(&m.SignatureHex, test.SignatureHex)
	set(&m.ExpectedChallengeHex, test.ExpectedChallengeHex)
	set(&m.StoredRPID, test.StoredRPID)
	set(&m.ExpectedOrigin, test.ExpectedOrigin)
	if test.StoredSignCount != nil {
		m.StoredSignCount = test.StoredSignCount
	}
	if test.RequireUserVerified != nil {
		m.RequireUserVerified = test.RequireUserVerified
	}
	if test.RequireUserPresent != nil {
		m.RequireUserPresent = test.RequireUserPresent
	}
	return m
}

// toCall turns a merged input into VerifyAssertion's arguments. Absent
// require_* flags default to true, the spec's default.
func (in fixtureInput) toCall(t testing.TB) (Assertion, AssertionOptions) {
	t.Helper()
	hexField := func(name string, s *string) []byte {
		t.Helper()
		if s == nil {
			t.Fatalf("fixture input has no %s", name)
		}
		b, err := hex.DecodeString(*s)
		if err != nil {
			t.Fatalf("fixture %s: %v", name, err)
		}
		return b
	}
	str := func(name string, s *string) string {
		t.Helper()
		if s == nil {
			t.Fatalf("fixture input has no %s", name)
		}
		return *s
	}
	relaxed := func(b *bool) bool { return b != nil && !*b }
	var stored uint32
	if in.StoredSignCount == nil {
		t.Fatalf("fixture input has no stored_sign_count")
	}
	stored = *in.StoredSignCount
	return Assertion{
			AuthenticatorData: hexField("authenticator_data_hex", in.AuthenticatorDataHex),
			ClientDataJSON:    hexField("client_data_json_hex", in.ClientDataJSONHex),
			Signature:         hexField("signature_hex", in.SignatureHex),
		}, AssertionOptions{
			PublicKey:            hexField("cose_public_key_hex", in.COSEPublicKeyHex),
			RPID:                 str("stored_rp_id", in.StoredRPID),
			Origin:               str("expected_origin", in.ExpectedOrigin),
			Challenge:            hexField("expected_challenge_hex", in.ExpectedChallengeHex),
			StoredSignCount:      stored,
			AllowUserNotVerified: relaxed(in.RequireUserVerified),
			AllowUserNotPresent:  relaxed(in.RequireUserPresent),
		}
}

// fixtureFile is one webauthn_verify_assertion fixture file.
type fixtureFile = conformancetest.File[fixtureInput, conformancetest.Result[fixtureResult]]

// loadFixture reads one webauthn_verify_assertion file of identity/mfa.
func loadFixture(t testing.TB, name string) fixtureFile {
	return conformancetest.Load[fixtureInput, conformancetest.Result[fixtureResult]](t, "identity/mfa/"+name, "webauthn_verify_assertion")
}

// sharedInput is the file's shared input, or none.
func sharedInput(ff fixtureFile) fixtureInput {
	if ff.Shared == nil {
		return fixtureInput{}
	}
	return *ff.Shared
}

func TestConformance(t *testing.T) {
	total := 0
	for _, name := range assertionFixtures {
		ff := loadFixture(t, name)
		total += len(ff.Tests)
		t.Run(name, func(t *testing.T) {
			for _, tc := range ff.Tests {
				t.Run(tc.ID, func(t *testing.T) {
					a, o := merge(sharedInput(ff), tc.Input).toCall(t)
					got, err := VerifyAssertion(a, o)
					want := tc.Expected.Result
					if want.OK {
						if want.NewSignCount == nil {
							t.Fatal("fixture expects ok without new_sign_count")
						}
						if err != nil || got != *want.NewSignCount {
							t.Fatalf("VerifyAssertion = %d, %v; want %d, nil", got, err, *want.NewSignCount)
						}
						return
					}
					var f *Failure
					if !errors.As(err, &f) {
						t.Fatalf("VerifyAssertion = %d, %v; want failure %s", got, err, want.Reason)
					}
					if f.Reason != want.Reason {
						t.Fatalf("VerifyAssertion failed with %v; want reason %s", err, want.Reason)
					}
				})
			}
		})
	}
	// SPEC-MAP §3: 7 + 4 + 6 assertion vectors.
	if total != 17 {
		t.Errorf("fixture files hold %d tests, want 17", total)
	}
}
