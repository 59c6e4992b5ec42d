package webauthn

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"sync"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

const (
	testRPID   = "example.com"
	testOrigin = "https://example.com"
)

var testChallenge = []byte("flametrench-test-challenge-0123456789")

var encMode = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

func mustCBOR(t testing.TB, v any) []byte {
	t.Helper()
	b, err := encMode.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testKey is a software authenticator key: its COSE encoding and a signer
// that produces the signature format WebAuthn uses for its algorithm.
type testKey struct {
	name string
	alg  int64
	cose []byte
	sign func(msg []byte) []byte
}

func newES256Key(t testing.TB) testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := priv.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	return testKey{
		name: "ES256",
		alg:  AlgES256,
		cose: mustCBOR(t, map[int]any{1: 2, 3: -7, -1: 1, -2: pt[1:33], -3: pt[33:65]}),
		sign: func(msg []byte) []byte {
			h := sha256.Sum256(msg)
			sig, err := ecdsa.SignASN1(rand.Reader, priv, h[:])
			if err != nil {
				panic(err)
			}
			return sig
		},
	}
}

// RSA key generation is slow, so each size is generated once per test binary.
var rsaKeys sync.Map // bits -> *rsa.PrivateKey

func rsaKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	if k, ok := rsaKeys.Load(bits); ok {
		return k.(*rsa.PrivateKey)
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	actual, _ := rsaKeys.LoadOrStore(bits, k)
	return actual.(*rsa.PrivateKey)
}

func rsaCOSE(t testing.TB, pub *rsa.PublicKey) []byte {
	return mustCBOR(t, map[int]any{1: 3, 3: -257, -1: pub.N.Bytes(), -2: big.NewInt(int64(pub.E)).Bytes()})
}

func newRS256Key(t testing.TB, bits int) testKey {
	t.Helper()
	priv := rsaKey(t, bits)
	return testKey{
		name: "RS256",
		alg:  AlgRS256,
		cose: rsaCOSE(t, &priv.PublicKey),
		sign: func(msg []byte) []byte {
			h := sha256.Sum256(msg)
			sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, h[:])
			if err != nil {
				panic(err)
			}
			return sig
		},
	}
}

func newEdDSAKey(t testing.TB) testKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{
		name: "EdDSA",
		alg:  AlgEdDSA,
		cose: mustCBOR(t, map[int]any{1: 1, 3: -8, -1: 6, -2: []byte(pub)}),
		sign: func(msg []byte) []byte { return ed25519.Sign(priv, msg) },
	}
}

// allKeys returns one key of each supported algorithm.
func allKeys(t testing.TB) []testKey {
	return []testKey{newES256Key(t), newRS256Key(t, 2048), newEdDSAKey(t)}
}

// makeAuthData builds authenticator data: rpIdHash, flags, counter, then
// tail (attested credential data and extensions) as given.
func makeAuthData(rpID string, flags byte, count uint32, tail ...[]byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	b := append([]byte(nil), h[:]...)
	b = append(b, flags)
	b = binary.BigEndian.AppendUint32(b, count)
	for _, t := range tail {
		b = append(b, t...)
	}
	return b
}

// makeClientData builds clientDataJSON the way browsers do: type,
// challenge (unpadded base64url), origin, crossOrigin.
func makeClientData(typ string, challenge []byte, origin string) []byte {
	b, err := json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, base64.RawURLEncoding.EncodeToString(challenge), origin, false})
	if err != nil {
		panic(err)
	}
	return b
}

// assertionSpec describes an assertion to build; goodAssertion is a valid one.
type assertionSpec struct {
	key       testKey
	typ       string
	challenge []byte
	origin    string
	rpID      string
	flags     byte
	count     uint32
}

func goodAssertion(k testKey) assertionSpec {
	return assertionSpec{
		key:       k,
		typ:       "webauthn.get",
		challenge: testChallenge,
		origin:    testOrigin,
		rpID:      testRPID,
		flags:     flagUP | flagUV,
		count:     6,
	}
}

func (s assertionSpec) build() Assertion {
	ad := makeAuthData(s.rpID, s.flags, s.count)
	cd := makeClientData(s.typ, s.challenge, s.origin)
	return Assertion{AuthenticatorData: ad, ClientDataJSON: cd, Signature: s.key.sign(signedData(ad, cd))}
}

// goodOptions are the options goodAssertion satisfies, with stored count 5.
func goodOptions(k testKey) AssertionOptions {
	return AssertionOptions{
		PublicKey:       k.cose,
		RPID:            testRPID,
		Origin:          testOrigin,
		Challenge:       testChallenge,
		StoredSignCount: 5,
	}
}

// registrationSpec describes a registration to build; goodRegistration is a
// valid one.
type registrationSpec struct {
	key       testKey
	fmt       string
	typ       string
	challenge []byte
	origin    string
	rpID      string
	flags     byte
	count     uint32
	aaguid    [16]byte
	credID    []byte
	// keyBytes replaces key.cose in the attested credential data when set.
	keyBytes []byte
	// afterKey is appended after the COSE key (extensions, or junk).
	afterKey []byte
	// extra holds additional top-level attestation object members.
	extra map[string]any
	// stmt builds attStmt from the authenticator data and clientDataJSON;
	// nil means the right statement for fmt ("none": empty; "packed":
	// self-attestation by key).
	stmt func(s registrationSpec, authData, clientDataJSON []byte) map[string]any
}

var testAAGUID = [16]byte{0xad, 0xce, 0x00, 0x02, 0x35, 0xbc, 0xc6, 0x0a, 0x64, 0x8b, 0x0b, 0x25, 0xf1, 0xf0, 0x55, 0x03}

func goodRegistration(k testKey, format string) registrationSpec {
	return registrationSpec{
		key:       k,
		fmt:       format,
		typ:       "webauthn.create",
		challenge: testChallenge,
		origin:    testOrigin,
		rpID:      testRPID,
		flags:     flagUP | flagUV | flagAT,
		count:     0,
		aaguid:    testAAGUID,
		credID:    []byte("credential-id-0001"),
	}
}

func packedSelf(s registrationSpec, ad, cd []byte) map[string]any {
	return map[string]any{"alg": s.key.alg, "sig": s.key.sign(signedData(ad, cd))}
}

func (s registrationSpec) authData() []byte {
	key := s.key.cose
	if s.keyBytes != nil {
		key = s.keyBytes
	}
	var acd []byte
	acd = append(acd, s.aaguid[:]...)
	acd = binary.BigEndian.AppendUint16(acd, uint16(len(s.credID)))
	acd = append(acd, s.credID...)
	acd = append(acd, key...)
	acd = append(acd, s.afterKey...)
	return makeAuthData(s.rpID, s.flags, s.count, acd)
}

func (s registrationSpec) build(t testing.TB) Attestation {
	t.Helper()
	ad := s.authData()
	cd := makeClientData(s.typ, s.challenge, s.origin)
	stmt := s.stmt
	if stmt == nil {
		stmt = func(s registrationSpec, ad, cd []byte) map[string]any {
			if s.fmt == "packed" {
				return packedSelf(s, ad, cd)
			}
			return map[string]any{}
		}
	}
	obj := map[string]any{"fmt": s.fmt, "attStmt": stmt(s, ad, cd), "authData": ad}
	for k, v := range s.extra {
		obj[k] = v
	}
	return Attestation{ClientDataJSON: cd, AttestationObject: mustCBOR(t, obj)}
}

func goodRegistrationOptions() RegistrationOptions {
	return RegistrationOptions{RPID: testRPID, Origin: testOrigin, Challenge: testChallenge}
}

// reasonOf returns the Reason of a *Failure, "" for nil, and fails the test
// for any other error.
func reasonOf(t testing.TB, err error) Reason {
	t.Helper()
	if err == nil {
		return ""
	}
	f, ok := err.(*Failure)
	if !ok {
		t.Fatalf("error %v (%T) is not a *Failure", err, err)
	}
	return f.Reason
}
