package memory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"

	"github.com/flametrench/server/identity/identitytest"
	"github.com/flametrench/server/identity/memory"
	tuplesmemory "github.com/flametrench/server/tuples/memory"
)

func TestStoreSuite(t *testing.T) {
	identitytest.Run(t, func(t *testing.T) identitytest.Stores {
		g := tuplesmemory.New()
		return identitytest.Stores{Identity: memory.New(g), Tuples: g}
	})
}

// A transaction's tuple writes reach the graph as one batch: one revision,
// all or nothing, netted per key.
func TestTupleWritesAreOneBatch(t *testing.T) {
	ctx := context.Background()
	g := tuplesmemory.New()
	s := memory.New(g)
	key := func(user tuples.UUID, rel string) tuples.Key {
		return tuples.Key{Subject: tuples.Ref{Type: "usr", ID: user}, Relation: rel, Object: tuples.Ref{Type: "doc", ID: user}}
	}
	u, v := tuples.NewUUID(), tuples.NewUUID()
	write := func(tx identity.Tx, changes ...tuples.Change) error {
		_, err := tx.Tuples().Write(ctx, changes)
		return err
	}
	create := func(k tuples.Key) tuples.Change { return tuples.Change{Op: tuples.OpCreate, Key: k} }
	remove := func(k tuples.Key) tuples.Change { return tuples.Change{Op: tuples.OpDelete, Key: k} }

	rev, err := s.Update(ctx, func(tx identity.Tx) error {
		if err := write(tx, create(key(u, "aa"))); err != nil {
			return err
		}
		return write(tx, create(key(u, "bb")), create(key(v, "aa")))
	})
	if err != nil || rev != 1 || g.Revision() != 1 || g.Len() != 3 {
		t.Fatalf("two writes: rev %d, graph at %d with %d tuples, err %v; want one revision, 3 tuples", rev, g.Revision(), g.Len(), err)
	}
	// A failure at commit leaves nothing behind, not even the writes before it.
	_, err = s.Update(ctx, func(tx identity.Tx) error {
		return write(tx, create(key(u, "cc")), remove(key(u, "nope")))
	})
	if err == nil || g.Revision() != 1 || g.Len() != 3 {
		t.Fatalf("a failing batch: err %v, graph at %d with %d tuples; want an error and nothing written", err, g.Revision(), g.Len())
	}
	// Deleted and created again: no change at all.
	rev, err = s.Update(ctx, func(tx identity.Tx) error {
		if err := write(tx, remove(key(u, "aa"))); err != nil {
			return err
		}
		return write(tx, create(key(u, "aa")))
	})
	if err != nil || rev != 0 || g.Revision() != 1 {
		t.Fatalf("delete then create: rev %d, graph at %d, err %v; want no revision", rev, g.Revision(), err)
	}
	// A subject's cascade takes what the transaction created for it too.
	rev, err = s.Update(ctx, func(tx identity.Tx) error {
		if err := write(tx, create(key(u, "dd"))); err != nil {
			return err
		}
		_, err := tx.Tuples().DeleteSubject(ctx, tuples.Ref{Type: "usr", ID: u})
		return err
	})
	if err != nil || rev != 2 || g.Len() != 1 {
		t.Fatalf("cascade: rev %d, %d tuples left, err %v; want revision 2 and only v's tuple", rev, g.Len(), err)
	}
}

// Preconditions in a transaction's tuple writes hold against the
// transaction as it stood before the write that carried them: its own
// earlier writes decide them, else the graph does, at commit, atomically
// with the batch.
func TestTuplePreconditions(t *testing.T) {
	ctx := context.Background()
	g := tuplesmemory.New()
	s := memory.New(g)
	key := func() tuples.Key {
		return tuples.Key{Subject: tuples.Ref{Type: "usr", ID: tuples.NewUUID()}, Relation: "viewer", Object: tuples.Ref{Type: "doc", ID: tuples.NewUUID()}}
	}
	change := func(op tuples.Op, k tuples.Key) tuples.Change { return tuples.Change{Op: op, Key: k} }
	// update runs the writes, each a batch, in one transaction.
	update := func(batches ...[]tuples.Change) (uint64, error) {
		return s.Update(ctx, func(tx identity.Tx) error {
			for _, b := range batches {
				if _, err := tx.Tuples().Write(ctx, b); err != nil {
					return err
				}
			}
			return nil
		})
	}
	has := func(k tuples.Key) bool { _, err := g.Lookup(ctx, k); return err == nil }

	a := key()
	rev, err := update([]tuples.Change{change(tuples.OpMustNotExist, a), change(tuples.OpCreate, a)})
	if err != nil || rev != 1 || !has(a) {
		t.Fatalf("must-not-exist and create: rev %d, err %v, created %v", rev, err, has(a))
	}

	// Decided by the graph at commit: the whole transaction fails.
	b := key()
	_, err = update([]tuples.Change{change(tuples.OpCreate, b)}, []tuples.Change{change(tuples.OpMustNotExist, a)})
	if !errors.Is(err, tuples.ErrPreconditionFailed) || has(b) || g.Revision() != 1 {
		t.Fatalf("failing precondition on the graph: err %v, wrote %v, revision %d", err, has(b), g.Revision())
	}
	_, err = update([]tuples.Change{change(tuples.OpCreate, b), change(tuples.OpMustExist, key())})
	if !errors.Is(err, tuples.ErrPreconditionFailed) || has(b) || g.Revision() != 1 {
		t.Fatalf("failing must-exist on the graph: err %v, wrote %v, revision %d", err, has(b), g.Revision())
	}

	// Decided by the transaction's own earlier writes.
	rev, err = update([]tuples.Change{change(tuples.OpCreate, b)}, []tuples.Change{change(tuples.OpMustExist, b)},
		[]tuples.Change{change(tuples.OpDelete, a)}, []tuples.Change{change(tuples.OpMustNotExist, a)})
	if err != nil || rev != 2 || !has(b) || has(a) {
		t.Fatalf("preconditions on the transaction's writes: rev %d, err %v", rev, err)
	}
	c := key()
	_, err = update([]tuples.Change{change(tuples.OpCreate, c)}, []tuples.Change{change(tuples.OpMustNotExist, c)})
	if !errors.Is(err, tuples.ErrPreconditionFailed) || has(c) || g.Revision() != 2 {
		t.Fatalf("must-not-exist of a key the transaction created: err %v, revision %d", err, g.Revision())
	}

	// Against the state before the write: require and delete in one batch.
	rev, err = update([]tuples.Change{change(tuples.OpMustExist, b), change(tuples.OpDelete, b)})
	if err != nil || rev != 3 || has(b) {
		t.Fatalf("must-exist and delete: rev %d, err %v", rev, err)
	}
	// Preconditions alone change nothing.
	rev, err = update([]tuples.Change{change(tuples.OpMustNotExist, a), change(tuples.OpMustNotExist, b)})
	if err != nil || rev != 0 || g.Revision() != 3 {
		t.Fatalf("preconditions alone: rev %d, err %v, graph at %d", rev, err, g.Revision())
	}
	// A malformed batch fails at Write, as in the SQL store.
	_, err = update([]tuples.Change{change(tuples.OpCreate, c), change(tuples.OpTouch, c)})
	if !errors.Is(err, tuples.ErrInvalidBatch) {
		t.Fatalf("a key twice: err %v, want ErrInvalidBatch", err)
	}
}
