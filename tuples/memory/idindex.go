package memory

import (
	"github.com/flametrench/server/tuples"
)

// idIndex finds a tuple by its id. It is an open-addressing table whose cells hold
// the subject node of a tuple; a probe confirms a candidate by finding the id among
// that node's out-edges. Deleting an id tombstones the first cell on its probe path
// that names its subject: cells naming one node are interchangeable, and no cell on
// any insertion path ever becomes empty again, so every remaining id of that node
// stays reachable. The cells live in a pvec, so a batch copies only what it touches.
type idIndex struct {
	cells pvec[uint32] // len is a power of two, or 0
	live  int
	tombs int
}

const tomb = ^uint32(0)

// lookup returns the subject node and out-edge of the tuple with id.
func (x *idIndex) lookup(s seed, id tuples.UUID, outs func(tuples.NodeID) []outEdge) (tuples.NodeID, outEdge, bool) {
	n := x.cells.len()
	if n == 0 {
		return 0, outEdge{}, false
	}
	mask := uint64(n - 1)
	for i := s.uuid(0, id) & mask; ; i = (i + 1) & mask {
		v := x.cells.get(int(i))
		if v == 0 {
			return 0, outEdge{}, false
		}
		if v == tomb {
			continue
		}
		for _, e := range outs(tuples.NodeID(v)) {
			if e.id == id {
				return tuples.NodeID(v), e, true
			}
		}
	}
}

type idBuilder struct {
	x    idIndex
	b    pvecBuilder[uint32]
	seed seed
	gen  uint64
}

func newIDBuilder(x idIndex, s seed, gen uint64) *idBuilder {
	return &idBuilder{x: x, b: newPvecBuilder(x.cells, gen), seed: s, gen: gen}
}

func (ib *idBuilder) insert(id tuples.UUID, node tuples.NodeID, all func(func(tuples.UUID, tuples.NodeID))) {
	if n := ib.b.p.len(); n == 0 || (ib.x.live+ib.x.tombs+1)*4 > n*3 {
		ib.rehash(all)
	}
	mask := uint64(ib.b.p.len() - 1)
	for i := ib.seed.uuid(0, id) & mask; ; i = (i + 1) & mask {
		switch ib.b.get(int(i)) {
		case 0:
			ib.b.set(int(i), uint32(node))
			ib.x.live++
			return
		case tomb:
			ib.b.set(int(i), uint32(node))
			ib.x.live++
			ib.x.tombs--
			return
		}
	}
}

func (ib *idBuilder) remove(id tuples.UUID, node tuples.NodeID) {
	mask := uint64(ib.b.p.len() - 1)
	for i := ib.seed.uuid(0, id) & mask; ; i = (i + 1) & mask {
		switch ib.b.get(int(i)) {
		case 0:
			return // not indexed; cannot happen for a live tuple
		case uint32(node):
			ib.b.set(int(i), tomb)
			ib.x.live--
			ib.x.tombs++
			return
		}
	}
}

// rehash rebuilds the table from every live tuple, sized for twice the live count.
func (ib *idBuilder) rehash(all func(func(tuples.UUID, tuples.NodeID))) {
	size := chunkSize
	for size < 2*(ib.x.live+1) {
		size *= 2
	}
	ib.b = newPvecBuilder(pvec[uint32]{}, ib.gen)
	ib.b.set(size-1, 0)
	ib.x = idIndex{}
	mask := uint64(size - 1)
	all(func(id tuples.UUID, node tuples.NodeID) {
		for i := ib.seed.uuid(0, id) & mask; ; i = (i + 1) & mask {
			if ib.b.get(int(i)) == 0 {
				ib.b.set(int(i), uint32(node))
				ib.x.live++
				return
			}
		}
	})
}

func (ib *idBuilder) build() idIndex {
	ib.x.cells = ib.b.build()
	return ib.x
}

// lookupIn looks id up as batch b currently sees the graph.
func (x *idIndex) lookupIn(b *batch, id tuples.UUID) (tuples.NodeID, outEdge, bool) {
	ib := b.ids
	ib.x.cells = ib.b.p
	return ib.x.lookup(b.g.nodes.seed, id, b.outs)
}
