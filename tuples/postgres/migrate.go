package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Migration is one forward-only schema change of one module. Modules (tuples,
// identity, tenancy) each keep their own numbered series, applied in the
// order the modules are given to Migrate.
type Migration struct {
	Module  string
	Version int
	Name    string
	SQL     string
}

func (m Migration) String() string { return fmt.Sprintf("%s/%04d_%s", m.Module, m.Version, m.Name) }

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the tuple store's own migrations.
var Migrations = mustLoadMigrations("tuples", migrationFiles, "migrations")

// LoadMigrations reads dir of fsys, whose files are named NNNN_name.sql with
// versions counting up from 1 without gaps.
func LoadMigrations(module string, fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration %s: want NNNN_name.sql", name)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Module: module, Version: v, Name: rest, SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d", m, i+1)
		}
	}
	return ms, nil
}

func mustLoadMigrations(module string, fsys fs.FS, dir string) []Migration {
	ms, err := LoadMigrations(module, fsys, dir)
	if err != nil {
		panic(err)
	}
	return ms
}

// migrateLock names the advisory lock that serialises migrations of one
// schema: two processes that migrate at once take turns, and the second finds
// nothing left to do.
const migrateLock = `SELECT pg_advisory_xact_lock(hashtextextended('flametrench.migrate:' || current_schema(), 0))`

// Migrate applies the migrations of sets that the database lacks, in one
// transaction: all of them or none. It returns what it applied.
func (db *DB) Migrate(ctx context.Context, sets ...[]Migration) ([]Migration, error) {
	var applied []Migration
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		applied = nil
		if _, err := tx.Exec(ctx, migrateLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS flametrench_migrations (
			module     text        NOT NULL,
			version    integer     NOT NULL,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now(),
			PRIMARY KEY (module, version))`); err != nil {
			return err
		}
		have, err := appliedVersions(ctx, tx)
		if err != nil {
			return err
		}
		for _, set := range sets {
			for _, m := range set {
				if m.Version <= have[m.Module] {
					continue
				}
				if _, err := tx.Exec(ctx, m.SQL); err != nil {
					return fmt.Errorf("migration %s: %w", m, err)
				}
				if _, err := tx.Exec(ctx, `INSERT INTO flametrench_migrations (module, version, name) VALUES ($1, $2, $3)`,
					m.Module, m.Version, m.Name); err != nil {
					return err
				}
				applied = append(applied, m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, translate(err)
	}
	return applied, nil
}

// CheckSchema returns ErrSchema unless every migration of sets has been
// applied: what serve --no-migrate checks before it starts.
func (db *DB) CheckSchema(ctx context.Context, sets ...[]Migration) error {
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT to_regclass('flametrench_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return translate(err)
	}
	have := map[string]int{}
	if exists {
		var err error
		if have, err = appliedVersions(ctx, db.pool); err != nil {
			return translate(err)
		}
	}
	for _, set := range sets {
		if len(set) == 0 {
			continue
		}
		last := set[len(set)-1]
		if have[last.Module] < last.Version {
			return ErrSchema.With("the %s schema is at version %d, this binary needs %d: run 'flametrench migrate'",
				last.Module, have[last.Module], last.Version)
		}
	}
	return nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func appliedVersions(ctx context.Context, q querier) (map[string]int, error) {
	rows, err := q.Query(ctx, `SELECT module, max(version) FROM flametrench_migrations GROUP BY module`)
	if err != nil {
		return nil, err
	}
	have := map[string]int{}
	for rows.Next() {
		var mod string
		var v int
		if err := rows.Scan(&mod, &v); err != nil {
			return nil, err
		}
		have[mod] = v
	}
	return have, rows.Err()
}
