package tuples

// NodeID is a graph's interned handle for a Ref. 0 means "no such node". Handles
// are only meaningful within the graph that issued them.
type NodeID uint32

// Sym is a graph's interned handle for a type or relation name. 0 means "unknown".
type Sym uint32

// Edge is one incoming edge of an object: the subject node and the relation.
type Edge struct {
	Node NodeID
	Rel  Sym
}
