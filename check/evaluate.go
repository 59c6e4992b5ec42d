package check

import (
	"context"

	"github.com/flametrench/server/rewrite"

	"github.com/flametrench/server/tuples"
)

// frame is one rule expansion on the evaluation stack, for cycle detection.
type frame struct {
	rel tuples.Sym
	obj tuples.NodeID
}

// An object with no tuples has node 0, so frames and rule lookups carry the
// object's type separately: two different unknown objects can never both be on
// one stack (only tuple_to_userset changes the object, and it only reaches
// objects that have tuples).

// evaluator runs one single-relation evaluation for one subject.
type evaluator struct {
	ctx    context.Context
	g      Graph
	p      *program
	limits Limits
	subj   tuples.NodeID
	// stack holds the frames being expanded; a frame is pushed only below
	// MaxDepth, so it never holds more than maxMaxDepth. A fixed array keeps the
	// evaluator, and with it the whole evaluation, off the heap.
	stack  [maxMaxDepth]frame
	top    int
	steps  int  // graph lookups made, the measure of what a cache entry would save
	cycled bool // a branch was denied by a cycle: the result must not be cached
	depth  int  // deepest rule expansion reached (for the depth histogram)
}

// eval decides whether ev.subj holds rel on obj (of type typ), at recursion depth depth.
func (ev *evaluator) eval(rel tuples.Sym, obj tuples.NodeID, typ tuples.Sym, depth int) (bool, tuples.UUID, error) {
	ev.steps++
	if id, ok := ev.g.Has(ev.subj, rel, obj); ok {
		return true, id, nil
	}
	r := ev.p.rule(typ, rel)
	if r == nil {
		return false, tuples.UUID{}, nil
	}
	f := frame{rel, obj}
	for _, s := range ev.stack[:ev.top] {
		if s == f {
			ev.cycled = true
			return false, tuples.UUID{}, nil
		}
	}
	if depth >= ev.limits.MaxDepth {
		return false, tuples.UUID{}, ErrEvaluationLimit.With("depth=%d at %s.%s", ev.limits.MaxDepth, ev.g.SymName(r.typ), ev.g.SymName(r.rel))
	}
	if err := ev.ctx.Err(); err != nil {
		return false, tuples.UUID{}, err
	}
	if depth+1 > ev.depth {
		ev.depth = depth + 1
	}
	ev.stack[ev.top] = f
	ev.top++
	defer func() { ev.top-- }()
	for _, n := range r.nodes {
		switch n.kind {
		case rewrite.This:
			// The direct lookup above already covered it.
		case rewrite.ComputedUserset:
			if ok, id, err := ev.eval(n.rel, obj, typ, depth+1); ok || err != nil {
				return ok, id, err
			}
		case rewrite.TupleToUserset:
			ev.steps++
			subjects := ev.g.Subjects(obj, n.tupleset)
			if len(subjects) > ev.limits.MaxFanOut {
				return false, tuples.UUID{}, ErrEvaluationLimit.With("fan-out=%d at %s.%s via %s (max %d)",
					len(subjects), ev.g.SymName(r.typ), ev.g.SymName(r.rel), ev.g.SymName(n.tupleset), ev.limits.MaxFanOut)
			}
			for _, s := range subjects {
				if ok, id, err := ev.eval(n.rel, s.Node, ev.g.NodeType(s.Node), depth+1); ok || err != nil {
					return ok, id, err
				}
			}
		}
	}
	return false, tuples.UUID{}, nil
}
