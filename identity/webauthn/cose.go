package webauthn

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"

	"github.com/fxamacker/cbor/v2"
)

// COSE algorithm identifiers this package verifies (ADR 0010).
const (
	AlgES256 int64 = -7   // ECDSA P-256 with SHA-256
	AlgEdDSA int64 = -8   // EdDSA; only Ed25519
	AlgRS256 int64 = -257 // RSASSA-PKCS1-v1_5 with SHA-256
)

// COSE key labels and values (RFC 8152 §7 and §13, RFC 8230, RFC 8037).
const (
	labelKty = 1
	labelAlg = 3
	// The negative labels mean different things per key type: -1 is crv for
	// EC2 and OKP but the modulus n for RSA, and so on.
	labelM1 = -1
	labelM2 = -2
	labelM3 = -3

	ktyOKP = 1
	ktyEC2 = 2
	ktyRSA = 3

	crvP256    = 1
	crvEd25519 = 6
)

// RSA modulus bounds. The floor is ADR 0010's (WebAuthn §5.8.5, NIST SP
// 800-131A). The ceiling is ours: no authenticator makes keys above 4096
// bits, and a stored key should not be able to make every verify slow.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// PublicKey is a parsed COSE_Key of one of the three supported algorithms:
// ES256 (alg -7, kty 2, crv 1), RS256 (alg -257, kty 3, modulus of 2048 to
// 8192 bits) or EdDSA (alg -8, kty 1, crv 6: Ed25519 only). The zero value
// verifies nothing.
type PublicKey struct {
	// Alg is the COSE alg of the key: AlgES256, AlgRS256 or AlgEdDSA.
	Alg int64

	// Exactly one of these is set, the one matching Alg. Verify reads only
	// the field its Alg names, so an Alg that does not match the parsed key
	// verifies nothing.
	ec  *ecdsa.PublicKey
	rsa *rsa.PublicKey
	ed  ed25519.PublicKey
}

// ParsePublicKey parses a COSE_Key as WebAuthn stores it in attested
// credential data. The key type, curve and algorithm must be one of the
// three combinations PublicKey lists; other well-formed keys (another alg, an
// alg with the wrong kty or crv, Ed448, a compressed EC point, an RSA
// modulus under 2048 bits, an unusable RSA exponent) fail with
// UnsupportedKey. Input that is not a definite-length CBOR map with integer
// labels, lacks a required label, has a value of the wrong CBOR type or
// length, or names an EC point that is not on P-256, fails with Malformed.
// Labels the key type does not use (kid, key_ops) are ignored. The error is
// always a *Failure.
func ParsePublicKey(cose []byte) (*PublicKey, error) {
	k, f := parsePublicKey(cose)
	if f != nil {
		return nil, f
	}
	return k, nil
}

func parsePublicKey(cose []byte) (*PublicKey, *Failure) {
	if len(cose) == 0 {
		return nil, failf(Malformed, "COSE key is empty")
	}
	if len(cose) > maxCOSEKey {
		return nil, failf(Malformed, "COSE key is %d bytes; the limit is %d", len(cose), maxCOSEKey)
	}
	if majorType(cose) != cborMap {
		return nil, failf(Malformed, "COSE key is not a CBOR map")
	}
	var m map[int64]cbor.RawMessage
	if err := decMode.Unmarshal(cose, &m); err != nil {
		return nil, failf(Malformed, "COSE key: %v", err)
	}
	kty, f := coseInt(m, labelKty, "kty")
	if f != nil {
		return nil, f
	}
	alg, f := coseInt(m, labelAlg, "alg")
	if f != nil {
		return nil, f
	}
	switch alg {
	case AlgES256:
		return parseEC2(m, kty)
	case AlgRS256:
		return parseRSA(m, kty)
	case AlgEdDSA:
		return parseOKP(m, kty)
	default:
		return nil, failf(UnsupportedKey, "COSE alg %d is not supported (want -7 ES256, -257 RS256 or -8 EdDSA)", alg)
	}
}

func parseEC2(m map[int64]cbor.RawMessage, kty int64) (*PublicKey, *Failure) {
	if kty != ktyEC2 {
		return nil, failf(UnsupportedKey, "ES256 key has kty %d, want 2 (EC2)", kty)
	}
	crv, f := coseInt(m, labelM1, "crv")
	if f != nil {
		return nil, f
	}
	if crv != crvP256 {
		return nil, failf(UnsupportedKey, "ES256 key has crv %d, want 1 (P-256)", crv)
	}
	x, f := coseBytes(m, labelM2, "x")
	if f != nil {
		return nil, f
	}
	// WebAuthn §5.8.5: ES256 keys MUST NOT use the compressed point form,
	// where y is a boolean sign bit.
	if raw, ok := m[labelM3]; ok && len(raw) == 1 && (raw[0] == 0xf4 || raw[0] == 0xf5) {
		return nil, failf(UnsupportedKey, "ES256 key uses the compressed point form")
	}
	y, f := coseBytes(m, labelM3, "y")
	if f != nil {
		return nil, f
	}
	if len(x) != 32 || len(y) != 32 {
		return nil, failf(Malformed, "ES256 key coordinates are %d and %d bytes, want 32", len(x), len(y))
	}
	point := make([]byte, 0, 65)
	point = append(point, 0x04)
	point = append(point, x...)
	point = append(point, y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, failf(Malformed, "ES256 key is not a point on P-256")
	}
	return &PublicKey{Alg: AlgES256, ec: pub}, nil
}

func parseRSA(m map[int64]cbor.RawMessage, kty int64) (*PublicKey, *Failure) {
	if kty != ktyRSA {
		return nil, failf(UnsupportedKey, "RS256 key has kty %d, want 3 (RSA)", kty)
	}
	nb, f := coseBytes(m, labelM1, "n")
	if f != nil {
		return nil, f
	}
	eb, f := coseBytes(m, labelM2, "e")
	if f != nil {
		return nil, f
	}
	n := new(big.Int).SetBytes(nb)
	switch bits := n.BitLen(); {
	case bits < minRSABits:
		// ADR 0010 calls this reason=key_too_small; the spec reason is
		// unsupported_key.
		return nil, failf(UnsupportedKey, "RSA modulus is %d bits; the minimum is %d (key too small)", bits, minRSABits)
	case bits > maxRSABits:
		return nil, failf(UnsupportedKey, "RSA modulus is %d bits; the maximum is %d (key too large)", bits, maxRSABits)
	}
	if n.Bit(0) == 0 {
		return nil, failf(Malformed, "RSA modulus is even")
	}
	eb = bytes.TrimLeft(eb, "\x00")
	if len(eb) > 4 {
		return nil, failf(UnsupportedKey, "RSA exponent is %d bytes; exponents above 2^31-1 are not supported", len(eb))
	}
	var e uint64
	for _, b := range eb {
		e = e<<8 | uint64(b)
	}
	if e < 3 || e%2 == 0 || e > 1<<31-1 {
		return nil, failf(UnsupportedKey, "RSA exponent %d is not supported (want an odd number from 3 to 2^31-1)", e)
	}
	return &PublicKey{Alg: AlgRS256, rsa: &rsa.PublicKey{N: n, E: int(e)}}, nil
}

func parseOKP(m map[int64]cbor.RawMessage, kty int64) (*PublicKey, *Failure) {
	if kty != ktyOKP {
		return nil, failf(UnsupportedKey, "EdDSA key has kty %d, want 1 (OKP)", kty)
	}
	crv, f := coseInt(m, labelM1, "crv")
	if f != nil {
		return nil, f
	}
	if crv != crvEd25519 {
		return nil, failf(UnsupportedKey, "EdDSA key has crv %d; only 6 (Ed25519) is supported", crv)
	}
	x, f := coseBytes(m, labelM2, "x")
	if f != nil {
		return nil, f
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, failf(Malformed, "Ed25519 key is %d bytes, want %d", len(x), ed25519.PublicKeySize)
	}
	return &PublicKey{Alg: AlgEdDSA, ed: ed25519.PublicKey(x)}, nil
}

// coseInt reads a required integer label. The CBOR type is checked before
// decoding because the decoder would turn null into 0 without complaint.
func coseInt(m map[int64]cbor.RawMessage, label int64, name string) (int64, *Failure) {
	raw, ok := m[label]
	if !ok {
		return 0, failf(Malformed, "COSE key has no %s (label %d)", name, label)
	}
	if t := majorType(raw); t != cborUint && t != cborNegInt {
		return 0, failf(Malformed, "COSE key %s (label %d) is not an integer", name, label)
	}
	var v int64
	if err := decMode.Unmarshal(raw, &v); err != nil {
		return 0, failf(Malformed, "COSE key %s (label %d): %v", name, label, err)
	}
	return v, nil
}

// coseBytes reads a required byte-string label.
func coseBytes(m map[int64]cbor.RawMessage, label int64, name string) ([]byte, *Failure) {
	raw, ok := m[label]
	if !ok {
		return nil, failf(Malformed, "COSE key has no %s (label %d)", name, label)
	}
	if majorType(raw) != cborBytes {
		return nil, failf(Malformed, "COSE key %s (label %d) is not a byte string", name, label)
	}
	var v []byte
	if err := decMode.Unmarshal(raw, &v); err != nil {
		return nil, failf(Malformed, "COSE key %s (label %d): %v", name, label, err)
	}
	return v, nil
}

// Verify reports whether sig is k's signature over signed: for ES256 a
// DER-encoded ECDSA signature over SHA-256(signed), for RS256 a PKCS #1 v1.5
// signature over SHA-256(signed) exactly as long as the modulus, for EdDSA a
// 64-byte Ed25519 signature over signed itself. It never panics; a nil or
// zero PublicKey verifies nothing.
func (k *PublicKey) Verify(signed, sig []byte) bool {
	if k == nil {
		return false
	}
	switch k.Alg {
	case AlgES256:
		if k.ec == nil {
			return false
		}
		h := sha256.Sum256(signed)
		return ecdsa.VerifyASN1(k.ec, h[:], sig)
	case AlgRS256:
		if k.rsa == nil {
			return false
		}
		h := sha256.Sum256(signed)
		return rsa.VerifyPKCS1v15(k.rsa, crypto.SHA256, h[:], sig) == nil
	case AlgEdDSA:
		if len(k.ed) != ed25519.PublicKeySize {
			return false // ed25519.Verify panics on a key of another size
		}
		return ed25519.Verify(k.ed, signed, sig)
	}
	return false
}
