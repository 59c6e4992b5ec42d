package memory

import (
	"context"
	"testing"

	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/tuplestest"
)

func TestStoreSuite(t *testing.T) {
	tuplestest.Run(t, func(t *testing.T) tuples.Store { return New() })
}

// testHistory is the feed's size in the shared suite; expire outgrows it.
const testHistory = 64

func TestWatchSuite(t *testing.T) {
	tuplestest.RunWatch(t, func(t *testing.T) (tuples.Store, func()) {
		g := NewWith(Config{History: testHistory})
		return g, func() {
			// One revision larger than the history keeps that revision alone.
			cs := make([]tuples.Change, testHistory+1)
			for i := range cs {
				cs[i] = tuples.Change{Op: tuples.OpCreate, Key: tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))}
			}
			if _, err := g.Write(context.Background(), cs); err != nil {
				t.Fatal(err)
			}
		}
	})
}
