package check

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/flametrench/server/cache"
	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
)

// entropy turns fuzz bytes into choices; exhausted input yields zeros.
type entropy struct{ b []byte }

func (e *entropy) n(k int) int {
	if len(e.b) == 0 || k <= 1 {
		return 0
	}
	v := int(e.b[0])
	e.b = e.b[1:]
	return v % k
}

var (
	fuzzTypes = []string{"usr", "doc", "org"}
	fuzzRels  = []string{"ra", "rb", "rc", "rd"}
)

// randomRules builds a rule set over fuzzTypes × fuzzRels.
func randomRules(e *entropy) *rewrite.Rules {
	r := &rewrite.Rules{Types: map[string]map[string]rewrite.Rule{}}
	for _, typ := range fuzzTypes {
		for _, rel := range fuzzRels {
			if e.n(3) == 0 {
				continue
			}
			rule := rewrite.Rule{{Kind: rewrite.This}}
			for i, k := 0, 1+e.n(3); i < k; i++ {
				if e.n(2) == 0 {
					rule = append(rule, rewrite.Node{Kind: rewrite.ComputedUserset, Relation: fuzzRels[e.n(len(fuzzRels))]})
				} else {
					rule = append(rule, rewrite.Node{Kind: rewrite.TupleToUserset, TuplesetRelation: fuzzRels[e.n(len(fuzzRels))], Relation: fuzzRels[e.n(len(fuzzRels))]})
				}
			}
			if r.Types[typ] == nil {
				r.Types[typ] = map[string]rewrite.Rule{}
			}
			r.Types[typ][rel] = rule
		}
	}
	return r
}

func FuzzCheck(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte("the quick brown fox jumps over the lazy dog, repeatedly and at depth"))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40})
	f.Add([]byte{255, 254, 253, 7, 7, 7, 7, 3, 3, 3, 3, 1, 1, 1, 200, 100, 50, 25, 12, 6, 3, 1, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1, 99, 98, 97, 96})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		fuzzOnce(t, &entropy{data})
	})
}

func fuzzOnce(t *testing.T, e *entropy) {
	ctx := context.Background()
	rules := randomRules(e)
	limits := Limits{MaxDepth: 1 + e.n(6), MaxFanOut: 1 + e.n(4)}
	var refs []tuples.Ref
	for i := 0; i < 5; i++ {
		refs = append(refs, tuples.Ref{Type: fuzzTypes[e.n(len(fuzzTypes))], ID: tuples.NewUUID()})
	}
	refs = append(refs, tuples.Ref{Type: "doc", ID: tuples.NewUUID()}) // never in a tuple
	g := memory.New()
	eng, err := New(func() Graph { return g.Snapshot() }, g.Intern, Config{Rules: rules, Limits: limits, Cache: smallCache, CacheMinSteps: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ref := &reference{tuples: map[tuples.Key]bool{}, rules: rules, limits: eng.Limits(), order: func(r tuples.Ref) uint32 {
		s := g.Snapshot()
		return uint32(s.Node(s.Sym(r.Type), r.ID))
	}}
	write := func(k tuples.Key, del bool) {
		op := tuples.OpTouch
		if del {
			if !ref.tuples[k] {
				return
			}
			op = tuples.OpDelete
		}
		if _, err := g.Write(ctx, []tuples.Change{{Op: op, Key: k}}); err != nil {
			t.Fatal(err)
		}
		if del {
			delete(ref.tuples, k)
		} else {
			ref.tuples[k] = true
		}
	}
	pick := func() tuples.Ref { return refs[e.n(len(refs)-1)] }
	for i, n := 0, 4+e.n(20); i < n; i++ {
		write(tuples.Key{Subject: pick(), Relation: fuzzRels[e.n(len(fuzzRels))], Object: pick()}, false)
	}
	for round := 0; round < 3; round++ {
		var reqs []Request
		for _, s := range refs {
			for _, o := range refs {
				for _, rel := range fuzzRels {
					reqs = append(reqs, Request{Subject: s, Relation: rel, Object: o})
				}
				reqs = append(reqs, Request{Subject: s, Relations: []string{fuzzRels[e.n(4)], fuzzRels[e.n(4)]}, Object: o})
			}
		}
		// The second pass may be answered by the cache.
		for pass := 0; pass < 2; pass++ {
			for _, req := range reqs {
				compare(t, eng, ref, req, pass)
			}
			eng.cache.Wait()
		}
		for _, o := range refs {
			for _, rel := range fuzzRels {
				expandAgrees(t, eng, refs, rel, o)
			}
		}
		// Change the graph; cached answers of the old revision must not leak.
		for i, n := 0, 1+e.n(4); i < n; i++ {
			write(tuples.Key{Subject: pick(), Relation: fuzzRels[e.n(len(fuzzRels))], Object: pick()}, e.n(2) == 0)
		}
	}
}

func compare(t *testing.T, eng *Engine, ref *reference, req Request, pass int) {
	t.Helper()
	want, wantErr := ref.check(req)
	got, err := eng.Check(context.Background(), req)
	if (err != nil) != (wantErr != nil) || (err == nil && got.Allowed != want) {
		t.Fatalf("Check(%s) pass %d = %v, %v; reference says %v, %v", describe(req), pass, got.Allowed, err, want, wantErr)
	}
	if err != nil && !errors.Is(err, ErrEvaluationLimit) && !errors.Is(err, tuples.ErrEmptyRelations) {
		t.Fatalf("Check(%s) = unexpected error %v", describe(req), err)
	}
}

func describe(r Request) string {
	return fmt.Sprintf("%s %q%q %s", r.Subject, r.Relation, r.Relations, r.Object)
}

// TestCheckMatchesReference runs the fuzz body over fixed seeds, so the property
// is exercised by `go test` without -fuzz.
func TestCheckMatchesReference(t *testing.T) {
	for i := 0; i < 300; i++ {
		b := make([]byte, 256)
		x := uint32(i*2654435761 + 1)
		for j := range b {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			b[j] = byte(x)
		}
		fuzzOnce(t, &entropy{b})
	}
}

// TestConcurrentChecksDuringWrites runs checks from several goroutines while
// the graph changes, under -race; every answer must match the reference for the
// revision it reports.
func TestConcurrentChecksDuringWrites(t *testing.T) {
	ctx := context.Background()
	g := memory.New()
	rules := &rewrite.Rules{Types: map[string]map[string]rewrite.Rule{
		"doc": {"viewer": {{Kind: rewrite.This}, {Kind: rewrite.TupleToUserset, TuplesetRelation: "parent", Relation: "member"}}},
	}}
	eng, err := New(func() Graph { return g.Snapshot() }, g.Intern, Config{Rules: rules, CacheMinSteps: 1})
	if err != nil {
		t.Fatal(err)
	}
	u, d, o := tuples.Ref{Type: "usr", ID: tuples.NewUUID()}, tuples.Ref{Type: "doc", ID: tuples.NewUUID()}, tuples.Ref{Type: "org", ID: tuples.NewUUID()}
	if _, err := g.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: tuples.Key{Subject: o, Relation: "parent", Object: d}}}); err != nil {
		t.Fatal(err)
	}
	member := tuples.Key{Subject: u, Relation: "member", Object: o}
	// The membership is present exactly at even revisions ≥ 2.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := eng.Check(ctx, Request{Subject: u, Relation: "viewer", Object: d})
				if err != nil {
					t.Error(err)
					return
				}
				if want := res.Revision%2 == 0; res.Allowed != want {
					t.Errorf("at revision %d allowed = %v, want %v", res.Revision, res.Allowed, want)
					return
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		op := tuples.OpCreate
		if i%2 == 1 {
			op = tuples.OpDelete
		}
		if _, err := g.Write(ctx, []tuples.Change{{Op: op, Key: member}}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

// smallCache keeps per-case engines cheap: Ristretto clears all its counters on
// Close, which dominates a test that builds hundreds of engines.
var smallCache = cache.Config{MaxCost: 4096}
