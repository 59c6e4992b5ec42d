package memory

import (
	"context"
	"errors"
	"iter"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/flametrench/server/tuples"
)

func seq(ts []tuples.Tuple) iter.Seq2[tuples.Tuple, error] {
	return func(yield func(tuples.Tuple, error) bool) {
		for _, t := range ts {
			if !yield(t, nil) {
				return
			}
		}
	}
}

// TestLoadMatchesModel loads random batches, with keys repeated inside a batch
// and across batches and ids in and out of order, into graphs that already hold
// tuples written one by one, and holds every query to the model.
func TestLoadMatchesModel(t *testing.T) {
	ctx := context.Background()
	for round := 0; round < 30; round++ {
		r := rand.New(rand.NewPCG(uint64(round), 7))
		u := newUniverse(r, 12)
		g := New()
		m := model{}
		for i, n := 0, r.IntN(20); i < n; i++ {
			k := u.key(r)
			if _, ok := m[k]; ok {
				continue
			}
			res, err := g.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: k}})
			if err != nil {
				t.Fatal(err)
			}
			m[k] = res.Tuples[0]
		}
		for batch := 0; batch < 3; batch++ {
			var in []tuples.Tuple
			for i, n := 0, r.IntN(200); i < n; i++ {
				tup := tuples.Tuple{ID: tuples.NewUUID(), Key: u.key(r)}
				if r.IntN(3) == 0 {
					tup.CreatedBy = tuples.NewUUID()
				}
				if r.IntN(5) == 0 {
					tup.ID = tuples.UUID{} // the graph assigns one
				}
				in = append(in, tup)
			}
			if r.IntN(2) == 0 {
				r.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
			}
			before := g.Revision()
			added, rev, err := g.Load(ctx, seq(in))
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			for _, tup := range in {
				if _, ok := m[tup.Key]; ok {
					continue
				}
				if tup.ID.IsZero() {
					got, ok := g.Snapshot().Lookup(tup.Key)
					if !ok {
						t.Fatalf("loaded tuple %v is missing", tup.Key)
					}
					tup.ID = got.ID
				}
				m[tup.Key] = tup
				want++
			}
			if added != want {
				t.Fatalf("Load added %d, want %d", added, want)
			}
			if wantRev := before + uint64(min(want, 1)); rev != wantRev || g.Revision() != wantRev {
				t.Fatalf("revision %d (graph %d), want %d", rev, g.Revision(), wantRev)
			}
			verify(t, g.Snapshot(), m, u)
		}
		// Writes after a load still work on the slab-backed lists.
		for i := 0; i < 50; i++ {
			k := u.key(r)
			if _, ok := m[k]; ok {
				if _, err := g.Write(ctx, []tuples.Change{{Op: tuples.OpDelete, Key: k}}); err != nil {
					t.Fatal(err)
				}
				delete(m, k)
			} else {
				res, err := g.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: k}})
				if err != nil {
					t.Fatal(err)
				}
				m[k] = res.Tuples[0]
			}
		}
		verify(t, g.Snapshot(), m, u)
	}
}

// TestLoadAllOrNothing: a failing load leaves the graph exactly as it was.
func TestLoadAllOrNothing(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	u := newUniverse(r, 10)
	g := New()
	first := tuples.Tuple{ID: tuples.NewUUID(), Key: u.key(r)}
	if _, _, err := g.Load(ctx, seq([]tuples.Tuple{first})); err != nil {
		t.Fatal(err)
	}
	m := model{first.Key: first}
	other := first.Key
	other.Relation = "other"
	boom := errors.New("source failed")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		src  iter.Seq2[tuples.Tuple, error]
		want func(error) bool
	}{
		{"source error", ctx, func(yield func(tuples.Tuple, error) bool) {
			if yield(tuples.Tuple{Key: u.key(r)}, nil) {
				yield(tuples.Tuple{}, boom)
			}
		}, func(err error) bool { return errors.Is(err, boom) }},
		{"bad tuple", ctx, seq([]tuples.Tuple{{Key: u.key(r)}, {Key: tuples.Key{Relation: "BAD"}}}),
			func(err error) bool { return tuples.KindOf(err) == tuples.Invalid }},
		{"id used twice in input", ctx, seq([]tuples.Tuple{{ID: second, Key: u.key(r)}, {ID: second, Key: other}}),
			func(err error) bool { return errors.Is(err, tuples.ErrDuplicateTuple) }},
		{"id of another tuple", ctx, seq([]tuples.Tuple{{ID: first.ID, Key: other}}),
			func(err error) bool { return errors.Is(err, tuples.ErrDuplicateTuple) }},
		{"cancelled", cancelled, seq([]tuples.Tuple{{Key: u.key(r)}}),
			func(err error) bool { return errors.Is(err, context.Canceled) }},
	} {
		_, rev, err := g.Load(tc.ctx, tc.src)
		if !tc.want(err) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
		if rev != 1 || g.Revision() != 1 {
			t.Errorf("%s: revision %d (graph %d), want 1", tc.name, rev, g.Revision())
		}
		verify(t, g.Snapshot(), m, u)
	}
	// Reloading a tuple that exists, even under its own id, adds nothing.
	if added, rev, err := g.Load(ctx, seq([]tuples.Tuple{first})); err != nil || added != 0 || rev != 1 {
		t.Errorf("reload = %d, %d, %v; want 0, 1, nil", added, rev, err)
	}
}

var second = tuples.NewUUID()

// TestLargeBatchKeepsIDs: a batch big enough to rehash the id index, whose
// subjects are all new nodes, must leave every tuple findable by id.
func TestLargeBatchKeepsIDs(t *testing.T) {
	ctx := context.Background()
	g := New()
	doc := tuples.Ref{Type: "doc", ID: tuples.NewUUID()}
	var changes []tuples.Change
	for i := 0; i < 2000; i++ {
		changes = append(changes, tuples.Change{Op: tuples.OpCreate, Key: tuples.Key{Subject: tuples.Ref{Type: "usr", ID: tuples.NewUUID()}, Relation: "viewer", Object: doc}})
	}
	res, err := g.Write(ctx, changes)
	if err != nil {
		t.Fatal(err)
	}
	for _, tup := range res.Tuples {
		if got, err := g.Get(ctx, tup.ID); err != nil || got != tup {
			t.Fatalf("Get(%v) = %+v, %v; want %+v", tup.ID, got, err, tup)
		}
	}
}

// TestSymbolsDuringRebuild: a name, once interned, is found by every lookup,
// even while later names rebuild the table.
func TestSymbolsDuringRebuild(t *testing.T) {
	var s symbols
	s.init()
	var last atomic.Int64
	last.Store(-1) // nothing interned yet
	names := make([]string, 5000)
	for i := range names {
		names[i] = "n" + strconv.Itoa(i)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, n := range names {
			if _, err := s.intern(n); err != nil {
				t.Error(err)
				return
			}
			last.Store(int64(i))
		}
	}()
	for {
		select {
		case <-done:
			return
		default:
		}
		i := last.Load()
		if i < 0 {
			continue
		}
		if got, want := s.lookup(names[i]), tuples.Sym(i+1); got != want {
			t.Fatalf("lookup(%s) = %d, want %d", names[i], got, want)
		}
	}
}
