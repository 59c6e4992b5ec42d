package oidc

import "time"

// Bounds on hostile or broken input. A token comes from the client and a
// discovery document or key set from the network, so every one is capped
// before it is parsed.
const (
	// maxTokenSize caps the raw ID token. Real ID tokens are 1 to 2 KiB; 16 KiB
	// leaves room for large claim sets without letting a client make us
	// base64-decode and JSON-parse megabytes.
	maxTokenSize = 16 << 10
	// maxResponseSize caps a discovery document or a JWKS response body.
	maxResponseSize = 1 << 20
	// maxKeys caps the keys a JWKS may list. Real sets hold 2 to 10; a token
	// without a kid is tried against every fitting key, so the cap also bounds
	// the signature checks one token can cost.
	maxKeys = 100
	// maxSubject is OpenID Connect Core §2's limit on sub: 255 ASCII characters.
	maxSubject = 255
	// minRSABits and maxRSABits bound accepted RSA moduli: below 2048 bits is
	// too weak, above 8192 only makes verification slow.
	minRSABits, maxRSABits = 2048, 8192
	// maxRedirects bounds the redirects followed while fetching discovery or
	// keys with the default redirect policy.
	maxRedirects = 5
	// fetchTimeout caps one key refresh (discovery plus JWKS), whatever
	// timeout the HTTP client has, because a refresh runs detached from the
	// context of the Verify that started it.
	fetchTimeout = 30 * time.Second
)

// Defaults for Config's zero values.
const (
	defaultHTTPTimeout = 10 * time.Second
	defaultLeeway      = time.Minute
	defaultCacheTTL    = time.Hour
	defaultMinRefetch  = time.Minute
)
