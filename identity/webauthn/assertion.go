package webauthn

import "crypto/sha256"

// Assertion is what the client sends back from navigator.credentials.get():
// the three byte fields of the AuthenticatorAssertionResponse.
type Assertion struct {
	AuthenticatorData []byte
	ClientDataJSON    []byte
	Signature         []byte
}

// AssertionOptions is what the server stored at enrolment and for this
// ceremony, and expects the assertion to match.
//
// The zero value is the strict one (ADR 0008: UP and UV enforced by
// default); a caller relaxes a flag check only by naming it.
type AssertionOptions struct {
	// PublicKey is the COSE key registered at enrolment. The algorithm comes
	// from it, never from the assertion (ADR 0010), so an attacker cannot
	// choose which verifier runs.
	PublicKey []byte
	// RPID is the relying party ID the credential was registered for.
	RPID string
	// Origin is the exact origin clientDataJSON must name, such as
	// "https://example.com".
	Origin string
	// Challenge is the raw challenge issued for this ceremony.
	Challenge []byte
	// StoredSignCount is the signature counter stored with the credential.
	StoredSignCount uint32
	// AllowUserNotVerified accepts an assertion without the UV flag.
	AllowUserNotVerified bool
	// AllowUserNotPresent accepts an assertion without the UP flag.
	AllowUserNotPresent bool
}

// VerifyAssertion verifies a WebAuthn assertion and returns the
// authenticator's new signature counter, which the caller stores atomically
// with the successful verification. The steps run in this order and the
// first failure is returned as a *Failure:
//
//  1. sizes: clientDataJSON and authenticator data at most 64 KiB, the
//     signature at most 2 KiB (Malformed);
//  2. clientDataJSON is a JSON object with string type, challenge and
//     origin members (Malformed);
//  3. type is "webauthn.get" (TypeMismatch);
//  4. challenge is o.Challenge as unpadded base64url, compared in
//     constant time (ChallengeMismatch);
//  5. origin equals o.Origin exactly (OriginMismatch);
//  6. authenticator data is at least 37 bytes (Malformed);
//  7. rpIdHash is SHA-256(o.RPID), compared in constant time (RPIDMismatch);
//  8. the UP flag is set, unless o.AllowUserNotPresent (UserNotPresent);
//  9. the UV flag is set, unless o.AllowUserNotVerified (UserNotVerified);
//  10. o.PublicKey parses (UnsupportedKey or Malformed, see ParsePublicKey);
//  11. the signature over authenticatorData || SHA-256(clientDataJSON)
//     verifies with that key (SignatureInvalid);
//  12. the new signature counter is greater than o.StoredSignCount, unless
//     both are 0, which means the authenticator keeps no counter
//     (CounterRegression: the cloned-authenticator signal).
//
// The counter is checked last so that a counter_regression is only ever
// reported for a genuine signature from the credential.
func VerifyAssertion(a Assertion, o AssertionOptions) (uint32, error) {
	n, f := verifyAssertion(a, o)
	if f != nil {
		return 0, f
	}
	return n, nil
}

func verifyAssertion(a Assertion, o AssertionOptions) (uint32, *Failure) {
	if len(a.AuthenticatorData) > maxAuthenticatorData {
		return 0, failf(Malformed, "authenticator data is %d bytes; the limit is %d", len(a.AuthenticatorData), maxAuthenticatorData)
	}
	if len(a.Signature) > maxSignature {
		return 0, failf(Malformed, "signature is %d bytes; the limit is %d", len(a.Signature), maxSignature)
	}
	cd, f := parseClientData(a.ClientDataJSON)
	if f != nil {
		return 0, f
	}
	if f := cd.check(typeGet, o.Challenge, o.Origin); f != nil {
		return 0, f
	}
	ad, f := parseAuthData(a.AuthenticatorData)
	if f != nil {
		return 0, f
	}
	if f := ad.check(o.RPID, !o.AllowUserNotPresent, !o.AllowUserNotVerified); f != nil {
		return 0, f
	}
	key, f := parsePublicKey(o.PublicKey)
	if f != nil {
		return 0, f
	}
	if !key.Verify(signedData(a.AuthenticatorData, a.ClientDataJSON), a.Signature) {
		return 0, failf(SignatureInvalid, "assertion signature does not verify with the registered %s key", algName(key.Alg))
	}
	if (o.StoredSignCount != 0 || ad.signCount != 0) && ad.signCount <= o.StoredSignCount {
		return 0, failf(CounterRegression, "signature counter %d is not greater than the stored %d", ad.signCount, o.StoredSignCount)
	}
	return ad.signCount, nil
}

// signedData is authenticatorData || SHA-256(clientDataJSON), the message
// both assertion signatures and packed attestation signatures cover. It is a
// fresh slice, so the caller's authenticator data is never appended to.
func signedData(authData, clientDataJSON []byte) []byte {
	h := sha256.Sum256(clientDataJSON)
	msg := make([]byte, 0, len(authData)+len(h))
	msg = append(msg, authData...)
	return append(msg, h[:]...)
}

func algName(alg int64) string {
	switch alg {
	case AlgES256:
		return "ES256"
	case AlgRS256:
		return "RS256"
	case AlgEdDSA:
		return "EdDSA"
	}
	return "unknown"
}
