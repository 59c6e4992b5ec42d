// Package identity will hold Flametrench's identity module: users,
// credentials (Argon2id passwords, passkeys, OIDC), sessions, MFA (TOTP,
// WebAuthn, recovery codes), personal access tokens and share tokens, on the
// memory and PostgreSQL stores. It is specified by the spec's docs/identity.md
// and is not built yet; see the project's open issues.
package identity
