package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flametrench/server/cache"
	"github.com/flametrench/server/check"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
)

const seed = 42

// world is a loaded graph with engines over it, built once per size and shared
// by every benchmark of that size.
type world struct {
	gen      *Graph
	g        *memory.Graph
	cached   *check.Engine // the default configuration: long evaluations cached
	cacheAll *check.Engine // every evaluation cached (CacheMinSteps 1)
	nocache  *check.Engine // every check evaluated from the graph
	wide     tuples.Ref    // a document with wideParents parent folders
}

const wideParents = 1000 // fan-out near the default cap of 1024

var (
	worldsMu sync.Mutex
	worlds   = map[int]*world{}
)

func sizes() []int {
	s := []int{10_000, 1_000_000}
	if os.Getenv("FLAMETRENCH_BENCH_10M") != "" {
		s = append(s, 10_000_000)
	}
	return s
}

func sizeName(n int) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%dM", n/1_000_000)
	default:
		return fmt.Sprintf("%dk", n/1000)
	}
}

func getWorld(tb testing.TB, n int) *world {
	worldsMu.Lock()
	defer worldsMu.Unlock()
	if w := worlds[n]; w != nil {
		return w
	}
	ctx := context.Background()
	w := &world{gen: Generate(seed, n), g: memory.New()}
	if _, _, err := w.g.Load(ctx, w.gen.All()); err != nil {
		tb.Fatal(err)
	}
	w.finish(tb, w.g)
	worlds[n] = w
	return w
}

// finish adds the wide document through wr (the graph, or the replica that
// writes through to PostgreSQL) and builds the engines.
func (w *world) finish(tb testing.TB, wr Writer) {
	ctx := context.Background()
	// The wide document sits under wideParents folders.
	w.wide = tuples.Ref{Type: "doc", ID: tuples.NewUUID()}
	var changes []tuples.Change
	for _, o := range w.gen.Orgs {
		for _, f := range o.Folders {
			if len(changes) < wideParents {
				changes = append(changes, tuples.Change{Op: tuples.OpCreate, Key: tuples.Key{Subject: f, Relation: "parent", Object: w.wide}})
			}
		}
	}
	if _, err := wr.Write(ctx, changes); err != nil {
		tb.Fatal(err)
	}
	var err error
	snap := func() check.Graph { return w.g.Snapshot() }
	if w.cached, err = check.New(snap, w.g.Intern, check.Config{Rules: ParseRules()}); err != nil {
		tb.Fatal(err)
	}
	if w.cacheAll, err = check.New(snap, w.g.Intern, check.Config{Rules: ParseRules(), CacheMinSteps: 1}); err != nil {
		tb.Fatal(err)
	}
	if w.nocache, err = check.New(snap, w.g.Intern, check.Config{Rules: ParseRules(), Cache: cache.Config{Disabled: true}}); err != nil {
		tb.Fatal(err)
	}
}

// requests builds 4096 requests (a power of two) from fn, spread over every
// organisation, so a benchmark cycles through keys scattered across the whole
// graph, as a busy server does, instead of one hot cache line.
func requests(w *world, fn func(o *Org, i int) (check.Request, bool)) []check.Request {
	var out []check.Request
	for i := 0; len(out) < 4096; i++ {
		o := &w.gen.Orgs[i%len(w.gen.Orgs)]
		if r, ok := fn(o, i/len(w.gen.Orgs)); ok {
			out = append(out, r)
		}
	}
	return out
}

// scenarios are the check shapes the issue names, each with the answer it must
// give (benchmarks verify it once before timing).
func scenarios(w *world) []struct {
	name    string
	allowed bool
	reqs    []check.Request
} {
	type sc = struct {
		name    string
		allowed bool
		reqs    []check.Request
	}
	member := func(o *Org, i int) tuples.Ref { return o.Members[i%len(o.Members)] }
	return []sc{
		{"direct-hit", true, requests(w, func(o *Org, i int) (check.Request, bool) {
			d := i % len(o.Docs)
			return check.Request{Subject: o.DocOwner[d], Relation: "owner", Object: o.Docs[d]}, true
		})},
		// One key over and over: the engine's own cost, every line in cache.
		{"direct-hit-1key", true, requests(w, func(o *Org, i int) (check.Request, bool) {
			return check.Request{Subject: w.gen.Orgs[0].DocOwner[0], Relation: "owner", Object: w.gen.Orgs[0].Docs[0]}, true
		})[:1]},
		{"direct-miss", false, requests(w, func(o *Org, i int) (check.Request, bool) {
			return check.Request{Subject: w.gen.Outsider, Relation: "owner", Object: o.Docs[i%len(o.Docs)]}, true
		})},
		// org member ← admin ← owner: two computed_userset hops.
		{"computed-userset-2", true, requests(w, func(o *Org, i int) (check.Request, bool) {
			return check.Request{Subject: o.Owner, Relation: "member", Object: o.Ref}, true
		})},
		// proj viewer via parent org member.
		{"ttu-1hop", true, requests(w, func(o *Org, i int) (check.Request, bool) {
			return check.Request{Subject: member(o, i), Relation: "viewer", Object: o.Projects[i%len(o.Projects)]}, true
		})},
		// folder viewer via project viewer via org member.
		{"ttu-2hop", true, requests(w, func(o *Org, i int) (check.Request, bool) {
			return check.Request{Subject: member(o, i), Relation: "viewer", Object: o.Folders[i%len(o.Folders)]}, true
		})},
		// document viewer via folder, project and org.
		{"ttu-3hop", true, requests(w, func(o *Org, i int) (check.Request, bool) {
			d := i % len(o.Docs)
			u := member(o, i)
			return check.Request{Subject: u, Relation: "viewer", Object: o.Docs[d]}, u != o.DocOwner[d]
		})},
		// An outsider asks for a document: every branch of the rule set runs.
		{"denial-full-rules", false, requests(w, func(o *Org, i int) (check.Request, bool) {
			return check.Request{Subject: w.gen.Outsider, Relation: "viewer", Object: o.Docs[i%len(o.Docs)]}, true
		})},
		// The set form, answered through inheritance.
		{"set-form", true, requests(w, func(o *Org, i int) (check.Request, bool) {
			d := i % len(o.Docs)
			u := member(o, i)
			return check.Request{Subject: u, Relations: []string{"owner", "editor", "viewer"}, Object: o.Docs[d]}, u != o.DocOwner[d]
		})},
		// Up to 1000 parent folders (all there are at 10k), none letting the outsider in.
		{"fan-out-wide", false, []check.Request{{Subject: w.gen.Outsider, Relation: "viewer", Object: w.wide}}},
	}
}

func runChecks(b *testing.B, eng *check.Engine, reqs []check.Request, allowed bool) {
	ctx := context.Background()
	for _, r := range reqs {
		res, err := eng.Check(ctx, r)
		if err != nil || res.Allowed != allowed {
			b.Fatalf("Check(%+v) = %v, %v; want %v", r, res.Allowed, err, allowed)
		}
	}
	mask := len(reqs) - 1
	if len(reqs)&mask != 0 {
		mask = 0
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		eng.Check(ctx, reqs[i&mask])
	}
}

// engines are the cache configurations compared: off (the engine's own cost),
// on (the default: evaluations of at least check.DefaultCacheMinSteps lookups
// are cached) and all (every evaluation cached).
func (w *world) engines() []struct {
	name string
	e    *check.Engine
} {
	return []struct {
		name string
		e    *check.Engine
	}{{"off", w.nocache}, {"on", w.cached}, {"all", w.cacheAll}}
}

// BenchmarkCheck runs each scenario over its 4096 keys again and again, so
// with a cache every answer is in it after the first round (a hot cache).
func BenchmarkCheck(b *testing.B) {
	for _, n := range sizes() {
		w := getWorld(b, n)
		for _, sc := range scenarios(w) {
			for _, eng := range w.engines() {
				b.Run(fmt.Sprintf("size=%s/%s/cache=%s", sizeName(n), sc.name, eng.name), func(b *testing.B) {
					runChecks(b, eng.e, sc.reqs, sc.allowed)
				})
			}
		}
	}
}

// BenchmarkCheckCacheCold asks questions that were never asked before: every
// check misses the cache, evaluates and stores its answer.
func BenchmarkCheckCacheCold(b *testing.B) {
	ctx := context.Background()
	for _, n := range sizes() {
		w := getWorld(b, n)
		for _, eng := range w.engines() {
			b.Run(fmt.Sprintf("size=%s/ttu-3hop/cache=%s", sizeName(n), eng.name), func(b *testing.B) {
				b.ReportAllocs()
				users := w.gen.Users
				for i := 0; b.Loop(); i++ {
					o := &w.gen.Orgs[i%len(w.gen.Orgs)]
					j := i / len(w.gen.Orgs)
					eng.e.Check(ctx, check.Request{Subject: users[(j/len(o.Docs))%len(users)], Relation: "viewer", Object: o.Docs[j%len(o.Docs)]})
				}
			})
		}
	}
}

// BenchmarkCheckParallel runs checks on every core while 1 % of operations
// write (a grant created, later deleted), so snapshots move under the readers
// and the cache keeps missing on new revisions.
func BenchmarkCheckParallel(b *testing.B) {
	ctx := context.Background()
	for _, n := range sizes() {
		w := getWorld(b, n)
		sc := scenarios(w)
		reqs := sc[5].reqs // ttu-3hop
		for _, eng := range w.engines() {
			b.Run(fmt.Sprintf("size=%s/ttu-3hop-1pct-writes/cache=%s", sizeName(n), eng.name), func(b *testing.B) {
				var next atomic.Uint64
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := int(next.Add(1) * 7919)
					for pb.Next() {
						i++
						if i%100 == 0 {
							o := &w.gen.Orgs[i%len(w.gen.Orgs)]
							k := tuples.Key{Subject: w.gen.Outsider, Relation: "viewer", Object: o.Docs[i%len(o.Docs)]}
							w.g.Write(ctx, []tuples.Change{{Op: tuples.OpTouch, Key: k}})
							w.g.Write(ctx, []tuples.Change{{Op: tuples.OpDelete, Key: k}})
							continue
						}
						eng.e.Check(ctx, reqs[i&(len(reqs)-1)])
					}
				})
			})
		}
	}
}

// BenchmarkLoad loads a generated graph into an empty one, reporting tuples
// per second and heap bytes per resident tuple: "bulk" through Graph.Load (how
// a replica hydrates), "write-10k" through Write in batches of 10 000.
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	for _, n := range sizes() {
		gen := Generate(seed, n)
		for _, mode := range []struct {
			name string
			load func(g *memory.Graph) error
		}{
			{"bulk", func(g *memory.Graph) error { _, _, err := g.Load(ctx, gen.All()); return err }},
			{"write-10k", func(g *memory.Graph) error { return gen.WriteBatches(ctx, g, 10_000) }},
		} {
			b.Run("size="+sizeName(n)+"/"+mode.name, func(b *testing.B) {
				var perTuple float64
				var elapsed time.Duration
				for b.Loop() {
					runtime.GC()
					var before, after runtime.MemStats
					runtime.ReadMemStats(&before)
					start := time.Now()
					g := memory.New()
					if err := mode.load(g); err != nil {
						b.Fatal(err)
					}
					elapsed += time.Since(start)
					runtime.GC()
					runtime.ReadMemStats(&after)
					perTuple = float64(after.HeapAlloc-before.HeapAlloc) / float64(len(gen.Tuples))
					runtime.KeepAlive(g)
				}
				b.ReportMetric(float64(len(gen.Tuples)*b.N)/elapsed.Seconds(), "tuples/s")
				b.ReportMetric(perTuple, "heap-B/tuple")
			})
		}
	}
}
