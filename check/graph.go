package check

import "github.com/flametrench/server/tuples"

// Graph is what the engine reads: one immutable snapshot of the tuple graph.
// tuples/memory's *Snapshot implements it. Node and symbol handles are interned
// by the graph; 0 means unknown, and every method accepts 0 and finds nothing.
type Graph interface {
	Revision() uint64
	// Sym returns the symbol of a type or relation name, or 0.
	Sym(name string) tuples.Sym
	SymName(tuples.Sym) string
	// Node returns the node of (type, id), or 0.
	Node(typ tuples.Sym, id tuples.UUID) tuples.NodeID
	NodeType(tuples.NodeID) tuples.Sym
	NodeRef(tuples.NodeID) tuples.Ref
	// Has reports whether the tuple (subj, rel, obj) exists, with its id.
	Has(subj tuples.NodeID, rel tuples.Sym, obj tuples.NodeID) (tuples.UUID, bool)
	// Subjects returns the subjects of tuples (·, rel, obj). The slice is owned
	// by the snapshot and must not be modified.
	Subjects(obj tuples.NodeID, rel tuples.Sym) []tuples.Edge
	// Objects appends to dst the (object, relation) of every tuple (subj, ·, ·),
	// Edge.Node being the object. Only lookups read the graph this way.
	Objects(dst []tuples.Edge, subj tuples.NodeID) []tuples.Edge
}
