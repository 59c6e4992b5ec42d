package webauthn

import "github.com/fxamacker/cbor/v2"

// Attestation is what the client sends back from
// navigator.credentials.create(): the two byte fields of the
// AuthenticatorAttestationResponse.
type Attestation struct {
	ClientDataJSON    []byte
	AttestationObject []byte
}

// RegistrationOptions is what the server expects of an enrolment.
type RegistrationOptions struct {
	RPID   string
	Origin string
	// Challenge is the raw challenge issued for this enrolment.
	Challenge []byte
	// AllowUserNotVerified accepts a registration without the UV flag
	// (required by default). User presence is always required at
	// registration (WebAuthn §7.1).
	AllowUserNotVerified bool
}

// Credential is the credential a successful registration yields, to be stored
// with the factor or passkey.
type Credential struct {
	// ID is the credential ID from the attested credential data.
	ID []byte
	// PublicKey is the COSE key exactly as the authenticator sent it; it is
	// what AssertionOptions.PublicKey takes later.
	PublicKey []byte
	// Alg is the key's COSE algorithm.
	Alg int64
	// SignCount is the authenticator's initial signature counter.
	SignCount uint32
	// AAGUID identifies the authenticator model (all zero for many
	// platform authenticators and for "none" attestation).
	AAGUID [16]byte
}

// Attestation statement formats (WebAuthn §8).
const (
	fmtNone   = "none"
	fmtPacked = "packed"
)

// VerifyRegistration verifies a WebAuthn registration (the attestation of an
// enrolment) and returns the new credential. The steps run in this order and
// the first failure is returned as a *Failure:
//
//  1. sizes: clientDataJSON and the attestation object at most 64 KiB
//     (Malformed);
//  2. clientDataJSON parses, type is "webauthn.create", then challenge and
//     origin as in VerifyAssertion;
//  3. the attestation object is a CBOR map with a text fmt, a map attStmt
//     and a byte-string authData (Malformed);
//  4. authData is at least 37 bytes (Malformed), its rpIdHash is
//     SHA-256(o.RPID) (RPIDMismatch), UP is set (UserNotPresent) and, if
//     not o.AllowUserNotVerified, UV is set (UserNotVerified);
//  5. the AT flag is set and the attested credential data parses: 16-byte
//     AAGUID, big-endian uint16 credential ID length (1 to 1023), the
//     credential ID, one COSE key, then extensions only if ED is set
//     (Malformed);
//  6. the COSE key is supported (ParsePublicKey: UnsupportedKey or
//     Malformed);
//  7. the attestation statement: fmt "none" with an empty attStmt, or
//     "packed" self-attestation, whose alg must equal the key's
//     (Malformed) and whose sig must verify over
//     authData || SHA-256(clientDataJSON) with the credential key
//     (SignatureInvalid). Packed with an x5c (or ecdaaKeyId) and every other
//     format fail with Malformed, "attestation format X not supported":
//     attestation certificate chains are not verified, see the package
//     documentation.
func VerifyRegistration(a Attestation, o RegistrationOptions) (Credential, error) {
	c, f := verifyRegistration(a, o)
	if f != nil {
		return Credential{}, f
	}
	return c, nil
}

func verifyRegistration(a Attestation, o RegistrationOptions) (Credential, *Failure) {
	if len(a.AttestationObject) > maxAttestationObject {
		return Credential{}, failf(Malformed, "attestation object is %d bytes; the limit is %d", len(a.AttestationObject), maxAttestationObject)
	}
	cd, f := parseClientData(a.ClientDataJSON)
	if f != nil {
		return Credential{}, f
	}
	if f := cd.check(typeCreate, o.Challenge, o.Origin); f != nil {
		return Credential{}, f
	}
	att, f := parseAttestationObject(a.AttestationObject)
	if f != nil {
		return Credential{}, f
	}
	ad, f := parseAuthData(att.authData)
	if f != nil {
		return Credential{}, f
	}
	if f := ad.check(o.RPID, true, !o.AllowUserNotVerified); f != nil {
		return Credential{}, f
	}
	if ad.flags&flagAT == 0 {
		return Credential{}, failf(Malformed, "authenticator data has no attested credential data (AT flag not set)")
	}
	ac, f := ad.parseAttestedCredential()
	if f != nil {
		return Credential{}, f
	}
	key, f := parsePublicKey(ac.key)
	if f != nil {
		return Credential{}, f
	}
	if f := att.verifyStatement(key, signedData(att.authData, a.ClientDataJSON)); f != nil {
		return Credential{}, f
	}
	return Credential{
		ID:        ac.id,
		PublicKey: ac.key,
		Alg:       key.Alg,
		SignCount: ad.signCount,
		AAGUID:    ac.aaguid,
	}, nil
}

type attestationObject struct {
	fmt      string
	attStmt  cbor.RawMessage
	authData []byte
}

func parseAttestationObject(b []byte) (attestationObject, *Failure) {
	var att attestationObject
	if len(b) == 0 {
		return att, failf(Malformed, "attestation object is empty")
	}
	if majorType(b) != cborMap {
		return att, failf(Malformed, "attestation object is not a CBOR map")
	}
	var m map[string]cbor.RawMessage
	if err := decMode.Unmarshal(b, &m); err != nil {
		return att, failf(Malformed, "attestation object: %v", err)
	}
	raw, ok := m["fmt"]
	if !ok || majorType(raw) != cborText {
		return att, failf(Malformed, "attestation object has no text fmt")
	}
	if err := decMode.Unmarshal(raw, &att.fmt); err != nil {
		return att, failf(Malformed, "attestation object fmt: %v", err)
	}
	att.attStmt, ok = m["attStmt"]
	if !ok || majorType(att.attStmt) != cborMap {
		return att, failf(Malformed, "attestation object has no attStmt map")
	}
	raw, ok = m["authData"]
	if !ok || majorType(raw) != cborBytes {
		return att, failf(Malformed, "attestation object has no authData byte string")
	}
	if err := decMode.Unmarshal(raw, &att.authData); err != nil {
		return att, failf(Malformed, "attestation object authData: %v", err)
	}
	return att, nil
}

// verifyStatement checks the attestation statement against the credential
// key. signed is authData || SHA-256(clientDataJSON).
func (att attestationObject) verifyStatement(key *PublicKey, signed []byte) *Failure {
	var stmt map[string]cbor.RawMessage
	if err := decMode.Unmarshal(att.attStmt, &stmt); err != nil {
		return failf(Malformed, "attStmt: %v", err)
	}
	switch att.fmt {
	case fmtNone:
		if len(stmt) != 0 {
			return failf(Malformed, "attestation format none has a non-empty attStmt")
		}
		return nil
	case fmtPacked:
		return verifyPackedSelf(stmt, key, signed)
	default:
		return failf(Malformed, "attestation format %q not supported", clip(att.fmt))
	}
}

// verifyPackedSelf verifies packed self-attestation (WebAuthn §8.2 with no
// x5c): the credential key signs its own registration.
func verifyPackedSelf(stmt map[string]cbor.RawMessage, key *PublicKey, signed []byte) *Failure {
	for name := range stmt {
		switch name {
		case "alg", "sig":
		case "x5c", "ecdaaKeyId":
			return failf(Malformed, "attestation format \"packed\" with %s not supported (attestation certificate chains are not verified)", name)
		default:
			return failf(Malformed, "packed attStmt has unknown member %q", clip(name))
		}
	}
	raw, ok := stmt["alg"]
	if t := majorType(raw); !ok || (t != cborUint && t != cborNegInt) {
		return failf(Malformed, "packed attStmt has no integer alg")
	}
	var alg int64
	if err := decMode.Unmarshal(raw, &alg); err != nil {
		return failf(Malformed, "packed attStmt alg: %v", err)
	}
	if alg != key.Alg {
		return failf(Malformed, "packed attStmt alg %d does not match the credential key's alg %d", alg, key.Alg)
	}
	raw, ok = stmt["sig"]
	if !ok || majorType(raw) != cborBytes {
		return failf(Malformed, "packed attStmt has no sig byte string")
	}
	var sig []byte
	if err := decMode.Unmarshal(raw, &sig); err != nil {
		return failf(Malformed, "packed attStmt sig: %v", err)
	}
	if len(sig) > maxSignature {
		return failf(Malformed, "packed attStmt sig is %d bytes; the limit is %d", len(sig), maxSignature)
	}
	if !key.Verify(signed, sig) {
		return failf(SignatureInvalid, "packed self-attestation signature does not verify with the credential's %s key", algName(key.Alg))
	}
	return nil
}
