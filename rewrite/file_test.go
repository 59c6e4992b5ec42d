package rewrite

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flametrench/server/tuples"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseFile(t *testing.T) {
	path := writeFile(t, "rules.yaml", adrDocumentExample)
	got, err := ParseFile(path)
	if err != nil {
		t.Fatalf("ParseFile(%q) error = %v", path, err)
	}
	want, _ := Parse([]byte(adrDocumentExample))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseFile(%q) = %v, want %v", path, show(got), show(want))
	}

	jsonPath := writeFile(t, "rules.json", fixtureAdminChainToViewer)
	if _, err := ParseFile(jsonPath); err != nil {
		t.Errorf("ParseFile(%q) error = %v, want nil", jsonPath, err)
	}
}

func TestParseFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string // start of the message after the path
	}{
		{"position", "rules:\n  doc:\n    owner: that\n", `:3:12: rules.doc.owner: unknown rule body "that"`},
		{"syntax", "rules: [\n", ":1: document: syntax error:"},
		{"too large", strings.Repeat("#", MaxBytes+10), ": document: too large (limit 1048576 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "rules.yaml", tt.content)
			_, err := ParseFile(path)
			var te *tuples.Error
			if !errors.As(err, &te) || !errors.Is(err, ErrInvalidRules) || !strings.HasPrefix(te.Msg, path+tt.want) {
				t.Errorf("ParseFile(%q) error = %v, want ErrInvalidRules with message %q...", path, err, path+tt.want)
			}
		})
	}

	missing := filepath.Join(t.TempDir(), "missing.yaml")
	_, err := ParseFile(missing)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("ParseFile(%q) error = %v, want fs.ErrNotExist naming the file", missing, err)
	}
	if errors.Is(err, ErrInvalidRules) {
		t.Errorf("ParseFile(%q) error = %v, want it not to match ErrInvalidRules", missing, err)
	}
}
