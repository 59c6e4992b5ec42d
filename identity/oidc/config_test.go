package oidc

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	aud := []string{testAud}
	ok := Provider{Issuer: "https://accounts.example.com", Audiences: aud}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" means New succeeds
	}{
		{"minimal", Config{Providers: []Provider{ok}}, ""},
		{"http on localhost", Config{Providers: []Provider{{Issuer: "http://localhost:8080/realms/x", Audiences: aud}}}, ""},
		{"http on 127.0.0.1", Config{Providers: []Provider{{Issuer: "http://127.0.0.1:9000", Audiences: aud}}}, ""},
		{"http on [::1]", Config{Providers: []Provider{{Issuer: "http://[::1]:9000", Audiences: aud}}}, ""},
		{"JWKSURL with a query", Config{Providers: []Provider{{Issuer: ok.Issuer, JWKSURL: "https://keys.example.com/jwks?p=signin", Audiences: aud}}}, ""},
		{"several providers", Config{Providers: []Provider{ok, {Issuer: "https://login.example.org/tenant", Audiences: aud}}}, ""},
		{"all knobs", Config{Providers: []Provider{ok}, HTTPClient: &http.Client{}, Leeway: time.Second, CacheTTL: time.Minute, MinRefetch: time.Minute}, ""},

		{"no providers", Config{}, "no providers"},
		{"http elsewhere", Config{Providers: []Provider{{Issuer: "http://accounts.example.com", Audiences: aud}}}, "must be https"},
		{"http on a lookalike host", Config{Providers: []Provider{{Issuer: "http://localhost.example.com", Audiences: aud}}}, "must be https"},
		{"relative issuer", Config{Providers: []Provider{{Issuer: "accounts.example.com", Audiences: aud}}}, "not an absolute URL"},
		{"empty issuer", Config{Providers: []Provider{{Audiences: aud}}}, "not an absolute URL"},
		{"issuer with a query", Config{Providers: []Provider{{Issuer: "https://a.example.com?x=1", Audiences: aud}}}, "query"},
		{"issuer with a fragment", Config{Providers: []Provider{{Issuer: "https://a.example.com#x", Audiences: aud}}}, "fragment"},
		{"issuer with user info", Config{Providers: []Provider{{Issuer: "https://u:p@a.example.com", Audiences: aud}}}, "user info"},
		{"issuer not a URL", Config{Providers: []Provider{{Issuer: "https://a.example.com/%zz", Audiences: aud}}}, "not a URL"},
		{"ftp issuer", Config{Providers: []Provider{{Issuer: "ftp://a.example.com", Audiences: aud}}}, "must be https"},
		{"http JWKSURL", Config{Providers: []Provider{{Issuer: ok.Issuer, JWKSURL: "http://keys.example.com/jwks", Audiences: aud}}}, "JWKSURL"},
		{"duplicate issuers after normalization", Config{Providers: []Provider{ok, {Issuer: "HTTPS://Accounts.Example.com/", Audiences: aud}}}, "configured twice"},
		{"no audiences", Config{Providers: []Provider{{Issuer: ok.Issuer}}}, "no audiences"},
		{"empty audience", Config{Providers: []Provider{{Issuer: ok.Issuer, Audiences: []string{testAud, ""}}}}, "empty audience"},
		{"negative leeway", Config{Providers: []Provider{ok}, Leeway: -time.Second}, "negative"},
		{"negative TTL", Config{Providers: []Provider{ok}, CacheTTL: -time.Second}, "negative"},
		{"MinRefetch over CacheTTL", Config{Providers: []Provider{ok}, CacheTTL: time.Minute, MinRefetch: time.Hour}, "exceeds CacheTTL"},
		{"MinRefetch over default CacheTTL", Config{Providers: []Provider{ok}, MinRefetch: 2 * time.Hour}, "exceeds CacheTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || v == nil {
					t.Fatalf("New(%+v) = %v, %v; want a Verifier", tt.cfg, v, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New(%+v) error = %v, want one containing %q", tt.cfg, err, tt.wantErr)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	v, err := New(Config{Providers: []Provider{{Issuer: "https://a.example.com", Audiences: []string{"c"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if v.leeway != time.Minute || v.ttl != time.Hour || v.minRefetch != time.Minute || v.client.Timeout != 10*time.Second || v.now == nil {
		t.Errorf("New defaults: leeway %v, ttl %v, minRefetch %v, timeout %v", v.leeway, v.ttl, v.minRefetch, v.client.Timeout)
	}
	// The caller's client is copied, not changed.
	c := &http.Client{Timeout: 3 * time.Second}
	v, err = New(Config{Providers: []Provider{{Issuer: "https://a.example.com", Audiences: []string{"c"}}}, HTTPClient: c})
	if err != nil {
		t.Fatal(err)
	}
	if c.CheckRedirect != nil || v.client == c || v.client.Timeout != 3*time.Second {
		t.Errorf("New changed or dropped the caller's HTTP client")
	}
}

func TestNormalizeIssuer(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://accounts.example.com", "https://accounts.example.com"},
		{"https://accounts.example.com/", "https://accounts.example.com"},
		{"HTTPS://Accounts.Example.COM/", "https://accounts.example.com"},
		{"https://login.example.com/Tenant/v2.0/", "https://login.example.com/Tenant/v2.0"},
		{"https://login.example.com/a%2Fb/", "https://login.example.com/a/b"}, // RawPath cleared, as identity always did
		{"https://Example.com:8443", "https://example.com:8443"},
		{"", ""},
		{"https://a.example.com/%zz", "https://a.example.com/%zz"}, // does not parse: unchanged
		{"not a url", "not%20a%20url"},
	}
	for _, tt := range tests {
		if got := NormalizeIssuer(tt.in); got != tt.want {
			t.Errorf("NormalizeIssuer(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
