package webauthn

import "github.com/fxamacker/cbor/v2"

// Input bounds. Anything larger is Malformed before it is parsed. Real
// clientDataJSON is a few hundred bytes, an attestation object a few KiB
// (more with certificate chains), and a 4096-bit RSA COSE key about 540 bytes.
const (
	maxClientDataJSON    = 64 << 10
	maxAttestationObject = 64 << 10
	maxAuthenticatorData = 64 << 10
	maxCOSEKey           = 16 << 10
	// maxSignature fits an 8192-bit RSA signature (1024 bytes) with room to
	// spare; ES256 DER signatures are at most 72 bytes, Ed25519 ones 64.
	maxSignature = 2 << 10
)

// decMode decodes every CBOR item this package reads: COSE keys, attestation
// objects, attestation statements and authenticator extensions. WebAuthn CBOR
// is small, definite-length and untagged (CTAP2 canonical form), so the
// limits are near the library's minimums and hostile input cannot make the
// decoder allocate much or recurse deeply. Duplicate map keys are errors, so
// a key or statement cannot say two things at once.
var decMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   8,
		MaxArrayElements:  16,
		MaxMapPairs:       16,
		FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
	}.DecMode()
	if err != nil {
		panic("webauthn: bad CBOR decoding options: " + err.Error())
	}
	return dm
}()

// CBOR major types, the top three bits of an item's first byte.
const (
	cborUint   = 0
	cborNegInt = 1
	cborBytes  = 2
	cborText   = 3
	cborMap    = 5
)

func majorType(raw []byte) int {
	if len(raw) == 0 {
		return -1
	}
	return int(raw[0] >> 5)
}
