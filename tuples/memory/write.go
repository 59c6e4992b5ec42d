package memory

import (
	"cmp"
	"context"
	"slices"

	"github.com/flametrench/server/tuples"
)

func cmpOut(a, b outEdge) int {
	if c := cmp.Compare(a.obj, b.obj); c != 0 {
		return c
	}
	return cmp.Compare(a.rel, b.rel)
}

func cmpIn(a, b tuples.Edge) int {
	if c := cmp.Compare(a.Rel, b.Rel); c != 0 {
		return c
	}
	return cmp.Compare(a.Node, b.Node)
}

// Write applies a batch atomically (tuples.Writer).
func (g *Graph) Write(ctx context.Context, changes []tuples.Change) (tuples.WriteResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.begin()
	res := tuples.WriteResult{Tuples: make([]tuples.Tuple, len(changes))}
	if tuples.HasPreconditions(changes) {
		// Validate the whole batch first, as the SQL store does, so a
		// malformed batch gives the same error in both.
		if err := tuples.ValidateBatch(changes); err != nil {
			return tuples.WriteResult{}, err
		}
		for i, c := range changes {
			if !c.Op.IsPrecondition() {
				continue
			}
			found, ok := b.old.Lookup(c.Key) // the state before the batch
			t, err := tuples.CheckPrecondition(c, found, ok)
			if err != nil {
				if len(changes) > 1 {
					err = &tuples.ChangeError{Index: i, Err: err}
				}
				return tuples.WriteResult{}, err
			}
			res.Tuples[i] = t
		}
	}
	for i, c := range changes {
		if c.Op.IsPrecondition() {
			continue
		}
		t, err := b.apply(c)
		if err != nil {
			if len(changes) > 1 {
				err = &tuples.ChangeError{Index: i, Err: err}
			}
			return tuples.WriteResult{}, err
		}
		res.Tuples[i] = t
	}
	res.Revision = g.commit(b)
	return res, nil
}

// DeleteSubject deletes every tuple whose subject is subject (cascadeRevokeSubject).
func (g *Graph) DeleteSubject(ctx context.Context, subject tuples.Ref) (int, uint64, error) {
	if err := tuples.CheckSubjectType(subject.Type); err != nil {
		return 0, 0, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	b := g.begin()
	n := b.old.ref(subject)
	a := b.old.adjOf(n)
	if a == nil {
		return 0, b.old.rev, nil
	}
	out := a.outs()
	for _, e := range out {
		b.remove(n, e)
	}
	return len(out), g.commit(b), nil
}

// batch builds the next snapshot from old. Nothing it does is visible to readers
// until commit publishes it; an abandoned batch leaves no trace but interned names.
type batch struct {
	g     *Graph
	old   *Snapshot
	gen   uint64
	adj   pvecBuilder[adjacency]
	ids   *idBuilder
	own   map[tuples.NodeID]*owned
	seen  map[edgeKey]struct{}
	count int
	dirty bool
	rev   uint64       // the revision to publish at; 0: the next one
	log   []histChange // what the batch did, for the change feed
	cut   bool         // the batch is a Load or Reset, which the feed does not list
}

// owned tracks a node whose adjacency this batch has copied. Each list is copied
// on first write; appended edges stay unsorted past outSorted/inSorted until commit.
type owned struct {
	out                 []outEdge
	in                  []tuples.Edge
	outOwned, inOwned   bool
	outSorted, inSorted int
}

type edgeKey struct {
	subj tuples.NodeID
	rel  tuples.Sym
	obj  tuples.NodeID
}

func (g *Graph) begin() *batch { return g.beginFrom(g.cur.Load()) }

// beginFrom starts a batch that builds on old, which is the current snapshot
// or, for Reset, an empty one.
func (g *Graph) beginFrom(old *Snapshot) *batch {
	g.gen++
	return &batch{
		g: g, old: old, gen: g.gen, count: old.count,
		adj:  newPvecBuilder(old.adj, g.gen),
		ids:  newIDBuilder(old.ids, g.nodes.seed, g.gen),
		own:  map[tuples.NodeID]*owned{},
		seen: map[edgeKey]struct{}{},
	}
}

func (b *batch) node(n tuples.NodeID) *owned {
	if o := b.own[n]; o != nil {
		return o
	}
	o := &owned{}
	if old := b.old.adjOf(n); old != nil {
		o.out, o.in = old.outs(), old.ins()
	}
	o.outSorted, o.inSorted = len(o.out), len(o.in)
	b.own[n] = o
	return o
}

func (o *owned) ownOut() *[]outEdge {
	if !o.outOwned {
		o.out = slices.Clone(o.out)
		o.outOwned = true
	}
	return &o.out
}

func (o *owned) ownIn() *[]tuples.Edge {
	if !o.inOwned {
		o.in = slices.Clone(o.in)
		o.inOwned = true
	}
	return &o.in
}

// outs returns a node's out-edges as this batch sees them.
func (b *batch) outs(n tuples.NodeID) []outEdge {
	if o := b.own[n]; o != nil {
		return o.out
	}
	return b.old.outs(n)
}

// each visits every tuple as this batch sees it (for rehashing the id index).
func (b *batch) each(fn func(tuples.UUID, tuples.NodeID)) {
	// Nodes interned by this batch lie beyond the old vector, so walk every node.
	for i := 1; i < b.g.nodes.keys.n; i++ {
		for _, e := range b.outs(tuples.NodeID(i)) {
			fn(e.id, tuples.NodeID(i))
		}
	}
}

func (b *batch) apply(c tuples.Change) (tuples.Tuple, error) {
	switch c.Op {
	case tuples.OpCreate, tuples.OpTouch:
		return b.create(c)
	case tuples.OpDelete:
		return b.delete(c)
	}
	return tuples.Tuple{}, tuples.ErrInvalidBatch.With("unknown operation %d", c.Op)
}

func (b *batch) mark(k edgeKey, key tuples.Key) error {
	if _, dup := b.seen[k]; dup {
		return tuples.ErrInvalidBatch.With("tuple %s appears more than once in one batch", key)
	}
	b.seen[k] = struct{}{}
	return nil
}

func (b *batch) create(c tuples.Change) (tuples.Tuple, error) {
	if err := c.Key.Validate(); err != nil {
		return tuples.Tuple{}, err
	}
	g := b.g
	var k edgeKey
	var err error
	var st, ot tuples.Sym
	if st, err = g.syms.intern(c.Key.Subject.Type); err != nil {
		return tuples.Tuple{}, err
	}
	if k.rel, err = g.syms.intern(c.Key.Relation); err != nil {
		return tuples.Tuple{}, err
	}
	if ot, err = g.syms.intern(c.Key.Object.Type); err != nil {
		return tuples.Tuple{}, err
	}
	if k.subj, err = g.nodes.intern(st, c.Key.Subject.ID); err != nil {
		return tuples.Tuple{}, err
	}
	if k.obj, err = g.nodes.intern(ot, c.Key.Object.ID); err != nil {
		return tuples.Tuple{}, err
	}
	if err := b.mark(k, c.Key); err != nil {
		return tuples.Tuple{}, err
	}
	if id, ok := b.old.Has(k.subj, k.rel, k.obj); ok {
		if c.Op == tuples.OpCreate {
			return tuples.Tuple{}, tuples.ErrDuplicateTuple.With("tuple %s already exists as %s", c.Key, tuples.FormatID("tup", id))
		}
		return b.old.tuple(k.subj, b.old.edge(k.subj, k.rel, k.obj)), nil
	}
	e := outEdge{obj: k.obj, rel: k.rel, id: c.ID}
	if e.id.IsZero() {
		e.id = tuples.NewUUID()
	} else if _, _, taken := b.ids.x.lookupIn(b, e.id); taken {
		return tuples.Tuple{}, tuples.ErrDuplicateTuple.With("tuple id %s is already used", tuples.FormatID("tup", e.id))
	}
	if !c.CreatedBy.IsZero() {
		usr, _ := g.syms.intern("usr")
		if e.by, err = g.nodes.intern(usr, c.CreatedBy); err != nil {
			return tuples.Tuple{}, err
		}
	}
	b.ids.insert(e.id, k.subj, b.each) // before the edge exists, so a rehash cannot index it twice
	so := b.node(k.subj)
	*so.ownOut() = append(*so.ownOut(), e)
	oo := b.node(k.obj)
	*oo.ownIn() = append(*oo.ownIn(), tuples.Edge{Node: k.subj, Rel: k.rel})
	b.count++
	b.dirty = true
	b.log = append(b.log, histChange{subj: k.subj, e: e})
	return tuples.Tuple{ID: e.id, Key: c.Key, CreatedBy: c.CreatedBy}, nil
}

func (b *batch) delete(c tuples.Change) (tuples.Tuple, error) {
	var subj tuples.NodeID
	var e outEdge
	if !c.ID.IsZero() {
		var ok bool
		if subj, e, ok = b.old.ids.lookup(b.g.nodes.seed, c.ID, b.old.outs); !ok {
			return tuples.Tuple{}, tuples.ErrTupleNotFound.With("no tuple %s", tuples.FormatID("tup", c.ID))
		}
	} else {
		if err := c.Key.Validate(); err != nil {
			return tuples.Tuple{}, err
		}
		subj = b.old.ref(c.Key.Subject)
		rel := b.g.syms.lookup(c.Key.Relation)
		obj := b.old.ref(c.Key.Object)
		if _, ok := b.old.Has(subj, rel, obj); !ok || subj == 0 || rel == 0 || obj == 0 {
			return tuples.Tuple{}, tuples.ErrTupleNotFound.With("no tuple %s", c.Key)
		}
		e = b.old.edge(subj, rel, obj)
	}
	t := b.old.tuple(subj, e)
	if err := b.mark(edgeKey{subj, e.rel, e.obj}, t.Key); err != nil {
		return tuples.Tuple{}, err
	}
	b.remove(subj, e)
	return t, nil
}

// remove deletes an edge that exists in the old snapshot and was not touched
// earlier in this batch, so it lies in the sorted prefix of both lists.
func (b *batch) remove(subj tuples.NodeID, e outEdge) {
	so := b.node(subj)
	out := so.ownOut()
	if i, ok := slices.BinarySearchFunc((*out)[:so.outSorted], e, cmpOut); ok {
		*out = slices.Delete(*out, i, i+1)
		so.outSorted--
	}
	oo := b.node(e.obj)
	in := oo.ownIn()
	if i, ok := slices.BinarySearchFunc((*in)[:oo.inSorted], tuples.Edge{Node: subj, Rel: e.rel}, cmpIn); ok {
		*in = slices.Delete(*in, i, i+1)
		oo.inSorted--
	}
	b.ids.remove(e.id, subj)
	b.count--
	b.dirty = true
	b.log = append(b.log, histChange{subj: subj, e: e, del: true})
}

// commit sorts what the batch appended, publishes the snapshot and returns its
// revision. A batch that changed nothing publishes nothing.
func (g *Graph) commit(b *batch) uint64 {
	if !b.dirty && b.rev == 0 {
		return b.old.rev
	}
	for n, o := range b.own {
		b.adj.set(int(n), pack(mergeSorted(o.out, o.outSorted, cmpOut), mergeSorted(o.in, o.inSorted, cmpIn)))
	}
	return g.publish(b)
}

// publish makes the batch's snapshot current, at b.rev or the next revision,
// and wakes whoever waits for it. The change feed records the revision
// first, so a reader that sees the revision finds it in the feed.
func (g *Graph) publish(b *batch) uint64 {
	rev := b.rev
	if rev == 0 {
		rev = b.old.rev + 1
	}
	s := &Snapshot{g: g, rev: rev, adj: b.adj.build(), ids: b.ids.build(), count: b.count}
	g.hist.record(rev, b.log, b.cut)
	g.cur.Store(s)
	g.wake()
	return rev
}

// mergeSorted sorts s, whose first sorted elements are already in order, into an
// exactly sized slice (which also sheds the slack append left behind).
func mergeSorted[E any](s []E, sorted int, cmp func(a, b E) int) []E {
	if len(s) == 0 {
		return nil
	}
	if sorted == len(s) {
		if cap(s)-len(s) > len(s)/4+4 {
			return slices.Clone(s)
		}
		return s
	}
	head, tail := s[:sorted], s[sorted:]
	slices.SortFunc(tail, cmp)
	out := make([]E, 0, len(s))
	for len(head) > 0 && len(tail) > 0 {
		if cmp(tail[0], head[0]) < 0 {
			out = append(out, tail[0])
			tail = tail[1:]
		} else {
			out = append(out, head[0])
			head = head[1:]
		}
	}
	out = append(out, head...)
	return append(out, tail...)
}
