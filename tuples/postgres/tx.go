package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/flametrench/server/tuples"
)

// Tx is one transaction of Update. Its tuple writes (Write, DeleteSubject)
// are recorded as they run and, if the transaction commits, stamped with the
// next revision and appended to the changelog in the same commit. Identity
// and tenancy run their own statements through Exec, Query and QueryRow, so a
// membership row and its tuple commit together or not at all (SPEC-MAP X-5).
//
// A Tx belongs to one goroutine and is valid only inside its Update.
type Tx struct {
	tx  conn
	log []tuples.Change
	// readOnly marks a View's Tx, whose statements run outside any
	// transaction: writing through it is refused.
	readOnly bool
}

// conn is what a Tx runs statements on: a transaction, or for a View the
// pool itself.
type conn interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error)
}

// errReadOnly is returned by the writing methods of a View's Tx.
var errReadOnly = &tuples.Error{Kind: tuples.Internal, Code: "internal_error", Msg: "write attempted in a read-only view"}

// View runs fn with a Tx for reading. Its statements run on the pool, one
// at a time, each seeing the data committed when it starts: a single-read
// view costs one round trip, not three. Tuple writes and savepoints through
// it fail; Exec must only be used to read.
func (db *DB) View(ctx context.Context, fn func(*Tx) error) error {
	return translate(fn(&Tx{tx: db.pool, readOnly: true}))
}

// Exec runs a statement in the transaction.
func (t *Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.tx.Exec(ctx, sql, args...)
}

// Query runs a query in the transaction. The caller must close the rows.
func (t *Tx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.tx.Query(ctx, sql, args...)
}

// QueryRow runs a query that returns at most one row.
func (t *Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.tx.QueryRow(ctx, sql, args...)
}

// savepointMethod is what a savepoint's method part may hold.
var savepointMethod = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,40}$`)

// Savepoint runs fn inside a savepoint named ft_<method>_<8 hex> (ADR 0013).
// If fn fails, its statements and tuple writes are rolled back to the
// savepoint, the savepoint is released, and fn's error is returned unchanged:
// the transaction stays usable, and whether to go on is the caller's choice.
// This is how one operation composes another inside a single transaction.
func (t *Tx) Savepoint(ctx context.Context, method string, fn func() error) error {
	if t.readOnly {
		return errReadOnly
	}
	if !savepointMethod.MatchString(method) {
		return fmt.Errorf("savepoint method %q: want a plain identifier", method)
	}
	name := fmt.Sprintf("ft_%s_%08x", method, rand.Uint32())
	if _, err := t.tx.Exec(ctx, "SAVEPOINT "+name); err != nil {
		return translate(err)
	}
	mark := len(t.log)
	if err := fn(); err != nil {
		t.log = t.log[:mark]
		if _, rerr := t.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+name); rerr != nil {
			return fmt.Errorf("%w (and rolling back to %s failed: %v)", err, name, translate(rerr))
		}
		if _, rerr := t.tx.Exec(ctx, "RELEASE SAVEPOINT "+name); rerr != nil {
			return fmt.Errorf("%w (and releasing %s failed: %v)", err, name, translate(rerr))
		}
		return err
	}
	if _, err := t.tx.Exec(ctx, "RELEASE SAVEPOINT "+name); err != nil {
		return translate(err)
	}
	return nil
}

// maxAttempts bounds how often Update runs a transaction that the database
// aborted for serialisation (SQLSTATE 40001) or a deadlock (40P01).
const maxAttempts = 4

// Update runs fn in a transaction and commits it if fn returns nil; any error
// rolls everything back. It returns the revision the commit produced, or 0 if
// fn changed no tuples. A transaction the database aborts for serialisation
// or deadlock is run again, so fn may run more than once: it must not have
// effects outside the transaction. fn's own errors come back unchanged;
// database errors as *tuples.Error values (ErrUnavailable, ErrCommitUnknown
// when the connection broke during COMMIT, ...); or ctx's error.
func (db *DB) Update(ctx context.Context, fn func(*Tx) error) (uint64, error) {
	rev, _, err := db.update(ctx, fn)
	return rev, err
}

// update is Update that also returns the tuple changes the commit made, for a
// replica to apply.
func (db *DB) update(ctx context.Context, fn func(*Tx) error) (uint64, []tuples.Change, error) {
	for attempt := 1; ; attempt++ {
		rev, log, err := db.attempt(ctx, fn)
		if err == nil {
			db.saw(rev)
			return rev, log, nil
		}
		if !retryable(err) || attempt == maxAttempts || ctx.Err() != nil {
			return 0, nil, translate(err)
		}
		time.Sleep(time.Duration(rand.IntN(5*attempt)+1) * time.Millisecond)
	}
}

func (db *DB) attempt(ctx context.Context, fn func(*Tx) error) (uint64, []tuples.Change, error) {
	ptx, err := db.pool.Begin(ctx)
	if err != nil {
		return 0, nil, err
	}
	defer ptx.Rollback(context.WithoutCancel(ctx)) // a no-op once committed
	t := &Tx{tx: ptx}
	if err := fn(t); err != nil {
		return 0, nil, err
	}
	var rev uint64
	if len(t.log) > 0 {
		if rev, err = db.stamp(ctx, ptx, t.log); err != nil {
			return 0, nil, err
		}
	}
	if err := ptx.Commit(ctx); err != nil {
		if isConnError(err) {
			return 0, nil, ErrCommitUnknown.With("commit: %v", err)
		}
		return 0, nil, err
	}
	return rev, t.log, nil
}

// The last statement of a transaction that changed tuples: take the next
// revision (the row lock on tup_revision is held until commit, so revisions
// commit in order and no reader can see N+1 without N) and log the changes.
const (
	stampSQL = `WITH r AS (UPDATE tup_revision SET rev = rev + 1 RETURNING rev),
	l AS (INSERT INTO tup_changelog (rev, changes) SELECT rev, $1 FROM r)
SELECT rev FROM r`
	stampNotifySQL = `WITH r AS (UPDATE tup_revision SET rev = rev + 1 RETURNING rev),
	l AS (INSERT INTO tup_changelog (rev, changes) SELECT rev, $1 FROM r)
SELECT r.rev FROM r CROSS JOIN LATERAL (SELECT pg_notify('` + notifyChannel + `', r.rev::text)) AS n`
)

func (db *DB) stamp(ctx context.Context, tx pgx.Tx, log []tuples.Change) (uint64, error) {
	if db.stampHook != nil {
		return db.stampHook(ctx, tx, encodeChanges(log))
	}
	q := stampSQL
	if db.notify {
		q = stampNotifySQL
	}
	var rev int64
	if err := tx.QueryRow(ctx, q, encodeChanges(log)).Scan(&rev); err != nil {
		return 0, err
	}
	return uint64(rev), nil
}
