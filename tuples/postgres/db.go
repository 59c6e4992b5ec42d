package postgres

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flametrench/server/tuples"
)

// Config tunes a DB. The zero value is the default.
type Config struct {
	// MaxConns caps the pool. Zero: pgxpool's default (4 per CPU, at least 4),
	// unless the URL sets pool_max_conns.
	MaxConns int32
	// NoNotify stops commits from sending NOTIFY (for databases without it,
	// such as CockroachDB). Replicas then learn of changes by polling only.
	NoNotify bool
}

// DB is a Flametrench PostgreSQL database: a connection pool, the schema
// migrations, the transaction entry point (Update) and the tuple store over
// SQL. It is safe for concurrent use.
type DB struct {
	pool    *pgxpool.Pool
	notify  bool
	lastRev atomic.Uint64 // the highest revision this handle has committed or read

	waitMu sync.Mutex    // waitMu guards waitCh
	waitCh chan struct{} // closed when lastRev next advances; nil while no one waits

	// stampHook replaces stamp in tests that show what a naive revision
	// scheme would break.
	stampHook func(ctx context.Context, tx pgx.Tx, changes []byte) (uint64, error)
}

// notifyChannel is the LISTEN/NOTIFY channel on which commits announce their
// revision.
const notifyChannel = "flametrench_tuples"

// Open connects to the database at url (a postgres:// URL or key=value DSN).
// It fails with ErrUnavailable if the server cannot be reached. Open does not
// touch the schema: call Migrate, or CheckSchema when another process
// migrates.
func Open(ctx context.Context, url string, cfg Config) (*DB, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, tuples.Errorf(tuples.Invalid, "invalid_format.database_url", "database URL: %v", err)
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, translate(err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, translate(err)
	}
	return &DB{pool: pool, notify: !cfg.NoNotify}, nil
}

// Close closes every connection. Work in flight fails.
func (db *DB) Close() { db.pool.Close() }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error { return translate(db.pool.Ping(ctx)) }

// Head returns the revision of the latest committed tuple write and the
// database's epoch (see tuples.Token).
func (db *DB) Head(ctx context.Context) (rev, epoch uint64, err error) {
	var r, e int64
	if err := db.pool.QueryRow(ctx, `SELECT rev, epoch FROM tup_revision`).Scan(&r, &e); err != nil {
		return 0, 0, translate(err)
	}
	db.saw(uint64(r))
	return uint64(r), uint64(e), nil
}

// Revision returns the highest revision this handle has committed or read
// (tuples.Store). It does no I/O; use Head for the database's own answer.
func (db *DB) Revision() uint64 { return db.lastRev.Load() }

// saw records a revision this handle has seen committed, and wakes Wait.
func (db *DB) saw(rev uint64) {
	for {
		cur := db.lastRev.Load()
		if rev <= cur {
			return
		}
		if db.lastRev.CompareAndSwap(cur, rev) {
			break
		}
	}
	db.waitMu.Lock()
	if db.waitCh != nil {
		close(db.waitCh)
		db.waitCh = nil
	}
	db.waitMu.Unlock()
}
