package memory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
	"github.com/flametrench/server/tuples/tuplestest"
)

// creates writes a revision of n creates.
func creates(t *testing.T, g *memory.Graph, n int) []tuples.Tuple {
	t.Helper()
	cs := make([]tuples.Change, n)
	for i := range cs {
		cs[i] = tuples.Change{Op: tuples.OpCreate, Key: tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))}
	}
	res, err := g.Write(context.Background(), cs)
	if err != nil {
		t.Fatal(err)
	}
	return res.Tuples
}

// oldest returns the oldest revision the feed can be read after.
func oldest(t *testing.T, g *memory.Graph) uint64 {
	t.Helper()
	for after := uint64(0); after <= g.Revision(); after++ {
		_, err := g.Changes(context.Background(), after, 1)
		if err == nil {
			return after
		}
		if !errors.Is(err, tuples.ErrRevisionGone) {
			t.Fatalf("Changes(%d) = %v", after, err)
		}
	}
	t.Fatal("the feed cannot be read even at the head")
	return 0
}

// The feed keeps the newest revisions that fit Config.History changes, and
// always the newest one.
func TestHistoryBound(t *testing.T) {
	ctx := context.Background()
	g := memory.NewWith(memory.Config{History: 5})
	for i := 0; i < 8; i++ {
		creates(t, g, 1)
	}
	if got := oldest(t, g); got != 3 { // revisions 4..8: five changes
		t.Fatalf("after 8 single changes the feed starts after %d, want 3", got)
	}
	creates(t, g, 2) // revision 9: 6 changes in 5 revisions would exceed 5
	if got := oldest(t, g); got != 5 {
		t.Fatalf("after a revision of 2 the feed starts after %d, want 5", got)
	}
	big := creates(t, g, 7) // revision 10, larger than the whole history
	if got := oldest(t, g); got != 9 {
		t.Fatalf("after an oversized revision the feed starts after %d, want 9", got)
	}
	revs, err := g.Changes(ctx, 9, 0)
	if err != nil || len(revs) != 1 || len(revs[0].Changes) != len(big) {
		t.Fatalf("Changes(9) = %v, %v; want the oversized revision whole", revs, err)
	}
	// Many revisions: the dropped prefix is reclaimed and the rest stays right.
	for i := 0; i < 500; i++ {
		creates(t, g, 1)
	}
	if got := oldest(t, g); got != g.Revision()-5 {
		t.Fatalf("after 500 more the feed starts after %d, want %d", got, g.Revision()-5)
	}
	if revs, err := g.Changes(ctx, g.Revision()-5, 0); err != nil || len(revs) != 5 || revs[4].Rev != g.Revision() {
		t.Fatalf("the last five revisions: %v, %v", revs, err)
	}
}

// A call returns at most WatchChangeBudget changes, unless one revision
// alone is larger.
func TestHistoryBudget(t *testing.T) {
	ctx := context.Background()
	g := memory.New()
	half := tuples.WatchChangeBudget/2 + 1
	creates(t, g, half)
	creates(t, g, half)
	creates(t, g, 1)
	for after, want := range map[uint64]int{0: 1, 1: 2} {
		if revs, err := g.Changes(ctx, after, 0); err != nil || len(revs) != want {
			t.Fatalf("Changes(%d) = %d revisions, %v; want %d", after, len(revs), err, want)
		}
	}
	creates(t, g, tuples.WatchChangeBudget+1)
	if revs, err := g.Changes(ctx, 3, 0); err != nil || len(revs) != 1 || len(revs[0].Changes) != tuples.WatchChangeBudget+1 {
		t.Fatalf("an oversized revision: %d revisions, %v", len(revs), err)
	}
}

// Load and Reset replace content without a list of changes: the feed
// starts again after them.
func TestHistoryCut(t *testing.T) {
	ctx := context.Background()
	g := memory.New()
	creates(t, g, 2)
	_, rev, err := g.Load(ctx, all([]tuples.Tuple{{ID: tuples.NewUUID(), Key: tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))}}))
	if err != nil || rev != 2 {
		t.Fatalf("Load = %d, %v", rev, err)
	}
	if _, err := g.Changes(ctx, 1, 0); !errors.Is(err, tuples.ErrRevisionGone) {
		t.Fatalf("Changes from before a Load = %v, want ErrRevisionGone", err)
	}
	if err := g.Reset(ctx, 40, all(nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Changes(ctx, 2, 0); !errors.Is(err, tuples.ErrRevisionGone) {
		t.Fatalf("Changes from before a Reset = %v, want ErrRevisionGone", err)
	}
	// A replica's applied revisions are in the feed.
	a := tuples.Tuple{ID: tuples.NewUUID(), Key: tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc")), CreatedBy: tuples.NewUUID()}
	if ok, err := g.Apply(ctx, 41, []tuples.Change{{Op: tuples.OpCreate, ID: a.ID, Key: a.Key, CreatedBy: a.CreatedBy}}); !ok || err != nil {
		t.Fatalf("Apply = %v, %v", ok, err)
	}
	revs, err := g.Changes(ctx, 40, 0)
	want := tuples.Change{Op: tuples.OpCreate, ID: a.ID, Key: a.Key, CreatedBy: a.CreatedBy}
	if err != nil || len(revs) != 1 || revs[0].Rev != 41 || len(revs[0].Changes) != 1 || revs[0].Changes[0] != want {
		t.Fatalf("Changes(40) after Apply(41) = %+v, %v; want %+v", revs, err, want)
	}
}

// With no history, only the head can be read after.
func TestHistoryOff(t *testing.T) {
	ctx := context.Background()
	g := memory.NewWith(memory.Config{History: -1})
	creates(t, g, 1)
	creates(t, g, 1)
	if _, err := g.Changes(ctx, 1, 0); !errors.Is(err, tuples.ErrRevisionGone) {
		t.Fatalf("Changes(1) with no history = %v, want ErrRevisionGone", err)
	}
	if revs, err := g.Changes(ctx, 2, 0); err != nil || len(revs) != 0 {
		t.Fatalf("Changes(head) with no history = %v, %v", revs, err)
	}
}
