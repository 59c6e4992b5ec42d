package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/json"
)

// provider is one trusted issuer and its cached keys.
type provider struct {
	issuer    string // normalized
	jwksURL   string // configured; "" means discovery
	audiences []string

	mu        sync.Mutex        // mu guards keys, fetchedAt, attemptAt, lastErr
	keys      []jose.JSONWebKey // last good set, never modified once stored; nil before the first success
	fetchedAt time.Time         // when the fetch that got keys started
	attemptAt time.Time         // when the last fetch (successful or not) started
	lastErr   error             // the last fetch's error, nil if it succeeded
}

// keySet returns p's keys, fetching them if there are none yet, if they are
// older than the cache TTL, or if refresh is set (the token's key was not in
// the set the caller had). A fetch starts at most once per MinRefetch; other
// callers get the current set. Concurrent fetches for one provider collapse
// into one, which runs detached from ctx (so one caller giving up does not
// fail the others) under fetchTimeout.
//
// It returns ErrUnavailable (wrapped) when there is no usable set: none was
// ever fetched, or the last one is older than twice the TTL and refreshing it
// failed. A set past its TTL stays usable for one more TTL while refreshes
// fail, so a short provider outage does not stop sign-ins.
func (v *Verifier) keySet(ctx context.Context, p *provider, refresh bool) ([]jose.JSONWebKey, error) {
	now := v.now()
	p.mu.Lock()
	keys, fetchedAt := p.keys, p.fetchedAt
	p.mu.Unlock()
	if keys != nil && !refresh && now.Before(fetchedAt.Add(v.ttl)) {
		return keys, nil
	}

	ch := v.flight.DoChan(p.issuer, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		v.refresh(fctx, p)
		return nil, nil
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("oidc: waiting for the keys of %s: %w", p.issuer, ctx.Err())
	case <-ch:
	}

	now = v.now()
	p.mu.Lock()
	keys, fetchedAt, lastErr := p.keys, p.fetchedAt, p.lastErr
	p.mu.Unlock()
	if keys != nil && now.Before(fetchedAt.Add(2*v.ttl)) {
		return keys, nil
	}
	if lastErr == nil { // unreachable: a stale set implies a failed or skipped refresh
		lastErr = errors.New("no key set")
	}
	return nil, fmt.Errorf("oidc: keys of %s: %v: %w", p.issuer, lastErr, ErrUnavailable)
}

// refresh fetches p's keys and stores the outcome, unless a fetch started
// less than MinRefetch ago.
func (v *Verifier) refresh(ctx context.Context, p *provider) {
	start := v.now()
	p.mu.Lock()
	if !p.attemptAt.IsZero() && start.Sub(p.attemptAt) < v.minRefetch {
		p.mu.Unlock()
		return
	}
	p.attemptAt = start
	p.mu.Unlock()

	keys, err := v.fetchKeys(ctx, p)

	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastErr = err
	if err == nil {
		p.keys, p.fetchedAt = keys, start
	}
}

// fetchKeys finds p's JWKS URL (by discovery when none is configured) and
// fetches and parses the key set.
func (v *Verifier) fetchKeys(ctx context.Context, p *provider) ([]jose.JSONWebKey, error) {
	jwksURL := p.jwksURL
	if jwksURL == "" {
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := v.getJSON(ctx, p.issuer+"/.well-known/openid-configuration", &doc); err != nil {
			return nil, fmt.Errorf("discovery: %w", err)
		}
		if NormalizeIssuer(doc.Issuer) != p.issuer {
			return nil, fmt.Errorf("discovery: document names issuer %q, not %q", clip(doc.Issuer), p.issuer)
		}
		if doc.JWKSURI == "" {
			return nil, errors.New("discovery: document has no jwks_uri")
		}
		jwksURL = doc.JWKSURI
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := v.getJSON(ctx, jwksURL, &set); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	return parseKeys(set.Keys)
}

// parseKeys keeps the keys this package can verify with: public RSA (2048 to
// 8192 bits), ECDSA P-256 or P-384, and Ed25519 keys whose use is unset or
// "sig". Other keys (encryption keys, symmetric keys, unknown types, keys with
// private parts, which anyone could then sign with) are skipped, not fatal, so
// a provider can publish kinds of key we do not know. A set with no usable
// key, or with more than maxKeys keys, is an error.
func parseKeys(raw []json.RawMessage) ([]jose.JSONWebKey, error) {
	if len(raw) > maxKeys {
		return nil, fmt.Errorf("JWKS lists %d keys, more than %d", len(raw), maxKeys)
	}
	var keys []jose.JSONWebKey
	for _, r := range raw {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(r); err != nil || !usable(&k) {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS has no usable signing key")
	}
	return keys, nil
}

func usable(k *jose.JSONWebKey) bool {
	if k.Use != "" && k.Use != "sig" {
		return false
	}
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		n := key.N.BitLen()
		return n >= minRSABits && n <= maxRSABits
	case *ecdsa.PublicKey:
		return key.Curve == elliptic.P256() || key.Curve == elliptic.P384()
	case ed25519.PublicKey:
		return len(key) == ed25519.PublicKeySize
	}
	return false
}

// fits reports whether k may verify a signature made with alg: the key's
// type (and curve) must be alg's, and the key's own alg, if it names one,
// must be alg. This is what stops a token choosing how our key is used.
func fits(k *jose.JSONWebKey, alg jose.SignatureAlgorithm) bool {
	if k.Algorithm != "" && k.Algorithm != string(alg) {
		return false
	}
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256:
			return true
		}
	case *ecdsa.PublicKey:
		return alg == jose.ES256 && key.Curve == elliptic.P256() ||
			alg == jose.ES384 && key.Curve == elliptic.P384()
	case ed25519.PublicKey:
		return alg == jose.EdDSA
	}
	return false
}

// getJSON GETs url and decodes its body into dst. The answer must be 200 with
// a JSON media type (application/json or application/*+json) and a body of at
// most maxResponseSize bytes.
func (v *Verifier) getJSON(ctx context.Context, rawURL string, dst any) error {
	if _, err := parseFetchURL(rawURL); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", rawURL, resp.StatusCode)
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !(mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return fmt.Errorf("GET %s: content type %q is not JSON", rawURL, clip(resp.Header.Get("Content-Type")))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", rawURL, err)
	}
	if len(body) > maxResponseSize {
		return fmt.Errorf("GET %s: body exceeds %d bytes", rawURL, maxResponseSize)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return fmt.Errorf("GET %s: %w", rawURL, err)
	}
	return nil
}
