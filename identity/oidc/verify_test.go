package oidc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/flametrench/server/tuples"
)

func TestVerifyAlgorithms(t *testing.T) {
	ec384 := testKey{"ec-384", jose.ES384, must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))}
	keys := []testKey{
		rsaKey(),
		{"rsa-384", jose.RS384, rsaPriv()},
		{"rsa-512", jose.RS512, rsaPriv()},
		{"rsa-pss", jose.PS256, rsaPriv()},
		ecKey(),
		ec384,
		edKey(),
	}
	c := newClock()
	p := newIDP(t, keys...)
	v := newVerifier(t, c, p)
	for _, k := range keys {
		t.Run(string(k.alg), func(t *testing.T) {
			claims := validClaims(p, c)
			got, err := v.Verify(bg, sign(t, k, claims))
			if err != nil {
				t.Fatalf("Verify(%s token) error = %v", k.alg, err)
			}
			want := Claims{
				Issuer:        p.issuer(),
				Subject:       "user-42",
				Audience:      []string{testAud},
				Expiry:        time.Unix(claims["exp"].(int64), 0).UTC(),
				IssuedAt:      time.Unix(claims["iat"].(int64), 0).UTC(),
				Email:         "ada@example.com",
				EmailVerified: true,
			}
			if !equalClaims(got, want) {
				t.Errorf("Verify(%s token) = %+v, want %+v", k.alg, got, want)
			}
		})
	}
	if n := p.jwksHits.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times for %d tokens, want 1", n, len(keys))
	}
}

func equalClaims(a, b Claims) bool {
	return a.Issuer == b.Issuer && a.Subject == b.Subject && strings.Join(a.Audience, "\x00") == strings.Join(b.Audience, "\x00") &&
		a.Expiry.Equal(b.Expiry) && a.IssuedAt.Equal(b.IssuedAt) && a.Email == b.Email && a.EmailVerified == b.EmailVerified
}

// TestVerifyClaims covers claim rules, with tokens validly signed by a key
// the provider publishes.
func TestVerifyClaims(t *testing.T) {
	c := newClock()
	p := newIDP(t, rsaKey())
	other := newIDP(t, ecKey())
	v := newVerifier(t, c, p, other)
	now := c.Now()
	long := strings.Repeat("s", maxSubject+1)

	tests := []struct {
		name   string
		change map[string]any // merged into validClaims; a nil value deletes the claim
		ok     bool
	}{
		{"valid", nil, true},
		{"issuer not normalized", map[string]any{"iss": strings.Replace(p.issuer(), "https", "HTTPS", 1) + "/"}, true},
		{"aud array with ours", map[string]any{"aud": []string{"x", testAud}}, true},
		{"aud other configured audience", map[string]any{"aud": "other-client"}, true},
		{"wrong audience", map[string]any{"aud": "someone-else"}, false},
		{"aud array without ours", map[string]any{"aud": []string{"x", "y"}}, false},
		{"no aud", map[string]any{"aud": nil}, false},
		{"aud wrong type", map[string]any{"aud": 7}, false},
		{"azp ours with several aud", map[string]any{"aud": []string{"x", testAud}, "azp": testAud}, true},
		{"azp foreign with several aud", map[string]any{"aud": []string{"x", testAud}, "azp": "x"}, false},
		{"azp foreign with one aud", map[string]any{"azp": "web-client"}, true},
		{"expired", map[string]any{"exp": now.Add(-2 * time.Minute).Unix()}, false},
		{"expired within leeway", map[string]any{"exp": now.Add(-30 * time.Second).Unix()}, true},
		{"expires exactly at now minus leeway", map[string]any{"exp": now.Add(-time.Minute).Unix()}, false},
		{"no exp", map[string]any{"exp": nil}, false},
		{"exp huge", map[string]any{"exp": 1e300}, false},
		{"exp string", map[string]any{"exp": "tomorrow"}, false},
		{"not yet valid", map[string]any{"nbf": now.Add(5 * time.Minute).Unix()}, false},
		{"nbf within leeway", map[string]any{"nbf": now.Add(30 * time.Second).Unix()}, true},
		{"issued in the future", map[string]any{"iat": now.Add(5 * time.Minute).Unix()}, false},
		{"no iat", map[string]any{"iat": nil}, true},
		{"no sub", map[string]any{"sub": nil}, false},
		{"empty sub", map[string]any{"sub": ""}, false},
		{"sub 255 bytes", map[string]any{"sub": long[:maxSubject]}, true},
		{"sub 256 bytes", map[string]any{"sub": long}, false},
		{"unknown issuer", map[string]any{"iss": "https://evil.example.com"}, false},
		{"no issuer", map[string]any{"iss": nil}, false},
		{"issuer of another provider", map[string]any{"iss": other.issuer()}, false},
		{"issuer path differs", map[string]any{"iss": p.issuer() + "/tenant"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := validClaims(p, c)
			for k, val := range tt.change {
				if val == nil {
					delete(claims, k)
				} else {
					claims[k] = val
				}
			}
			got, err := v.Verify(bg, sign(t, rsaKey(), claims))
			if tt.ok {
				if err != nil {
					t.Fatalf("Verify(%v) error = %v, want success", tt.change, err)
				}
				if got.Issuer != p.issuer() {
					t.Errorf("Verify(%v).Issuer = %q, want %q", tt.change, got.Issuer, p.issuer())
				}
				return
			}
			if !errors.Is(err, ErrInvalidToken) || tuples.KindOf(err) != tuples.Unauthenticated {
				t.Fatalf("Verify(%v) = %+v, %v; want ErrInvalidToken", tt.change, got, err)
			}
			if got.Subject != "" {
				t.Errorf("Verify(%v) returned claims %+v with an error", tt.change, got)
			}
		})
	}
}

func TestVerifyEmailVerified(t *testing.T) {
	c := newClock()
	p := newIDP(t, edKey())
	v := newVerifier(t, c, p)
	for _, tt := range []struct {
		val  any
		want bool
	}{{true, true}, {false, false}, {"true", true}, {"false", false}, {"yes", false}, {1, false}, {nil, false}} {
		claims := validClaims(p, c)
		claims["email_verified"] = tt.val
		if tt.val == nil {
			delete(claims, "email_verified")
		}
		got, err := v.Verify(bg, sign(t, edKey(), claims))
		if err != nil || got.EmailVerified != tt.want {
			t.Errorf("Verify(email_verified=%v) = %v, %v; want %v", tt.val, got.EmailVerified, err, tt.want)
		}
	}
}

// TestVerifyForgeries covers tokens not validly signed by the provider.
func TestVerifyForgeries(t *testing.T) {
	c := newClock()
	p := newIDP(t, rsaKey(), ecKey())
	v := newVerifier(t, c, p)
	claims := validClaims(p, c)
	good := sign(t, rsaKey(), claims)
	if _, err := v.Verify(bg, good); err != nil {
		t.Fatalf("Verify(good) error = %v", err)
	}
	parts := strings.Split(good, ".")

	evil := maps.Clone(claims)
	evil["sub"] = "admin"
	evilPayload := b64(must(jsonMarshal(evil)))

	pubDER := must(x509.MarshalPKIXPublicKey(rsaPriv().Public()))
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	jwkJSON := must(rsaKey().public().MarshalJSON())

	// A token signed by a key we do not trust, claiming a trusted kid.
	impostor := testKey{"rsa-1", jose.RS256, rsaPriv2()}
	// A token whose header alg differs from the alg the JWKS pins for the key.
	pss := testKey{"rsa-1", jose.PS256, rsaPriv()}
	// A token with alg ES256 naming the RSA key's kid.
	crossType := testKey{"rsa-1", jose.ES256, ecPriv()}

	tests := []struct {
		name, token string
	}{
		{"tampered payload", parts[0] + "." + evilPayload + "." + parts[2]},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2])},
		{"signature removed", parts[0] + "." + parts[1] + "."},
		{"alg none", unsigned(map[string]any{"alg": "none", "kid": "rsa-1"}, evil)},
		{"alg None", unsigned(map[string]any{"alg": "None"}, evil)},
		{"HS256 with the public key PEM as secret", signWith(t, jose.SigningKey{Algorithm: jose.HS256, Key: jose.JSONWebKey{Key: pubPEM, KeyID: "rsa-1"}}, evil)},
		{"HS256 with the public key DER as secret", signWith(t, jose.SigningKey{Algorithm: jose.HS256, Key: jose.JSONWebKey{Key: pubDER, KeyID: "rsa-1"}}, evil)},
		{"HS256 with the public JWK as secret", signWith(t, jose.SigningKey{Algorithm: jose.HS256, Key: jose.JSONWebKey{Key: jwkJSON, KeyID: "rsa-1"}}, evil)},
		{"ES512 (not accepted)", sign(t, testKey{"ec-1", jose.ES512, must(ecdsa.GenerateKey(elliptic.P521(), rand.Reader))}, evil)},
		{"untrusted key with a trusted kid", sign(t, impostor, evil)},
		{"untrusted key without kid", sign(t, testKey{"", jose.RS256, rsaPriv2()}, evil)},
		{"header alg differs from the key's alg", sign(t, pss, evil)},
		{"alg of another key type", sign(t, crossType, evil)},
		{"embedded jwk header", embeddedJWK(t, evil)},
		{"JWS JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`},
		{"whitespace inside", parts[0] + ".\n" + parts[1] + "." + parts[2]},
		{"two dots only", ".."},
		{"empty", ""},
		{"four parts", good + ".x"},
		{"oversize", parts[0] + "." + strings.Repeat("A", maxTokenSize) + "." + parts[2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(bg, tt.token)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify(%s) = %+v, %v; want ErrInvalidToken", tt.name, got, err)
			}
			if len(tt.token) > 40 && strings.Contains(err.Error(), tt.token) {
				t.Errorf("Verify(%s) error quotes the token: %v", tt.name, err)
			}
		})
	}
}

// embeddedJWK signs claims with an untrusted key and puts that key in the
// header's jwk member, which a naive verifier would use.
func embeddedJWK(t *testing.T, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: rsaPriv2()}, (&jose.SignerOptions{EmbedJWK: true}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	jws := must(signer.Sign(must(jsonMarshal(claims))))
	return must(jws.CompactSerialize())
}

// flip changes the first character of a base64url string.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func TestVerifyOversizeBeforeParsing(t *testing.T) {
	c := newClock()
	p := newIDP(t, rsaKey())
	v := newVerifier(t, c, p)
	claims := validClaims(p, c)
	claims["pad"] = strings.Repeat("x", maxTokenSize)
	_, err := v.Verify(bg, sign(t, rsaKey(), claims))
	if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "bytes, more than") {
		t.Fatalf("Verify(oversize, validly signed) error = %v, want ErrInvalidToken for size", err)
	}
	if n := p.jwksHits.Load(); n != 0 {
		t.Errorf("oversize token fetched the JWKS %d times, want 0", n)
	}
}
