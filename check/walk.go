package check

import (
	"context"
	"slices"
	"sync"

	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
)

// A lookup is a breadth-first walk over (relation, object) frames, each
// visited once, which gives every frame its shortest derivation: the fewest
// rule expansions between it and a direct tuple. Without limits, Check allows
// exactly when a derivation exists: its depth-first search skips only frames
// already on its stack, and a shortest derivation never repeats a frame. With
// them, it can allow only through a derivation of at most MaxDepth expansions,
// and a member whose shortest derivation is longer makes Check fail. So a walk
// that visits every frame knows the exact answer, and fails, rather than
// leave a member out, when one is beyond the cap.
type walk struct {
	ctx    context.Context
	g      Graph
	p      *program
	limits Limits
	steps  int
	seen   frameSet
	queue  []item // every frame visited, in the order of the walk: shortest derivation first
	buf    []tuples.Edge
	out    collector
}

// item is a frame of the walk with its object's type and the length of its
// shortest derivation.
type item struct {
	frame
	typ  tuples.Sym
	dist int
}

// walks pools walks: a lookup's visited set, queue and buffers are reused
// by the next one instead of grown again from nothing.
var walks = sync.Pool{New: func() any { return new(walk) }}

// maxPooledFrames is the largest walk kept for reuse: a small lookup should
// not hold on to a large one's memory.
const maxPooledFrames = 4096

func newWalk(ctx context.Context, g Graph, e *Engine, after tuples.UUID, limit int) *walk {
	w := walks.Get().(*walk)
	w.ctx, w.g, w.p, w.limits, w.steps = ctx, g, e.prog, e.limits, 0
	w.out = collector{after: after, keep: limit + 1, ids: w.out.ids[:0]}
	return w
}

// page cuts the answer, or passes the walk's error on with the revision, and
// returns the walk to the pool.
func (w *walk) page(rev uint64, err error) (Page, error) {
	defer w.release()
	if err != nil {
		return Page{Revision: rev}, err
	}
	w.out.compact()
	ids := w.out.ids
	p := Page{Revision: rev}
	if limit := w.out.keep - 1; len(ids) > limit {
		ids, p.More = ids[:limit], true
	}
	p.IDs = slices.Clone(ids) // the buffer goes back to the pool
	return p, nil
}

func (w *walk) release() {
	if len(w.queue) > maxPooledFrames || cap(w.out.ids) > 4*maxPooledFrames {
		return
	}
	w.seen.undo(w.queue)
	w.queue, w.buf = w.queue[:0], w.buf[:0]
	w.ctx, w.g = nil, nil
	walks.Put(w)
}

// step counts n units of work against MaxLookupSteps.
func (w *walk) step(n int) error {
	w.steps += n
	if w.steps > w.limits.MaxLookupSteps {
		return ErrEvaluationLimit.With("lookup took more than %d steps", w.limits.MaxLookupSteps)
	}
	return nil
}

// visit starts frame i of the walk, counting it and checking for cancellation
// now and then.
func (w *walk) visit(i int) (item, error) {
	if i%64 == 0 {
		if err := w.ctx.Err(); err != nil {
			return item{}, err
		}
	}
	return w.queue[i], w.step(1)
}

// push visits f after the frames already queued, unless it has been queued.
// The queue lists the visited frames in their order of insertion into the
// set, as undo needs.
func (w *walk) push(f frame, typ tuples.Sym, dist int) {
	if w.seen.add(f) {
		w.queue = append(w.queue, item{f, typ, dist})
	}
}

func (w *walk) id(n tuples.NodeID) tuples.UUID { return w.g.NodeRef(n).ID }

// down walks from (rel, obj) to the frames whose direct subjects hold rel on
// obj, collecting the subjects of type subjType (LookupSubjects). An object
// without tuples has node 0; frames on it share that node, but only
// computed_userset reaches them, so they all have the root's type.
func (w *walk) down(rel tuples.Sym, obj tuples.NodeID, objType, subjType tuples.Sym) error {
	w.push(frame{rel, obj}, objType, 0)
	var within map[tuples.NodeID]bool // members through at most MaxDepth expansions, built only if needed
	for i := 0; i < len(w.queue); i++ {
		it, err := w.visit(i)
		if err != nil {
			return err
		}
		direct := w.g.Subjects(it.obj, it.rel)
		if err := w.step(len(direct)); err != nil {
			return err
		}
		for _, s := range direct {
			if w.g.NodeType(s.Node) != subjType {
				continue
			}
			if it.dist <= w.limits.MaxDepth {
				w.out.add(w.id(s.Node))
				continue
			}
			// Every frame within the cap has been visited: the walk is
			// breadth-first.
			if within == nil {
				if within, err = w.membersWithin(subjType); err != nil {
					return err
				}
			}
			if !within[s.Node] {
				return ErrEvaluationLimit.With("depth=%d: a subject of %s.%s is reached only through %d rule expansions",
					w.limits.MaxDepth, w.g.SymName(w.queue[0].typ), w.g.SymName(rel), it.dist)
			}
		}
		r := w.p.rule(it.typ, it.rel)
		if r == nil {
			continue
		}
		for _, n := range r.nodes {
			switch n.kind {
			case rewrite.ComputedUserset:
				w.push(frame{n.rel, it.obj}, it.typ, it.dist+1)
			case rewrite.TupleToUserset:
				subjects := w.g.Subjects(it.obj, n.tupleset)
				if len(subjects) > w.limits.MaxFanOut {
					return ErrEvaluationLimit.With("fan-out=%d at %s.%s via %s (max %d)",
						len(subjects), w.g.SymName(it.typ), w.g.SymName(it.rel), w.g.SymName(n.tupleset), w.limits.MaxFanOut)
				}
				if err := w.step(len(subjects)); err != nil {
					return err
				}
				for _, s := range subjects {
					w.push(frame{n.rel, s.Node}, w.g.NodeType(s.Node), it.dist+1)
				}
			}
		}
	}
	return nil
}

// membersWithin returns the subjects of type subjType of the frames within
// MaxDepth expansions of the root.
func (w *walk) membersWithin(subjType tuples.Sym) (map[tuples.NodeID]bool, error) {
	in := map[tuples.NodeID]bool{}
	for _, it := range w.queue {
		if it.dist > w.limits.MaxDepth {
			break
		}
		direct := w.g.Subjects(it.obj, it.rel)
		if err := w.step(len(direct)); err != nil {
			return nil, err
		}
		for _, s := range direct {
			if w.g.NodeType(s.Node) == subjType {
				in[s.Node] = true
			}
		}
	}
	return in, nil
}

// up walks from the subject's tuples to the frames they make hold through the
// rules read backwards, collecting the objects of target (LookupResources).
// Only frames that can lead to the target are visited (rv).
func (w *walk) up(subj tuples.NodeID, target typeRel, rv *relevance) error {
	w.buf = w.g.Objects(w.buf[:0], subj)
	if err := w.step(len(w.buf)); err != nil {
		return err
	}
	for _, e := range w.buf {
		if typ := w.g.NodeType(e.Node); rv.has(typ, e.Rel) {
			w.push(frame{e.Rel, e.Node}, typ, 0)
		}
	}
	for i := 0; i < len(w.queue); i++ {
		it, err := w.visit(i)
		if err != nil {
			return err
		}
		if it.typ == target.typ && it.rel == target.rel {
			if it.dist > w.limits.MaxDepth {
				return ErrEvaluationLimit.With("depth=%d: an object of %s.%s is reached only through %d rule expansions",
					w.limits.MaxDepth, w.g.SymName(target.typ), w.g.SymName(target.rel), it.dist)
			}
			w.out.add(w.id(it.obj))
		}
		// computed_userset: the same object's relations that include this one.
		for _, rel := range rv.cuOf(it.typ, it.rel) {
			w.push(frame{rel, it.obj}, it.typ, it.dist+1)
		}
		// tuple_to_userset: the objects this one is the tupleset subject of.
		parents := rv.ttuOf(it.rel)
		if len(parents) == 0 {
			continue
		}
		w.buf = w.g.Objects(w.buf[:0], it.obj)
		if err := w.step(len(w.buf)); err != nil {
			return err
		}
		for _, e := range w.buf {
			var typ tuples.Sym
			for _, p := range parents {
				if p.tupleset != e.Rel {
					continue
				}
				if typ == 0 {
					typ = w.g.NodeType(e.Node)
				}
				if typ != p.typ {
					continue
				}
				f := frame{p.rel, e.Node}
				if w.seen.has(f) {
					continue
				}
				// Check on that object enumerates the whole tupleset.
				if n := len(w.g.Subjects(e.Node, p.tupleset)); n > w.limits.MaxFanOut {
					return ErrEvaluationLimit.With("fan-out=%d at %s.%s via %s (max %d)",
						n, w.g.SymName(p.typ), w.g.SymName(p.rel), w.g.SymName(p.tupleset), w.limits.MaxFanOut)
				}
				w.push(f, typ, it.dist+1)
			}
		}
	}
	return nil
}

// relevance is what can lead to a lookup's target (type, relation) through
// the rules: the (type, relation) frames its rule reaches by computed_userset,
// and the relations it reaches by tuple_to_userset, on objects of any type.
// LookupResources's walk visits only these; the others cannot make the target
// hold. It keeps the program's backward rules cut down to them, indexed by
// symbol, for the walk's inner loop.
type relevance struct {
	target typeRel
	pairs  map[typeRel]bool
	any    map[tuples.Sym]bool
	cu     [][][]tuples.Sym // [type][rel]: relevant relations of type whose rule has computed_userset rel
	ttu    [][]ttuParent    // [rel]: relevant rules with a tuple_to_userset to rel
}

func (rv *relevance) has(typ, rel tuples.Sym) bool {
	return typeRel{typ, rel} == rv.target || rv.pairs[typeRel{typ, rel}] || rv.any[rel]
}

func (rv *relevance) cuOf(typ, rel tuples.Sym) []tuples.Sym {
	if int(typ) < len(rv.cu) {
		if row := rv.cu[typ]; int(rel) < len(row) {
			return row[rel]
		}
	}
	return nil
}

func (rv *relevance) ttuOf(rel tuples.Sym) []ttuParent {
	if int(rel) < len(rv.ttu) {
		return rv.ttu[rel]
	}
	return nil
}

// relevant returns the relevance of target, computed once per target that
// has a rule (at most one per rule) and kept.
func (p *program) relevant(target typeRel) *relevance {
	if p.rule(target.typ, target.rel) == nil {
		// Only the subject's own tuples can make it hold.
		return &relevance{target: target}
	}
	if v, ok := p.reach.Load(target); ok {
		return v.(*relevance)
	}
	rv := &relevance{target: target, pairs: map[typeRel]bool{target: true}, any: map[tuples.Sym]bool{}}
	work := []typeRel{target}
	add := func(k typeRel) {
		if !rv.pairs[k] {
			rv.pairs[k] = true
			work = append(work, k)
		}
	}
	for len(work) > 0 {
		k := work[len(work)-1]
		work = work[:len(work)-1]
		r := p.rule(k.typ, k.rel)
		if r == nil {
			continue
		}
		for _, n := range r.nodes {
			switch n.kind {
			case rewrite.ComputedUserset:
				add(typeRel{k.typ, n.rel})
			case rewrite.TupleToUserset:
				if rv.any[n.rel] {
					continue
				}
				rv.any[n.rel] = true
				for typ := range p.table { // every rule of that relation, whatever its type
					if p.rule(tuples.Sym(typ), n.rel) != nil {
						add(typeRel{tuples.Sym(typ), n.rel})
					}
				}
			}
		}
	}
	for k, parents := range p.cuUp {
		for _, rel := range parents {
			if rv.has(k.typ, rel) {
				rv.cu = grow(rv.cu, int(k.typ))
				rv.cu[k.typ] = grow(rv.cu[k.typ], int(k.rel))
				rv.cu[k.typ][k.rel] = append(rv.cu[k.typ][k.rel], rel)
			}
		}
	}
	for rel, parents := range p.ttuUp {
		for _, tp := range parents {
			if rv.has(tp.typ, tp.rel) {
				rv.ttu = grow(rv.ttu, int(rel))
				rv.ttu[rel] = append(rv.ttu[rel], tp)
			}
		}
	}
	v, _ := p.reach.LoadOrStore(target, rv)
	return v.(*relevance)
}

// grow returns s long enough to index i.
func grow[T any](s []T, i int) []T {
	if i < len(s) {
		return s
	}
	return append(s, make([]T, i+1-len(s))...)
}
