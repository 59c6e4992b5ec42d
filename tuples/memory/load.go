package memory

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"

	"github.com/flametrench/server/tuples"
)

// Load adds tuples in bulk, as one atomic batch: either every new tuple becomes
// visible in one new revision, or (on an error from src, ctx or a bad tuple)
// none does. It is how a graph hydrates from its source of truth, and it is far
// cheaper per tuple than Write: edges are bucketed by node with counting sorts
// and stored in a few large slabs instead of one allocation per list.
//
// Load has touch semantics: a tuple whose key already exists, in the graph or
// earlier in src, is skipped. Tuple ids are kept (a zero id gets a fresh one);
// an id already used by another tuple is a conflict. The id index is rebuilt,
// so Load costs O(graph) on top of O(input): use Write for small changes.
// It returns the number of tuples added and the revision that holds them.
// The change feed does not list a Load: it starts again after its revision,
// and a reader from before gets tuples.ErrRevisionGone.
func (g *Graph) Load(ctx context.Context, src iter.Seq2[tuples.Tuple, error]) (int, uint64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.loadLocked(ctx, g.cur.Load(), 0, src)
}

// loadLocked loads src on top of old (the current snapshot, or an empty one to
// replace the graph's content) and publishes the result at rev (0: the next
// revision). g.mu must be held.
func (g *Graph) loadLocked(ctx context.Context, old *Snapshot, rev uint64, src iter.Seq2[tuples.Tuple, error]) (int, uint64, error) {
	cur := g.cur.Load()
	chunks, total, err := g.loadRecords(ctx, src)
	if err != nil {
		return 0, cur.rev, err
	}
	if err := old.checkIDs(chunks, total); err != nil {
		return 0, cur.rev, err
	}
	if err := ctx.Err(); err != nil {
		return 0, cur.rev, err
	}
	l := &loader{old: old, fresh: make([]*lists, g.nodes.keys.n)}
	kept := l.out(chunks, total)
	if len(kept) == 0 && rev == 0 {
		return 0, cur.rev, nil
	}
	l.in(kept)
	b := g.beginFrom(old)
	b.rev = rev
	b.cut = true
	for v, a := range l.fresh {
		if a != nil {
			b.adj.set(v, pack(a.out, a.in))
		}
	}
	b.count += len(kept)
	b.ids.x.live = b.count // rehash sizes the table for the live count
	b.ids.rehash(b.eachBuilt)
	return len(kept), g.publish(b), nil
}

// rec is one tuple being loaded, in interned form.
type rec struct {
	subj, obj tuples.NodeID
	rel       tuples.Sym
	by        tuples.NodeID
	id        tuples.UUID
}

// recChunk is the unit in which records are gathered, so a large input is
// never copied to grow one slice.
const recChunk = 1 << 16

// loadRecords validates and interns src. Names repeat from tuple to tuple, so
// a small memo spares most symbol-table lookups.
func (g *Graph) loadRecords(ctx context.Context, src iter.Seq2[tuples.Tuple, error]) ([][]rec, int, error) {
	var chunks [][]rec
	total := 0
	memo := map[string]tuples.Sym{}
	sym := func(name string) (tuples.Sym, error) {
		if v, ok := memo[name]; ok {
			return v, nil
		}
		v, err := g.syms.intern(name)
		if err == nil && len(memo) < 256 {
			memo[name] = v
		}
		return v, err
	}
	var usr tuples.Sym
	for t, err := range src {
		if err != nil {
			return nil, 0, err
		}
		if total%recChunk == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
			chunks = append(chunks, make([]rec, 0, recChunk))
		}
		r, err := g.intern(t, sym, &usr)
		if err != nil {
			return nil, 0, fmt.Errorf("tuple %d: %w", total+1, err)
		}
		c := &chunks[len(chunks)-1]
		*c = append(*c, r)
		total++
	}
	return chunks, total, nil
}

func (g *Graph) intern(t tuples.Tuple, sym func(string) (tuples.Sym, error), usr *tuples.Sym) (rec, error) {
	if err := t.Key.Validate(); err != nil {
		return rec{}, err
	}
	r := rec{id: t.ID}
	if r.id.IsZero() {
		r.id = tuples.NewUUID()
	}
	st, err := sym(t.Key.Subject.Type)
	if err != nil {
		return rec{}, err
	}
	ot, err := sym(t.Key.Object.Type)
	if err != nil {
		return rec{}, err
	}
	if r.rel, err = sym(t.Key.Relation); err != nil {
		return rec{}, err
	}
	if r.subj, err = g.nodes.intern(st, t.Key.Subject.ID); err != nil {
		return rec{}, err
	}
	if r.obj, err = g.nodes.intern(ot, t.Key.Object.ID); err != nil {
		return rec{}, err
	}
	if !t.CreatedBy.IsZero() {
		if *usr == 0 {
			if *usr, err = sym("usr"); err != nil {
				return rec{}, err
			}
		}
		if r.by, err = g.nodes.intern(*usr, t.CreatedBy); err != nil {
			return rec{}, err
		}
	}
	return r, nil
}

// checkIDs rejects an id used twice in recs, or already used in s by a tuple
// with another key. (A reused id on the same key is a tuple Load will skip.)
func (s *Snapshot) checkIDs(chunks [][]rec, total int) error {
	ascending := true
	var prev *rec
	for _, c := range chunks {
		for i := range c {
			if prev != nil && prev.id.Compare(c[i].id) >= 0 {
				ascending = false
			}
			prev = &c[i]
		}
	}
	if !ascending { // sources usually stream in id order; otherwise sort a copy
		ids := make([]tuples.UUID, 0, total)
		for _, c := range chunks {
			for i := range c {
				ids = append(ids, c[i].id)
			}
		}
		slices.SortFunc(ids, tuples.UUID.Compare)
		for i := 1; i < len(ids); i++ {
			if ids[i] == ids[i-1] {
				return tuples.ErrDuplicateTuple.With("tuple id %s appears twice", tuples.FormatID("tup", ids[i]))
			}
		}
	}
	if s.count == 0 {
		return nil
	}
	for _, c := range chunks {
		for _, r := range c {
			if subj, e, ok := s.ids.lookup(s.g.nodes.seed, r.id, s.outs); ok && (subj != r.subj || e.obj != r.obj || e.rel != r.rel) {
				return tuples.ErrDuplicateTuple.With("tuple id %s is already used", tuples.FormatID("tup", r.id))
			}
		}
	}
	return nil
}

// bucket orders recs by key(r) with a stable counting sort over node ids
// below n, returning the sorted records and where each node's run starts
// (starts[v]..starts[v+1]).
func bucket(chunks [][]rec, total, n int, key func(*rec) tuples.NodeID) ([]rec, []int32) {
	starts := make([]int32, n+1)
	for _, c := range chunks {
		for i := range c {
			starts[key(&c[i])+1]++
		}
	}
	for v := 1; v <= n; v++ {
		starts[v] += starts[v-1]
	}
	out := make([]rec, total)
	next := slices.Clone(starts[:n])
	for _, c := range chunks {
		for i := range c {
			k := key(&c[i])
			out[next[k]] = c[i]
			next[k]++
		}
	}
	return out, starts
}

func cmpRecOut(a, b rec) int {
	if c := cmp.Compare(a.obj, b.obj); c != 0 {
		return c
	}
	return cmp.Compare(a.rel, b.rel)
}

// loader rebuilds the adjacency of the nodes a Load touches. fresh[v] is
// node v's new adjacency (nil: untouched); the structs come from one slab.
type loader struct {
	old   *Snapshot
	fresh []*lists
	slab  []lists
}

// lists is one node's edge lists while a Load rebuilds them.
type lists struct {
	out []outEdge
	in  []tuples.Edge
}

// at returns node v's new lists, starting from its old ones.
func (l *loader) at(v tuples.NodeID) *lists {
	if a := l.fresh[v]; a != nil {
		return a
	}
	if len(l.slab) == 0 {
		l.slab = make([]lists, 4096)
	}
	a := &l.slab[0]
	l.slab = l.slab[1:]
	if old := l.old.adjOf(v); old != nil {
		a.out, a.in = old.outs(), old.ins()
	}
	l.fresh[v] = a
	return a
}

// out merges the records into the subjects' out-lists, skipping keys that
// exist already, and returns the records it kept, grouped by subject.
func (l *loader) out(chunks [][]rec, total int) []rec {
	n := len(l.fresh)
	sorted, starts := bucket(chunks, total, n, func(r *rec) tuples.NodeID { return r.subj })
	// One slab holds every rebuilt out-list.
	size := len(sorted)
	for v := 1; v < n; v++ {
		if starts[v] != starts[v+1] {
			if a := l.old.adjOf(tuples.NodeID(v)); a != nil {
				size += int(a.nOut)
			}
		}
	}
	slab := make([]outEdge, 0, size)
	kept := sorted[:0] // compacts in place: kept never overtakes the read position
	for v := 1; v < n; v++ {
		run := sorted[starts[v]:starts[v+1]]
		if len(run) == 0 {
			continue
		}
		slices.SortStableFunc(run, cmpRecOut) // stable: the first of two equal keys wins
		a := l.at(tuples.NodeID(v))
		have := a.out
		begin := len(slab)
		i := 0
		for j, r := range run {
			if j > 0 && cmpRecOut(run[j-1], r) == 0 {
				continue // twice in the input
			}
			e := outEdge{obj: r.obj, rel: r.rel, by: r.by, id: r.id}
			for i < len(have) && cmpOut(have[i], e) < 0 {
				slab = append(slab, have[i])
				i++
			}
			if i < len(have) && cmpOut(have[i], e) == 0 {
				continue // already in the graph
			}
			slab = append(slab, e)
			kept = append(kept, r)
		}
		slab = append(slab, have[i:]...)
		a.out = slab[begin:len(slab):len(slab)]
	}
	return kept
}

func cmpRecIn(a, b rec) int {
	if c := cmp.Compare(a.rel, b.rel); c != 0 {
		return c
	}
	return cmp.Compare(a.subj, b.subj)
}

// in merges the kept records into the objects' in-lists.
func (l *loader) in(kept []rec) {
	n := len(l.fresh)
	sorted, starts := bucket([][]rec{kept}, len(kept), n, func(r *rec) tuples.NodeID { return r.obj })
	size := len(sorted)
	for v := 1; v < n; v++ {
		if starts[v] != starts[v+1] {
			if a := l.old.adjOf(tuples.NodeID(v)); a != nil {
				size += int(a.nIn)
			}
		}
	}
	slab := make([]tuples.Edge, 0, size)
	for v := 1; v < n; v++ {
		run := sorted[starts[v]:starts[v+1]]
		if len(run) == 0 {
			continue
		}
		slices.SortFunc(run, cmpRecIn)
		a := l.at(tuples.NodeID(v))
		have := a.in
		begin := len(slab)
		i := 0
		for _, r := range run {
			e := tuples.Edge{Node: r.subj, Rel: r.rel}
			for i < len(have) && cmpIn(have[i], e) < 0 {
				slab = append(slab, have[i])
				i++
			}
			slab = append(slab, e)
		}
		slab = append(slab, have[i:]...)
		a.in = slab[begin:len(slab):len(slab)]
	}
}

// eachBuilt visits every tuple of the batch's adjacency (for the id index).
func (b *batch) eachBuilt(fn func(tuples.UUID, tuples.NodeID)) {
	for i := 1; i < b.adj.p.len(); i++ {
		if a := b.adj.p.ptr(i); a != nil {
			for _, e := range a.outs() {
				fn(e.id, tuples.NodeID(i))
			}
		}
	}
}
