package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/flametrench/server/tuples"
)

// Get returns the tuple with the given id (tuples.Reader).
func (db *DB) Get(ctx context.Context, id tuples.UUID) (tuples.Tuple, error) {
	tup, err := scanTuple(db.pool.QueryRow(ctx, `SELECT `+tupleCols+` FROM tup WHERE id = $1`, [16]byte(id)))
	if errors.Is(err, pgx.ErrNoRows) {
		return tuples.Tuple{}, tuples.ErrTupleNotFound.With("no tuple %s", tuples.FormatID("tup", id))
	}
	return tup, translate(err)
}

// ListBySubject pages through the subject's tuples in id order
// (tuples.Reader), from the natural-key index.
func (db *DB) ListBySubject(ctx context.Context, subject tuples.Ref, cursor string, limit int) (tuples.Page, error) {
	limit, after, err := tuples.PageArgs(cursor, limit)
	if err != nil {
		return tuples.Page{}, err
	}
	if err := tuples.CheckSubjectType(subject.Type); err != nil {
		return tuples.Page{}, err
	}
	return db.page(ctx, limit, `SELECT `+tupleCols+` FROM tup
WHERE subject_type = $1 AND subject_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
		subject.Type, [16]byte(subject.ID), [16]byte(after), limit+1)
}

// ListByObject pages through the object's tuples in id order, optionally of
// one relation (tuples.Reader).
func (db *DB) ListByObject(ctx context.Context, object tuples.Ref, relation, cursor string, limit int) (tuples.Page, error) {
	limit, after, err := tuples.PageArgs(cursor, limit)
	if err != nil {
		return tuples.Page{}, err
	}
	if err := tuples.CheckObjectType(object.Type); err != nil {
		return tuples.Page{}, err
	}
	if relation == "" {
		return db.page(ctx, limit, `SELECT `+tupleCols+` FROM tup
WHERE object_type = $1 AND object_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
			object.Type, [16]byte(object.ID), [16]byte(after), limit+1)
	}
	if err := tuples.CheckRelation(relation); err != nil {
		return tuples.Page{}, err
	}
	return db.page(ctx, limit, `SELECT `+tupleCols+` FROM tup
WHERE object_type = $1 AND object_id = $2 AND relation = $3 AND id > $4 ORDER BY id LIMIT $5`,
		object.Type, [16]byte(object.ID), relation, [16]byte(after), limit+1)
}

// page runs a listing query that asks for limit+1 rows and cuts the page.
func (db *DB) page(ctx context.Context, limit int, sql string, args ...any) (tuples.Page, error) {
	rows, err := db.pool.Query(ctx, sql, args...)
	if err != nil {
		return tuples.Page{}, translate(err)
	}
	defer rows.Close()
	p := tuples.Page{Tuples: []tuples.Tuple{}}
	for rows.Next() {
		tup, err := scanTuple(rows)
		if err != nil {
			return tuples.Page{}, translate(err)
		}
		p.Tuples = append(p.Tuples, tup)
	}
	if err := rows.Err(); err != nil {
		return tuples.Page{}, translate(err)
	}
	if len(p.Tuples) > limit {
		p.Tuples = p.Tuples[:limit]
		p.Next = tuples.EncodeCursor(p.Tuples[limit-1].ID)
	}
	return p, nil
}

var _ tuples.Store = (*DB)(nil)
