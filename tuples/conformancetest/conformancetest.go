// Package conformancetest reads the spec's conformance fixtures, vendored in
// the repository's testdata/conformance (see its VENDORED-FROM), for the
// tests of every package that runs them.
//
// Decoding is strict: a field this package's caller does not declare fails
// the test, so a fixture that grows an input cannot be half-run silently.
// It imports only the standard library and is imported only by tests.
package conformancetest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Header is what every fixture file carries besides its tests.
type Header struct {
	Schema           string `json:"$schema"`
	SpecVersion      string `json:"spec_version"`
	Capability       string `json:"capability"`
	Operation        string `json:"operation"`
	ConformanceLevel string `json:"conformance_level"`
	SpecSection      string `json:"spec_section"`
	Description      string `json:"description"`
}

// File is a fixture file of single-step tests with inputs I and
// expectations E. Shared, when the file has it, is merged into each test's
// input by the caller (SPEC-MAP §3).
type File[I, E any] struct {
	Header
	Shared *I           `json:"shared"`
	Tests  []Test[I, E] `json:"tests"`
}

// Test is one single-step test.
type Test[I, E any] struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	Input       I      `json:"input"`
	Expected    E      `json:"expected"`
}

// Result is the usual expectation: {"result": R}.
type Result[R any] struct {
	Result R `json:"result"`
}

// Dir is the absolute path of testdata/conformance.
func Dir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("conformancetest: no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "conformance")
}

// Load decodes fixtures/<rel> strictly and fails tb unless the file names
// operation op and has at least one test. A caller that does not merge a
// shared input should check that Shared is nil.
func Load[I, E any](tb testing.TB, rel, op string) File[I, E] {
	tb.Helper()
	var f File[I, E]
	Decode(tb, filepath.Join("fixtures", rel), &f)
	if f.Operation != op || len(f.Tests) == 0 {
		tb.Fatalf("%s: operation %q with %d tests, want %q with some", rel, f.Operation, len(f.Tests), op)
	}
	return f
}

// Glob returns the paths under fixtures/ that match pattern, relative to
// fixtures/, and fails tb if there are none.
func Glob(tb testing.TB, pattern string) []string {
	tb.Helper()
	root := filepath.Join(Dir(), "fixtures")
	paths, err := filepath.Glob(filepath.Join(root, pattern))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no fixtures match %s (%v)", pattern, err)
	}
	for i, p := range paths {
		if paths[i], err = filepath.Rel(root, p); err != nil {
			tb.Fatal(err)
		}
	}
	return paths
}

// Decode reads the file at rel (relative to testdata/conformance) into v,
// strictly.
func Decode(tb testing.TB, rel string, v any) {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(Dir(), rel))
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		tb.Fatalf("%s: %v", rel, err)
	}
	if dec.More() {
		tb.Fatalf("%s: trailing data after the JSON value", rel)
	}
}
