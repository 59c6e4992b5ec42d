package tuples

import (
	"context"
	"time"
)

// Revision is one committed revision of a store, as its change feed
// reports it.
type Revision struct {
	Rev uint64
	// At is when the revision committed, by the store's clock.
	At time.Time
	// Changes is what the revision did: OpCreate and OpDelete of whole
	// tuples (ID, Key and CreatedBy all set), each key at most once, so
	// their order does not matter. Touches of existing keys and
	// preconditions change nothing and never appear.
	Changes []Change
}

// Watcher is a store's change feed (DESIGN §2: a Watch streams what a
// client's replica must apply to stay current).
type Watcher interface {
	// Waiter gives the feed's current revision and a way to block until a
	// later one commits, so a reader at the head waits instead of polling.
	Waiter
	// Changes returns the committed revisions after `after`, oldest first,
	// consecutive (after+1, after+2, …) with no gaps or repeats: up to
	// limit of them (0 means DefaultWatchLimit; limits outside
	// 1..MaxWatchLimit give ErrInvalidLimit), and fewer when they would
	// hold more than WatchChangeBudget changes, but at least one if any
	// exists. An empty result means `after` is the head: Wait for after+1.
	//
	// after is 0 (the beginning) or a revision the store issued. A
	// revision the store no longer retains the history after gives
	// ErrRevisionGone: the reader missed changes and must reread the whole
	// state, then resume from the revision it read it at. A revision
	// beyond the store's current one gives ErrFutureRevision.
	Changes(ctx context.Context, after uint64, limit int) ([]Revision, error)
}

// Change feed paging.
const (
	DefaultWatchLimit = 100
	MaxWatchLimit     = 1000
	// WatchChangeBudget bounds the changes of one Changes call (one large
	// revision may exceed it, and is returned whole).
	WatchChangeBudget = 10_000
)

// Change feed errors.
var (
	// ErrRevisionGone: the history after the revision has been discarded
	// (retention ran out, or the store was reloaded); reread and resume.
	ErrRevisionGone = &Error{Kind: Precondition, Code: "precondition.revision_expired", Msg: "the change history after this revision is no longer retained"}
	// ErrFutureRevision: a revision the store has not reached.
	ErrFutureRevision = &Error{Kind: Invalid, Code: "invalid_format.revision", Msg: "revision is ahead of the store"}
)

// CheckWatchLimit applies the change feed's limit rule: 0 means
// DefaultWatchLimit.
func CheckWatchLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultWatchLimit, nil
	case limit < 1 || limit > MaxWatchLimit:
		return 0, ErrInvalidLimit.With("limit %d is outside 1..%d", limit, MaxWatchLimit)
	}
	return limit, nil
}
