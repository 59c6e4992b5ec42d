// Package totp computes and verifies time-based one-time passwords (RFC 6238)
// and formats the secret for enrollment.
//
// It is pure: it imports only the standard library and tuples (for the error
// type), keeps no state and does no I/O. Remembering which codes were already
// used is the caller's job (see Verify).
//
// # Spec rules
//
// MFA-5 (ADR 0008, docs/identity.md "Multi-factor authentication"): period 30
// seconds, 6 digits by default (8 in the conformance vectors; the wire allows
// 6 to 10), HMAC-SHA1 by default with SHA-256 and SHA-512 permitted. The secret
// is raw bytes, at least 16 (NewSecret makes 20, the RFC 4226 recommendation);
// the counter is floor(unix/30) as a 64-bit big-endian integer, so times past
// 2106 (the fixture goes to t=20,000,000,000) work; the code is RFC 4226's
// dynamic truncation, zero-padded. Verify accepts the previous, current and
// next step (the ±1 window of ADR 0008), compares in constant time, and
// returns the matched step so the caller can reject a replay
// (ReplayedTotpError, per (usr_id, step)). The secret is shown to the user
// once, as unpadded base32 and as an otpauth:// URI (security.md); at rest it
// is raw bytes the caller should encrypt.
package totp
