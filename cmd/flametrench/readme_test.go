package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
)

// Every serve flag is in the README's configuration table (DESIGN §1:
// all flags with their environment twins, listed in the README).
func TestREADMEListsEveryServeFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var usage bytes.Buffer
	run(context.Background(), []string{"serve", "-h"}, strings.NewReader(""), &usage, &usage)
	flags := regexp.MustCompile(`(?m)^\s+-([a-z][a-z-]*)`).FindAllStringSubmatch(usage.String(), -1)
	if len(flags) < 10 {
		t.Fatalf("found %d flags in serve's usage, want at least 10:\n%s", len(flags), usage.String())
	}
	for _, f := range flags {
		if !bytes.Contains(readme, []byte("| `--"+f[1])) {
			t.Errorf("README.md's configuration table has no row for --%s", f[1])
		}
	}
}
