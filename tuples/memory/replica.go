package memory

import (
	"context"
	"fmt"
	"iter"

	"github.com/flametrench/server/tuples"
)

// The methods in this file let a graph serve as the replica of a durable store
// (tuples/postgres): the store numbers its revisions and the graph takes them
// over, so a consistency token means the same revision everywhere.

// ErrRevisionGap is Apply's error for a change that does not follow the graph's
// revision: something in between is missing, and the graph must be reset.
var ErrRevisionGap = &tuples.Error{Kind: tuples.Internal, Code: "internal.revision_gap", Msg: "replica skipped a revision"}

// Apply applies one committed revision of the source store: changes are what
// the revision did (creates carrying their ids, deletes by id). It is
// idempotent, so a change that reaches the graph twice (from the writer and
// from the changelog) is applied once:
//   - rev at or below the graph's revision: already applied; false, nil.
//   - rev directly after it: applied atomically at revision rev; true, nil.
//   - further ahead: ErrRevisionGap, and nothing changes.
//
// An error other than the gap means the graph and its source disagree (say, a
// create of an id the graph has already); the caller must Reset.
func (g *Graph) Apply(ctx context.Context, rev uint64, changes []tuples.Change) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	cur := g.cur.Load().rev
	switch {
	case rev <= cur:
		return false, nil
	case rev != cur+1:
		return false, ErrRevisionGap.With("revision %d cannot follow %d", rev, cur)
	}
	b := g.begin()
	b.rev = rev
	for i, c := range changes {
		if c.Op == tuples.OpTouch {
			c.Op = tuples.OpCreate
		}
		if _, err := b.apply(c); err != nil {
			return false, fmt.Errorf("revision %d, change %d: %w", rev, i, err)
		}
	}
	g.commit(b)
	return true, nil
}

// Reset replaces the graph's content with src, published at revision rev. It
// is all-or-nothing like Load, and refuses to move the revision backwards.
// Readers holding older snapshots keep them. Like Load, it restarts the
// change feed after rev.
func (g *Graph) Reset(ctx context.Context, rev uint64, src iter.Seq2[tuples.Tuple, error]) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if cur := g.cur.Load().rev; rev < cur || rev == 0 {
		return fmt.Errorf("reset to revision %d: the graph is at %d already", rev, cur)
	}
	_, _, err := g.loadLocked(ctx, &Snapshot{g: g}, rev, src)
	return err
}

// Wait returns once the graph's revision is at least rev, or with ctx's error.
func (g *Graph) Wait(ctx context.Context, rev uint64) error {
	for {
		if g.Revision() >= rev {
			return nil
		}
		g.waitMu.Lock()
		if g.waitCh == nil {
			g.waitCh = make(chan struct{})
		}
		ch := g.waitCh
		g.waitMu.Unlock()
		// A publish between the check above and taking ch has closed an
		// earlier channel, not ch, so check again before sleeping.
		if g.Revision() >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// wake releases every Wait after a publish.
func (g *Graph) wake() {
	g.waitMu.Lock()
	if g.waitCh != nil {
		close(g.waitCh)
		g.waitCh = nil
	}
	g.waitMu.Unlock()
}
