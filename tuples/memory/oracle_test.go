package memory

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flametrench/server/tuples"
)

// model is the obviously-correct oracle: a map from key to tuple.
type model map[tuples.Key]tuples.Tuple

func (m model) clone() model {
	c := make(model, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// universe is a small set of refs so random keys collide often.
type universe struct {
	refs []tuples.Ref
	rels []string
}

func newUniverse(r *rand.Rand, n int) universe {
	u := universe{rels: []string{"viewer", "editor", "owner", "parent"}}
	types := []string{"usr", "doc", "org"}
	for i := 0; i < n; i++ {
		u.refs = append(u.refs, tuples.Ref{Type: types[r.IntN(len(types))], ID: tuples.NewUUID()})
	}
	return u
}

func (u universe) key(r *rand.Rand) tuples.Key {
	return tuples.Key{Subject: u.refs[r.IntN(len(u.refs))], Relation: u.rels[r.IntN(len(u.rels))], Object: u.refs[r.IntN(len(u.refs))]}
}

// verify compares every query the graph answers with the model.
func verify(t *testing.T, s *Snapshot, m model, u universe) {
	t.Helper()
	if s.Len() != len(m) {
		t.Fatalf("Len = %d, model has %d", s.Len(), len(m))
	}
	for _, tup := range m {
		got, err := s.Get(tup.ID)
		if err != nil || got != tup {
			t.Fatalf("Get(%v) = %+v, %v; want %+v", tup.ID, got, err, tup)
		}
	}
	for _, sub := range u.refs {
		for _, rel := range u.rels {
			for _, obj := range u.refs {
				k := tuples.Key{Subject: sub, Relation: rel, Object: obj}
				got, ok := s.Lookup(k)
				want, wok := m[k]
				if ok != wok || (ok && got != want) {
					t.Fatalf("Lookup(%v) = %+v, %v; want %+v, %v", k, got, ok, want, wok)
				}
			}
		}
	}
	for _, obj := range u.refs {
		on := s.ref(obj)
		for _, rel := range u.rels {
			want := 0
			for k := range m {
				if k.Object == obj && k.Relation == rel {
					want++
				}
			}
			if got := len(s.Subjects(on, s.Sym(rel))); got != want {
				t.Fatalf("Subjects(%v, %s) has %d, want %d", obj, rel, got, want)
			}
		}
	}
	for _, sub := range u.refs {
		got := map[tuples.Key]bool{}
		for _, e := range s.Objects(nil, s.ref(sub)) {
			got[tuples.Key{Subject: sub, Relation: s.SymName(e.Rel), Object: s.NodeRef(e.Node)}] = true
		}
		want := map[tuples.Key]bool{}
		for k := range m {
			if k.Subject == sub {
				want[k] = true
			}
		}
		if !maps.Equal(got, want) {
			t.Fatalf("Objects(%v) = %v, want %v", sub, got, want)
		}
	}
}

func TestRandomOpsMatchModel(t *testing.T) {
	ctx := context.Background()
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, seed))
		u := newUniverse(r, 12)
		g := New()
		m := model{}
		var snaps []*Snapshot
		var models []model
		for step := 0; step < 300; step++ {
			n := 1 + r.IntN(6)
			if r.IntN(20) == 0 {
				n = 40 + r.IntN(100) // large batches trigger id-index rehashes
			}
			var cs []tuples.Change
			next := m.clone()
			fail := false
			seen := map[tuples.Key]bool{}
			for i := 0; i < n; i++ {
				k := u.key(r)
				var c tuples.Change
				switch op := r.IntN(4); {
				case op < 2:
					c = tuples.Change{Op: tuples.OpCreate, Key: k}
					if _, ok := m[k]; ok {
						fail = true
					}
				case op == 2:
					c = tuples.Change{Op: tuples.OpTouch, Key: k}
				default:
					if tup, ok := m[k]; ok && r.IntN(2) == 0 {
						c = tuples.Change{Op: tuples.OpDelete, ID: tup.ID}
					} else {
						c = tuples.Change{Op: tuples.OpDelete, Key: k}
					}
					if _, ok := m[k]; !ok {
						fail = true
					}
					delete(next, k)
				}
				if seen[k] {
					fail = true
				}
				seen[k] = true
				cs = append(cs, c)
			}
			res, err := g.Write(ctx, cs)
			if fail != (err != nil) {
				t.Fatalf("seed %d step %d: Write err = %v, model expected failure %v", seed, step, err, fail)
			}
			if err == nil {
				for i, c := range cs {
					if c.Op != tuples.OpDelete {
						if _, ok := next[c.Key]; !ok {
							next[c.Key] = res.Tuples[i]
						}
					}
				}
				m = next
			}
			if step%25 == 0 {
				verify(t, g.Snapshot(), m, u)
				snaps = append(snaps, g.Snapshot())
				models = append(models, m.clone())
			}
		}
		verify(t, g.Snapshot(), m, u)
		// Old snapshots still show exactly their own revision.
		for i, s := range snaps {
			verify(t, s, models[i], u)
		}
	}
}

func TestDeleteSubjectLarge(t *testing.T) {
	g := New()
	ctx := context.Background()
	org := tuples.Ref{Type: "org", ID: tuples.NewUUID()}
	var cs []tuples.Change
	for i := 0; i < 5000; i++ {
		cs = append(cs, tuples.Change{Op: tuples.OpCreate, Key: tuples.Key{Subject: org, Relation: "parent", Object: tuples.Ref{Type: "doc", ID: tuples.NewUUID()}}})
	}
	if _, err := g.Write(ctx, cs); err != nil {
		t.Fatal(err)
	}
	n, _, err := g.DeleteSubject(ctx, org)
	if err != nil || n != 5000 || g.Len() != 0 {
		t.Fatalf("DeleteSubject = %d, %v; Len %d", n, err, g.Len())
	}
}

// Readers run against snapshots while writers commit; each reader checks that the
// snapshot it holds is internally consistent: a batch's two tuples are both
// present or both absent (atomic batches), and never change under it.
func TestReadersDuringWrites(t *testing.T) {
	g := New()
	ctx := context.Background()
	u := tuples.Ref{Type: "usr", ID: tuples.NewUUID()}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad atomic.Int64
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				s := g.Snapshot()
				page, err := s.ListBySubject(u, "", tuples.MaxLimit)
				if err != nil {
					bad.Add(1)
					return
				}
				if len(page.Tuples)%2 != 0 {
					bad.Add(1)
				}
				again, _ := s.ListBySubject(u, "", tuples.MaxLimit)
				if len(again.Tuples) != len(page.Tuples) {
					bad.Add(1)
				}
			}
		}()
	}
	var live []tuples.Key
	for i := 0; i < 400; i++ {
		if len(live) >= 60 {
			_, err := g.Write(ctx, []tuples.Change{{Op: tuples.OpDelete, Key: live[0]}, {Op: tuples.OpDelete, Key: live[1]}})
			if err != nil {
				t.Fatal(err)
			}
			live = live[2:]
		}
		a := tuples.Key{Subject: u, Relation: "viewer", Object: tuples.Ref{Type: "doc", ID: tuples.NewUUID()}}
		b := tuples.Key{Subject: u, Relation: "editor", Object: tuples.Ref{Type: "doc", ID: tuples.NewUUID()}}
		if _, err := g.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: a}, {Op: tuples.OpCreate, Key: b}}); err != nil {
			t.Fatal(err)
		}
		live = append(live, a, b)
	}
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d inconsistent reads", bad.Load())
	}
}

func TestCallerAssignedIDs(t *testing.T) {
	g := New()
	ctx := context.Background()
	id := tuples.NewUUID()
	k := tuples.Key{Subject: tuples.Ref{Type: "usr", ID: tuples.NewUUID()}, Relation: "viewer", Object: tuples.Ref{Type: "doc", ID: tuples.NewUUID()}}
	res, err := g.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: k, ID: id}})
	if err != nil || res.Tuples[0].ID != id {
		t.Fatalf("create with id = %+v, %v", res.Tuples, err)
	}
	k2 := k
	k2.Relation = "editor"
	_, err = g.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: k2, ID: id}})
	if !errors.Is(err, tuples.ErrDuplicateTuple) {
		t.Fatalf("create with a used id: err = %v", err)
	}
}
