package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/flametrench/server/tuples"
)

// Helpers for the stores that run their own statements on a Tx (identity
// and tenancy): one way to collect rows and to pass nullable ids.

// Collect runs a query in t and scans every row; no row is an empty,
// non-nil slice.
func Collect[T any](ctx context.Context, t *Tx, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := t.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// NullUUID is u as a query argument: NULL for the zero UUID.
func NullUUID(u tuples.UUID) any {
	if u.IsZero() {
		return nil
	}
	return [16]byte(u)
}

// UUIDOf is a scanned nullable uuid column: the zero UUID for NULL.
func UUIDOf(n pgtype.UUID) tuples.UUID {
	if !n.Valid {
		return tuples.UUID{}
	}
	return n.Bytes
}
