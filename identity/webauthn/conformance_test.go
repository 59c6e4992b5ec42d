package webauthn

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// conformanceDir is the vendored spec fixture corpus, relative to this
// package's directory.
var conformanceDir = filepath.Join("..", "..", "testdata", "conformance", "fixtures", "identity", "mfa")

var assertionFixtures = []string{
	"webauthn-assertion.json",
	"webauthn-counter-decrease-rejected.json",
	"webauthn-assertion-algorithms.json",
}

// fixtureFile is one webauthn_verify_assertion fixture file.
type fixtureFile struct {
	Schema           string        `json:"$schema"`
	SpecVersion      string        `json:"spec_version"`
	Capability       string        `json:"capability"`
	Operation        string        `json:"operation"`
	ConformanceLevel string        `json:"conformance_level"`
	SpecSection      string        `json:"spec_section"`
	Description      string        `json:"description"`
	Shared           fixtureInput  `json:"shared"`
	Tests            []fixtureCase `json:"tests"`
}

type fixtureCase struct {
	ID          string       `json:"id"`
	Description string       `json:"description"`
	Input       fixtureInput `json:"input"`
	Expected    struct {
		Result fixtureResult `json:"result"`
	} `json:"expected"`
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
	flag := func(b *bool) bool { return b == nil || *b }
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
			PublicKey:           hexField("cose_public_key_hex", in.COSEPublicKeyHex),
			RPID:                str("stored_rp_id", in.StoredRPID),
			Origin:              str("expected_origin", in.ExpectedOrigin),
			Challenge:           hexField("expected_challenge_hex", in.ExpectedChallengeHex),
			StoredSignCount:     stored,
			RequireUserVerified: flag(in.RequireUserVerified),
			RequireUserPresent:  flag(in.RequireUserPresent),
		}
}

func loadFixture(t testing.TB, name string) fixtureFile {
	t.Helper()
	f, err := os.Open(filepath.Join(conformanceDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields() // a new input field must not be silently ignored
	var ff fixtureFile
	if err := dec.Decode(&ff); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if ff.Operation != "webauthn_verify_assertion" {
		t.Fatalf("%s: operation %q, want webauthn_verify_assertion", name, ff.Operation)
	}
	if len(ff.Tests) == 0 {
		t.Fatalf("%s: no tests", name)
	}
	return ff
}

func TestConformance(t *testing.T) {
	total := 0
	for _, name := range assertionFixtures {
		ff := loadFixture(t, name)
		total += len(ff.Tests)
		t.Run(name, func(t *testing.T) {
			for _, tc := range ff.Tests {
				t.Run(tc.ID, func(t *testing.T) {
					a, o := merge(ff.Shared, tc.Input).toCall(t)
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
