package memory

import (
	"sync/atomic"

	"github.com/flametrench/server/tuples"
)

// appendOnly is a chunked array that only grows. Writers (holding Graph.mu) push;
// readers index without locks. An element is only read at an index the reader
// learned through an atomic publication (a hash cell or a snapshot), which orders
// the element's write before the read.
type appendOnly[T any] struct {
	dir atomic.Pointer[[]*[chunkSize]T]
	n   int // writer only
}

func (a *appendOnly[T]) at(i uint32) *T {
	d := *a.dir.Load()
	return &d[i>>chunkBits][i&chunkMask]
}

func (a *appendOnly[T]) push(x T) uint32 {
	i := a.n
	var d []*[chunkSize]T
	if p := a.dir.Load(); p != nil {
		d = *p
	}
	if i>>chunkBits >= len(d) {
		nd := append(append(make([]*[chunkSize]T, 0, len(d)+1), d...), new([chunkSize]T))
		a.dir.Store(&nd)
		d = nd
	}
	d[i>>chunkBits][i&chunkMask] = x
	a.n++
	return uint32(i)
}

// Limits on interned names and nodes. Names are types and relations, a schema-sized
// set; the cap stops a client that invents names from growing the table forever.
const (
	maxSymbols = 1 << 16
	maxNodes   = 1<<32 - 2
)

// symbols interns type and relation names. Lookups read one immutable table:
// a map plus a short list of names added since the map was built. The writer
// publishes a new table (one atomic store) for every name, rebuilding the map
// once the list reaches recentMax, so lookups stay cheap and allocation-free and
// always see a map and a list that belong together.
type symbols struct {
	table atomic.Pointer[symTable]
	names appendOnly[string] // index = Sym; slot 0 unused
}

type symTable struct {
	m      map[string]tuples.Sym
	recent []string // names of syms len(m)+1 ..
}

const recentMax = 32

func (s *symbols) init() {
	s.table.Store(&symTable{m: map[string]tuples.Sym{}})
	s.names.push("")
}

func (s *symbols) lookup(name string) tuples.Sym {
	t := s.table.Load()
	if v, ok := t.m[name]; ok {
		return v
	}
	for i, n := range t.recent {
		if n == name {
			return tuples.Sym(len(t.m) + 1 + i)
		}
	}
	return 0
}

func (s *symbols) name(v tuples.Sym) string { return *s.names.at(uint32(v)) }

// intern returns name's symbol, adding it if needed. Writer only.
func (s *symbols) intern(name string) (tuples.Sym, error) {
	if v := s.lookup(name); v != 0 {
		return v, nil
	}
	if s.names.n > maxSymbols {
		return 0, tuples.ErrGraphFull.With("more than %d distinct type and relation names", maxSymbols)
	}
	v := tuples.Sym(s.names.push(name))
	old := s.table.Load()
	if len(old.recent)+1 < recentMax {
		s.table.Store(&symTable{m: old.m, recent: append(append(make([]string, 0, len(old.recent)+1), old.recent...), name)})
		return v, nil
	}
	m := make(map[string]tuples.Sym, len(old.m)+len(old.recent)+1)
	for k, x := range old.m {
		m[k] = x
	}
	for i, n := range old.recent {
		m[n] = tuples.Sym(len(old.m) + 1 + i)
	}
	m[name] = v
	s.table.Store(&symTable{m: m})
	return v, nil
}

// nodeKey identifies a node: its type symbol and UUID.
type nodeKey struct {
	typ tuples.Sym
	id  tuples.UUID
}

// nodes interns (type, UUID) pairs as NodeIDs in an open-addressing table whose
// cells are read and written atomically. Nodes are never removed: a node whose
// tuples are all deleted keeps its id (its adjacency becomes nil).
type nodes struct {
	seed  seed
	keys  appendOnly[nodeKey] // index = NodeID; slot 0 unused
	cells atomic.Pointer[cellTable]
}

type cellTable struct {
	c    []uint32
	mask uint64
}

func (t *nodes) init() {
	t.seed = newSeed()
	t.keys.push(nodeKey{})
	t.cells.Store(&cellTable{c: make([]uint32, 1024), mask: 1023})
}

func (t *nodes) lookup(typ tuples.Sym, id tuples.UUID) tuples.NodeID {
	ct := t.cells.Load()
	k := nodeKey{typ, id}
	for i := t.seed.uuid(typ, id) & ct.mask; ; i = (i + 1) & ct.mask {
		v := atomic.LoadUint32(&ct.c[i])
		if v == 0 {
			return 0
		}
		if *t.keys.at(v) == k {
			return tuples.NodeID(v)
		}
	}
}

func (t *nodes) key(n tuples.NodeID) nodeKey { return *t.keys.at(uint32(n)) }

// intern returns the node for (typ, id), adding it if needed. Writer only.
func (t *nodes) intern(typ tuples.Sym, id tuples.UUID) (tuples.NodeID, error) {
	if n := t.lookup(typ, id); n != 0 {
		return n, nil
	}
	if t.keys.n > maxNodes {
		return 0, tuples.ErrGraphFull.With("more than %d nodes", maxNodes)
	}
	v := t.keys.push(nodeKey{typ, id})
	ct := t.cells.Load()
	if uint64(t.keys.n)*4 > uint64(len(ct.c))*3 {
		ct = t.grow(ct)
	}
	t.place(ct, v, true)
	return tuples.NodeID(v), nil
}

func (t *nodes) place(ct *cellTable, v uint32, published bool) {
	k := t.keys.at(v)
	for i := t.seed.uuid(k.typ, k.id) & ct.mask; ; i = (i + 1) & ct.mask {
		if ct.c[i] == 0 {
			if published {
				atomic.StoreUint32(&ct.c[i], v)
			} else {
				ct.c[i] = v
			}
			return
		}
	}
}

// grow builds a table twice the size holding every node so far, then publishes
// it. Readers still holding the old table find every node that existed when they
// loaded it, which covers every node of any snapshot they can be reading.
func (t *nodes) grow(old *cellTable) *cellTable {
	ct := &cellTable{c: make([]uint32, 2*len(old.c)), mask: uint64(2*len(old.c) - 1)}
	for v := 1; v < t.keys.n-1; v++ { // the newest key is placed by the caller
		t.place(ct, uint32(v), false)
	}
	t.cells.Store(ct)
	return ct
}
