// Package pgtest gives tests a PostgreSQL database of their own: a fresh
// schema on the server that FLAMETRENCH_TEST_DATABASE_URL names, dropped when
// the test ends, so tests that use it can run in parallel.
//
// With the variable unset, tests that need PostgreSQL skip and say how to run
// them. With it set and the server unreachable, they fail: a CI run that lost
// its database must not pass by skipping.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"iter"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/postgres"
)

// EnvVar names the variable that holds the test server's URL.
const EnvVar = "FLAMETRENCH_TEST_DATABASE_URL"

// URL returns a database URL whose search_path is a new, empty schema.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		t.Skipf("PostgreSQL tests skipped: set %s to a server URL (bash .ci/run starts one)", EnvVar)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("%s is set but the server is unreachable: %v", EnvVar, err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(base, schema)
}

// WithSearchPath returns base (a URL or a key=value DSN) with its
// search_path set to schema.
func WithSearchPath(base, schema string) string {
	if u, err := url.Parse(base); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(base) + " search_path=" + schema
}

// DB opens a migrated database in a fresh schema, closed when the test ends.
func DB(t testing.TB, cfg postgres.Config) (*postgres.DB, string) {
	t.Helper()
	u := URL(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, u, cfg)
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx, postgres.Migrations); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db, u
}

// Tuples returns every tuple in db, in id order, read at one snapshot.
func Tuples(t testing.TB, db *postgres.DB) []tuples.Tuple {
	t.Helper()
	var all []tuples.Tuple
	err := db.Stream(context.Background(), true, func(_, _ uint64, src iter.Seq2[tuples.Tuple, error]) error {
		for tup, err := range src {
			if err != nil {
				return err
			}
			all = append(all, tup)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read the database's tuples: %v", err)
	}
	return all
}
