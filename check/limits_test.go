package check

import (
	"testing"

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
		{Limits{}, Limits{MaxDepth: 8, MaxFanOut: 1024}, true},
		{Limits{MaxDepth: 64, MaxFanOut: 1}, Limits{MaxDepth: 64, MaxFanOut: 1}, true},
		{Limits{MaxDepth: 65}, Limits{}, false},
		{Limits{MaxDepth: -1}, Limits{}, false},
		{Limits{MaxFanOut: -1}, Limits{}, false},
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
