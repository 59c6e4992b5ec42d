package check

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
)

// lookupWorld is a graph, its engine and the string-keyed model of its tuples
// that the oracles read.
type lookupWorld struct {
	t      *testing.T
	g      *memory.Graph
	eng    *Engine
	rules  *rewrite.Rules
	rels   []string
	refs   []tuples.Ref // every node of the graph, and some without tuples
	tuples map[tuples.Key]bool
	dist   map[tuples.Ref]map[refFrame]int // derivations per subject, for the current tuples
	byObj  map[refFrame][]tuples.Ref       // the subjects of each (relation, object), for the current tuples
	stats  *lookupStats
}

// lookupStats counts what the property tests compared, so that a change that
// makes every lookup fail (and so agree with nothing) cannot pass unnoticed.
type lookupStats struct {
	lookups, failed   int // lookups made; of which failed with the limit
	compared, unknown int // candidates compared with Check; Checks that failed with the limit
}

func newLookupWorld(t *testing.T, rules *rewrite.Rules, limits Limits, rels []string, st *lookupStats) *lookupWorld {
	g := memory.New()
	eng, err := New(func() Graph { return g.Snapshot() }, g.Intern, Config{Rules: rules, Limits: limits, Cache: smallCache, CacheMinSteps: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	return &lookupWorld{t: t, g: g, eng: eng, rules: rules, rels: rels, tuples: map[tuples.Key]bool{}, stats: st}
}

func (w *lookupWorld) write(ch []tuples.Change) {
	w.t.Helper()
	if _, err := w.g.Write(context.Background(), ch); err != nil {
		w.t.Fatal(err)
	}
	for _, c := range ch {
		if c.Op == tuples.OpDelete {
			delete(w.tuples, c.Key)
		} else {
			w.tuples[c.Key] = true
		}
	}
	w.dist = map[tuples.Ref]map[refFrame]int{}
	w.byObj = map[refFrame][]tuples.Ref{}
	for k := range w.tuples {
		f := refFrame{k.Relation, k.Object}
		w.byObj[f] = append(w.byObj[f], k.Subject)
	}
}

// derivations is the lookups' oracle: for subject subj, the length of the
// shortest derivation of every (relation, object) frame subj holds, computed
// as a least fixed point over the model (0: a direct tuple; otherwise one more
// than the shortest branch of the frame's rule that holds). It shares nothing
// with the engine but the rule AST.
func (w *lookupWorld) derivations(subj tuples.Ref) map[refFrame]int {
	if d, ok := w.dist[subj]; ok {
		return d
	}
	dist := map[refFrame]int{}
	for k := range w.tuples {
		if k.Subject == subj {
			dist[refFrame{k.Relation, k.Object}] = 0
		}
	}
	for changed := true; changed; {
		changed = false
		for _, o := range w.refs {
			for _, rel := range w.rels {
				rule, ok := w.rules.Rule(o.Type, rel)
				if !ok {
					continue
				}
				f := refFrame{rel, o}
				best, have := dist[f]
				try := func(c refFrame) {
					if d, ok := dist[c]; ok && (!have || d+1 < best) {
						best, have = d+1, true
					}
				}
				for _, n := range rule {
					switch n.Kind {
					case rewrite.ComputedUserset:
						try(refFrame{n.Relation, o})
					case rewrite.TupleToUserset:
						for _, s := range w.byObj[refFrame{n.TuplesetRelation, o}] {
							try(refFrame{n.Relation, s})
						}
					}
				}
				if old, ok := dist[f]; have && (!ok || best < old) {
					dist[f] = best
					changed = true
				}
			}
		}
	}
	w.dist[subj] = dist
	return dist
}

// maxFanOut is the largest number of tuples of one (relation, object): while
// it is within MaxFanOut, no step of any walk can exceed it.
func (w *lookupWorld) maxFanOut() int {
	most := 0
	for _, s := range w.byObj {
		most = max(most, len(s))
	}
	return most
}

func (w *lookupWorld) ofType(typ string) []tuples.Ref {
	var out []tuples.Ref
	for _, r := range w.refs {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// expectation is what the oracle says of one lookup: the whole answer, and
// whether some member of it has no derivation within MaxDepth.
type expectation struct {
	ids  []tuples.UUID
	deep bool
}

func (x *expectation) add(id tuples.UUID, dist int, maxDepth int) {
	x.ids = append(x.ids, id)
	if dist > maxDepth {
		x.deep = true
	}
}

// resources holds LookupResources(subj, rel, typ) to the oracle, and to Check
// on the candidates checkOn.
func (w *lookupWorld) resources(subj tuples.Ref, rel, typ string, checkOn []tuples.Ref) {
	w.t.Helper()
	candidates := w.ofType(typ)
	var want expectation
	d := w.derivations(subj)
	for _, c := range candidates {
		if n, ok := d[refFrame{rel, c}]; ok {
			want.add(c.ID, n, w.eng.limits.MaxDepth)
		}
	}
	name := fmt.Sprintf("LookupResources(%s %s %s)", subj, rel, typ)
	query := func(after tuples.UUID, limit int) (Page, error) {
		return w.eng.LookupResources(context.Background(), ResourcesQuery{Subject: subj, Relation: rel, ObjectType: typ, After: after, Limit: limit})
	}
	ok, got := w.judge(name, query, want, candidates)
	if !ok {
		return
	}
	for _, c := range checkOn {
		w.agree(name, Request{Subject: subj, Relation: rel, Object: c}, slices.Contains(got, c.ID))
	}
}

// subjects holds LookupSubjects(obj, rel, typ) to the oracle, and to Check on
// the candidates checkOn.
func (w *lookupWorld) subjects(obj tuples.Ref, rel, typ string, checkOn []tuples.Ref) {
	w.t.Helper()
	candidates := w.ofType(typ)
	var want expectation
	for _, c := range candidates {
		if n, ok := w.derivations(c)[refFrame{rel, obj}]; ok {
			want.add(c.ID, n, w.eng.limits.MaxDepth)
		}
	}
	name := fmt.Sprintf("LookupSubjects(%s %s %s)", obj, rel, typ)
	query := func(after tuples.UUID, limit int) (Page, error) {
		return w.eng.LookupSubjects(context.Background(), SubjectsQuery{Object: obj, Relation: rel, SubjectType: typ, After: after, Limit: limit})
	}
	ok, got := w.judge(name, query, want, candidates)
	if !ok {
		return
	}
	for _, c := range checkOn {
		w.agree(name, Request{Subject: c, Relation: rel, Object: obj}, slices.Contains(got, c.ID))
	}
}

// judge runs the lookup unpaged and paged and compares it with the oracle: a
// lookup must fail with the limit exactly when a member is too deep or (it
// may) when a tuple_to_userset step is too wide, and otherwise return the
// whole answer in order; pages of any size must add up to it. It reports the
// answer when the lookup succeeded.
func (w *lookupWorld) judge(name string, query func(tuples.UUID, int) (Page, error), want expectation, candidates []tuples.Ref) (bool, []tuples.UUID) {
	w.t.Helper()
	w.stats.lookups++
	slices.SortFunc(want.ids, tuples.UUID.Compare)
	page, err := query(tuples.UUID{}, 0)
	if page.Revision != w.g.Revision() {
		w.t.Fatalf("%s: revision %d, want %d", name, page.Revision, w.g.Revision())
	}
	if err != nil {
		if !errors.Is(err, ErrEvaluationLimit) {
			w.t.Fatalf("%s: unexpected error %v", name, err)
		}
		if !want.deep && w.maxFanOut() <= w.eng.limits.MaxFanOut {
			w.t.Fatalf("%s = %v, but every member is within the depth cap and no step is wider than the fan-out cap", name, err)
		}
		w.stats.failed++
		return false, nil
	}
	if want.deep {
		w.t.Fatalf("%s = %v; a member is reachable only beyond depth %d, so it must fail", name, page.IDs, w.eng.limits.MaxDepth)
	}
	if !slices.Equal(page.IDs, want.ids) || page.More {
		w.t.Fatalf("%s = %v (more %v), oracle says %v", name, page.IDs, page.More, want.ids)
	}
	// Pages of 1 and 2 from the start, and of 2 from a random candidate's id
	// (a member or not), must concatenate to the answer after that id.
	for _, start := range []tuples.UUID{{}, candidates[rand.IntN(len(candidates))].ID} {
		var tail []tuples.UUID
		for _, id := range want.ids {
			if id.Compare(start) > 0 {
				tail = append(tail, id)
			}
		}
		for _, limit := range []int{1, 2} {
			var all []tuples.UUID
			after := start
			for {
				p, err := query(after, limit)
				if err != nil {
					w.t.Fatalf("%s: page after %v (limit %d): %v", name, after, limit, err)
				}
				if len(p.IDs) > limit || (p.More && len(p.IDs) != limit) {
					w.t.Fatalf("%s: page after %v of limit %d = %v, more %v", name, after, limit, p.IDs, p.More)
				}
				all = append(all, p.IDs...)
				if !p.More {
					break
				}
				after = p.IDs[len(p.IDs)-1]
			}
			if !slices.Equal(all, tail) {
				w.t.Fatalf("%s: pages of %d after %v concatenate to %v, want %v", name, limit, start, all, tail)
			}
		}
	}
	return true, page.IDs
}

// agree holds one candidate's Check to a successful lookup's answer. A Check
// that fails with the limit says nothing (its depth-first order may meet a
// limit the lookup's shortest derivations avoid); it is counted.
func (w *lookupWorld) agree(name string, req Request, listed bool) {
	w.t.Helper()
	res, err := w.eng.Check(context.Background(), req)
	if err != nil {
		if !errors.Is(err, ErrEvaluationLimit) {
			w.t.Fatalf("Check(%s) = unexpected error %v", describe(req), err)
		}
		w.stats.unknown++
		return
	}
	w.stats.compared++
	if res.Allowed != listed {
		w.t.Fatalf("%s lists %s: %v, but Check(%s) = %v", name, req.Subject, listed, describe(req), res.Allowed)
	}
}

// lookupOnce builds a small random graph under random rules (computed_userset,
// tuple_to_userset, nesting and cycles, from randomRules) and holds every
// lookup over it to the oracle and to Check, before and after some writes.
func lookupOnce(t *testing.T, e *entropy, st *lookupStats) {
	rules := randomRules(e)
	w := newLookupWorld(t, rules, Limits{MaxDepth: 1 + e.n(6), MaxFanOut: 1 + e.n(8)}, fuzzRels, st)
	for i := 0; i < 7; i++ {
		w.refs = append(w.refs, tuples.Ref{Type: fuzzTypes[e.n(len(fuzzTypes))], ID: tuples.NewUUID()})
	}
	used := len(w.refs)
	for _, typ := range fuzzTypes { // never in a tuple
		w.refs = append(w.refs, tuples.Ref{Type: typ, ID: tuples.NewUUID()})
	}
	pick := func() tuples.Ref { return w.refs[e.n(used)] }
	key := func() tuples.Key {
		return tuples.Key{Subject: pick(), Relation: fuzzRels[e.n(len(fuzzRels))], Object: pick()}
	}
	var ch []tuples.Change
	seen := map[tuples.Key]bool{}
	for i, n := 0, 4+e.n(24); i < n; i++ {
		if k := key(); !seen[k] {
			seen[k] = true
			ch = append(ch, tuples.Change{Op: tuples.OpCreate, Key: k})
		}
	}
	w.write(ch)
	for round := 0; round < 2; round++ {
		for _, typ := range fuzzTypes {
			candidates := w.ofType(typ)
			for _, r := range w.refs {
				for _, rel := range fuzzRels {
					w.resources(r, rel, typ, candidates)
					w.subjects(r, rel, typ, candidates)
				}
			}
		}
		var ch []tuples.Change
		for k := range w.tuples {
			if e.n(3) == 0 {
				ch = append(ch, tuples.Change{Op: tuples.OpDelete, Key: k})
			}
		}
		for i, n := 0, e.n(6); i < n; i++ {
			if k := key(); !w.tuples[k] && !slices.ContainsFunc(ch, func(c tuples.Change) bool { return c.Key == k }) {
				ch = append(ch, tuples.Change{Op: tuples.OpCreate, Key: k})
			}
		}
		if len(ch) > 0 {
			w.write(ch)
		}
	}
}

func FuzzLookup(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte("the quick brown fox jumps over the lazy dog, repeatedly and at depth"))
	f.Add([]byte{255, 254, 253, 7, 7, 7, 7, 3, 3, 3, 3, 1, 1, 1, 200, 100, 50, 25, 12, 6, 3, 1, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1, 99, 98, 97, 96})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4096 {
			return
		}
		lookupOnce(t, &entropy{data}, &lookupStats{})
	})
}

// TestLookupsMatchChecks is the acceptance property over fixed seeds: on
// random graphs and rule sets, every lookup that succeeds returns exactly the
// oracle's answer, in order and through any paging; every candidate it lists
// checks true and every other candidate of the type checks false (where Check
// does not itself fail with the limit); and a lookup fails with the limit
// exactly when it must.
func TestLookupsMatchChecks(t *testing.T) {
	var st lookupStats
	for i := 0; i < 100; i++ {
		b := make([]byte, 256)
		x := uint32(i*2654435761 + 7)
		for j := range b {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			b[j] = byte(x)
		}
		lookupOnce(t, &entropy{b}, &st)
	}
	t.Logf("%+v", st)
	// The property must have bitten: most lookups answer, and most answers
	// were compared with a Check that answered too.
	if st.failed*4 > st.lookups || st.unknown*4 > st.compared || st.compared < 10_000 {
		t.Errorf("too little compared: %+v", st)
	}
}

// TestLookupsMatchChecksLarger: the same property on larger graphs (200
// nodes, a thousand tuples, nested folders and groups with cycles) under the
// default limits, comparing Check on a sample of candidates.
func TestLookupsMatchChecksLarger(t *testing.T) {
	types := []string{"usr", "grp", "fld", "doc"}
	rels := []string{"member", "parent", "viewer", "editor"}
	var st lookupStats
	for seed := uint64(1); seed <= 6; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		e := &entropy{}
		for i := 0; i < 256; i++ {
			e.b = append(e.b, byte(rng.Uint32()))
		}
		// Random rules over these types and relations, as randomRules builds
		// them over its own.
		rules := &rewrite.Rules{Types: map[string]map[string]rewrite.Rule{}}
		for _, typ := range types[1:] {
			rules.Types[typ] = map[string]rewrite.Rule{}
			for _, rel := range rels {
				if rng.IntN(3) == 0 {
					continue
				}
				rule := rewrite.Rule{{Kind: rewrite.This}}
				for i, k := 0, 1+rng.IntN(2); i < k; i++ {
					if rng.IntN(2) == 0 {
						rule = append(rule, rewrite.Node{Kind: rewrite.ComputedUserset, Relation: rels[rng.IntN(len(rels))]})
					} else {
						rule = append(rule, rewrite.Node{Kind: rewrite.TupleToUserset, TuplesetRelation: "parent", Relation: rels[rng.IntN(len(rels))]})
					}
				}
				rules.Types[typ][rel] = rule
			}
		}
		w := newLookupWorld(t, rules, Limits{}, rels, &st)
		byType := map[string][]tuples.Ref{}
		for i := 0; i < 200; i++ {
			typ := types[i%len(types)]
			r := tuples.Ref{Type: typ, ID: tuples.NewUUID()}
			w.refs = append(w.refs, r)
			byType[typ] = append(byType[typ], r)
		}
		any := func(typ string) tuples.Ref { return byType[typ][rng.IntN(len(byType[typ]))] }
		seen := map[tuples.Key]bool{}
		var ch []tuples.Change
		add := func(k tuples.Key) {
			if !seen[k] {
				seen[k] = true
				ch = append(ch, tuples.Change{Op: tuples.OpCreate, Key: k})
			}
		}
		for i := 0; i < 1000; i++ {
			switch rng.IntN(5) {
			case 0: // folders and groups nest, in cycles too
				add(tuples.Key{Subject: any([]string{"grp", "fld"}[rng.IntN(2)]), Relation: "parent", Object: any([]string{"grp", "fld", "doc"}[rng.IntN(3)])})
			case 1:
				add(tuples.Key{Subject: any("usr"), Relation: "member", Object: any("grp")})
			default:
				add(tuples.Key{Subject: any([]string{"usr", "grp"}[rng.IntN(2)]), Relation: rels[rng.IntN(len(rels))], Object: any(types[1+rng.IntN(3)])})
			}
		}
		w.write(ch)
		sample := func(typ string) []tuples.Ref {
			c := slices.Clone(byType[typ])
			rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
			return c[:12]
		}
		for i := 0; i < 12; i++ {
			rel := rels[rng.IntN(len(rels))]
			w.resources(any("usr"), rel, "doc", sample("doc"))
			w.resources(any("grp"), rel, "fld", sample("fld"))
			w.subjects(any("doc"), rel, "usr", sample("usr"))
			w.subjects(any("fld"), rel, "grp", sample("grp"))
		}
	}
	t.Logf("%+v", st)
	if st.failed*4 > st.lookups || st.compared < 1000 {
		t.Errorf("too little compared: %+v", st)
	}
}
