package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// testKey is a signing key with its kid and alg.
type testKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func (k testKey) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// Keys are generated once per test binary: RSA generation is slow under -race.
var (
	rsaPriv  = sync.OnceValue(func() *rsa.PrivateKey { return must(rsa.GenerateKey(rand.Reader, 2048)) })
	rsaPriv2 = sync.OnceValue(func() *rsa.PrivateKey { return must(rsa.GenerateKey(rand.Reader, 2048)) })
	ecPriv   = sync.OnceValue(func() *ecdsa.PrivateKey { return must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)) })
	edPriv   = sync.OnceValue(func() ed25519.PrivateKey {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func rsaKey() testKey  { return testKey{"rsa-1", jose.RS256, rsaPriv()} }
func rsaKey2() testKey { return testKey{"rsa-2", jose.RS256, rsaPriv2()} }
func ecKey() testKey   { return testKey{"ec-1", jose.ES256, ecPriv()} }
func edKey() testKey   { return testKey{"ed-1", jose.EdDSA, edPriv()} }

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// idp is a test identity provider: an httptest TLS server serving discovery
// and a JWKS, counting requests.
type idp struct {
	srv *httptest.Server

	mu              sync.Mutex
	keys            []jose.JSONWebKey // served in the JWKS
	discoveryIssuer string            // "" means the server's own URL
	down            bool              // answer 500 to everything

	discoveryHits, jwksHits atomic.Int64
}

func newIDP(t testing.TB, keys ...testKey) *idp {
	t.Helper()
	p := &idp{}
	p.setKeys(keys...)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		p.discoveryHits.Add(1)
		p.mu.Lock()
		iss, down := p.discoveryIssuer, p.down
		p.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		if iss == "" {
			iss = p.srv.URL
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": p.srv.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		p.jwksHits.Add(1)
		p.mu.Lock()
		set, down := jose.JSONWebKeySet{Keys: p.keys}, p.down
		p.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		json.NewEncoder(w).Encode(set)
	})
	p.srv = httptest.NewTLSServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) issuer() string { return p.srv.URL }

func (p *idp) setKeys(keys ...testKey) {
	pub := make([]jose.JSONWebKey, len(keys))
	for i, k := range keys {
		pub[i] = k.public()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = pub
}

func (p *idp) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

const testAud = "client-123"

// newVerifier returns a verifier trusting the idps (audience testAud), with
// the clock c.
func newVerifier(t testing.TB, c *clock, idps ...*idp) *Verifier {
	t.Helper()
	cfg := Config{Now: c.Now}
	for _, p := range idps {
		cfg.Providers = append(cfg.Providers, Provider{Issuer: p.issuer(), Audiences: []string{"other-client", testAud}})
		cfg.HTTPClient = p.srv.Client() // every httptest TLS server's client trusts every httptest certificate
	}
	v, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

// claims returns valid claims for p at c's time; callers adjust them.
func validClaims(p *idp, c *clock) map[string]any {
	now := c.Now()
	return map[string]any{
		"iss":            p.issuer(),
		"sub":            "user-42",
		"aud":            testAud,
		"exp":            now.Add(10 * time.Minute).Unix(),
		"iat":            now.Add(-10 * time.Second).Unix(),
		"email":          "ada@example.com",
		"email_verified": true,
	}
}

// sign makes a compact JWS of claims with k (kid in the header unless noKid).
func sign(t testing.TB, k testKey, claims map[string]any) string {
	t.Helper()
	return signWith(t, jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}}, claims)
}

func signWith(t testing.TB, sk jose.SigningKey, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(sk, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsigned builds a token with the given header and claims and an empty
// signature, as an alg "none" token has.
func unsigned(header, claims map[string]any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return b64(h) + "." + b64(c) + "."
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

var bg = context.Background()

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
