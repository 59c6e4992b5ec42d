package check

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
)

// TestAtLeast: a check that carries a revision the graph has not reached
// waits for it, and fails with ErrStale when it does not come in time; a
// revision already reached costs nothing.
func TestAtLeast(t *testing.T) {
	ctx := context.Background()
	g := memory.New()
	eng, err := New(func() Graph { return g.Snapshot() }, g.Intern, Config{Cache: smallCache, Waiter: g, ConsistencyTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	u, d := tuples.Ref{Type: "usr", ID: tuples.NewUUID()}, tuples.Ref{Type: "doc", ID: tuples.NewUUID()}
	req := Request{Subject: u, Relation: "viewer", Object: d}

	req.AtLeast = 1
	if _, err := eng.Check(ctx, req); !errors.Is(err, tuples.ErrStale) || tuples.KindOf(err) != tuples.Unavailable {
		t.Fatalf("Check(AtLeast 1) on revision 0: err = %v, want ErrStale", err)
	}
	if _, _, err := eng.Expand(ctx, "viewer", d, 1); !errors.Is(err, tuples.ErrStale) {
		t.Fatalf("Expand(AtLeast 1) on revision 0: err = %v, want ErrStale", err)
	}

	// The write lands while the check waits (a patient engine, so that a
	// slow machine cannot turn this into a timeout).
	patient, err := New(func() Graph { return g.Snapshot() }, g.Intern, Config{Cache: smallCache, Waiter: g, ConsistencyTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer patient.Close()
	go func() {
		time.Sleep(10 * time.Millisecond)
		g.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: tuples.Key{Subject: u, Relation: "viewer", Object: d}}})
	}()
	res, err := patient.Check(ctx, req)
	if err != nil || !res.Allowed || res.Revision != 1 {
		t.Fatalf("Check(AtLeast 1) with the write arriving = %+v, %v; want allowed at 1", res, err)
	}

	// No waiter: a revision ahead fails at once.
	plain, err := New(func() Graph { return g.Snapshot() }, g.Intern, Config{Cache: smallCache})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	req.AtLeast = 2
	if _, err := plain.Check(ctx, req); !errors.Is(err, tuples.ErrStale) {
		t.Fatalf("Check(AtLeast 2) without a waiter: err = %v, want ErrStale", err)
	}
	req.AtLeast = 1
	if res, err := plain.Check(ctx, req); err != nil || !res.Allowed {
		t.Fatalf("Check(AtLeast 1) at revision 1 = %+v, %v", res, err)
	}
}
