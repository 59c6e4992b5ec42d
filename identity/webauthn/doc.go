// Package webauthn verifies WebAuthn registrations (attestations) and
// assertions for Flametrench's passkey credentials and WebAuthn MFA factors.
//
// It is pure: no storage, no HTTP, no clock and no mutable global state. It imports
// the standard library and github.com/fxamacker/cbor/v2 only. Callers load the
// stored COSE key, RP ID, origin, challenge and signature counter, call
// VerifyAssertion or VerifyRegistration, and persist what comes back (the new
// counter atomically with the verification, or the new Credential). Every
// function is safe for concurrent use and returns a *Failure whose Reason is
// one of the spec's ten reasons; no input makes it panic.
//
// # Spec rules
//
// ADR 0008 (WebAuthn assertion verification, SPEC-MAP MFA-6) and ADR 0010
// (RS256 and EdDSA): the algorithm comes from the COSE key registered at
// enrolment, never from the assertion, so an EdDSA signature cannot be
// presented against an RS256 key. Supported keys are ES256 (alg -7, kty 2,
// crv 1, DER-encoded ECDSA signatures), RS256 (alg -257, kty 3, modulus of at
// least 2048 bits, raw PKCS #1 v1.5 signatures) and EdDSA (alg -8, kty 1,
// crv 6: Ed25519 only, 64-byte signatures). Anything else is unsupported_key.
// The conformance fixtures identity/mfa/webauthn-*.json pin the behaviour.
//
// # Order of checks
//
// An assertion is checked in this order, stopping at the first failure:
// input sizes (malformed); clientDataJSON parses (malformed); type is
// "webauthn.get" (type_mismatch); challenge, as unpadded base64url, equals the
// issued one in constant time (challenge_mismatch); origin equals the
// expected origin exactly (origin_mismatch); authenticator data is at least
// 37 bytes (malformed); rpIdHash equals SHA-256(RP ID) in constant time
// (rp_id_mismatch); UP is set if required (user_not_present); UV is set if
// required (user_not_verified); the stored COSE key parses (unsupported_key
// or malformed); the signature over authenticatorData || SHA-256(clientDataJSON)
// verifies (signature_invalid); the new counter is strictly greater than the
// stored one unless both are 0 (counter_regression). A registration follows
// the same clientData and authenticator-data steps with type
// "webauthn.create" and UP always required, then needs the AT flag and
// well-formed attested credential data, a supported key, and a valid
// attestation statement. VerifyAssertion and VerifyRegistration list the
// steps in full.
//
// # Bounded input
//
// clientDataJSON, authenticator data and attestation objects are capped at
// 64 KiB, COSE keys at 16 KiB, signatures at 2 KiB, RSA moduli at 8192 bits.
// CBOR is decoded with small nesting, array and map limits, without
// indefinite lengths, tags or duplicate map keys, so hostile input cannot
// make the decoder allocate or recurse much.
//
// # What it leaves out
//
// Attestation trust: only the "none" format and "packed" self-attestation
// (signed by the credential key itself) are accepted. Packed attestation
// with a certificate chain (x5c), and the tpm, android-key,
// android-safetynet, fido-u2f and apple formats, fail as malformed
// ("attestation format X not supported"): this package does not verify
// attestation certificate chains or consult the FIDO Metadata Service.
// Relying parties rarely need to know which authenticator model made a
// credential; with WebAuthn's default attestation conveyance preference,
// "none", browsers normally send fmt "none", so keep that default. The AAGUID
// is returned unverified, as a hint.
//
// Also left to the caller: issuing, storing and expiring challenges (see
// NewChallenge), looking up the credential by ID, allowCredentials and
// user-handle checks, the crossOrigin and topOrigin members of clientData
// (not read), token binding, and client extension outputs (authenticator
// extensions are checked for well-formedness only).
package webauthn
