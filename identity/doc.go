// Package identity is Flametrench's identity module: users, credentials
// (Argon2id passwords, passkeys, OIDC), sessions, verification tickets and
// the MFA policy, as specified by the spec's docs/identity.md and ADRs 0004,
// 0008 and 0014 to 0016.
//
// Service holds every rule once — state machines, cascades, single-use
// tickets, throttling — and runs it inside Store.Update, a transaction over
// plain row storage (STYLE §1). Two stores implement Store: identity/memory
// (the default) and identity/postgres; identity/identitytest holds both to
// the same behaviour. Slow work (Argon2id, through the bounded pool of
// identity/password) runs outside transactions, and the transaction then
// re-checks what it relied on.
//
// Security rules it enforces (DESIGN §4): session tokens and tickets are 32
// CSPRNG bytes, stored only as SHA-256 and compared in constant time; a
// session is minted only from a verification ticket (single use, a minute
// long, bound to the user and credential, and MFA-upgraded when the user's
// policy is in force) or by an admin; every failed verification looks the
// same (same error, an Argon2id verification even for an unknown
// identifier) and is throttled per identifier and per client address.
//
// It imports tuples (ids, errors, the tuple writes of cascades) and its own
// sub-packages; never a store, never check.
package identity
