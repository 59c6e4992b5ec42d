package oidc

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
)

// Provider is one trusted identity provider.
type Provider struct {
	// Issuer is the provider's issuer identifier, such as
	// https://accounts.example.com. Tokens' iss claims are compared with it
	// after NormalizeIssuer on both sides.
	Issuer string
	// JWKSURL is where the provider's signing keys are. Empty means OpenID
	// Connect Discovery: GET {Issuer}/.well-known/openid-configuration and use
	// its jwks_uri, after checking that its issuer equals Issuer (normalized).
	JWKSURL string
	// Audiences are the accepted aud values: the client IDs this server's
	// relying parties registered with the provider. At least one is required.
	Audiences []string
}

// Config configures a Verifier. Zero values mean the defaults given.
type Config struct {
	Providers []Provider
	// HTTPClient fetches discovery documents and key sets. Default: a client
	// with a 10s timeout. Redirects to anything but https (or http on a
	// loopback host) are refused whichever client is used.
	HTTPClient *http.Client
	// Leeway is the clock skew allowed on exp, nbf and iat. Default 1 minute.
	Leeway time.Duration
	// CacheTTL is how long fetched keys are trusted before they are fetched
	// again. Default 1 hour. If a refresh fails, the old keys stay usable for
	// one more CacheTTL.
	CacheTTL time.Duration
	// MinRefetch is the least time between two fetches of one provider's keys
	// (successful or not): a token with an unknown kid triggers a refetch at
	// most this often, so junk tokens cannot make us hammer the provider, and
	// a provider that is down is asked again at most this often. Default 1
	// minute; must not exceed CacheTTL.
	MinRefetch time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Verifier verifies ID tokens from the configured providers. It is safe for
// concurrent use; it caches each provider's keys.
type Verifier struct {
	providers  map[string]*provider // by normalized issuer; read-only after New
	client     *http.Client
	leeway     time.Duration
	ttl        time.Duration
	minRefetch time.Duration
	now        func() time.Time
	flight     singleflight.Group // one key refresh at a time per issuer
}

// New checks cfg and returns a Verifier. It does no I/O: keys are fetched on
// first use. Each issuer (and a JWKSURL, if set) must be an absolute https
// URL, or http on localhost, 127.0.0.1 or [::1], without user info (and an
// issuer without query or fragment); issuers must be distinct after normalization; each provider needs
// at least one non-empty audience.
func New(cfg Config) (*Verifier, error) {
	v := &Verifier{
		providers:  make(map[string]*provider, len(cfg.Providers)),
		leeway:     orDefault(cfg.Leeway, defaultLeeway),
		ttl:        orDefault(cfg.CacheTTL, defaultCacheTTL),
		minRefetch: orDefault(cfg.MinRefetch, defaultMinRefetch),
		now:        cfg.Now,
	}
	if cfg.Leeway < 0 || cfg.CacheTTL < 0 || cfg.MinRefetch < 0 {
		return nil, errors.New("oidc: Leeway, CacheTTL and MinRefetch must not be negative")
	}
	if v.minRefetch > v.ttl {
		return nil, fmt.Errorf("oidc: MinRefetch (%v) exceeds CacheTTL (%v)", v.minRefetch, v.ttl)
	}
	if v.now == nil {
		v.now = time.Now
	}
	v.client = redirectChecked(cfg.HTTPClient)
	if len(cfg.Providers) == 0 {
		return nil, errors.New("oidc: no providers configured")
	}
	for i, p := range cfg.Providers {
		if err := checkIssuer(p.Issuer); err != nil {
			return nil, fmt.Errorf("oidc: provider %d: issuer: %w", i, err)
		}
		if p.JWKSURL != "" {
			if _, err := parseFetchURL(p.JWKSURL); err != nil {
				return nil, fmt.Errorf("oidc: provider %d (%s): JWKSURL: %w", i, p.Issuer, err)
			}
		}
		if len(p.Audiences) == 0 {
			return nil, fmt.Errorf("oidc: provider %d (%s): no audiences", i, p.Issuer)
		}
		for _, a := range p.Audiences {
			if a == "" {
				return nil, fmt.Errorf("oidc: provider %d (%s): empty audience", i, p.Issuer)
			}
		}
		iss := NormalizeIssuer(p.Issuer)
		if _, dup := v.providers[iss]; dup {
			return nil, fmt.Errorf("oidc: provider %d: issuer %s configured twice", i, iss)
		}
		v.providers[iss] = &provider{issuer: iss, jwksURL: p.JWKSURL, audiences: append([]string(nil), p.Audiences...)}
	}
	return v, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// NormalizeIssuer puts an OIDC issuer in the form it is stored and compared
// in (CRED-7, RFC 3986): scheme and host lowercased, no trailing slash on the
// path, RawPath cleared. A string that does not parse as a URL is returned
// unchanged.
func NormalizeIssuer(iss string) string {
	u, err := url.Parse(iss)
	if err != nil {
		return iss
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u.String()
}

// checkIssuer accepts what checkFetchURL accepts, minus queries and
// fragments, which OpenID Connect Discovery §3 forbids in an issuer.
func checkIssuer(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", clip(s))
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return fmt.Errorf("%q must not have a query or a fragment", clip(s))
	}
	return checkFetchURL(u)
}

// checkFetchURL accepts an absolute https URL, or an http one on a loopback
// host (for development and tests), without user info.
func checkFetchURL(u *url.URL) error {
	switch {
	case u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%q is not an absolute URL", clip(u.Redacted()))
	case u.User != nil:
		return fmt.Errorf("%q must not have user info", clip(u.Redacted()))
	case strings.EqualFold(u.Scheme, "https"):
		return nil
	case strings.EqualFold(u.Scheme, "http") && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q must be https (http only on localhost, 127.0.0.1 or [::1])", clip(u.Redacted()))
}

// parseFetchURL parses s and checks it with checkFetchURL.
func parseFetchURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", clip(s))
	}
	return u, checkFetchURL(u)
}

func isLoopback(host string) bool {
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// redirectChecked returns a copy of c (or of the default client) whose
// redirects must stay on https, so an https discovery URL cannot be bounced
// to plain http and have its keys replaced in transit.
func redirectChecked(c *http.Client) *http.Client {
	var cc http.Client
	if c != nil {
		cc = *c
	} else {
		cc.Timeout = defaultHTTPTimeout
	}
	next := cc.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := checkFetchURL(req.URL); err != nil {
			return fmt.Errorf("redirect refused: %w", err)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &cc
}
