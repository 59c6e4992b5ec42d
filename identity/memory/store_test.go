package memory_test

import (
	"context"
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
