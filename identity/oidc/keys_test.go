package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/flametrench/server/tuples"
)

func TestKeysCached(t *testing.T) {
	c := newClock()
	p := newIDP(t, rsaKey())
	v := newVerifier(t, c, p)
	verify := func() {
		t.Helper()
		if _, err := v.Verify(bg, sign(t, rsaKey(), validClaims(p, c))); err != nil {
			t.Fatalf("Verify at %v: %v", c.Now(), err)
		}
	}
	verify()
	c.Advance(59 * time.Minute)
	verify()
	if n, d := p.jwksHits.Load(), p.discoveryHits.Load(); n != 1 || d != 1 {
		t.Fatalf("within CacheTTL: %d JWKS and %d discovery fetches, want 1 and 1", n, d)
	}
	c.Advance(time.Minute)
	verify()
	if n, d := p.jwksHits.Load(), p.discoveryHits.Load(); n != 2 || d != 2 {
		t.Fatalf("after CacheTTL: %d JWKS and %d discovery fetches, want 2 and 2", n, d)
	}
}

func TestKeyRotation(t *testing.T) {
	c := newClock()
	p := newIDP(t, rsaKey())
	v := newVerifier(t, c, p)
	if _, err := v.Verify(bg, sign(t, rsaKey(), validClaims(p, c))); err != nil {
		t.Fatalf("Verify(old key): %v", err)
	}
	p.setKeys(rsaKey2(), ecKey()) // the provider rotates: rsa-1 retired, rsa-2 and ec-1 new

	// Within MinRefetch of the first fetch, the new kid is unknown and stays so.
	if _, err := v.Verify(bg, sign(t, rsaKey2(), validClaims(p, c))); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify(new kid) within MinRefetch error = %v, want ErrInvalidToken", err)
	}
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times within MinRefetch, want 1", n)
	}

	c.Advance(time.Minute)
	if _, err := v.Verify(bg, sign(t, rsaKey2(), validClaims(p, c))); err != nil {
		t.Fatalf("Verify(new kid) after MinRefetch: %v", err)
	}
	if _, err := v.Verify(bg, sign(t, ecKey(), validClaims(p, c))); err != nil {
		t.Fatalf("Verify(second new kid, already fetched): %v", err)
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", n)
	}
	// The retired key no longer verifies, and its kid is now unknown.
	if _, err := v.Verify(bg, sign(t, rsaKey(), validClaims(p, c))); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify(retired key) error = %v, want ErrInvalidToken", err)
	}
}

func TestUnknownKidFlood(t *testing.T) {
	c := newClock()
	p := newIDP(t, rsaKey())
	v := newVerifier(t, c, p)
	flood := func(n int) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				tok := sign(t, testKey{fmt.Sprintf("junk-%d", i), jose.EdDSA, edPriv()}, validClaims(p, c))
				if _, err := v.Verify(bg, tok); !errors.Is(err, ErrInvalidToken) {
					t.Errorf("Verify(junk kid %d) error = %v, want ErrInvalidToken", i, err)
				}
			})
		}
		wg.Wait()
	}
	flood(50) // the first of them fetches the keys; none may refetch
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("after 50 junk kids: %d JWKS fetches, want 1", n)
	}
	for round := 2; round <= 4; round++ {
		c.Advance(time.Minute)
		flood(50)
		if n := p.jwksHits.Load(); n != int64(round) {
			t.Fatalf("after %d MinRefetch periods of junk kids: %d JWKS fetches, want %d", round-1, n, round)
		}
	}
	c.Advance(30 * time.Second)
	flood(20)
	if n := p.jwksHits.Load(); n != 4 {
		t.Fatalf("half a MinRefetch later: %d JWKS fetches, want still 4", n)
	}
}

func TestConcurrentColdStartFetchesOnce(t *testing.T) {
	c := newClock()
	p := newIDP(t, rsaKey(), ecKey(), edKey())
	v := newVerifier(t, c, p)
	keys := []testKey{rsaKey(), ecKey(), edKey()}
	tokens := make([]string, len(keys))
	for i, k := range keys {
		tokens[i] = sign(t, k, validClaims(p, c))
	}
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			if _, err := v.Verify(bg, tokens[i%len(tokens)]); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
	wg.Wait()
	if n, d := p.jwksHits.Load(), p.discoveryHits.Load(); n != 1 || d != 1 {
		t.Fatalf("60 concurrent cold Verify calls: %d JWKS and %d discovery fetches, want 1 and 1", n, d)
	}
}

func TestDiscoveryIssuerMismatch(t *testing.T) {
	c := newClock()
	p := newIDP(t, rsaKey())
	p.discoveryIssuer = "https://evil.example.com"
	v := newVerifier(t, c, p)
	_, err := v.Verify(bg, sign(t, rsaKey(), validClaims(p, c)))
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "evil.example.com") {
		t.Fatalf("Verify with a mismatched discovery issuer: error = %v, want ErrUnavailable naming the issuer", err)
	}
	if n := p.jwksHits.Load(); n != 0 {
		t.Errorf("JWKS fetched %d times despite the mismatch, want 0", n)
	}

	// Normalization applies on both sides: a discovery document that spells
	// the issuer with a trailing slash and an upper-case scheme matches.
	c2 := newClock()
	q := newIDP(t, rsaKey())
	q.discoveryIssuer = "HTTPS" + strings.TrimPrefix(q.issuer(), "https") + "/"
	if _, err := newVerifier(t, c2, q).Verify(bg, sign(t, rsaKey(), validClaims(q, c2))); err != nil {
		t.Fatalf("Verify with discovery issuer %q: %v", q.discoveryIssuer, err)
	}
}

func TestProviderDown(t *testing.T) {
	c := newClock()
	p := newIDP(t, rsaKey())
	p.setDown(true)
	v := newVerifier(t, c, p)
	tok := func() string { return sign(t, rsaKey(), validClaims(p, c)) }

	_, err := v.Verify(bg, tok())
	if !errors.Is(err, ErrUnavailable) || tuples.KindOf(err) != tuples.Unavailable || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify with the provider down: error = %v, want ErrUnavailable only", err)
	}
	// It comes back, but a failed fetch is not retried within MinRefetch.
	p.setDown(false)
	if _, err := v.Verify(bg, tok()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Verify within MinRefetch of a failed fetch: error = %v, want ErrUnavailable", err)
	}
	if n := p.discoveryHits.Load(); n != 1 {
		t.Fatalf("discovery fetched %d times within MinRefetch, want 1", n)
	}
	c.Advance(time.Minute)
	if _, err := v.Verify(bg, tok()); err != nil {
		t.Fatalf("Verify after the provider recovered: %v", err)
	}

	// Down again after CacheTTL: the old keys stay usable for one more TTL.
	p.setDown(true)
	c.Advance(time.Hour + time.Second)
	if _, err := v.Verify(bg, tok()); err != nil {
		t.Fatalf("Verify with stale keys while the provider is down: %v", err)
	}
	c.Advance(time.Hour)
	if _, err := v.Verify(bg, tok()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Verify with keys older than 2×CacheTTL: error = %v, want ErrUnavailable", err)
	}
	// The provider being unreachable never turns an untrusted issuer into a 503.
	bad := validClaims(p, c)
	bad["iss"] = "https://unknown.example.com"
	if _, err := v.Verify(bg, sign(t, rsaKey(), bad)); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify(unknown issuer) error = %v, want ErrInvalidToken", err)
	}
}

func TestProviderUnreachable(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	iss := srv.URL
	client := srv.Client()
	srv.Close() // nothing listens there any more
	c := newClock()
	v, err := New(Config{Providers: []Provider{{Issuer: iss, Audiences: []string{testAud}}}, HTTPClient: client, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"iss": iss, "sub": "u", "aud": testAud, "exp": c.Now().Add(time.Hour).Unix()}
	if _, err := v.Verify(bg, sign(t, rsaKey(), claims)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Verify with nothing listening: error = %v, want ErrUnavailable", err)
	}
}

// jwksServer serves h at /jwks over TLS and returns a Verifier configured
// with that JWKSURL (no discovery), and the issuer.
func jwksServer(t *testing.T, c *clock, h http.HandlerFunc) (*Verifier, string) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	v, err := New(Config{
		Providers:  []Provider{{Issuer: srv.URL + "/tenant/", JWKSURL: srv.URL + "/jwks?tenant=1", Audiences: []string{testAud}}},
		HTTPClient: srv.Client(),
		Now:        c.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v, srv.URL + "/tenant"
}

func serveJSON(contentType string, body any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/jwks" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentType)
		switch b := body.(type) {
		case string:
			fmt.Fprint(w, b)
		default:
			json.NewEncoder(w).Encode(b)
		}
	}
}

func TestKeySetResponses(t *testing.T) {
	good := rsaKey().public()
	goodJSON := string(must(good.MarshalJSON()))
	privJSON := string(must(jose.JSONWebKey{Key: rsaPriv(), KeyID: "rsa-1", Algorithm: "RS256"}.MarshalJSON()))
	weak := must(rsa.GenerateKey(rand.Reader, 1024))
	weakJSON := string(must(jose.JSONWebKey{Key: weak.Public(), KeyID: "rsa-1"}.MarshalJSON()))
	encJSON := string(must(jose.JSONWebKey{Key: rsaPriv().Public(), KeyID: "rsa-1", Use: "enc"}.MarshalJSON()))
	many := `{"keys":[` + strings.Repeat(goodJSON+",", maxKeys) + goodJSON + `]}`

	tests := []struct {
		name string
		h    http.HandlerFunc
		ok   bool
	}{
		{"application/json", serveJSON("application/json; charset=utf-8", `{"keys":[`+goodJSON+`]}`), true},
		{"application/jwk-set+json", serveJSON("application/jwk-set+json", `{"keys":[`+goodJSON+`]}`), true},
		{"unknown and symmetric keys skipped", serveJSON("application/json",
			`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"rsa-1"},{"kty":"XYZ","kid":"rsa-1"},{"kty":"OKP","crv":"Ed448","x":"AA","kid":"rsa-1"},`+goodJSON+`]}`), true},
		{"text/html", serveJSON("text/html", `{"keys":[`+goodJSON+`]}`), false},
		{"no content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil
			fmt.Fprint(w, `{"keys":[`+goodJSON+`]}`)
		}, false},
		{"status 404", http.NotFoundHandler().ServeHTTP, false},
		{"status 204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }, false},
		{"not JSON", serveJSON("application/json", `<html>`), false},
		{"keys not an array", serveJSON("application/json", `{"keys":{}}`), false},
		{"duplicate keys member", serveJSON("application/json", `{"keys":[],"keys":[`+goodJSON+`]}`), false},
		{"empty set", serveJSON("application/json", `{"keys":[]}`), false},
		{"only a private key", serveJSON("application/json", `{"keys":[`+privJSON+`]}`), false},
		{"only a 1024-bit key", serveJSON("application/json", `{"keys":[`+weakJSON+`]}`), false},
		{"only an encryption key", serveJSON("application/json", `{"keys":[`+encJSON+`]}`), false},
		{"too many keys", serveJSON("application/json", many), false},
		{"body over 1 MiB", serveJSON("application/json", `{"keys":[`+goodJSON+`],"pad":"`+strings.Repeat("x", maxResponseSize)+`"}`), false},
		{"redirect to http", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://example.invalid/jwks", http.StatusFound)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			v, iss := jwksServer(t, c, tt.h)
			claims := map[string]any{"iss": iss, "sub": "u", "aud": testAud, "exp": c.Now().Add(time.Hour).Unix()}
			_, err := v.Verify(bg, sign(t, rsaKey(), claims))
			if tt.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Verify error = %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestCanceledWhileFetching(t *testing.T) {
	release := make(chan struct{})
	var hits sync.WaitGroup
	hits.Add(1)
	var once sync.Once
	c := newClock()
	good := string(must(rsaKey().public().MarshalJSON()))
	v, iss := jwksServer(t, c, func(w http.ResponseWriter, r *http.Request) {
		once.Do(hits.Done)
		<-release
		serveJSON("application/json", `{"keys":[`+good+`]}`)(w, r)
	})
	unblock := sync.OnceFunc(func() { close(release) })
	t.Cleanup(unblock) // runs before the server's Close, which waits for the handler
	tok := sign(t, rsaKey(), map[string]any{"iss": iss, "sub": "u", "aud": testAud, "exp": c.Now().Add(time.Hour).Unix()})

	ctx, cancel := context.WithCancel(bg)
	done := make(chan error)
	go func() {
		_, err := v.Verify(ctx, tok)
		done <- err
	}()
	hits.Wait() // the fetch is in progress
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Verify canceled during the fetch: error = %v, want context.Canceled", err)
	}
	// The fetch goes on without the canceled caller, and its result is used.
	unblock()
	var err error
	for range 100 {
		if _, err = v.Verify(bg, tok); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("Verify after the detached fetch finished: %v", err)
}
