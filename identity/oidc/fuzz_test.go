package oidc

import (
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// FuzzVerify: Verify never panics, fails only with ErrInvalidToken (the
// provider is up, so never ErrUnavailable), returns zero claims with an
// error, and accepts only tokens whose claims pass the rules. The verifier's
// clock stands still, so after the first fetch every unknown kid falls under
// MinRefetch and the fuzzer does not spend its time on HTTP.
func FuzzVerify(f *testing.F) {
	c := newClock()
	p := newIDP(f, rsaKey(), ecKey(), edKey())
	v := newVerifier(f, c, p)

	for _, k := range []testKey{rsaKey(), ecKey(), edKey(), {"", jose.EdDSA, edPriv()}} {
		claims := validClaims(p, c)
		tok := sign(f, k, claims)
		f.Add(tok)
		parts := strings.Split(tok, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(parts[0] + "." + b64([]byte(`{"iss":"`+p.issuer()+`","sub":"x","aud":"client-123","exp":1e20}`)) + "." + parts[2])
		claims["aud"] = []any{"x", testAud, 7}
		f.Add(sign(f, k, claims))
	}
	evil := validClaims(p, c)
	f.Add(unsigned(map[string]any{"alg": "none"}, evil))
	f.Add(signWith(f, jose.SigningKey{Algorithm: jose.HS256, Key: []byte(strings.Repeat("k", 32))}, evil))
	for _, s := range []string{"", ".", "..", "...", "a.b.c", "eyJhbGciOiJSUzI1NiJ9..", "eyJhbGciOiJSUzI1NiJ9.bnVsbA.", "eyJhbGciOiJSUzI1NiIsImNyaXQiOlsiYjY0Il0sImI2NCI6ZmFsc2V9.e30.AA"} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		got, err := v.Verify(bg, raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("Verify(%q) error = %v, want ErrInvalidToken", raw, err)
			}
			if got.Subject != "" || got.Issuer != "" || got.Audience != nil {
				t.Fatalf("Verify(%q) returned claims %+v with error %v", raw, got, err)
			}
			return
		}
		if got.Issuer != p.issuer() || got.Subject == "" || len(got.Subject) > maxSubject ||
			!c.Now().Before(got.Expiry.Add(time.Minute)) || len(raw) > maxTokenSize {
			t.Fatalf("Verify(%q) accepted claims %+v", raw, got)
		}
	})
}
