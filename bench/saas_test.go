package bench

import (
	"context"
	"slices"
	"testing"

	"github.com/flametrench/server/tuples"
)

func TestGenerateIsSeededAndSound(t *testing.T) {
	a, b := Generate(seed, 20_000), Generate(seed, 20_000)
	if !slices.Equal(a.Tuples, b.Tuples) {
		t.Fatal("the same seed gave two different graphs")
	}
	if c := Generate(seed+1, 20_000); slices.Equal(a.Tuples, c.Tuples) {
		t.Fatal("different seeds gave the same graph")
	}
	if n := len(a.Tuples); n < 18_000 || n > 22_000 {
		t.Errorf("asked for about 20000 tuples, got %d", n)
	}
	keys := map[tuples.Key]bool{}
	for _, tup := range a.Tuples {
		if err := tup.Key.Validate(); err != nil {
			t.Fatalf("invalid tuple %v: %v", tup.Key, err)
		}
		if keys[tup.Key] {
			t.Fatalf("tuple %v generated twice", tup.Key)
		}
		keys[tup.Key] = true
	}
}

// TestScenarios checks every benchmark scenario's expected answer on the small
// graph, so the benchmarks measure what their names say.
func TestScenarios(t *testing.T) {
	w := getWorld(t, 10_000)
	ctx := context.Background()
	for _, sc := range scenarios(w) {
		for _, eng := range []string{"cached", "nocache"} {
			e := w.cached
			if eng == "nocache" {
				e = w.nocache
			}
			for _, r := range sc.reqs {
				res, err := e.Check(ctx, r)
				if err != nil || res.Allowed != sc.allowed {
					t.Fatalf("%s (%s): Check(%+v) = %v, %v; want %v", sc.name, eng, r, res.Allowed, err, sc.allowed)
				}
			}
		}
	}
}
