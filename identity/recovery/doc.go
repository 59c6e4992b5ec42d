// Package recovery generates and checks the format of MFA recovery codes.
//
// It is pure: it imports only the standard library, keeps no state and does
// no I/O. Hashing the codes (Argon2id at the floor, ADR 0008) and consuming
// them belong to the caller, through identity/password.
//
// # Spec rules
//
// MFA-7 (ADR 0008 "Recovery code semantics"): a set is Count (10) codes of
// the form XXXX-XXXX-XXXX over the 31-character Alphabet, which leaves out
// 0, O, 1, I and L because they are confused when read aloud or copied by
// hand. The canonical form is uppercase with hyphens, and it is the only form
// Valid accepts (the recovery-code-format fixture refuses lowercase and
// missing hyphens). Normalize is the lenient verification boundary the ADR
// allows: it trims, uppercases and re-inserts hyphens, so a user may type a
// code either way, and the caller hashes and compares only the canonical form.
//
// Each character is drawn uniformly from crypto/rand by rejection sampling,
// so a code carries 12·log2(31) ≈ 59.4 bits. (The ADR's "random_bytes(9)
// base32-encoded" cannot produce 12 characters of a 31-symbol alphabet
// without bias; the uniform draw is what its format requires.)
package recovery
