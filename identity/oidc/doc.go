// Package oidc verifies OpenID Connect ID tokens for OIDC credential sign-in:
// the id_token proof of the spec's verifyCredential for credentials of type
// oidc. Verify checks a token against the configured providers and returns
// its claims; the caller then finds the credential by (Claims.Issuer,
// Claims.Subject), which are in the form identity stores (NormalizeIssuer).
//
// It is pure except for fetching keys: no storage and no global state. It
// imports the standard library, github.com/go-jose/go-jose/v4 (JWS parsing,
// signature verification, JWK types, and its case-sensitive, duplicate-refusing
// JSON decoder), golang.org/x/sync/singleflight and tuples (for the error
// type). A Verifier is safe for concurrent use; no input makes Verify panic
// (FuzzVerify). The spec says nothing about how keys are configured, so
// everything below on providers, discovery and caching is our design.
//
// # Order of checks
//
// Verify stops at the first failure: the token is at most 16 KiB and only
// base64url characters and dots; it parses as a compact JWS (exactly three
// parts, one signature) whose header alg is RS256, RS384, RS512, PS256, ES256,
// ES384 or EdDSA; its payload is a JSON object; its iss, normalized, is the
// normalized Issuer of a configured Provider (so an unknown issuer costs no
// network request); the provider's keys are at hand; a key fits (same kid when
// the token names one, else any key; a key type and curve that match alg; the
// key's own alg, when the JWKS gives one, equal to alg), and when none fits the
// keys are refetched once and searched again; the signature verifies with a
// fitting key; aud contains one of the provider's Audiences; when azp is
// present and aud has several values, azp is one of the Audiences; exp is
// present and now < exp + Leeway; nbf and iat, when present, are at most
// now + Leeway; sub is 1 to 255 bytes.
//
// # Decisions
//
// Algorithms: "none" and HS* are refused at parse time, so a token signed
// with HMAC using our RSA public key as the secret never reaches a key. The
// token never chooses the key: jku, x5u, jwk and x5c header members are
// ignored, and go-jose is handed a single public key, never a key set. ES512
// and PS384/PS512 are not accepted (no provider we target uses them).
//
// Keys: a JWKS is read key by key. Keys this package cannot use (symmetric,
// encryption-only, unknown kty or curve, RSA outside 2048 to 8192 bits, keys
// carrying private parts) are skipped, so a provider may publish keys of
// other kinds; a set with no usable key, or more than 100 keys, is an error.
// Discovery (GET {Issuer}/.well-known/openid-configuration, used when
// JWKSURL is empty) runs on every fetch, so a provider may move its jwks_uri;
// the document's issuer must equal the configured one after NormalizeIssuer
// on both sides. Discovery and JWKS answers must be 200 with a JSON media type
// (application/json or application/*+json) and at most 1 MiB. Issuers and key
// URLs must be https, or http on localhost, 127.0.0.1 or [::1]; redirects must
// stay on https.
//
// Caching: each provider's key set is trusted for CacheTTL (default 1h) from
// the start of the fetch that got it. A token whose kid is not in the set
// triggers a refetch, but a provider's keys are fetched at most once per
// MinRefetch (default 1 min) whatever the outcome, so a flood of tokens with
// junk kids costs the provider one request per MinRefetch, and a provider
// that is down is asked again at most that often (meanwhile Verify answers
// ErrUnavailable at once). Concurrent fetches for one provider collapse into
// one (singleflight) that runs detached from the caller's context, under a
// 30s cap: a caller whose context ends gets its context's error, and the fetch
// completes for the others. When a refresh fails, the previous set stays
// usable up to 2×CacheTTL after it was fetched, so a short outage does not
// stop sign-ins; after that, ErrUnavailable.
//
// Claims: iss is compared after NormalizeIssuer (scheme and host lowercased,
// trailing slash dropped), which is looser than OpenID Connect's exact match
// but is the comparison identity already uses for stored credentials.
// Claims.Issuer is the normalized configured issuer. iat is optional (the
// spec's proof carries nothing to bound token age, so it is only checked not
// to be in the future); at_hash, acr and auth_time are not checked. The
// nonce claim is returned, not checked: identity requires it to be a
// server-issued, single-use sign-in challenge, so a token cannot be
// replayed.
// email_verified counts as true only when it is true or the string "true".
//
// # Errors
//
// Every verification failure wraps ErrInvalidToken (tuples.Unauthenticated,
// code unauthorized.invalid_credential: the spec's InvalidCredentialError,
// 401). A trusted issuer whose keys cannot be had wraps ErrUnavailable
// (tuples.Unavailable, 503), never ErrInvalidToken. Messages carry detail for
// logs (issuer, kid, alg, the failing claim) but never the token.
package oidc
