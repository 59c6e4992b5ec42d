package tuplestest

import (
	"errors"
	"sync"
	"testing"

	"github.com/flametrench/server/tuples"
)

// wantPrecondition asserts that err is a failed precondition of change
// index (-1: a batch of one, not wrapped).
func wantPrecondition(t *testing.T, what string, err error, index int) {
	t.Helper()
	wantErr(t, what, err, tuples.ErrPreconditionFailed)
	if tuples.KindOf(err) != tuples.Precondition || tuples.CodeOf(err) != "precondition.failed" {
		t.Fatalf("%s: kind %v code %q, want precondition precondition.failed", what, tuples.KindOf(err), tuples.CodeOf(err))
	}
	var ce *tuples.ChangeError
	switch {
	case index < 0 && errors.As(err, &ce):
		t.Fatalf("%s: err = %v, want no change index for a batch of one", what, err)
	case index >= 0 && (!errors.As(err, &ce) || ce.Index != index):
		t.Fatalf("%s: err = %v, want it to name change %d", what, err, index)
	}
}

// exists reports whether the store holds key k.
func exists(t *testing.T, s tuples.Store, k tuples.Key) bool {
	t.Helper()
	p, err := s.ListByObject(ctx, k.Object, k.Relation, "", tuples.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	for _, tup := range p.Tuples {
		if tup.Key == k {
			return true
		}
	}
	return false
}

func testPreconditions(t *testing.T, s tuples.Store) {
	must := func(k tuples.Key) tuples.Change { return tuples.Change{Op: tuples.OpMustExist, Key: k} }
	mustNot := func(k tuples.Key) tuples.Change { return tuples.Change{Op: tuples.OpMustNotExist, Key: k} }
	d := Ref("doc")
	key := func() tuples.Key { return Key(Ref("usr"), "viewer", d) }
	k1, k2 := key(), key()
	t1 := create(t, s, k1)[0]
	rev := s.Revision()

	// Both hold: the batch applies, and reports the tuple a must-exist found.
	res, err := s.Write(ctx, []tuples.Change{must(k1), mustNot(k2), {Op: tuples.OpCreate, Key: k2}})
	if err != nil || res.Revision != rev+1 || s.Revision() != rev+1 {
		t.Fatalf("holding preconditions: revision %d (store %d), %v; want %d", res.Revision, s.Revision(), err, rev+1)
	}
	if res.Tuples[0] != t1 || res.Tuples[1] != (tuples.Tuple{Key: k2}) || res.Tuples[2].Key != k2 || res.Tuples[2].ID.IsZero() {
		t.Fatalf("holding preconditions: tuples %+v", res.Tuples)
	}
	if !exists(t, s, k2) {
		t.Fatal("holding preconditions: the create did not apply")
	}
	rev++

	// Only preconditions, holding: nothing changes, no revision is used.
	res, err = s.Write(ctx, []tuples.Change{must(k1), must(k2), mustNot(key())})
	if err != nil || res.Revision != rev || s.Revision() != rev {
		t.Fatalf("preconditions alone: revision %d (store %d), %v; want %d", res.Revision, s.Revision(), err, rev)
	}

	// Failing ones: nothing is written, the revision stays.
	k3 := key()
	failing := []struct {
		name  string
		batch []tuples.Change
		index int
	}{
		{"must-exist of a missing key", []tuples.Change{{Op: tuples.OpCreate, Key: k3}, must(key())}, 1},
		{"must-not-exist of a present key", []tuples.Change{{Op: tuples.OpCreate, Key: k3}, mustNot(k1)}, 1},
		{"alone", []tuples.Change{mustNot(k1)}, -1},
		// Evaluated against the state before the batch, not after its changes.
		{"must-exist of a key the batch creates", []tuples.Change{{Op: tuples.OpCreate, Key: k3}, must(k3)}, 1},
		{"must-not-exist of a key the batch deletes", []tuples.Change{{Op: tuples.OpDelete, Key: k1}, mustNot(k1)}, 1},
		// Evaluated before any change: a failing precondition wins over a
		// duplicate create that comes before it.
		{"before a duplicate", []tuples.Change{{Op: tuples.OpCreate, Key: k2}, mustNot(k1)}, 1},
		{"the first of two", []tuples.Change{{Op: tuples.OpCreate, Key: k3}, must(k1), must(key()), mustNot(k2)}, 2},
	}
	for _, tc := range failing {
		_, err := s.Write(ctx, tc.batch)
		wantPrecondition(t, tc.name, err, tc.index)
		if s.Revision() != rev {
			t.Fatalf("%s: revision moved %d → %d", tc.name, rev, s.Revision())
		}
		if exists(t, s, k3) || !exists(t, s, k1) {
			t.Fatalf("%s: the failed batch changed tuples", tc.name)
		}
	}

	// A precondition may name a key the batch changes.
	res, err = s.Write(ctx, []tuples.Change{must(k1), {Op: tuples.OpDelete, Key: k1}, mustNot(k3), {Op: tuples.OpCreate, Key: k3}})
	if err != nil || res.Revision != rev+1 || res.Tuples[0] != t1 || res.Tuples[1] != t1 {
		t.Fatalf("preconditions on changed keys = %+v, %v", res, err)
	}
	if exists(t, s, k1) || !exists(t, s, k3) {
		t.Fatal("preconditions on changed keys: the changes did not apply")
	}
	// ... also when the change is a delete by id.
	t3 := res.Tuples[3]
	if _, err := s.Write(ctx, []tuples.Change{must(k3), {Op: tuples.OpDelete, ID: t3.ID}}); err != nil {
		t.Fatalf("must-exist and delete by id of the same tuple: %v", err)
	}

	// Malformed preconditions are refused before anything is evaluated.
	_, err = s.Write(ctx, []tuples.Change{{Op: tuples.OpMustExist, Key: k2, ID: t1.ID}})
	wantErr(t, "precondition with an id", err, tuples.ErrInvalidBatch)
	_, err = s.Write(ctx, []tuples.Change{{Op: tuples.OpMustNotExist, Key: k2, CreatedBy: tuples.NewUUID()}})
	wantErr(t, "precondition with a creator", err, tuples.ErrInvalidBatch)
	bad := k2
	bad.Relation = "Viewer"
	_, err = s.Write(ctx, []tuples.Change{mustNot(k1), must(bad)})
	wantErr(t, "precondition with a bad key", err, tuples.ErrInvalidRelation)
}

// testPreconditionRace races writers whose preconditions exclude each
// other. Serially only one of each pair can succeed; a store that read its
// preconditions outside the write's serialisation would let both through
// the write-skew pair (neither writes the key the other checks).
func testPreconditionRace(t *testing.T, s tuples.Store) {
	const rounds = 20
	race := func(a, b []tuples.Change) (errA, errB error) {
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); <-start; _, errA = s.Write(ctx, a) }()
		go func() { defer wg.Done(); <-start; _, errB = s.Write(ctx, b) }()
		close(start)
		wg.Wait()
		return errA, errB
	}
	oneWins := func(what string, errA, errB error) {
		t.Helper()
		switch {
		case errA == nil && errB == nil:
			t.Fatalf("%s: both writers succeeded", what)
		case errA != nil && errB != nil:
			t.Fatalf("%s: both failed: %v; %v", what, errA, errB)
		}
		wantPrecondition(t, what+", loser", errors.Join(errA, errB), 0)
	}
	d := Ref("doc")
	for i := 0; i < rounds; i++ {
		x, y := Key(Ref("usr"), "viewer", d), Key(Ref("usr"), "viewer", d)
		// Both create x unless it exists.
		errA, errB := race(
			[]tuples.Change{{Op: tuples.OpMustNotExist, Key: x}, {Op: tuples.OpCreate, Key: x}},
			[]tuples.Change{{Op: tuples.OpMustNotExist, Key: x}, {Op: tuples.OpCreate, Key: x}})
		oneWins("same key", errA, errB)
		// Write skew: each creates what the other requires absent.
		x, y = Key(Ref("usr"), "viewer", d), Key(Ref("usr"), "viewer", d)
		errA, errB = race(
			[]tuples.Change{{Op: tuples.OpMustNotExist, Key: x}, {Op: tuples.OpCreate, Key: y}},
			[]tuples.Change{{Op: tuples.OpMustNotExist, Key: y}, {Op: tuples.OpCreate, Key: x}})
		oneWins("write skew", errA, errB)
		if exists(t, s, x) == exists(t, s, y) {
			t.Fatalf("write skew: x exists %v, y exists %v; want exactly one", exists(t, s, x), exists(t, s, y))
		}
	}
}
