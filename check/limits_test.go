package check

import (
	"context"
	"testing"

	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
)

func TestLimits(t *testing.T) {
	g := memory.New()
	for _, tc := range []struct {
		in   Limits
		want Limits
		ok   bool
	}{
		{Limits{}, Limits{MaxDepth: 8, MaxFanOut: 1024, MaxLookupSteps: 1_000_000}, true},
		{Limits{MaxDepth: 64, MaxFanOut: 1, MaxLookupSteps: 7}, Limits{MaxDepth: 64, MaxFanOut: 1, MaxLookupSteps: 7}, true},
		{Limits{MaxDepth: 65}, Limits{}, false},
		{Limits{MaxDepth: -1}, Limits{}, false},
		{Limits{MaxFanOut: -1}, Limits{}, false},
		{Limits{MaxLookupSteps: -1}, Limits{}, false},
	} {
		eng, err := New(func() Graph { return g.Snapshot() }, g.Intern, Config{Limits: tc.in, Cache: smallCache})
		if !tc.ok {
			if tuples.KindOf(err) != tuples.Invalid {
				t.Errorf("New(%+v): err = %v, want Invalid", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("New(%+v): %v", tc.in, err)
		}
		if got := eng.Limits(); got != tc.want {
			t.Errorf("New(%+v).Limits() = %+v, want %+v", tc.in, got, tc.want)
		}
		eng.Close()
	}
}

// TestCacheMinSteps: an evaluation shorter than CacheMinSteps lookups is not
// cached; one at least that long is, and answers the repeat.
func TestCacheMinSteps(t *testing.T) {
	ctx := context.Background()
	g := memory.New()
	rules := &rewrite.Rules{Types: map[string]map[string]rewrite.Rule{
		"doc": {"viewer": {{Kind: rewrite.This}, {Kind: rewrite.ComputedUserset, Relation: "editor"}}},
	}}
	u, d := tuples.Ref{Type: "usr", ID: tuples.NewUUID()}, tuples.Ref{Type: "doc", ID: tuples.NewUUID()}
	if _, err := g.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: tuples.Key{Subject: u, Relation: "editor", Object: d}}}); err != nil {
		t.Fatal(err)
	}
	// viewer → editor: two lookups.
	for _, tc := range []struct {
		minSteps int
		hits     uint64
	}{{2, 1}, {3, 0}} {
		eng, err := New(func() Graph { return g.Snapshot() }, g.Intern, Config{Rules: rules, Cache: smallCache, CacheMinSteps: tc.minSteps})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			res, err := eng.Check(ctx, Request{Subject: u, Relation: "viewer", Object: d})
			if err != nil || !res.Allowed {
				t.Fatalf("Check = %v, %v; want allowed", res.Allowed, err)
			}
			eng.cache.Wait()
		}
		if hits, _ := eng.cache.Stats(); hits != tc.hits {
			t.Errorf("CacheMinSteps %d: %d cache hits, want %d", tc.minSteps, hits, tc.hits)
		}
		eng.Close()
	}
}
