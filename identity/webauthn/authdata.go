package webauthn

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagAT = 0x40 // attested credential data included
	flagED = 0x80 // extension data included
)

// authDataMinLen is rpIdHash (32) + flags (1) + signCount (4).
const authDataMinLen = 37

// maxCredentialIDLen is WebAuthn §6.5.1's bound on credentialIdLength.
const maxCredentialIDLen = 1023

type authData struct {
	rpIDHash  []byte
	flags     byte
	signCount uint32
	rest      []byte // attested credential data and extensions, if any
}

func parseAuthData(b []byte) (authData, *Failure) {
	if len(b) < authDataMinLen {
		return authData{}, failf(Malformed, "authenticator data is %d bytes, want at least %d", len(b), authDataMinLen)
	}
	return authData{
		rpIDHash:  b[:32],
		flags:     b[32],
		signCount: binary.BigEndian.Uint32(b[33:37]),
		rest:      b[37:],
	}, nil
}

// check runs the authenticator-data steps in order: rpIdHash, UP, UV.
func (ad authData) check(rpID string, requireUP, requireUV bool) *Failure {
	want := sha256.Sum256([]byte(rpID))
	if subtle.ConstantTimeCompare(ad.rpIDHash, want[:]) != 1 {
		return failf(RPIDMismatch, "authenticator data rpIdHash is not SHA-256(%q)", rpID)
	}
	if requireUP && ad.flags&flagUP == 0 {
		return failf(UserNotPresent, "authenticator data UP flag is not set")
	}
	if requireUV && ad.flags&flagUV == 0 {
		return failf(UserNotVerified, "authenticator data UV flag is not set")
	}
	return nil
}

// attestedCredential is the attested credential data of a registration
// (WebAuthn §6.5.1).
type attestedCredential struct {
	aaguid [16]byte
	id     []byte
	key    []byte // the COSE_Key bytes exactly as sent
}

// parseAttestedCredential reads aaguid, credentialIdLength, credentialId and
// the COSE key from ad.rest. The key's length is known only by decoding it.
// After the key come the extensions, a CBOR map, if and only if ED is set;
// nothing else may follow.
func (ad authData) parseAttestedCredential() (attestedCredential, *Failure) {
	var ac attestedCredential
	b := ad.rest
	if len(b) < 18 {
		return ac, failf(Malformed, "attested credential data is %d bytes, want at least 18", len(b))
	}
	copy(ac.aaguid[:], b[:16])
	n := int(binary.BigEndian.Uint16(b[16:18]))
	if n == 0 || n > maxCredentialIDLen {
		return ac, failf(Malformed, "credential ID length is %d, want 1 to %d", n, maxCredentialIDLen)
	}
	b = b[18:]
	if len(b) < n {
		return ac, failf(Malformed, "credential ID length is %d but only %d bytes follow", n, len(b))
	}
	ac.id = append([]byte(nil), b[:n]...)
	b = b[n:]
	if len(b) == 0 {
		return ac, failf(Malformed, "attested credential data has no public key")
	}
	var key cbor.RawMessage
	after, err := decMode.UnmarshalFirst(b, &key)
	if err != nil {
		return ac, failf(Malformed, "credential public key: %v", err)
	}
	ac.key = append([]byte(nil), b[:len(b)-len(after)]...)
	if ad.flags&flagED == 0 {
		if len(after) != 0 {
			return ac, failf(Malformed, "%d bytes follow the credential public key and the ED flag is not set", len(after))
		}
		return ac, nil
	}
	if majorType(after) != cborMap {
		return ac, failf(Malformed, "the ED flag is set but no extensions map follows the credential public key")
	}
	var ext map[string]cbor.RawMessage
	if err := decMode.Unmarshal(after, &ext); err != nil {
		return ac, failf(Malformed, "authenticator extensions: %v", err)
	}
	return ac, nil
}
