package webauthn

import (
	"encoding/binary"
	"encoding/hex"
	"testing"
)

var knownReasons = map[Reason]bool{
	SignatureInvalid: true, CounterRegression: true, RPIDMismatch: true, UserNotVerified: true,
	UserNotPresent: true, ChallengeMismatch: true, OriginMismatch: true, TypeMismatch: true,
	Malformed: true, UnsupportedKey: true,
}

// checkFailure fails the fuzz run unless err is nil or a *Failure with one of
// the spec's reasons.
func checkFailure(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	f, ok := err.(*Failure)
	if !ok || f == nil {
		t.Fatalf("error %v (%T) is not a *Failure", err, err)
	}
	if !knownReasons[f.Reason] {
		t.Fatalf("unknown reason %q", f.Reason)
	}
}

// fixtureOptions are the RP settings every assertion fixture shares, so the
// fuzzer starts from vectors that pass the clientData and rpId checks.
func fixtureOptions(t testing.TB) AssertionOptions {
	ff := loadFixture(t, "webauthn-assertion.json")
	_, o := merge(sharedInput(ff), ff.Tests[0].Input).toCall(t)
	return o
}

func FuzzVerifyAssertion(f *testing.F) {
	for _, name := range assertionFixtures {
		ff := loadFixture(f, name)
		for _, tc := range ff.Tests {
			a, o := merge(sharedInput(ff), tc.Input).toCall(f)
			f.Add(o.PublicKey, a.AuthenticatorData, a.ClientDataJSON, a.Signature, o.StoredSignCount, o.AllowUserNotVerified, o.AllowUserNotPresent)
		}
	}
	base := fixtureOptions(f)
	f.Fuzz(func(t *testing.T, cose, authData, clientData, sig []byte, stored uint32, uv, up bool) {
		o := base
		o.PublicKey, o.StoredSignCount, o.AllowUserNotVerified, o.AllowUserNotPresent = cose, stored, uv, up
		n, err := VerifyAssertion(Assertion{AuthenticatorData: authData, ClientDataJSON: clientData, Signature: sig}, o)
		checkFailure(t, err)
		if err != nil {
			if n != 0 {
				t.Fatalf("failure %v with count %d", err, n)
			}
			return
		}
		// Success implies the structural checks held.
		if len(authData) < authDataMinLen || binary.BigEndian.Uint32(authData[33:37]) != n {
			t.Fatalf("accepted count %d that is not the authenticator data's", n)
		}
		if n <= stored && !(n == 0 && stored == 0) {
			t.Fatalf("accepted count %d against stored %d", n, stored)
		}
		if (uv && authData[32]&flagUV == 0) || (up && authData[32]&flagUP == 0) {
			t.Fatalf("accepted flags %#x with uv=%v up=%v", authData[32], uv, up)
		}
	})
}

func FuzzVerifyRegistration(f *testing.F) {
	for _, k := range allKeys(f) {
		for _, format := range []string{"none", "packed"} {
			s := goodRegistration(k, format)
			a := s.build(f)
			f.Add(a.ClientDataJSON, a.AttestationObject, true)
			s.flags |= flagED
			s.afterKey = mustCBOR(f, map[string]any{"credProtect": 2})
			a = s.build(f)
			f.Add(a.ClientDataJSON, a.AttestationObject, false)
		}
	}
	// The fixture keys, wrapped in registrations.
	ff := loadFixture(f, "webauthn-assertion-algorithms.json")
	for _, tc := range ff.Tests {
		s := goodRegistration(testKey{}, "none")
		s.keyBytes, _ = hex.DecodeString(*tc.Input.COSEPublicKeyHex)
		a := s.build(f)
		f.Add(a.ClientDataJSON, a.AttestationObject, true)
	}
	f.Fuzz(func(t *testing.T, clientData, attObj []byte, uv bool) {
		o := goodRegistrationOptions()
		o.AllowUserNotVerified = uv
		c, err := VerifyRegistration(Attestation{ClientDataJSON: clientData, AttestationObject: attObj}, o)
		checkFailure(t, err)
		if err != nil {
			return
		}
		k, err := ParsePublicKey(c.PublicKey)
		if err != nil || k.Alg != c.Alg {
			t.Fatalf("registered key %x does not parse as alg %d: %v", c.PublicKey, c.Alg, err)
		}
		if len(c.ID) == 0 || len(c.ID) > maxCredentialIDLen {
			t.Fatalf("registered credential ID of %d bytes", len(c.ID))
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	for _, name := range assertionFixtures {
		ff := loadFixture(f, name)
		for _, in := range append([]fixtureInput{sharedInput(ff)}, inputs(ff)...) {
			if in.COSEPublicKeyHex != nil {
				b, _ := hex.DecodeString(*in.COSEPublicKeyHex)
				f.Add(b)
			}
		}
	}
	for _, k := range allKeys(f) {
		f.Add(k.cose)
	}
	f.Add(mustCBOR(f, map[int]any{1: 2, 3: -7, -1: 1, -2: make([]byte, 32), -3: true}))
	f.Add([]byte{0xbf, 0x01, 0x02, 0xff})
	f.Fuzz(func(t *testing.T, cose []byte) {
		k, err := ParsePublicKey(cose)
		checkFailure(t, err)
		if err != nil {
			if r := err.(*Failure).Reason; r != Malformed && r != UnsupportedKey {
				t.Fatalf("ParsePublicKey failed with reason %s", r)
			}
			if k != nil {
				t.Fatal("ParsePublicKey returned a key with an error")
			}
			return
		}
		switch k.Alg {
		case AlgES256, AlgRS256, AlgEdDSA:
		default:
			t.Fatalf("ParsePublicKey accepted alg %d", k.Alg)
		}
		// Verify must not panic on whatever the key turned out to be.
		k.Verify(cose, cose)
		k.Verify(cose, make([]byte, 64))
	})
}

func inputs(ff fixtureFile) []fixtureInput {
	in := make([]fixtureInput, len(ff.Tests))
	for i, tc := range ff.Tests {
		in[i] = tc.Input
	}
	return in
}
