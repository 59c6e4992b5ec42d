package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Step runs one iteration of the tail loop: a (re)load if one is due, else
// one changelog read.
func (f *Follower) Step(ctx context.Context) error { return f.step(ctx) }

// NeedsReload reports whether the follower found a gap or a bad entry.
func (f *Follower) NeedsReload() bool { return f.mustReset.Load() }

// SetStamp replaces how db assigns revisions.
func SetStamp(db *DB, fn func(ctx context.Context, tx pgx.Tx, changes []byte) (uint64, error)) {
	db.stampHook = fn
}

var (
	EncodeChanges = encodeChanges
	DecodeChanges = decodeChanges
)
