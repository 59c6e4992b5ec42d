package postgres

import (
	"context"
	"iter"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/flametrench/server/tuples"
)

// Stream calls fn with every tuple of one consistent snapshot and the
// revision that snapshot is at: a replica hydrates from it, and export writes
// it out. Rows are streamed from the server as fn pulls them, so a large
// table is never held whole. ordered sorts them by id (export; hydration has
// no use for the order). fn must consume src before it returns.
func (db *DB) Stream(ctx context.Context, ordered bool, fn func(rev, epoch uint64, src iter.Seq2[tuples.Tuple, error]) error) error {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var rev, epoch int64
	if err := tx.QueryRow(ctx, `SELECT rev, epoch FROM tup_revision`).Scan(&rev, &epoch); err != nil {
		return translate(err)
	}
	q := `SELECT ` + tupleCols + ` FROM tup`
	if ordered {
		q += ` ORDER BY id`
	}
	rows, err := tx.Query(ctx, q)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	names := map[string]string{}
	src := func(yield func(tuples.Tuple, error) bool) {
		for rows.Next() {
			t, err := decodeRow(rows.RawValues(), names)
			if !yield(t, err) || err != nil {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(tuples.Tuple{}, translate(err))
		}
	}
	if err := fn(uint64(rev), uint64(epoch), src); err != nil {
		return err
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return translate(err)
	}
	db.saw(uint64(rev))
	return nil
}

// decodeRow decodes one row of tupleCols from its wire values without the
// generic scanning machinery: hydration decodes millions of them. The short
// strings go through names, so each distinct one is allocated once.
func decodeRow(vals [][]byte, names map[string]string) (tuples.Tuple, error) {
	var t tuples.Tuple
	if len(vals) != 7 {
		return t, errInternal.With("tuple row has %d columns", len(vals))
	}
	var err error
	uuidAt := func(i int, dst *tuples.UUID) {
		if err != nil || vals[i] == nil {
			return
		}
		var u pgtype.UUID
		if len(vals[i]) == 16 {
			copy(dst[:], vals[i])
			return
		}
		if err = u.Scan(string(vals[i])); err == nil { // text format
			*dst = u.Bytes
		}
	}
	name := func(i int) string {
		if s, ok := names[string(vals[i])]; ok {
			return s
		}
		s := string(vals[i])
		if len(names) < 4096 {
			names[s] = s
		}
		return s
	}
	uuidAt(0, &t.ID)
	t.Key.Subject.Type = name(1)
	uuidAt(2, &t.Key.Subject.ID)
	t.Key.Relation = name(3)
	t.Key.Object.Type = name(4)
	uuidAt(5, &t.Key.Object.ID)
	uuidAt(6, &t.CreatedBy)
	if err != nil {
		return tuples.Tuple{}, errInternal.With("tuple row: %v", err)
	}
	return t, nil
}
