package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/flametrench/server/tuples"
)

// tupleCols are the columns a tuple is read back from, in scanTuple's order,
// qualified so that they stay unambiguous in joins.
const tupleCols = `tup.id, tup.subject_type, tup.subject_id, tup.relation, tup.object_type, tup.object_id, tup.created_by`

// scanTuple scans tupleCols.
func scanTuple(row pgx.Row) (tuples.Tuple, error) {
	var t tuples.Tuple
	var by pgtype.UUID
	err := row.Scan((*[16]byte)(&t.ID), &t.Key.Subject.Type, (*[16]byte)(&t.Key.Subject.ID),
		&t.Key.Relation, &t.Key.Object.Type, (*[16]byte)(&t.Key.Object.ID), &by)
	if by.Valid {
		t.CreatedBy = by.Bytes
	}
	return t, err
}

// Write applies a batch of tuple changes in the transaction, with exactly the
// semantics of tuples.Writer.Write (the shared store suite holds both stores
// to it). It runs in a savepoint (ADR 0013), so a batch that fails leaves no
// trace and the transaction stays usable: the caller may handle the error and
// go on, say to treat a duplicate as success. Inserts use ON CONFLICT DO
// NOTHING, so a duplicate never raises an SQL error (SPEC-MAP X-6).
func (t *Tx) Write(ctx context.Context, changes []tuples.Change) ([]tuples.Tuple, error) {
	var out []tuples.Tuple
	err := t.Savepoint(ctx, "writeTuples", func() error {
		var err error
		out, err = t.write(ctx, changes)
		return err
	})
	return out, err
}

// write is Write without the savepoint, for a transaction that holds the
// batch alone and is rolled back whole if it fails.
func (t *Tx) write(ctx context.Context, changes []tuples.Change) ([]tuples.Tuple, error) {
	if err := tuples.ValidateBatch(changes); err != nil {
		return nil, err
	}
	out := make([]tuples.Tuple, len(changes))
	var conds, dels, adds []int
	for i, c := range changes {
		switch {
		case c.Op.IsPrecondition():
			conds = append(conds, i)
		case c.Op == tuples.OpDelete:
			dels = append(dels, i)
		default:
			adds = append(adds, i)
		}
	}
	if err := t.preconditions(ctx, changes, conds, out); err != nil {
		return nil, err
	}
	mark := len(t.log)
	if err := t.deletes(ctx, changes, dels, out); err != nil {
		t.log = t.log[:mark]
		return nil, err
	}
	if err := t.creates(ctx, changes, adds, out); err != nil {
		t.log = t.log[:mark]
		return nil, err
	}
	return out, nil
}

// changeErr adds the change's position to err when the batch has several.
func changeErr(changes []tuples.Change, i int, err error) error {
	if len(changes) > 1 {
		return &tuples.ChangeError{Index: i, Err: err}
	}
	return err
}

// lockRevisionSQL takes the row lock on tup_revision that every
// transaction changing tuples takes as its last step (stamp). Holding it
// from before a precondition is read until commit puts the whole batch,
// reads included, between two other writers' commits: a writer whose
// changes are not committed when this one reads them stamps after it, so
// it comes after it in revision order too. (Under READ COMMITTED each
// statement after the lock sees every commit before it.)
const lockRevisionSQL = `SELECT rev FROM tup_revision FOR UPDATE`

// preconditions evaluates the batch's preconditions, at positions idx,
// against the tuples as the transaction sees them before the batch, and
// fills their results into out. It takes the revision lock first, so what
// it reads cannot change before the transaction commits.
func (t *Tx) preconditions(ctx context.Context, changes []tuples.Change, idx []int, out []tuples.Tuple) error {
	if len(idx) == 0 {
		return nil
	}
	if _, err := t.tx.Exec(ctx, lockRevisionSQL); err != nil {
		return translate(err)
	}
	var keys keyArrays
	for _, i := range idx {
		keys.add(changes[i].Key)
	}
	found, err := t.lookupKeys(ctx, keys)
	if err != nil {
		return err
	}
	for _, i := range idx {
		c := changes[i]
		have, ok := found[c.Key]
		if out[i], err = tuples.CheckPrecondition(c, have, ok); err != nil {
			return changeErr(changes, i, err)
		}
	}
	return nil
}

// keyArrays are the columns of a set of keys, for unnest.
type keyArrays struct {
	st, rel, ot []string
	sid, oid    [][16]byte
}

func (a *keyArrays) add(k tuples.Key) {
	a.st = append(a.st, k.Subject.Type)
	a.sid = append(a.sid, k.Subject.ID)
	a.rel = append(a.rel, k.Relation)
	a.ot = append(a.ot, k.Object.Type)
	a.oid = append(a.oid, k.Object.ID)
}

// deletes runs the batch's deletes, by id and by key, filling out.
func (t *Tx) deletes(ctx context.Context, changes []tuples.Change, idx []int, out []tuples.Tuple) error {
	if len(idx) == 0 {
		return nil
	}
	var ids [][16]byte
	var keys keyArrays
	for _, i := range idx {
		if c := changes[i]; !c.ID.IsZero() {
			ids = append(ids, c.ID)
		} else {
			keys.add(c.Key)
		}
	}
	gone := make(map[tuples.UUID]tuples.Tuple, len(idx))
	byKey := make(map[tuples.Key]tuples.Tuple, len(keys.st))
	collect := func(rows pgx.Rows, err error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			tup, err := scanTuple(rows)
			if err != nil {
				return err
			}
			gone[tup.ID] = tup
			byKey[tup.Key] = tup
		}
		return rows.Err()
	}
	if len(ids) > 0 {
		if err := collect(t.tx.Query(ctx, `DELETE FROM tup WHERE id = ANY($1) RETURNING `+tupleCols, ids)); err != nil {
			return translate(err)
		}
	}
	if len(keys.st) > 0 {
		if err := collect(t.tx.Query(ctx, `DELETE FROM tup USING unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::uuid[]) AS k(st, sid, rel, ot, oid)
WHERE subject_type = k.st AND subject_id = k.sid AND relation = k.rel AND object_type = k.ot AND object_id = k.oid
RETURNING `+tupleCols, keys.st, keys.sid, keys.rel, keys.ot, keys.oid)); err != nil {
			return translate(err)
		}
	}
	// Every key of the batch, to catch a delete by id of a tuple that another
	// change names by key.
	named := make(map[tuples.Key]int, len(changes))
	for i, c := range changes {
		if !c.Op.IsPrecondition() && (c.Op != tuples.OpDelete || c.ID.IsZero()) {
			named[c.Key] = i
		}
	}
	for _, i := range idx {
		c := changes[i]
		var tup tuples.Tuple
		var ok bool
		if !c.ID.IsZero() {
			if tup, ok = gone[c.ID]; !ok {
				return changeErr(changes, i, tuples.ErrTupleNotFound.With("no tuple %s", tuples.FormatID("tup", c.ID)))
			}
			if j, dup := named[tup.Key]; dup {
				return changeErr(changes, max(i, j), tuples.ErrInvalidBatch.With("tuple %s appears more than once in one batch", tup.Key))
			}
		} else if tup, ok = byKey[c.Key]; !ok {
			return changeErr(changes, i, tuples.ErrTupleNotFound.With("no tuple %s", c.Key))
		}
		out[i] = tup
		t.log = append(t.log, tuples.Change{Op: tuples.OpDelete, ID: tup.ID, Key: tup.Key, CreatedBy: tup.CreatedBy})
	}
	return nil
}

// copyThreshold is the batch size from which creates go through COPY rather
// than as arrays: COPY streams rows in the binary protocol, so it costs less
// per row, but it takes a savepoint and round trips more.
const copyThreshold = 512

// creates runs the batch's creates and touches, filling out.
func (t *Tx) creates(ctx context.Context, changes []tuples.Change, idx []int, out []tuples.Tuple) error {
	if len(idx) == 0 {
		return nil
	}
	rows := make([]tuples.Tuple, len(idx))
	for j, i := range idx {
		c := changes[i]
		rows[j] = tuples.Tuple{ID: c.ID, Key: c.Key, CreatedBy: c.CreatedBy}
		if rows[j].ID.IsZero() {
			rows[j].ID = tuples.NewUUID()
		}
	}
	inserted, err := t.insert(ctx, rows)
	if err != nil {
		return err
	}
	var missing []int // positions in idx whose row was not inserted
	for j, i := range idx {
		if inserted[rows[j].ID] {
			out[i] = rows[j]
			t.log = append(t.log, tuples.Change{Op: tuples.OpCreate, ID: rows[j].ID, Key: rows[j].Key, CreatedBy: rows[j].CreatedBy})
		} else {
			missing = append(missing, j)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	// Not inserted: the key exists (a duplicate, or a touch's existing
	// tuple), or else the caller's id is taken by another tuple.
	var keys keyArrays
	for _, j := range missing {
		keys.add(rows[j].Key)
	}
	existing, err := t.lookupKeys(ctx, keys)
	if err != nil {
		return err
	}
	for _, j := range missing {
		i := idx[j]
		c := changes[i]
		have, ok := existing[c.Key]
		switch {
		case !ok:
			return changeErr(changes, i, tuples.ErrDuplicateTuple.With("tuple id %s is already used", tuples.FormatID("tup", rows[j].ID)))
		case c.Op == tuples.OpCreate:
			return changeErr(changes, i, tuples.ErrDuplicateTuple.With("tuple %s already exists as %s", c.Key, tuples.FormatID("tup", have.ID)))
		}
		out[i] = have
	}
	return nil
}

// lookupKeys returns the stored tuples with the given keys.
func (t *Tx) lookupKeys(ctx context.Context, keys keyArrays) (map[tuples.Key]tuples.Tuple, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+tupleCols+` FROM tup
JOIN unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::uuid[]) AS k(st, sid, rel, ot, oid)
ON subject_type = k.st AND subject_id = k.sid AND relation = k.rel AND object_type = k.ot AND object_id = k.oid`,
		keys.st, keys.sid, keys.rel, keys.ot, keys.oid)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	found := make(map[tuples.Key]tuples.Tuple, len(keys.st))
	for rows.Next() {
		tup, err := scanTuple(rows)
		if err != nil {
			return nil, translate(err)
		}
		found[tup.Key] = tup
	}
	return found, translate(rows.Err())
}

const insertCols = `id, subject_type, subject_id, relation, object_type, object_id, created_by`

// insert inserts rows that are not there yet (by key or by id) and returns
// the ids it inserted.
func (t *Tx) insert(ctx context.Context, rows []tuples.Tuple) (map[tuples.UUID]bool, error) {
	if len(rows) < copyThreshold {
		ids := make([][16]byte, len(rows))
		by := make([]pgtype.UUID, len(rows))
		var keys keyArrays
		for i, r := range rows {
			ids[i] = r.ID
			by[i] = pgtype.UUID{Bytes: r.CreatedBy, Valid: !r.CreatedBy.IsZero()}
			keys.add(r.Key)
		}
		return t.insertFrom(ctx, `SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::uuid[], $7::uuid[])`,
			ids, keys.st, keys.sid, keys.rel, keys.ot, keys.oid, by)
	}
	// A large batch is most often new tuples (an import), so first copy it
	// straight into the table, which is the cheapest way in. If some row is
	// already there, the copy fails whole on the unique index; then stage the
	// rows and insert those that are missing.
	err := t.Savepoint(ctx, "copyTuples", func() error { return t.copyRows(ctx, "tup", rows) })
	if err == nil {
		inserted := make(map[tuples.UUID]bool, len(rows))
		for _, r := range rows {
			inserted[r.ID] = true
		}
		return inserted, nil
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != sqlUniqueViolation {
		return nil, translate(err)
	}
	if _, err := t.tx.Exec(ctx, `CREATE TEMPORARY TABLE IF NOT EXISTS tup_stage (
		id uuid, subject_type text, subject_id uuid, relation text, object_type text, object_id uuid, created_by uuid
	) ON COMMIT DROP`); err != nil {
		return nil, translate(err)
	}
	if _, err := t.tx.Exec(ctx, `TRUNCATE tup_stage`); err != nil {
		return nil, translate(err)
	}
	if err := t.copyRows(ctx, "tup_stage", rows); err != nil {
		return nil, translate(err)
	}
	return t.insertFrom(ctx, `SELECT `+insertCols+` FROM tup_stage`)
}

// insertFrom inserts the rows of the query src that are not there yet and
// returns the ids it inserted.
func (t *Tx) insertFrom(ctx context.Context, src string, args ...any) (map[tuples.UUID]bool, error) {
	res, err := t.tx.Query(ctx, `INSERT INTO tup (`+insertCols+`) `+src+` ON CONFLICT DO NOTHING RETURNING id`, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer res.Close()
	inserted := make(map[tuples.UUID]bool)
	for res.Next() {
		var id tuples.UUID
		if err := res.Scan((*[16]byte)(&id)); err != nil {
			return nil, translate(err)
		}
		inserted[id] = true
	}
	return inserted, translate(res.Err())
}

// copyRows copies rows into table (tup, or the staging table) with COPY.
func (t *Tx) copyRows(ctx context.Context, table string, rows []tuples.Tuple) error {
	_, err := t.tx.CopyFrom(ctx, pgx.Identifier{table},
		[]string{"id", "subject_type", "subject_id", "relation", "object_type", "object_id", "created_by"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			r := &rows[i]
			return []any{[16]byte(r.ID), r.Key.Subject.Type, [16]byte(r.Key.Subject.ID), r.Key.Relation,
				r.Key.Object.Type, [16]byte(r.Key.Object.ID), pgtype.UUID{Bytes: r.CreatedBy, Valid: !r.CreatedBy.IsZero()}}, nil
		}))
	return err
}

// DeleteSubject deletes every tuple whose subject is subject, in the
// transaction, and returns how many it deleted (cascadeRevokeSubject).
func (t *Tx) DeleteSubject(ctx context.Context, subject tuples.Ref) (int, error) {
	if t.readOnly {
		return 0, errReadOnly
	}
	if err := tuples.CheckSubjectType(subject.Type); err != nil {
		return 0, err
	}
	rows, err := t.tx.Query(ctx, `DELETE FROM tup WHERE subject_type = $1 AND subject_id = $2 RETURNING `+tupleCols,
		subject.Type, [16]byte(subject.ID))
	if err != nil {
		return 0, translate(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		tup, err := scanTuple(rows)
		if err != nil {
			return 0, translate(err)
		}
		t.log = append(t.log, tuples.Change{Op: tuples.OpDelete, ID: tup.ID, Key: tup.Key, CreatedBy: tup.CreatedBy})
		n++
	}
	return n, translate(rows.Err())
}

// updater is DB.Update or Follower.Update.
type updater func(ctx context.Context, fn func(*Tx) error) (uint64, error)

// readRevision is for a write that changed nothing: the revision it saw, read
// in its transaction after its lookups, so a token for it covers the tuples
// it found.
func (t *Tx) readRevision(ctx context.Context) (uint64, error) {
	var rev int64
	err := t.tx.QueryRow(ctx, `SELECT rev FROM tup_revision`).Scan(&rev)
	return uint64(rev), translate(err)
}

// writeBatch runs Write in a transaction of update.
func writeBatch(ctx context.Context, update updater, changes []tuples.Change) (tuples.WriteResult, error) {
	var res tuples.WriteResult
	rev, err := update(ctx, func(tx *Tx) error {
		var err error
		if res.Tuples, err = tx.write(ctx, changes); err != nil {
			return err
		}
		if len(tx.log) == 0 {
			res.Revision, err = tx.readRevision(ctx)
		}
		return err
	})
	if err != nil {
		return tuples.WriteResult{}, err
	}
	if rev != 0 {
		res.Revision = rev
	}
	return res, nil
}

// deleteSubject runs DeleteSubject in a transaction of update.
func deleteSubject(ctx context.Context, update updater, subject tuples.Ref) (int, uint64, error) {
	var n int
	var seen uint64
	rev, err := update(ctx, func(tx *Tx) error {
		var err error
		if n, err = tx.DeleteSubject(ctx, subject); err == nil && n == 0 {
			seen, err = tx.readRevision(ctx)
		}
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return n, max(rev, seen), nil
}

// Write applies a batch in its own transaction (tuples.Writer).
func (db *DB) Write(ctx context.Context, changes []tuples.Change) (tuples.WriteResult, error) {
	return writeBatch(ctx, db.Update, changes)
}

// DeleteSubject deletes the subject's tuples in its own transaction
// (tuples.Writer).
func (db *DB) DeleteSubject(ctx context.Context, subject tuples.Ref) (int, uint64, error) {
	return deleteSubject(ctx, db.Update, subject)
}
