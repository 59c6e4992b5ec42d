package memory

import (
	"slices"

	"github.com/flametrench/server/tuples"
)

// A listing gathers the node's matching edges with ids after the cursor, sorts
// them by id and cuts a page: O(deg log deg) for the listed node alone, never a
// scan of the graph.
type listed struct {
	subj tuples.NodeID
	e    outEdge
}

func cmpListed(a, b listed) int { return a.e.id.Compare(b.e.id) }

// ListBySubject returns one page of the subject's tuples in ascending id order.
func (s *Snapshot) ListBySubject(subject tuples.Ref, cursor string, limit int) (tuples.Page, error) {
	limit, after, err := tuples.PageArgs(cursor, limit)
	if err != nil {
		return tuples.Page{}, err
	}
	if err := tuples.CheckSubjectType(subject.Type); err != nil {
		return tuples.Page{}, err
	}
	n := s.ref(subject)
	a := s.adjOf(n)
	if a == nil {
		return tuples.Page{}, nil
	}
	var c []listed
	for _, e := range a.outs() {
		if e.id.Compare(after) > 0 {
			c = append(c, listed{n, e})
		}
	}
	return s.page(c, limit), nil
}

// ListByObject returns one page of the object's tuples, optionally of one
// relation only, in ascending id order.
func (s *Snapshot) ListByObject(object tuples.Ref, relation, cursor string, limit int) (tuples.Page, error) {
	limit, after, err := tuples.PageArgs(cursor, limit)
	if err != nil {
		return tuples.Page{}, err
	}
	if err := tuples.CheckObjectType(object.Type); err != nil {
		return tuples.Page{}, err
	}
	if relation != "" {
		if err := tuples.CheckRelation(relation); err != nil {
			return tuples.Page{}, err
		}
	}
	n := s.ref(object)
	a := s.adjOf(n)
	if a == nil {
		return tuples.Page{}, nil
	}
	in := a.ins()
	if relation != "" {
		rel := s.g.syms.lookup(relation)
		if rel == 0 {
			return tuples.Page{}, nil
		}
		lo, hi := relRange(in, rel)
		in = in[lo:hi]
	}
	var c []listed
	for _, e := range in {
		id, _ := s.Has(e.Node, e.Rel, n)
		if id.Compare(after) > 0 {
			c = append(c, listed{e.Node, s.edge(e.Node, e.Rel, n)})
		}
	}
	return s.page(c, limit), nil
}

// edge returns the out-edge of subj for (obj, rel), which must exist.
func (s *Snapshot) edge(subj tuples.NodeID, rel tuples.Sym, obj tuples.NodeID) outEdge {
	out := s.outs(subj)
	i, _ := slices.BinarySearchFunc(out, outEdge{obj: obj, rel: rel}, cmpOut)
	return out[i]
}

func (s *Snapshot) page(c []listed, limit int) tuples.Page {
	slices.SortFunc(c, cmpListed)
	var p tuples.Page
	if len(c) > limit {
		c = c[:limit]
		p.Next = tuples.EncodeCursor(c[limit-1].e.id)
	}
	p.Tuples = make([]tuples.Tuple, len(c))
	for i, x := range c {
		p.Tuples[i] = s.tuple(x.subj, x.e)
	}
	return p
}
