package check

import (
	"cmp"
	"errors"
	"slices"

	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
)

// reference is the oracle: ADR 0007's algorithm written as plainly as possible,
// over a set of string-keyed tuples and the rule AST, with no interning,
// snapshots or cache. FuzzCheck holds the engine to its answers.
type reference struct {
	tuples map[tuples.Key]bool
	rules  *rewrite.Rules
	limits Limits
	// order ranks objects the way the engine enumerates a tuple_to_userset step.
	// The spec leaves that order open; it matters only when one branch errors and
	// another allows, where sequential evaluation lets the first one win.
	order func(tuples.Ref) uint32
}

var errRefLimit = errors.New("limit")

type refFrame struct {
	rel string
	obj tuples.Ref
}

func (r *reference) check(req Request) (bool, error) {
	if req.Relations != nil {
		if len(req.Relations) == 0 {
			return false, tuples.ErrEmptyRelations
		}
		for _, rel := range req.Relations {
			if r.tuples[tuples.Key{Subject: req.Subject, Relation: rel, Object: req.Object}] {
				return true, nil
			}
		}
		for _, rel := range req.Relations {
			if ok, err := r.eval(req.Subject, rel, req.Object, nil, 0); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	}
	return r.eval(req.Subject, req.Relation, req.Object, nil, 0)
}

func (r *reference) eval(subj tuples.Ref, rel string, obj tuples.Ref, stack []refFrame, depth int) (bool, error) {
	if r.tuples[tuples.Key{Subject: subj, Relation: rel, Object: obj}] {
		return true, nil
	}
	rule, ok := r.rules.Rule(obj.Type, rel)
	if !ok {
		return false, nil
	}
	f := refFrame{rel, obj}
	for _, s := range stack {
		if s == f {
			return false, nil
		}
	}
	if depth >= r.limits.MaxDepth {
		return false, errRefLimit
	}
	stack = append(stack[:len(stack):len(stack)], f)
	for _, n := range rule {
		switch n.Kind {
		case rewrite.ComputedUserset:
			if ok, err := r.eval(subj, n.Relation, obj, stack, depth+1); ok || err != nil {
				return ok, err
			}
		case rewrite.TupleToUserset:
			var next []tuples.Ref
			for k := range r.tuples {
				if k.Object == obj && k.Relation == n.TuplesetRelation {
					next = append(next, k.Subject)
				}
			}
			if len(next) > r.limits.MaxFanOut {
				return false, errRefLimit
			}
			slices.SortFunc(next, func(a, b tuples.Ref) int { return cmp.Compare(r.order(a), r.order(b)) })
			for _, s := range next {
				if ok, err := r.eval(subj, n.Relation, s, stack, depth+1); ok || err != nil {
					return ok, err
				}
			}
		}
	}
	return false, nil
}
