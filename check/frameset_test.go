package check

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/flametrench/server/tuples"
)

// TestFrameSet: a set used and emptied many times, growing on the way,
// answers like a map each time and ends every use empty.
func TestFrameSet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var s frameSet
	for round := 0; round < 200; round++ {
		model := map[frame]bool{}
		var added []item
		for i, n := 0, r.IntN(3000); i < n; i++ {
			// Few relations and clustered nodes, so probe runs collide.
			f := frame{tuples.Sym(1 + r.IntN(3)), tuples.NodeID(r.IntN(1 + n/2))}
			if got := s.add(f); got == model[f] {
				t.Fatalf("round %d: add(%v) = %v, set had it: %v", round, f, got, model[f])
			}
			if !model[f] {
				model[f] = true
				added = append(added, item{frame: f})
			}
			g := frame{tuples.Sym(1 + r.IntN(3)), tuples.NodeID(r.IntN(1 + n))}
			if s.has(g) != model[g] {
				t.Fatalf("round %d: has(%v) = %v, want %v", round, g, !model[g], model[g])
			}
		}
		if s.n != len(model) {
			t.Fatalf("round %d: n = %d, want %d", round, s.n, len(model))
		}
		s.undo(added)
		if slices.ContainsFunc(s.slots, func(k uint64) bool { return k != 0 }) || s.n != 0 {
			t.Fatalf("round %d: the set is not empty after undo", round)
		}
	}
}
