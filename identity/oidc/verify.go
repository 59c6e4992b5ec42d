package oidc

import (
	"context"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/json"
	"github.com/go-jose/go-jose/v4/jwt"
)

// allowedAlgs are the signature algorithms a token may use. Never "none",
// never HS*: an HMAC "verified" with a public key as the secret is the classic
// algorithm-confusion forgery.
var allowedAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.ES256, jose.ES384, jose.EdDSA,
}

// Claims are the verified claims of an ID token.
type Claims struct {
	Issuer        string    // normalized with NormalizeIssuer: the form identity stores
	Subject       string    // 1 to 255 bytes
	Audience      []string  // as in the token; contains one of the provider's Audiences
	Expiry        time.Time // UTC
	IssuedAt      time.Time // UTC; zero when the token has no iat
	Email         string    // as asserted by the provider; "" if absent
	EmailVerified bool      // true only if email_verified is true (or the string "true")
	Nonce         string    // the nonce claim; "" if absent. The caller compares it.
}

// idClaims is the payload as read. The go-jose json package matches member
// names case-sensitively and refuses duplicate members, so "ISS" is not iss
// and a payload cannot carry two different iss values.
type idClaims struct {
	Issuer          string           `json:"iss"`
	Subject         string           `json:"sub"`
	Audience        jwt.Audience     `json:"aud"`
	Expiry          *jwt.NumericDate `json:"exp"`
	NotBefore       *jwt.NumericDate `json:"nbf"`
	IssuedAt        *jwt.NumericDate `json:"iat"`
	AuthorizedParty string           `json:"azp"`
	Email           string           `json:"email"`
	EmailVerified   any              `json:"email_verified"`
	Nonce           string           `json:"nonce"`
}

// Verify checks an OpenID Connect ID token (the id_token proof of the spec's
// verifyCredential for OIDC credentials) and returns its claims. The caller
// looks up the credential by (Claims.Issuer, Claims.Subject).
//
// Checks, in order, stopping at the first failure: the token is at most
// 16 KiB of base64url and dots; it is a compact JWS whose alg is RS256, RS384, RS512, PS256, ES256,
// ES384 or EdDSA; its payload is a JSON object; its iss, normalized, is a
// configured provider's issuer; the provider's keys are at hand (cached, else
// fetched); a key fits the token (same kid if the token names one, a type
// matching alg, the key's own alg equal to alg if set), and if none does the
// keys are refetched once (at most once per MinRefetch) and searched again;
// the signature verifies with a fitting key; aud contains one of the
// provider's Audiences; if azp is present and aud has several values, azp is
// one of the Audiences; exp is present and now < exp + leeway; nbf and iat,
// if present, are not after now + leeway; sub is 1 to 255 bytes.
//
// Errors wrap ErrInvalidToken, or ErrUnavailable when the provider's keys
// cannot be had, or are ctx's error if ctx ends while keys are being fetched.
// Header members other than alg and kid (jku, x5u, jwk, x5c) are ignored:
// keys come only from the provider's configured or discovered JWKS.
func (v *Verifier) Verify(ctx context.Context, rawIDToken string) (Claims, error) {
	if len(rawIDToken) > maxTokenSize {
		return Claims{}, invalidf("token is %d bytes, more than %d", len(rawIDToken), maxTokenSize)
	}
	if i := strings.IndexFunc(rawIDToken, notCompactJWS); i >= 0 {
		return Claims{}, invalidf("token has a byte outside base64url and '.' at offset %d", i)
	}
	jws, err := jose.ParseSignedCompact(rawIDToken, allowedAlgs)
	if err != nil {
		return Claims{}, invalidf("not a compact JWS with an accepted alg: %v", err)
	}
	hdr := jws.Signatures[0].Header // compact serialization: exactly one signature
	alg, kid := jose.SignatureAlgorithm(hdr.Algorithm), hdr.KeyID

	// The payload is read before the signature is checked, because its iss
	// chooses whose keys to check it with. Nothing else is trusted until the
	// signature verifies, and Verify checks the very same bytes.
	var c idClaims
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		return Claims{}, invalidf("payload is not a JSON claims object: %v", err)
	}
	p := v.providers[NormalizeIssuer(c.Issuer)]
	if p == nil {
		return Claims{}, invalidf("issuer %q is not trusted", clip(c.Issuer))
	}

	keys, err := v.keySet(ctx, p, false)
	if err != nil {
		return Claims{}, err
	}
	cand := candidates(keys, kid, alg)
	if len(cand) == 0 {
		// Perhaps the provider rotated its keys since we fetched them.
		if keys, err = v.keySet(ctx, p, true); err != nil {
			return Claims{}, err
		}
		if cand = candidates(keys, kid, alg); len(cand) == 0 {
			return Claims{}, invalidf("no key of %s fits kid %q alg %s", p.issuer, clip(kid), alg)
		}
	}
	if !verifies(jws, cand) {
		return Claims{}, invalidf("signature does not verify (issuer %s, kid %q, alg %s)", p.issuer, clip(kid), alg)
	}

	return v.checkClaims(p, &c)
}

// notCompactJWS reports whether r cannot occur in a compact JWS. Go's base64
// decoder skips line breaks, so without this check "a.\nb.c" would verify
// like "a.b.c"; we accept only the canonical spelling.
func notCompactJWS(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.')
}

// candidates returns the keys that may have signed a token with this kid and
// alg: the keys with that kid, or every key if the token names none, that fit
// alg.
func candidates(keys []jose.JSONWebKey, kid string, alg jose.SignatureAlgorithm) []*jose.JSONWebKey {
	var out []*jose.JSONWebKey
	for i := range keys {
		k := &keys[i]
		if (kid == "" || k.KeyID == kid) && fits(k, alg) {
			out = append(out, k)
		}
	}
	return out
}

// verifies reports whether the signature verifies with one of keys. It passes
// the bare public key, never a key set, so go-jose cannot pick a key itself.
func verifies(jws *jose.JSONWebSignature, keys []*jose.JSONWebKey) bool {
	for _, k := range keys {
		if _, err := jws.Verify(k.Key); err == nil {
			return true
		}
	}
	return false
}

// checkClaims validates the signed claims against p and the clock.
func (v *Verifier) checkClaims(p *provider, c *idClaims) (Claims, error) {
	// iss already equals p.issuer after normalization: that is how p was found.
	if !slices.ContainsFunc(p.audiences, c.Audience.Contains) {
		return Claims{}, invalidf("aud %q has none of %s's audiences", clipAll(c.Audience), p.issuer)
	}
	if c.AuthorizedParty != "" && len(c.Audience) > 1 && !slices.Contains(p.audiences, c.AuthorizedParty) {
		return Claims{}, invalidf("azp %q is not one of %s's audiences", clip(c.AuthorizedParty), p.issuer)
	}
	now := v.now()
	if c.Expiry == nil {
		return Claims{}, invalidf("no exp")
	}
	exp := c.Expiry.Time().UTC()
	if !now.Before(exp.Add(v.leeway)) {
		return Claims{}, invalidf("expired at %s", exp.Format(time.RFC3339))
	}
	if c.NotBefore != nil && now.Add(v.leeway).Before(c.NotBefore.Time()) {
		return Claims{}, invalidf("not valid before %s", c.NotBefore.Time().UTC().Format(time.RFC3339))
	}
	var iat time.Time
	if c.IssuedAt != nil {
		iat = c.IssuedAt.Time().UTC()
		if now.Add(v.leeway).Before(iat) {
			return Claims{}, invalidf("issued in the future, at %s", iat.Format(time.RFC3339))
		}
	}
	if c.Subject == "" || len(c.Subject) > maxSubject {
		return Claims{}, invalidf("sub is %d bytes, want 1 to %d", len(c.Subject), maxSubject)
	}
	verified, _ := c.EmailVerified.(bool)
	if s, ok := c.EmailVerified.(string); ok {
		verified = s == "true" // some providers (Cognito, older Google) send a string
	}
	return Claims{
		Issuer:        p.issuer,
		Subject:       c.Subject,
		Audience:      []string(c.Audience),
		Expiry:        exp,
		IssuedAt:      iat,
		Email:         c.Email,
		EmailVerified: verified,
		Nonce:         c.Nonce,
	}, nil
}

// clipAll clips each value and at most the first few, for an error message.
func clipAll(ss []string) []string {
	const max = 4
	out := make([]string, 0, min(len(ss), max+1))
	for i, s := range ss {
		if i == max {
			out = append(out, "...")
			break
		}
		out = append(out, clip(s))
	}
	return out
}
