package check

import "github.com/flametrench/server/tuples"

// cacheKey names one single-relation evaluation at one revision. Node and symbol
// handles are stable for the graph's lifetime, and the revision changes on every
// write, so an entry can never describe a state other than the one it was computed
// on. Unknown subjects all map to node 0 and share entries, which is correct: a
// subject with no tuples gets the same answer whoever it is.
type cacheKey struct {
	rev  uint64
	subj tuples.NodeID
	obj  tuples.NodeID
	rel  tuples.Sym
}

type cacheValue struct {
	allowed bool
	matched tuples.UUID
}
