package webauthn

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestVerifyAssertion(t *testing.T) {
	tests := []struct {
		name   string
		spec   func(*assertionSpec)
		opts   func(*AssertionOptions)
		tamper func(*Assertion)
		want   Reason // "" means success
		count  uint32
	}{
		{name: "valid", count: 6},
		{name: "wrong type", spec: func(s *assertionSpec) { s.typ = "webauthn.create" }, want: TypeMismatch},
		{name: "empty type", spec: func(s *assertionSpec) { s.typ = "" }, want: TypeMismatch},
		{name: "wrong challenge", spec: func(s *assertionSpec) { s.challenge = []byte("another challenge") }, want: ChallengeMismatch},
		{name: "challenge prefix", spec: func(s *assertionSpec) { s.challenge = testChallenge[:len(testChallenge)-1] }, want: ChallengeMismatch},
		{name: "no expected challenge", opts: func(o *AssertionOptions) { o.Challenge = nil }, want: ChallengeMismatch},
		{name: "wrong origin", spec: func(s *assertionSpec) { s.origin = "https://evil.example" }, want: OriginMismatch},
		{name: "origin with slash", spec: func(s *assertionSpec) { s.origin = testOrigin + "/" }, want: OriginMismatch},
		{name: "origin other scheme", spec: func(s *assertionSpec) { s.origin = "http://example.com" }, want: OriginMismatch},
		{name: "no expected origin", opts: func(o *AssertionOptions) { o.Origin = "" }, want: OriginMismatch},
		{name: "wrong rp id", spec: func(s *assertionSpec) { s.rpID = "evil.example" }, want: RPIDMismatch},
		{name: "stored rp id differs", opts: func(o *AssertionOptions) { o.RPID = "login.example.com" }, want: RPIDMismatch},
		{name: "no UP", spec: func(s *assertionSpec) { s.flags = flagUV }, want: UserNotPresent},
		{name: "no UP not required", spec: func(s *assertionSpec) { s.flags = flagUV }, opts: func(o *AssertionOptions) { o.AllowUserNotPresent = true }, count: 6},
		{name: "no UV", spec: func(s *assertionSpec) { s.flags = flagUP }, want: UserNotVerified},
		{name: "no UV not required", spec: func(s *assertionSpec) { s.flags = flagUP }, opts: func(o *AssertionOptions) { o.AllowUserNotVerified = true }, count: 6},
		{name: "no flags nothing required", spec: func(s *assertionSpec) { s.flags = 0 }, opts: func(o *AssertionOptions) { o.AllowUserNotVerified, o.AllowUserNotPresent = true, true }, count: 6},
		{name: "UP checked before UV", spec: func(s *assertionSpec) { s.flags = 0 }, want: UserNotPresent},
		{name: "counter equal", spec: func(s *assertionSpec) { s.count = 5 }, want: CounterRegression},
		{name: "counter lower", spec: func(s *assertionSpec) { s.count = 4 }, want: CounterRegression},
		{name: "counter reset to zero", spec: func(s *assertionSpec) { s.count = 0 }, want: CounterRegression},
		{name: "counter both zero", spec: func(s *assertionSpec) { s.count = 0 }, opts: func(o *AssertionOptions) { o.StoredSignCount = 0 }, count: 0},
		{name: "counter starts", spec: func(s *assertionSpec) { s.count = 1 }, opts: func(o *AssertionOptions) { o.StoredSignCount = 0 }, count: 1},
		{name: "counter max", spec: func(s *assertionSpec) { s.count = 1<<32 - 1 }, count: 1<<32 - 1},
		{name: "tampered signature", tamper: func(a *Assertion) { a.Signature[len(a.Signature)-1] ^= 0x01 }, want: SignatureInvalid},
		{name: "truncated signature", tamper: func(a *Assertion) { a.Signature = a.Signature[:len(a.Signature)-1] }, want: SignatureInvalid},
		{name: "empty signature", tamper: func(a *Assertion) { a.Signature = nil }, want: SignatureInvalid},
		{name: "tampered counter", tamper: func(a *Assertion) { a.AuthenticatorData[36]++ }, want: SignatureInvalid},
		{name: "tampered clientData", tamper: func(a *Assertion) { a.ClientDataJSON = append(a.ClientDataJSON, ' ') }, want: SignatureInvalid},
		{name: "appended authData", tamper: func(a *Assertion) { a.AuthenticatorData = append(a.AuthenticatorData, 0) }, want: SignatureInvalid},
		{name: "signature before counter", spec: func(s *assertionSpec) { s.count = 1 }, tamper: func(a *Assertion) { a.Signature[len(a.Signature)-1] ^= 0x01 }, want: SignatureInvalid},
		{name: "origin before signature", spec: func(s *assertionSpec) { s.origin = "https://evil.example" }, tamper: func(a *Assertion) { a.Signature = nil }, want: OriginMismatch},
		{name: "short authData", tamper: func(a *Assertion) { a.AuthenticatorData = a.AuthenticatorData[:36] }, want: Malformed},
		{name: "no authData", tamper: func(a *Assertion) { a.AuthenticatorData = nil }, want: Malformed},
		{name: "huge authData", tamper: func(a *Assertion) { a.AuthenticatorData = make([]byte, 64<<10+1) }, want: Malformed},
		{name: "huge signature", tamper: func(a *Assertion) { a.Signature = make([]byte, 2<<10+1) }, want: Malformed},
		{name: "no clientData", tamper: func(a *Assertion) { a.ClientDataJSON = nil }, want: Malformed},
		{name: "huge clientData", tamper: func(a *Assertion) {
			a.ClientDataJSON = []byte(`{"type":"webauthn.get","x":"` + strings.Repeat("a", 64<<10) + `"}`)
		}, want: Malformed},
		{name: "no stored key", opts: func(o *AssertionOptions) { o.PublicKey = nil }, want: Malformed},
		{name: "garbage stored key", opts: func(o *AssertionOptions) { o.PublicKey = []byte{0xa1, 0x01} }, want: Malformed},
	}
	for _, k := range allKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					s := goodAssertion(k)
					if tc.spec != nil {
						tc.spec(&s)
					}
					a := s.build()
					if tc.tamper != nil {
						tc.tamper(&a)
					}
					o := goodOptions(k)
					if tc.opts != nil {
						tc.opts(&o)
					}
					got, err := VerifyAssertion(a, o)
					if r := reasonOf(t, err); r != tc.want {
						t.Fatalf("VerifyAssertion = %d, %v; want reason %q", got, err, tc.want)
					}
					if err == nil && got != tc.count {
						t.Fatalf("VerifyAssertion = %d, want %d", got, tc.count)
					}
					if err != nil && got != 0 {
						t.Fatalf("VerifyAssertion failed but returned count %d", got)
					}
				})
			}
		})
	}
}

// TestAlgorithmSubstitution checks ADR 0010: the registered key decides the
// algorithm, so a signature by a key of another algorithm never verifies.
func TestAlgorithmSubstitution(t *testing.T) {
	keys := allKeys(t)
	for _, signer := range keys {
		for _, registered := range keys {
			if signer.alg == registered.alg {
				continue
			}
			t.Run(signer.name+" signature, "+registered.name+" key", func(t *testing.T) {
				a := goodAssertion(signer).build()
				_, err := VerifyAssertion(a, goodOptions(registered))
				if r := reasonOf(t, err); r != SignatureInvalid {
					t.Fatalf("VerifyAssertion = %v, want %s", err, SignatureInvalid)
				}
			})
		}
	}
	t.Run("another ES256 key", func(t *testing.T) {
		a := goodAssertion(newES256Key(t)).build()
		_, err := VerifyAssertion(a, goodOptions(newES256Key(t)))
		if r := reasonOf(t, err); r != SignatureInvalid {
			t.Fatalf("VerifyAssertion = %v, want %s", err, SignatureInvalid)
		}
	})
}

func TestVerifyAssertionUnsupportedKeys(t *testing.T) {
	small := newRS256Key(t, 1024)
	tests := []struct {
		name string
		key  testKey
		cose []byte
	}{
		{"RSA-1024", small, small.cose},
		{"ES384", newES256Key(t), mustCBOR(t, map[int]any{1: 2, 3: -35, -1: 2, -2: make([]byte, 48), -3: make([]byte, 48)})},
		{"Ed448", newEdDSAKey(t), mustCBOR(t, map[int]any{1: 1, 3: -8, -1: 7, -2: make([]byte, 57)})},
		{"PS256", newRS256Key(t, 2048), mustCBOR(t, map[int]any{1: 3, 3: -37, -1: rsaKey(t, 2048).N.Bytes(), -2: []byte{1, 0, 1}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := goodAssertion(tc.key).build()
			o := goodOptions(tc.key)
			o.PublicKey = tc.cose
			_, err := VerifyAssertion(a, o)
			if r := reasonOf(t, err); r != UnsupportedKey {
				t.Fatalf("VerifyAssertion = %v, want %s", err, UnsupportedKey)
			}
		})
	}
}

func TestClientDataParsing(t *testing.T) {
	k := newEdDSAKey(t)
	enc := base64.RawURLEncoding.EncodeToString(testChallenge)
	tests := []struct {
		name string
		json string
		want Reason
	}{
		{"browser shape", `{"type":"webauthn.get","challenge":"` + enc + `","origin":"https://example.com","crossOrigin":false}`, ""},
		{"other member order and extras", ` {"origin":"https://example.com","other_keys_can_be_added_here":"do not compare clientDataJSON against a template","challenge":"` + enc + `","type":"webauthn.get","tokenBinding":{"status":"present"}} `, ""},
		{"escaped strings", `{"type":"webauthn\u002eget","challenge":"` + enc + `","origin":"https:\/\/example.com"}`, ""},
		{"padded challenge", `{"type":"webauthn.get","challenge":"` + enc + `=","origin":"https://example.com"}`, ChallengeMismatch},
		{"standard base64 challenge", `{"type":"webauthn.get","challenge":"` + base64.StdEncoding.EncodeToString(testChallenge) + `","origin":"https://example.com"}`, ChallengeMismatch},
		{"challenge with newline", `{"type":"webauthn.get","challenge":"` + enc[:4] + `\n` + enc[4:] + `","origin":"https://example.com"}`, ChallengeMismatch},
		{"not JSON", `type=webauthn.get`, Malformed},
		{"array", `[{"type":"webauthn.get"}]`, Malformed},
		{"string", `"webauthn.get"`, Malformed},
		{"truncated", `{"type":"webauthn.get","challenge":"` + enc + `","origin":"https://example.com"`, Malformed},
		{"trailing object", `{"type":"webauthn.get","challenge":"` + enc + `","origin":"https://example.com"}{}`, Malformed},
		{"trailing garbage", `{"type":"webauthn.get","challenge":"` + enc + `","origin":"https://example.com"}x`, Malformed},
		{"trailing comma", `{"type":"webauthn.get","challenge":"` + enc + `","origin":"https://example.com",}`, Malformed},
		{"no type", `{"challenge":"` + enc + `","origin":"https://example.com"}`, Malformed},
		{"no challenge", `{"type":"webauthn.get","origin":"https://example.com"}`, Malformed},
		{"no origin", `{"type":"webauthn.get","challenge":"` + enc + `"}`, Malformed},
		{"capitalised type", `{"Type":"webauthn.get","challenge":"` + enc + `","origin":"https://example.com"}`, Malformed},
		{"duplicate type", `{"type":"webauthn.get","type":"webauthn.create","challenge":"` + enc + `","origin":"https://example.com"}`, Malformed},
		{"duplicate origin", `{"type":"webauthn.get","challenge":"` + enc + `","origin":"https://example.com","origin":"https://example.com"}`, Malformed},
		{"numeric type", `{"type":1,"challenge":"` + enc + `","origin":"https://example.com"}`, Malformed},
		{"null challenge", `{"type":"webauthn.get","challenge":null,"origin":"https://example.com"}`, Malformed},
		{"array origin", `{"type":"webauthn.get","challenge":"` + enc + `","origin":["https://example.com"]}`, Malformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ad := makeAuthData(testRPID, flagUP|flagUV, 6)
			cd := []byte(tc.json)
			a := Assertion{AuthenticatorData: ad, ClientDataJSON: cd, Signature: k.sign(signedData(ad, cd))}
			_, err := VerifyAssertion(a, goodOptions(k))
			if r := reasonOf(t, err); r != tc.want {
				t.Fatalf("VerifyAssertion(%s) = %v, want reason %q", tc.json, err, tc.want)
			}
		})
	}
}

// TestVerifyAssertionDoesNotWrite checks that the inputs are left as they
// were, including spare capacity past the end of authenticator data (a
// careless append of the clientData hash would write there).
func TestVerifyAssertionDoesNotWrite(t *testing.T) {
	k := newES256Key(t)
	a := goodAssertion(k).build()
	buf := make([]byte, len(a.AuthenticatorData), len(a.AuthenticatorData)+64)
	copy(buf, a.AuthenticatorData)
	for i := len(buf); i < cap(buf); i++ {
		buf[:cap(buf)][i] = 0xee
	}
	a.AuthenticatorData = buf
	before := bytes.Clone(buf[:cap(buf)])
	cd, sig := bytes.Clone(a.ClientDataJSON), bytes.Clone(a.Signature)
	if _, err := VerifyAssertion(a, goodOptions(k)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:cap(buf)], before) || !bytes.Equal(cd, a.ClientDataJSON) || !bytes.Equal(sig, a.Signature) {
		t.Fatal("VerifyAssertion modified its input")
	}
}

func TestFailure(t *testing.T) {
	k := newEdDSAKey(t)
	s := goodAssertion(k)
	s.count = 5
	_, err := VerifyAssertion(s.build(), goodOptions(k))
	if !errors.Is(err, &Failure{Reason: CounterRegression}) {
		t.Fatalf("errors.Is(%v, counter_regression) = false", err)
	}
	if errors.Is(err, &Failure{Reason: SignatureInvalid}) {
		t.Fatalf("errors.Is(%v, signature_invalid) = true", err)
	}
	var f *Failure
	if !errors.As(err, &f) || f.Code() != "webauthn.counter_regression" {
		t.Fatalf("Code() of %v is not webauthn.counter_regression", err)
	}
	if got, want := err.Error(), "webauthn: counter_regression: signature counter 5 is not greater than the stored 5"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if got := (&Failure{Reason: Malformed}).Error(); got != "webauthn: malformed" {
		t.Fatalf("Error() = %q, want %q", got, "webauthn: malformed")
	}
}

func TestNewChallenge(t *testing.T) {
	a, b := NewChallenge(), NewChallenge()
	if len(a) != 32 || len(b) != 32 {
		t.Fatalf("NewChallenge lengths %d, %d; want 32", len(a), len(b))
	}
	if bytes.Equal(a, b) {
		t.Fatal("two NewChallenge calls returned the same bytes")
	}
}
