package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flametrench/server/server"
)

func TestCORS(t *testing.T) {
	do := func(h http.Handler, method, path, origin string, header ...string) *http.Response {
		t.Helper()
		r := httptest.NewRequest(method, path, nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Result()
	}
	const app = "https://app.example.com"
	preflight := []string{"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization"}

	off := server.New(server.Config{}).Handler()
	if got := do(off, "OPTIONS", "/v1/tuples/check", app, preflight...).Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("CORS off by default, yet a preflight got Access-Control-Allow-Origin %q", got)
	}

	on := server.New(server.Config{CORSOrigins: []string{app}}).Handler()
	r := do(on, "OPTIONS", "/v1/tuples/check", app, preflight...)
	if r.StatusCode != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != app ||
		r.Header.Get("Access-Control-Allow-Methods") == "" || r.Header.Get("Access-Control-Max-Age") != "600" {
		t.Errorf("preflight from a listed origin: %d %v", r.StatusCode, r.Header)
	}
	if allow := r.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(allow, "Connect-Protocol-Version") || !strings.Contains(allow, "X-Grpc-Web") {
		t.Errorf("a preflight does not allow the Connect and gRPC-Web headers: %q", allow)
	}
	if r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Error("credentials are bearer tokens: Access-Control-Allow-Credentials must not be sent")
	}
	r = do(on, "OPTIONS", "/v1/tuples/check", "https://evil.example", preflight...)
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("an unlisted origin's preflight was allowed: %v", r.Header)
	}
	r = do(on, "GET", "/healthz", app)
	if r.StatusCode != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != app ||
		r.Header.Get("Access-Control-Expose-Headers") == "" || r.Header.Get("Vary") != "Origin" {
		t.Errorf("a listed origin's request: %d %v", r.StatusCode, r.Header)
	}
	anyOrigin := server.New(server.Config{CORSOrigins: []string{"*"}}).Handler()
	if got := do(anyOrigin, "GET", "/healthz", "https://x.example").Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("with *, Access-Control-Allow-Origin = %q, want *", got)
	}
}

func TestOpenAPIServed(t *testing.T) {
	ts := httptest.NewServer(server.New(server.Config{}).Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.OpenAPI != "3.1.0" || doc.Paths["/tuples/check"] == nil {
		t.Fatalf("GET /openapi.json: %v, openapi %q, %d paths", err, doc.OpenAPI, len(doc.Paths))
	}
}
