package postgres

import (
	"context"
	"time"

	"github.com/flametrench/server/tuples"
)

// changesSQL reads the head and the revisions after $1 in one statement,
// so both come from one snapshot: if the head is ahead and revision $1+1
// is not there, it was pruned.
const changesSQL = `SELECT r.rev, c.rev, c.committed_at, c.changes FROM tup_revision r
LEFT JOIN LATERAL (SELECT rev, committed_at, changes FROM tup_changelog WHERE rev > $1 ORDER BY rev LIMIT $2) c ON true`

// Changes returns the committed revisions after `after` from the
// changelog (tuples.Watcher). The changelog keeps what the Follower's
// retention (FollowerConfig.Retention) leaves; a reader further behind
// gets tuples.ErrRevisionGone.
func (db *DB) Changes(ctx context.Context, after uint64, limit int) ([]tuples.Revision, error) {
	limit, err := tuples.CheckWatchLimit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, changesSQL, int64(after), limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var head int64
	var out []tuples.Revision
	names := map[string]string{}
	budget := tuples.WatchChangeBudget
	next := after + 1
	for rows.Next() {
		var rev *int64
		var at *time.Time // NULL with rev when nothing follows
		var blob []byte
		if err := rows.Scan(&head, &rev, &at, &blob); err != nil {
			return nil, translate(err)
		}
		if rev == nil || uint64(*rev) != next {
			break // nothing after, or a gap (pruned): told apart below
		}
		cs, err := decodeChanges(blob, names)
		if err != nil {
			return nil, translate(err)
		}
		if len(out) > 0 && len(cs) > budget {
			break
		}
		budget -= len(cs)
		out = append(out, tuples.Revision{Rev: next, At: *at, Changes: cs})
		next++
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	db.saw(uint64(head))
	switch {
	case after > uint64(head):
		return nil, tuples.ErrFutureRevision.With("revision %d is ahead of the database's %d", after, head)
	case len(out) == 0 && after < uint64(head):
		return nil, tuples.ErrRevisionGone.With("the changelog no longer holds revision %d (pruned); the database is at %d", after+1, head)
	}
	return out, nil
}

// waitPoll is how often Wait reads the head for other processes' commits.
const waitPoll = 100 * time.Millisecond

// Wait returns once the database's revision is at least rev (tuples.Waiter),
// or with ctx's error, or the error of reading the head. It learns of this
// handle's own commits at once and of other processes' by reading the head
// every waitPoll; a Follower, which LISTENs, learns of them sooner.
func (db *DB) Wait(ctx context.Context, rev uint64) error {
	var tick *time.Ticker
	for {
		if db.Revision() >= rev {
			return nil
		}
		db.waitMu.Lock()
		if db.waitCh == nil {
			db.waitCh = make(chan struct{})
		}
		ch := db.waitCh
		db.waitMu.Unlock()
		if db.Revision() >= rev { // saw ran between the check and taking ch
			return nil
		}
		if tick == nil {
			tick = time.NewTicker(waitPoll)
			defer tick.Stop()
		}
		select {
		case <-ch:
		case <-tick.C:
			if _, _, err := db.Head(ctx); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Changes reads the database's changelog (tuples.Watcher); pair it with
// Wait, which wakes when the local graph reaches a revision.
func (f *Follower) Changes(ctx context.Context, after uint64, limit int) ([]tuples.Revision, error) {
	return f.db.Changes(ctx, after, limit)
}

var (
	_ tuples.Watcher = (*DB)(nil)
	_ tuples.Watcher = (*Follower)(nil)
)
