package memory_test

import (
	"context"
	"errors"
	"iter"
	"testing"
	"time"

	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
	"github.com/flametrench/server/tuples/tuplestest"
)

func TestApply(t *testing.T) {
	ctx := context.Background()
	g := memory.New()
	a := tuples.Tuple{ID: tuples.NewUUID(), Key: tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))}
	b := tuples.Tuple{ID: tuples.NewUUID(), Key: tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))}
	createA := []tuples.Change{{Op: tuples.OpCreate, ID: a.ID, Key: a.Key}}

	if ok, err := g.Apply(ctx, 5, createA); ok || !errors.Is(err, memory.ErrRevisionGap) || g.Revision() != 0 {
		t.Fatalf("Apply(5) on revision 0 = %v, %v (revision %d); want a gap and no change", ok, err, g.Revision())
	}
	if ok, err := g.Apply(ctx, 1, createA); !ok || err != nil || g.Revision() != 1 {
		t.Fatalf("Apply(1) = %v, %v (revision %d)", ok, err, g.Revision())
	}
	if got, err := g.Get(ctx, a.ID); err != nil || got != a {
		t.Fatalf("Get(a) = %+v, %v; want %+v (the id is kept)", got, err, a)
	}
	if ok, err := g.Apply(ctx, 1, createA); ok || err != nil || g.Len() != 1 {
		t.Fatalf("Apply(1) again = %v, %v, %d tuples; want an ignored repeat", ok, err, g.Len())
	}
	// A revision that disagrees with the graph is an error and changes nothing.
	if ok, err := g.Apply(ctx, 2, []tuples.Change{{Op: tuples.OpCreate, ID: b.ID, Key: b.Key}, {Op: tuples.OpDelete, ID: b.ID}, {Op: tuples.OpCreate, ID: a.ID, Key: a.Key}}); ok || err == nil || g.Revision() != 1 {
		t.Fatalf("Apply(conflicting) = %v, %v (revision %d)", ok, err, g.Revision())
	}
	if ok, err := g.Apply(ctx, 2, []tuples.Change{{Op: tuples.OpDelete, ID: a.ID, Key: a.Key}, {Op: tuples.OpCreate, ID: b.ID, Key: b.Key}}); !ok || err != nil {
		t.Fatalf("Apply(2) = %v, %v", ok, err)
	}
	if _, err := g.Get(ctx, a.ID); !errors.Is(err, tuples.ErrTupleNotFound) || g.Len() != 1 || g.Revision() != 2 {
		t.Fatalf("after Apply(2): Get(a) err %v, %d tuples, revision %d", err, g.Len(), g.Revision())
	}
}

func TestReset(t *testing.T) {
	ctx := context.Background()
	g := memory.New()
	old := tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))
	if _, err := g.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: old}}); err != nil {
		t.Fatal(err)
	}
	before := g.Snapshot()
	fresh := []tuples.Tuple{
		{ID: tuples.NewUUID(), Key: tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))},
		{ID: tuples.NewUUID(), Key: tuplestest.Key(tuplestest.Ref("usr"), "owner", tuplestest.Ref("org")), CreatedBy: tuples.NewUUID()},
	}
	if err := g.Reset(ctx, 40, all(fresh)); err != nil {
		t.Fatal(err)
	}
	if g.Revision() != 40 || g.Len() != 2 {
		t.Fatalf("after Reset: revision %d, %d tuples; want 40, 2", g.Revision(), g.Len())
	}
	if _, ok := g.Snapshot().Lookup(old); ok {
		t.Fatal("Reset kept a tuple its source does not have")
	}
	if _, ok := before.Lookup(old); !ok {
		t.Fatal("Reset changed a snapshot a reader held")
	}
	for _, tup := range fresh {
		if got, err := g.Get(ctx, tup.ID); err != nil || got != tup {
			t.Fatalf("Get = %+v, %v; want %+v", got, err, tup)
		}
	}
	if err := g.Reset(ctx, 39, all(fresh)); err == nil {
		t.Fatal("Reset moved the revision backwards")
	}
	if err := g.Reset(ctx, 41, all(nil)); err != nil || g.Len() != 0 || g.Revision() != 41 {
		t.Fatalf("Reset(empty) = %v: %d tuples at %d", err, g.Len(), g.Revision())
	}
}

func TestWait(t *testing.T) {
	ctx := context.Background()
	g := memory.New()
	if err := g.Wait(ctx, 0); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := g.Wait(short, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait(1) with no writes = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Wait(ctx, 3) }()
	for i := 0; i < 3; i++ {
		time.Sleep(2 * time.Millisecond)
		if _, err := g.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))}}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if err != nil || g.Revision() < 3 {
			t.Fatalf("Wait(3) = %v at revision %d", err, g.Revision())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait(3) did not return after revision 3")
	}
}

// all yields ts without errors.
func all(ts []tuples.Tuple) iter.Seq2[tuples.Tuple, error] {
	return func(yield func(tuples.Tuple, error) bool) {
		for _, t := range ts {
			if !yield(t, nil) {
				return
			}
		}
	}
}
