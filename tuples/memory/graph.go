package memory

import (
	"context"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/flametrench/server/tuples"
)

// Graph is the indexed in-memory tuple graph. It implements tuples.Store, and its
// snapshots implement the engine's read interface (check.Graph).
//
// Concurrency: writers serialise on mu and build the next Snapshot by copying only
// the chunks and adjacency lists they touch; they publish it with one atomic store.
// Readers load the current Snapshot and never lock or wait. Interned names and
// nodes live in append-only tables shared by every snapshot.
type Graph struct {
	mu  sync.Mutex // mu serialises writers; it guards gen
	gen uint64

	cur   atomic.Pointer[Snapshot]
	syms  symbols
	nodes nodes

	waitMu sync.Mutex    // waitMu guards waitCh
	waitCh chan struct{} // closed at the next publish; nil while no one waits

	hist history // the change feed
}

// Snapshot is an immutable view of the graph at one revision. It is safe for
// concurrent use and stays valid (and unchanged) forever.
type Snapshot struct {
	g     *Graph
	rev   uint64
	adj   pvec[adjacency] // index = NodeID; stored inline, so a lookup follows one pointer fewer
	ids   idIndex
	count int
}

// adjacency holds one node's edges, each list sorted for binary search. It is
// stored inline in the snapshot's vector, one per node, so it is packed: a
// pointer to each list's first element and the two lengths (24 bytes rather
// than two 24-byte slice headers). Lists are never modified once published, so
// dropping their capacity loses nothing.
type adjacency struct {
	out       *outEdge     // tuples with this node as subject, by (obj, rel)
	in        *tuples.Edge // tuples with this node as object, by (rel, subject)
	nOut, nIn uint32
}

func (a *adjacency) outs() []outEdge    { return unsafe.Slice(a.out, a.nOut) }
func (a *adjacency) ins() []tuples.Edge { return unsafe.Slice(a.in, a.nIn) }

// pack builds an adjacency from two lists; empty lists retain no memory.
func pack(out []outEdge, in []tuples.Edge) adjacency {
	var a adjacency
	if len(out) > 0 {
		a.out, a.nOut = unsafe.SliceData(out), uint32(len(out))
	}
	if len(in) > 0 {
		a.in, a.nIn = unsafe.SliceData(in), uint32(len(in))
	}
	return a
}

// outEdge is one tuple seen from its subject. by is the creator's node (0: none).
type outEdge struct {
	obj tuples.NodeID
	rel tuples.Sym
	by  tuples.NodeID
	id  tuples.UUID
}

// New returns an empty graph at revision 0 with the default Config.
func New() *Graph { return NewWith(Config{}) }

// NewWith returns an empty graph at revision 0.
func NewWith(cfg Config) *Graph {
	g := &Graph{}
	g.syms.init()
	g.nodes.init()
	g.hist.init(cfg.History)
	g.cur.Store(&Snapshot{g: g})
	return g
}

// Snapshot returns the current snapshot. It never blocks.
func (g *Graph) Snapshot() *Snapshot { return g.cur.Load() }

// Revision returns the revision of the latest committed write.
func (g *Graph) Revision() uint64 { return g.cur.Load().rev }

// Len returns the number of tuples at the current revision.
func (g *Graph) Len() int { return g.cur.Load().count }

// Intern returns the symbol for a type or relation name, adding it if needed.
// The engine interns the names its rules mention once, at construction.
func (g *Graph) Intern(name string) (tuples.Sym, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.syms.intern(name)
}

// Revision returns the snapshot's revision.
func (s *Snapshot) Revision() uint64 { return s.rev }

// Len returns the number of tuples in the snapshot.
func (s *Snapshot) Len() int { return s.count }

// Sym returns the symbol of a type or relation name, or 0 if no tuple or rule has
// ever used it.
func (s *Snapshot) Sym(name string) tuples.Sym { return s.g.syms.lookup(name) }

// SymName returns the name of a symbol.
func (s *Snapshot) SymName(v tuples.Sym) string { return s.g.syms.name(v) }

// Node returns the node of (typ, id), or 0 if it has never been interned.
func (s *Snapshot) Node(typ tuples.Sym, id tuples.UUID) tuples.NodeID {
	if typ == 0 {
		return 0
	}
	return s.g.nodes.lookup(typ, id)
}

// NodeType returns the type symbol of a node.
func (s *Snapshot) NodeType(n tuples.NodeID) tuples.Sym { return s.g.nodes.key(n).typ }

// NodeRef returns the type name and UUID of a node.
func (s *Snapshot) NodeRef(n tuples.NodeID) tuples.Ref { return s.g.ref(n) }

// Has reports whether the tuple (subj, rel, obj) exists and returns its id.
func (s *Snapshot) Has(subj tuples.NodeID, rel tuples.Sym, obj tuples.NodeID) (tuples.UUID, bool) {
	a := s.adj.ptr(int(subj))
	if a == nil {
		return tuples.UUID{}, false
	}
	out := a.outs()
	lo, hi := 0, len(out)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		e := &out[m]
		if e.obj < obj || (e.obj == obj && e.rel < rel) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(out) && out[lo].obj == obj && out[lo].rel == rel {
		return out[lo].id, true
	}
	return tuples.UUID{}, false
}

// Subjects returns the incoming edges (subject, rel) of obj for one relation. The
// slice belongs to the snapshot and must not be modified.
func (s *Snapshot) Subjects(obj tuples.NodeID, rel tuples.Sym) []tuples.Edge {
	a := s.adj.ptr(int(obj))
	if a == nil {
		return nil
	}
	in := a.ins()
	lo, hi := relRange(in, rel)
	return in[lo:hi:hi]
}

// Objects appends to dst the (object, relation) of every tuple whose subject
// is subj, in (object, relation) order: the reverse walk of a lookup reads
// a node's tuples from the subject side. Edge.Node is the object here.
func (s *Snapshot) Objects(dst []tuples.Edge, subj tuples.NodeID) []tuples.Edge {
	for _, e := range s.outs(subj) {
		dst = append(dst, tuples.Edge{Node: e.obj, Rel: e.rel})
	}
	return dst
}

// relRange returns the bounds of rel's run in an in-list sorted by (rel, node).
func relRange(in []tuples.Edge, rel tuples.Sym) (int, int) {
	lo, hi := 0, len(in)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if in[m].Rel < rel {
			lo = m + 1
		} else {
			hi = m
		}
	}
	end := lo
	for hi2 := len(in); end < hi2; {
		m := int(uint(end+hi2) >> 1)
		if in[m].Rel <= rel {
			end = m + 1
		} else {
			hi2 = m
		}
	}
	return lo, end
}

// ref resolves a Ref to its node without interning; 0 if unknown.
func (s *Snapshot) ref(r tuples.Ref) tuples.NodeID {
	return s.Node(s.g.syms.lookup(r.Type), r.ID)
}

// tuple builds the public form of an out-edge of subject node subj.
func (s *Snapshot) tuple(subj tuples.NodeID, e outEdge) tuples.Tuple {
	t := tuples.Tuple{
		ID: e.id,
		Key: tuples.Key{
			Subject:  s.NodeRef(subj),
			Relation: s.g.syms.name(e.rel),
			Object:   s.NodeRef(e.obj),
		},
	}
	if e.by != 0 {
		t.CreatedBy = s.g.nodes.key(e.by).id
	}
	return t
}

// adjOf returns node n's adjacency (empty for a node without tuples), or nil
// for a node the snapshot has never had.
func (s *Snapshot) adjOf(n tuples.NodeID) *adjacency { return s.adj.ptr(int(n)) }

// outs returns node n's out-edges.
func (s *Snapshot) outs(n tuples.NodeID) []outEdge {
	if a := s.adjOf(n); a != nil {
		return a.outs()
	}
	return nil
}

// Lookup returns the tuple with the given key, if present.
func (s *Snapshot) Lookup(k tuples.Key) (tuples.Tuple, bool) {
	subj := s.ref(k.Subject)
	obj := s.ref(k.Object)
	rel := s.g.syms.lookup(k.Relation)
	if subj == 0 || obj == 0 || rel == 0 {
		return tuples.Tuple{}, false
	}
	if _, ok := s.Has(subj, rel, obj); !ok {
		return tuples.Tuple{}, false
	}
	return s.tuple(subj, s.edge(subj, rel, obj)), true
}

// Get returns the tuple with the given id.
func (s *Snapshot) Get(id tuples.UUID) (tuples.Tuple, error) {
	subj, e, ok := s.ids.lookup(s.g.nodes.seed, id, s.outs)
	if !ok {
		return tuples.Tuple{}, tuples.ErrTupleNotFound.With("no tuple %s", tuples.FormatID("tup", id))
	}
	return s.tuple(subj, e), nil
}

// Get implements tuples.Reader on the current snapshot.
func (g *Graph) Get(ctx context.Context, id tuples.UUID) (tuples.Tuple, error) {
	return g.Snapshot().Get(id)
}

// ListBySubject implements tuples.Reader on the current snapshot.
func (g *Graph) ListBySubject(ctx context.Context, subject tuples.Ref, cursor string, limit int) (tuples.Page, error) {
	return g.Snapshot().ListBySubject(subject, cursor, limit)
}

// ListByObject implements tuples.Reader on the current snapshot.
func (g *Graph) ListByObject(ctx context.Context, object tuples.Ref, relation, cursor string, limit int) (tuples.Page, error) {
	return g.Snapshot().ListByObject(object, relation, cursor, limit)
}

// Lookup returns the tuple with the key on the current snapshot, or
// ErrTupleNotFound.
func (g *Graph) Lookup(_ context.Context, k tuples.Key) (tuples.Tuple, error) {
	if t, ok := g.Snapshot().Lookup(k); ok {
		return t, nil
	}
	return tuples.Tuple{}, tuples.ErrTupleNotFound.With("no tuple %s", k)
}

var _ tuples.Store = (*Graph)(nil)
