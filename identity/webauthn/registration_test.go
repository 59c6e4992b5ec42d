package webauthn

import (
	"bytes"
	"strings"
	"testing"
)

func TestVerifyRegistration(t *testing.T) {
	small := newRS256Key(t, 1024)
	otherKeys := map[int64]testKey{AlgES256: newES256Key(t), AlgRS256: newRS256Key(t, 3072), AlgEdDSA: newEdDSAKey(t)}
	stmtWith := func(f func(s registrationSpec, st map[string]any)) func(registrationSpec, []byte, []byte) map[string]any {
		return func(s registrationSpec, ad, cd []byte) map[string]any {
			st := packedSelf(s, ad, cd)
			f(s, st)
			return st
		}
	}
	tests := []struct {
		name   string
		only   string // run for this fmt only; "" for both
		spec   func(*registrationSpec)
		opts   func(*RegistrationOptions)
		tamper func(*Attestation)
		want   Reason // "" means success
	}{
		{name: "valid"},
		{name: "UV not required", spec: func(s *registrationSpec) { s.flags = flagUP | flagAT }, opts: func(o *RegistrationOptions) { o.AllowUserNotVerified = true }},
		{name: "with extensions", spec: func(s *registrationSpec) {
			s.flags |= flagED
			s.afterKey = mustCBOR(t, map[string]any{"credProtect": 2})
		}},
		{name: "max credential ID", spec: func(s *registrationSpec) { s.credID = bytes.Repeat([]byte{7}, 1023) }},
		{name: "nonzero counter", spec: func(s *registrationSpec) { s.count = 42 }},
		{name: "extra attestation object member", spec: func(s *registrationSpec) { s.extra = map[string]any{"epAtt": true} }},

		{name: "wrong type", spec: func(s *registrationSpec) { s.typ = "webauthn.get" }, want: TypeMismatch},
		{name: "wrong challenge", spec: func(s *registrationSpec) { s.challenge = []byte("stale challenge") }, want: ChallengeMismatch},
		{name: "no expected challenge", opts: func(o *RegistrationOptions) { o.Challenge = nil }, want: ChallengeMismatch},
		{name: "wrong origin", spec: func(s *registrationSpec) { s.origin = "https://evil.example" }, want: OriginMismatch},
		{name: "wrong rp id", spec: func(s *registrationSpec) { s.rpID = "evil.example" }, want: RPIDMismatch},
		{name: "no UP", spec: func(s *registrationSpec) { s.flags = flagUV | flagAT }, want: UserNotPresent},
		{name: "no UP with UV not required", spec: func(s *registrationSpec) { s.flags = flagAT }, opts: func(o *RegistrationOptions) { o.AllowUserNotVerified = true }, want: UserNotPresent},
		{name: "no UV", spec: func(s *registrationSpec) { s.flags = flagUP | flagAT }, want: UserNotVerified},
		{name: "no AT", spec: func(s *registrationSpec) { s.flags = flagUP | flagUV }, want: Malformed},
		{name: "empty credential ID", spec: func(s *registrationSpec) { s.credID = nil }, want: Malformed},
		{name: "credential ID too long", spec: func(s *registrationSpec) { s.credID = make([]byte, 1024) }, want: Malformed},
		{name: "junk after key", spec: func(s *registrationSpec) { s.afterKey = []byte{0x00} }, want: Malformed},
		{name: "extensions without ED", spec: func(s *registrationSpec) { s.afterKey = mustCBOR(t, map[string]any{"credProtect": 2}) }, want: Malformed},
		{name: "ED without extensions", spec: func(s *registrationSpec) { s.flags |= flagED }, want: Malformed},
		{name: "ED with non-map extensions", spec: func(s *registrationSpec) { s.flags |= flagED; s.afterKey = mustCBOR(t, []any{1}) }, want: Malformed},
		{name: "ED with junk after extensions", spec: func(s *registrationSpec) {
			s.flags |= flagED
			s.afterKey = append(mustCBOR(t, map[string]any{"credProtect": 2}), 0)
		}, want: Malformed},
		{name: "no key", spec: func(s *registrationSpec) { s.keyBytes = []byte{} }, want: Malformed},
		{name: "truncated key", spec: func(s *registrationSpec) { s.keyBytes = s.key.cose[:len(s.key.cose)-1] }, want: Malformed},
		{name: "RSA-1024 key", spec: func(s *registrationSpec) { s.key = small }, want: UnsupportedKey},
		{name: "unknown alg key", spec: func(s *registrationSpec) {
			s.keyBytes = mustCBOR(t, map[int]any{1: 2, 3: -35, -1: 2, -2: make([]byte, 48), -3: make([]byte, 48)})
		}, want: UnsupportedKey},
		{name: "unsupported fmt", spec: func(s *registrationSpec) { s.fmt = "fido-u2f" }, want: Malformed},
		{name: "empty fmt", spec: func(s *registrationSpec) { s.fmt = "" }, want: Malformed},
		{name: "huge clientData", tamper: func(a *Attestation) {
			a.ClientDataJSON = []byte(`{"type":"webauthn.create","x":"` + strings.Repeat("a", 64<<10) + `"}`)
		}, want: Malformed},
		{name: "huge attestation object", tamper: func(a *Attestation) { a.AttestationObject = append(a.AttestationObject, make([]byte, 64<<10)...) }, want: Malformed},
		{name: "trailing byte after attestation object", tamper: func(a *Attestation) { a.AttestationObject = append(a.AttestationObject, 0) }, want: Malformed},
		{name: "truncated attestation object", tamper: func(a *Attestation) { a.AttestationObject = a.AttestationObject[:len(a.AttestationObject)-1] }, want: Malformed},
		{name: "empty attestation object", tamper: func(a *Attestation) { a.AttestationObject = nil }, want: Malformed},
		{name: "attestation object not a map", tamper: func(a *Attestation) { a.AttestationObject = mustCBOR(t, []any{"none", map[string]any{}, []byte{}}) }, want: Malformed},

		{name: "none with statement", only: "none", spec: func(s *registrationSpec) {
			s.stmt = func(s registrationSpec, ad, cd []byte) map[string]any { return map[string]any{"alg": s.key.alg} }
		}, want: Malformed},
		{name: "tampered signature", only: "packed", spec: func(s *registrationSpec) {
			s.stmt = stmtWith(func(_ registrationSpec, st map[string]any) { sig := st["sig"].([]byte); sig[len(sig)-1] ^= 1 })
		}, want: SignatureInvalid},
		{name: "signature by another key", only: "packed", spec: func(s *registrationSpec) {
			s.stmt = stmtWith(func(s registrationSpec, st map[string]any) { st["sig"] = otherKeys[s.key.alg].sign([]byte("x")) })
		}, want: SignatureInvalid},
		{name: "signature over other clientData", only: "packed", spec: func(s *registrationSpec) {
			s.stmt = func(s registrationSpec, ad, cd []byte) map[string]any {
				return packedSelf(s, ad, append(bytes.Clone(cd), ' '))
			}
		}, want: SignatureInvalid},
		{name: "empty signature", only: "packed", spec: func(s *registrationSpec) {
			s.stmt = stmtWith(func(_ registrationSpec, st map[string]any) { st["sig"] = []byte{} })
		}, want: SignatureInvalid},
		{name: "alg mismatch", only: "packed", spec: func(s *registrationSpec) {
			s.stmt = stmtWith(func(s registrationSpec, st map[string]any) {
				st["alg"] = AlgES256
				if s.key.alg == AlgES256 {
					st["alg"] = AlgEdDSA
				}
			})
		}, want: Malformed},
		{name: "x5c", only: "packed", spec: func(s *registrationSpec) {
			s.stmt = stmtWith(func(_ registrationSpec, st map[string]any) { st["x5c"] = []any{[]byte("certificate")} })
		}, want: Malformed},
		{name: "ecdaaKeyId", only: "packed", spec: func(s *registrationSpec) {
			s.stmt = stmtWith(func(_ registrationSpec, st map[string]any) { st["ecdaaKeyId"] = []byte("id") })
		}, want: Malformed},
		{name: "unknown statement member", only: "packed", spec: func(s *registrationSpec) {
			s.stmt = stmtWith(func(_ registrationSpec, st map[string]any) { st["ver"] = "2.0" })
		}, want: Malformed},
		{name: "no alg", only: "packed", spec: func(s *registrationSpec) {
			s.stmt = stmtWith(func(_ registrationSpec, st map[string]any) { delete(st, "alg") })
		}, want: Malformed},
		{name: "no sig", only: "packed", spec: func(s *registrationSpec) {
			s.stmt = stmtWith(func(_ registrationSpec, st map[string]any) { delete(st, "sig") })
		}, want: Malformed},
		{name: "text sig", only: "packed", spec: func(s *registrationSpec) {
			s.stmt = stmtWith(func(_ registrationSpec, st map[string]any) { st["sig"] = string(st["sig"].([]byte)) })
		}, want: Malformed},
		{name: "huge sig", only: "packed", spec: func(s *registrationSpec) {
			s.stmt = stmtWith(func(_ registrationSpec, st map[string]any) { st["sig"] = make([]byte, 2<<10+1) })
		}, want: Malformed},
	}
	for _, k := range allKeys(t) {
		for _, format := range []string{"none", "packed"} {
			t.Run(k.name+"/"+format, func(t *testing.T) {
				for _, tc := range tests {
					if tc.only != "" && tc.only != format {
						continue
					}
					t.Run(tc.name, func(t *testing.T) {
						s := goodRegistration(k, format)
						if tc.spec != nil {
							tc.spec(&s)
						}
						a := s.build(t)
						if tc.tamper != nil {
							tc.tamper(&a)
						}
						o := goodRegistrationOptions()
						if tc.opts != nil {
							tc.opts(&o)
						}
						c, err := VerifyRegistration(a, o)
						if r := reasonOf(t, err); r != tc.want {
							t.Fatalf("VerifyRegistration = %v, want reason %q", err, tc.want)
						}
						if err != nil {
							if c.ID != nil || c.PublicKey != nil {
								t.Fatal("VerifyRegistration returned a credential with an error")
							}
							return
						}
						if !bytes.Equal(c.ID, s.credID) || !bytes.Equal(c.PublicKey, s.key.cose) ||
							c.Alg != s.key.alg || c.SignCount != s.count || c.AAGUID != s.aaguid {
							t.Fatalf("VerifyRegistration = %+v, want ID %x, key %x, alg %d, count %d, AAGUID %x",
								c, s.credID, s.key.cose, s.key.alg, s.count, s.aaguid)
						}
					})
				}
			})
		}
	}
}

// TestRegistrationUnsupportedFormatDetail pins the documented message for a
// rejected attestation format.
func TestRegistrationUnsupportedFormatDetail(t *testing.T) {
	k := newES256Key(t)
	for _, tc := range []struct {
		spec func(*registrationSpec)
		want string
	}{
		{func(s *registrationSpec) { s.fmt = "android-safetynet" }, `attestation format "android-safetynet" not supported`},
		{func(s *registrationSpec) {
			s.fmt = "packed"
			s.stmt = func(s registrationSpec, ad, cd []byte) map[string]any {
				st := packedSelf(s, ad, cd)
				st["x5c"] = []any{[]byte("leaf"), []byte("intermediate")}
				return st
			}
		}, `attestation format "packed" with x5c not supported`},
	} {
		s := goodRegistration(k, "none")
		tc.spec(&s)
		_, err := VerifyRegistration(s.build(t), goodRegistrationOptions())
		f, ok := err.(*Failure)
		if !ok || f.Reason != Malformed || !strings.HasPrefix(f.Detail, tc.want) {
			t.Errorf("VerifyRegistration = %v, want malformed: %s", err, tc.want)
		}
	}
}

// TestRegisterThenAssert runs the whole life of a credential: the key a
// registration returns verifies later assertions and guards their counter.
func TestRegisterThenAssert(t *testing.T) {
	for _, k := range allKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			c, err := VerifyRegistration(goodRegistration(k, "packed").build(t), goodRegistrationOptions())
			if err != nil {
				t.Fatal(err)
			}
			o := goodOptions(k)
			o.PublicKey, o.StoredSignCount = c.PublicKey, c.SignCount
			s := goodAssertion(k)
			s.count = 1
			n, err := VerifyAssertion(s.build(), o)
			if err != nil || n != 1 {
				t.Fatalf("VerifyAssertion = %d, %v; want 1, nil", n, err)
			}
			o.StoredSignCount = n
			if _, err := VerifyAssertion(s.build(), o); reasonOf(t, err) != CounterRegression {
				t.Fatalf("replayed counter: VerifyAssertion = %v, want %s", err, CounterRegression)
			}
		})
	}
}
