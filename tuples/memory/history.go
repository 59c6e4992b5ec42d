package memory

import (
	"context"
	"sync"
	"time"

	"github.com/flametrench/server/tuples"
)

// Config tunes a Graph. The zero value is the default.
type Config struct {
	// History is how many tuple changes the change feed (Changes) keeps,
	// counted over whole revisions, newest first; the newest revision is
	// kept whatever its size. A change costs about 40 bytes and a revision
	// about 60 more. Zero: DefaultHistory. Negative: no history; Changes
	// then has nothing after any revision but the current one.
	History int
}

// DefaultHistory is Config.History's default: at most about 10 MB.
const DefaultHistory = 100_000

// history is the graph's change feed: the revisions after base, each with
// the changes it made in interned form, so recording them copies no
// strings. Writers append under Graph.mu as they publish; readers copy out
// under mu.
type history struct {
	mu   sync.RWMutex // mu guards every field below
	max  int          // changes to keep; negative: none
	base uint64       // the revisions up to base are not kept
	revs []histRev    // revs[head:] are revisions base+1, base+2, …
	head int
	n    int // changes in revs[head:]
}

type histRev struct {
	rev     uint64
	at      time.Time
	changes []histChange
}

// histChange is one created or deleted tuple: its subject and its
// out-edge (object, relation, creator, id).
type histChange struct {
	subj tuples.NodeID
	e    outEdge
	del  bool
}

func (h *history) init(max int) {
	switch {
	case max == 0:
		h.max = DefaultHistory
	default:
		h.max = max
	}
}

// record appends revision rev, or when cut is set (Load, Reset: content
// that is not a list of changes) discards everything up to it. It runs as
// the revision publishes, before readers can learn of it.
func (h *history) record(rev uint64, changes []histChange, cut bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cut || h.max < 0 {
		h.base, h.revs, h.head, h.n = rev, nil, 0, 0
		return
	}
	h.revs = append(h.revs, histRev{rev: rev, at: time.Now(), changes: changes})
	h.n += len(changes)
	for h.n > h.max && len(h.revs)-h.head > 1 {
		old := &h.revs[h.head]
		h.base, h.n = old.rev, h.n-len(old.changes)
		*old = histRev{}
		h.head++
	}
	// Reclaim the dropped prefix once it is half the slice.
	if h.head > 64 && h.head > len(h.revs)/2 {
		h.revs = append(h.revs[:0:0], h.revs[h.head:]...)
		h.head = 0
	}
}

// Changes returns the committed revisions after `after` (tuples.Watcher).
// The graph keeps Config.History changes; a reader further behind gets
// tuples.ErrRevisionGone, and so does one from before a Load or Reset.
func (g *Graph) Changes(ctx context.Context, after uint64, limit int) ([]tuples.Revision, error) {
	limit, err := tuples.CheckWatchLimit(limit)
	if err != nil {
		return nil, err
	}
	h := &g.hist
	h.mu.RLock()
	defer h.mu.RUnlock()
	live := h.revs[h.head:]
	last := h.base + uint64(len(live))
	switch {
	case after > last:
		return nil, tuples.ErrFutureRevision.With("revision %d is ahead of the graph's %d", after, last)
	case after < h.base:
		return nil, tuples.ErrRevisionGone.With("the graph keeps the changes after revision %d, not after %d", h.base, after)
	}
	live = live[after-h.base:]
	var out []tuples.Revision
	budget := tuples.WatchChangeBudget
	for _, r := range live {
		if len(out) == limit || (len(out) > 0 && len(r.changes) > budget) {
			break
		}
		budget -= len(r.changes)
		out = append(out, g.revision(r))
	}
	return out, nil
}

// revision turns a recorded revision into its public form.
func (g *Graph) revision(r histRev) tuples.Revision {
	out := tuples.Revision{Rev: r.rev, At: r.at, Changes: make([]tuples.Change, len(r.changes))}
	for i, c := range r.changes {
		k := tuples.Key{Subject: g.ref(c.subj), Relation: g.syms.name(c.e.rel), Object: g.ref(c.e.obj)}
		ch := tuples.Change{Op: tuples.OpCreate, Key: k, ID: c.e.id}
		if c.del {
			ch.Op = tuples.OpDelete
		}
		if c.e.by != 0 {
			ch.CreatedBy = g.nodes.key(c.e.by).id
		}
		out.Changes[i] = ch
	}
	return out
}

// ref returns the type name and UUID of a node.
func (g *Graph) ref(n tuples.NodeID) tuples.Ref {
	k := g.nodes.key(n)
	return tuples.Ref{Type: g.syms.name(k.typ), ID: k.id}
}

var _ tuples.Watcher = (*Graph)(nil)
