package server

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// specOpenAPI is where the spec's OpenAPI files are, beside the checkout.
const specOpenAPI = "../../shared/spec/openapi"

// specFiles are merged in order, a later file's components winning (v0.2
// redeclares Organization with name and slug) and paths merged method by
// method (SPEC-MAP §1.1).
var specFiles = []string{"flametrench-v0.1.yaml", "flametrench-v0.2-additions.yaml", "flametrench-v0.3-additions.yaml"}

// The served document and the route table agree: every route is an
// operation of the document, with the route's operation id and extension
// mark, and the document has no operation the server does not serve.
// With FLAMETRENCH_UPDATE_DOCS=1 it first regenerates openapi.json from
// the spec's files and testdata/openapi-extensions.json.
func TestOpenAPI(t *testing.T) {
	if os.Getenv("FLAMETRENCH_UPDATE_DOCS") == "1" {
		doc, err := generateOpenAPI()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("openapi.json", doc, 0o644); err != nil {
			t.Fatal(err)
		}
		openAPIDocument = doc
	} else if _, err := os.Stat(specOpenAPI); err == nil {
		// With the spec beside the checkout (as in CI), the served document
		// must be what the spec's files and our extensions make now.
		doc, err := generateOpenAPI()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(doc, openAPIDocument) {
			t.Error("openapi.json is not what the spec's files and testdata/openapi-extensions.json make (FLAMETRENCH_UPDATE_DOCS=1 go test -run TestOpenAPI ./server regenerates it)")
		}
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	served := map[string]route{}
	for _, rt := range apiRoutes {
		served[rt.method+" "+rt.path] = rt
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for method, v := range item {
			op, ok := v.(map[string]any)
			if !ok || !isMethod(method) {
				continue
			}
			key := strings.ToUpper(method) + " " + path
			documented[key] = true
			rt, ok := served[key]
			if !ok {
				t.Errorf("openapi.json documents %s, which the server does not serve", key)
				continue
			}
			if id, _ := op["operationId"].(string); id != rt.op {
				t.Errorf("%s: operationId %q, route %q", key, id, rt.op)
			}
			if ext, _ := op["x-extension"].(bool); ext != rt.extension {
				t.Errorf("%s: x-extension %v, route extension %v", key, ext, rt.extension)
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(served)) {
		if !documented[key] {
			t.Errorf("the server serves %s, which openapi.json does not document (FLAMETRENCH_UPDATE_DOCS=1 regenerates it; an extension needs an entry in testdata/openapi-extensions.json)", key)
		}
	}
}

func isMethod(m string) bool {
	switch m {
	case "get", "put", "post", "delete", "patch":
		return true
	}
	return false
}

// generateOpenAPI merges the spec's files, strips their prose (we serve
// the interface, not the spec's text: descriptions are replaced with
// short ones of our own where OpenAPI requires one), and overlays our
// extensions.
func generateOpenAPI() ([]byte, error) {
	merged := map[string]any{}
	for _, name := range specFiles {
		b, err := os.ReadFile(filepath.Join(specOpenAPI, name))
		if err != nil {
			return nil, err
		}
		var d map[string]any
		if err := yaml.Unmarshal(b, &d); err != nil {
			return nil, err
		}
		stripProse(d)
		if rs, ok := lookup(d, "components", "responses").(map[string]any); ok {
			for _, r := range rs {
				if r, ok := r.(map[string]any); ok {
					r["description"] = "An error"
				}
			}
		}
		mergeInto(merged, map[string]any{"paths": d["paths"], "components": d["components"]})
	}
	ext, err := os.ReadFile(filepath.Join("testdata", "openapi-extensions.json"))
	if err != nil {
		return nil, err
	}
	var overlay map[string]any
	if err := json.Unmarshal(ext, &overlay); err != nil {
		return nil, err
	}
	mergeInto(merged, overlay)
	merged["openapi"] = "3.1.0"
	merged["info"] = map[string]any{
		"title":   "Flametrench server",
		"version": "0.3",
		"summary": "The Flametrench REST API (v0.1, v0.2 and v0.3) as this server serves it; operations marked x-extension are this server's additions.",
	}
	merged["servers"] = []any{map[string]any{"url": "/v1"}}
	merged["security"] = []any{map[string]any{"bearerAuth": []any{}}}
	for _, rt := range apiRoutes {
		if !rt.extension {
			continue
		}
		if op, ok := lookup(merged, "paths", rt.path, strings.ToLower(rt.method)).(map[string]any); ok {
			op["x-extension"] = true
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(merged); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// prose are the keys of the spec's text.
var prose = []string{"description", "summary", "example", "examples", "externalDocs", "tags"}

// stripProse removes the spec's prose from an OpenAPI value. A response
// object must have a description: it gets its status text. Property
// names (the keys of a schema's properties) are left alone.
func stripProse(v any) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range prose {
			delete(v, k)
		}
		for k, child := range v {
			if props, ok := child.(map[string]any); ok && k == "properties" {
				for _, p := range props {
					stripProse(p)
				}
				continue
			}
			stripProse(child)
			if code, err := strconv.Atoi(k); err == nil && code >= 100 && code < 600 {
				if r, ok := child.(map[string]any); ok {
					r["description"] = http.StatusText(code)
				}
			}
		}
	case []any:
		for _, child := range v {
			stripProse(child)
		}
	}
}

// mergeInto merges src into dst: maps key by key, anything else replaced.
func mergeInto(dst, src map[string]any) {
	for k, sv := range src {
		if sm, ok := sv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeInto(dm, sm)
				continue
			}
		}
		dst[k] = sv
	}
}

// lookup follows keys through nested maps (nil if any is missing).
func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
