package main

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/flametrench/server/tuples/postgres"
	"github.com/flametrench/server/tuples/postgres/pgtest"
)

// appliedLines is what migrate prints when it applies every migration.
func appliedLines() string {
	var b strings.Builder
	for _, set := range schema {
		for _, m := range set {
			b.WriteString("applied " + m.String() + "\n")
		}
	}
	return b.String()
}

// assertMigrated fails unless the schema at url has every migration.
func assertMigrated(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, url, postgres.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CheckSchema(ctx, schema...); err != nil {
		t.Errorf("after migrate: CheckSchema = %v", err)
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	r := runCLI(t, "", "migrate", "--database-url", url)
	if r.code != 0 || r.stdout != appliedLines() {
		t.Fatalf("migrate on a fresh schema = %d %q, want 0 %q; stderr %s", r.code, r.stdout, appliedLines(), r.stderr)
	}
	assertMigrated(t, url)
	r = runCLI(t, "", "migrate", "--database-url", url)
	if r.code != 0 || r.stdout != "schema is up to date\n" {
		t.Errorf("migrate again = %d %q, want 0 %q; stderr %s", r.code, r.stdout, "schema is up to date\n", r.stderr)
	}
}

func TestMigrateFromEnv(t *testing.T) {
	url := pgtest.URL(t)
	t.Setenv("FLAMETRENCH_DATABASE_URL", url)
	r := runCLI(t, "", "migrate")
	if r.code != 0 || r.stdout != appliedLines() {
		t.Fatalf("migrate with FLAMETRENCH_DATABASE_URL = %d %q, want 0 %q; stderr %s", r.code, r.stdout, appliedLines(), r.stderr)
	}
}

// TestMigrateConcurrently runs two migrations of one fresh schema at once:
// both succeed, and exactly one of them applies the migrations.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i := range results {
		wg.Go(func() { results[i] = runCLI(t, "", "migrate", "--database-url", url) })
	}
	wg.Wait()
	applied := 0
	for i, r := range results {
		switch {
		case r.code != 0:
			t.Errorf("concurrent migrate %d = %d, want 0; stderr %s", i, r.code, r.stderr)
		case r.stdout == appliedLines():
			applied++
		case r.stdout != "schema is up to date\n":
			t.Errorf("concurrent migrate %d printed %q", i, r.stdout)
		}
	}
	if applied != 1 {
		t.Errorf("%d of 2 concurrent migrations applied the schema, want exactly 1: %+v", applied, results)
	}
	assertMigrated(t, url)
	if r := runCLI(t, "", "migrate", "--database-url", url); r.stdout != "schema is up to date\n" {
		t.Errorf("migrate after the concurrent ones printed %q, want it up to date", r.stdout)
	}
}

// TestDatabaseCommandErrors: usage problems are 2, a database that cannot be
// reached is 3 with one clear line; neither needs a server.
func TestDatabaseCommandErrors(t *testing.T) {
	unreachable := "postgres://flametrench:secret-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=5"
	tuplesPath := writeFile(t, "tuples.jsonl", "")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"migrate without a URL", []string{"migrate"}, 2, "--database-url URL is required"},
		{"migrate with an argument", []string{"migrate", "--database-url", unreachable, "now"}, 2, "takes no arguments"},
		{"migrate with a bad URL", []string{"migrate", "--database-url", "postgres://u:secret-pw@h:99999999/db"}, 2, "database URL"},
		{"migrate unreachable", []string{"migrate", "--database-url", unreachable}, 3, "flametrench migrate: cannot open the database: "},
		{"import unreachable", []string{"import", "--database-url", unreachable, tuplesPath}, 3, "flametrench import: cannot open the database: "},
		{"export unreachable", []string{"export", "--database-url", unreachable}, 3, "flametrench export: cannot open the database: "},
		{"import without a file", []string{"import", "--database-url", unreachable}, 2, "want one FILE argument"},
		{"import without a URL", []string{"import", tuplesPath}, 2, "--database-url URL is required"},
		{"import of a missing file", []string{"import", "--database-url", unreachable, "testdata/nope.jsonl"}, 2, "testdata/nope.jsonl"},
		{"import batch size 0", []string{"import", "--database-url", unreachable, "--batch-size", "0", tuplesPath}, 2, "--batch-size 0 is outside 1..100000"},
		{"import batch size too large", []string{"import", "--database-url", unreachable, "--batch-size", "100001", tuplesPath}, 2, "--batch-size 100001 is outside 1..100000"},
		{"export with two files", []string{"export", "--database-url", unreachable, "a", "b"}, 2, "want at most one FILE"},
		{"export without a URL", []string{"export"}, 2, "--database-url URL is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("run(%q) = %d, want %d; stderr %s", tt.args, r.code, tt.wantCode, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("run(%q) stderr = %q, want it to contain %q", tt.args, r.stderr, tt.wantStderr)
			}
			if strings.Contains(r.stderr, "secret-pw") || strings.Contains(r.stderr, "goroutine ") {
				t.Errorf("run(%q) stderr = %q: leaks the password or a stack trace", tt.args, r.stderr)
			}
			if r.code == 3 && strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("run(%q) stderr = %q, want one line", tt.args, r.stderr)
			}
		})
	}
}
