package check

import (
	"context"
	"encoding/json"

	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
)

// maxExpandNodes bounds the size of one expansion result (trees and subjects
// together), since the depth and fan-out caps alone allow 1024^8 nodes.
const maxExpandNodes = 100_000

// Tree is the resolved userset tree of (Relation, Object) (ADR 0007's expand()):
// the subjects of direct tuples, and one Branch per rule primitive, in rule order.
// Cycle marks a (relation, object) already being expanded higher up the tree; it
// is not expanded again.
//
// Its JSON form is the wire form of the expand extension: ids are hyphenated
// UUIDs, as in tuples (SPEC-MAP A4).
type Tree struct {
	Relation string
	Object   tuples.Ref
	Subjects []tuples.Ref
	Branches []Branch
	Cycle    bool
}

// Branch is one computed_userset or tuple_to_userset primitive of a rule, with
// the trees it leads to: one for computed_userset, one per tupleset subject for
// tuple_to_userset.
type Branch struct {
	Kind     rewrite.Kind
	Relation string
	Tupleset string // tuple_to_userset only
	Children []*Tree
}

type wireSubject struct {
	Type string      `json:"subject_type"`
	ID   tuples.UUID `json:"subject_id"`
}

type wireTree struct {
	Relation   string        `json:"relation"`
	ObjectType string        `json:"object_type"`
	ObjectID   tuples.UUID   `json:"object_id"`
	Subjects   []wireSubject `json:"subjects"`
	Branches   []Branch      `json:"branches,omitempty"`
	Cycle      bool          `json:"cycle,omitempty"`
}

type wireBranch struct {
	Kind     string  `json:"kind"`
	Relation string  `json:"relation"`
	Tupleset string  `json:"tupleset,omitempty"`
	Children []*Tree `json:"children"`
}

// MarshalJSON writes the tree in wire form.
func (t *Tree) MarshalJSON() ([]byte, error) {
	w := wireTree{Relation: t.Relation, ObjectType: t.Object.Type, ObjectID: t.Object.ID, Subjects: make([]wireSubject, len(t.Subjects)), Branches: t.Branches, Cycle: t.Cycle}
	for i, s := range t.Subjects {
		w.Subjects[i] = wireSubject{s.Type, s.ID}
	}
	return json.Marshal(w)
}

// MarshalJSON writes the branch in wire form, its kind named as in rule
// documents ("computed_userset", "tuple_to_userset").
func (b Branch) MarshalJSON() ([]byte, error) {
	children := b.Children
	if children == nil {
		children = []*Tree{}
	}
	return json.Marshal(wireBranch{Kind: b.Kind.String(), Relation: b.Relation, Tupleset: b.Tupleset, Children: children})
}

// Expand returns the userset tree of relation on object at the current snapshot,
// under the same depth and fan-out limits as Check (direct subject lists count
// against MaxFanOut too). atLeast is as Request.AtLeast.
func (e *Engine) Expand(ctx context.Context, relation string, object tuples.Ref, atLeast uint64) (*Tree, uint64, error) {
	k := tuples.Key{Subject: object, Relation: relation, Object: object}
	if err := k.Validate(); err != nil {
		return nil, 0, err
	}
	g, err := e.snapshotAt(ctx, atLeast)
	if err != nil {
		return nil, 0, err
	}
	x := expander{ctx: ctx, g: g, p: e.prog, limits: e.limits}
	objType := g.Sym(object.Type)
	t, err := x.expand(relation, g.Sym(relation), object, g.Node(objType, object.ID), objType, 0)
	return t, g.Revision(), err
}

type expander struct {
	ctx    context.Context
	g      Graph
	p      *program
	limits Limits
	stack  []frame
	nodes  int
}

func (x *expander) grow(n int) error {
	x.nodes += n
	if x.nodes > maxExpandNodes {
		return ErrEvaluationLimit.With("expansion has more than %d nodes", maxExpandNodes)
	}
	return nil
}

func (x *expander) expand(relName string, rel tuples.Sym, object tuples.Ref, obj tuples.NodeID, objType tuples.Sym, depth int) (*Tree, error) {
	t := &Tree{Relation: relName, Object: object}
	direct := x.g.Subjects(obj, rel)
	if len(direct) > x.limits.MaxFanOut {
		return nil, ErrEvaluationLimit.With("fan-out=%d direct subjects of %s.%s (max %d)", len(direct), object.Type, relName, x.limits.MaxFanOut)
	}
	if err := x.grow(1 + len(direct)); err != nil {
		return nil, err
	}
	for _, s := range direct {
		t.Subjects = append(t.Subjects, x.g.NodeRef(s.Node))
	}
	r := x.p.rule(objType, rel)
	if r == nil {
		return t, nil
	}
	f := frame{rel, obj}
	for _, s := range x.stack {
		if s == f {
			t.Cycle = true
			return t, nil
		}
	}
	if depth >= x.limits.MaxDepth {
		return nil, ErrEvaluationLimit.With("depth=%d at %s.%s", x.limits.MaxDepth, object.Type, relName)
	}
	if err := x.ctx.Err(); err != nil {
		return nil, err
	}
	x.stack = append(x.stack, f)
	defer func() { x.stack = x.stack[:len(x.stack)-1] }()
	for _, n := range r.nodes {
		switch n.kind {
		case rewrite.ComputedUserset:
			child, err := x.expand(x.g.SymName(n.rel), n.rel, object, obj, objType, depth+1)
			if err != nil {
				return nil, err
			}
			t.Branches = append(t.Branches, Branch{Kind: n.kind, Relation: child.Relation, Children: []*Tree{child}})
		case rewrite.TupleToUserset:
			subjects := x.g.Subjects(obj, n.tupleset)
			if len(subjects) > x.limits.MaxFanOut {
				return nil, ErrEvaluationLimit.With("fan-out=%d at %s.%s via %s (max %d)", len(subjects), object.Type, relName, x.g.SymName(n.tupleset), x.limits.MaxFanOut)
			}
			b := Branch{Kind: n.kind, Relation: x.g.SymName(n.rel), Tupleset: x.g.SymName(n.tupleset), Children: []*Tree{}}
			for _, s := range subjects {
				ref := x.g.NodeRef(s.Node)
				child, err := x.expand(b.Relation, n.rel, ref, s.Node, x.g.NodeType(s.Node), depth+1)
				if err != nil {
					return nil, err
				}
				b.Children = append(b.Children, child)
			}
			t.Branches = append(t.Branches, b)
		}
	}
	return t, nil
}
