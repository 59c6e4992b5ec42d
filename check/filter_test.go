package check

import (
	"testing"

	"github.com/flametrench/server/tuples"
)

func TestWorthFilter(t *testing.T) {
	f := new(worthFilter)
	h := filterHash(1, 2, 3)
	if f.has(h) {
		t.Fatal("an empty filter has a key")
	}
	f.add(h)
	if !f.has(h) {
		t.Fatal("an added key is missing")
	}
	// Filling half the bits clears the filter, so it cannot saturate.
	for i := tuples.NodeID(0); f.has(h); i++ {
		if i > 4*filterBits {
			t.Fatal("the filter never cleared")
		}
		f.add(filterHash(i, 7, i+1))
	}
	if n := f.set.Load(); n > 1 {
		t.Errorf("after clearing, %d bits counted", n)
	}
}
