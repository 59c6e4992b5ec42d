package postgres_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
	"github.com/flametrench/server/tuples/postgres"
	"github.com/flametrench/server/tuples/postgres/pgtest"
	"github.com/flametrench/server/tuples/tuplestest"
)

// has reports whether the database holds a tuple with key, read through a
// separate handle so that only committed state counts.
func has(t *testing.T, db *postgres.DB, k tuples.Key) bool {
	t.Helper()
	p, err := db.ListBySubject(ctx, k.Subject, "", tuples.MaxLimit)
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

// TestTransactionNesting covers the contract of ADR 0013 (the promised
// shared/transaction-nesting fixture): work inside an outer transaction does
// not commit on its own; a failing inner step rolls back only its own writes
// and leaves the outer transaction usable; rolling back the outer transaction
// undoes every inner step. The changelog follows the same rules, so a replica
// ends up equal to the database.
func TestTransactionNesting(t *testing.T) {
	db, url := pgtest.DB(t, postgres.Config{})
	other := open(t, url, postgres.Config{})
	key := func() tuples.Key { return tuplestest.Key(tuplestest.Ref("usr"), "member", tuplestest.Ref("org")) }
	a, b, c, dup := key(), key(), key(), key()
	if _, err := db.Write(ctx, create(dup)); err != nil {
		t.Fatal(err)
	}

	errInner := errors.New("inner step failed")
	rev, err := db.Update(ctx, func(tx *postgres.Tx) error {
		if _, err := tx.Write(ctx, create(a)); err != nil {
			return err
		}
		if has(t, other, a) {
			t.Error("a write inside the transaction is visible before commit")
		}
		// An inner operation that writes, then fails: rolled back alone.
		err := tx.Savepoint(ctx, "createOrg", func() error {
			if _, err := tx.Write(ctx, create(b)); err != nil {
				return err
			}
			return errInner
		})
		if !errors.Is(err, errInner) {
			t.Errorf("Savepoint returned %v, want the inner error unchanged", err)
		}
		// A duplicate inside the transaction is an error, not a poisoned transaction.
		if _, err := tx.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: c}, {Op: tuples.OpCreate, Key: dup}}); !errors.Is(err, tuples.ErrDuplicateTuple) {
			t.Errorf("duplicate in a batch: %v", err)
		}
		// The transaction is still usable.
		_, err = tx.Write(ctx, []tuples.Change{{Op: tuples.OpTouch, Key: dup}})
		return err
	})
	if err != nil || rev == 0 {
		t.Fatalf("Update = %d, %v", rev, err)
	}
	if !has(t, other, a) || has(t, other, b) || has(t, other, c) {
		t.Fatalf("after commit: a %v (want true), b %v, c %v (want false)", has(t, other, a), has(t, other, b), has(t, other, c))
	}

	// Rolling back the outer transaction undoes inner steps that succeeded.
	d := key()
	errOuter := errors.New("outer failed")
	_, err = db.Update(ctx, func(tx *postgres.Tx) error {
		if err := tx.Savepoint(ctx, "acceptInvitation", func() error {
			_, err := tx.Write(ctx, create(d))
			return err
		}); err != nil {
			return err
		}
		return errOuter
	})
	if !errors.Is(err, errOuter) || has(t, other, d) {
		t.Fatalf("outer rollback: err %v, d present %v", err, has(t, other, d))
	}

	// The changelog recorded exactly the committed changes.
	g := memory.New()
	f := postgres.NewFollower(db, g, postgres.FollowerConfig{Logger: quiet})
	for i := 0; i < 3; i++ {
		if err := f.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if g.Len() != 2 {
		t.Fatalf("replica holds %d tuples, want 2 (dup and a)", g.Len())
	}

	if err := (&postgres.Tx{}).Savepoint(ctx, "bad name;", func() error { return nil }); err == nil {
		t.Fatal("Savepoint accepted a method name that is not an identifier")
	}
}

// TestMigrateConcurrently: two processes migrating one fresh database at once
// both succeed, and the migrations are applied exactly once.
func TestMigrateConcurrently(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	applied := make([]int, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := postgres.Open(ctx, url, postgres.Config{})
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			ms, err := db.Migrate(ctx, postgres.Migrations)
			applied[i], errs[i] = len(ms), err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if applied[0]+applied[1] != len(postgres.Migrations) {
		t.Fatalf("applied %v migrations, want %d in all", applied, len(postgres.Migrations))
	}
	db := open(t, url, postgres.Config{})
	if err := db.CheckSchema(ctx, postgres.Migrations); err != nil {
		t.Fatal(err)
	}
	if ms, err := db.Migrate(ctx, postgres.Migrations); err != nil || len(ms) != 0 {
		t.Fatalf("Migrate again = %v, %v; want nothing to do", ms, err)
	}
}

// TestCheckSchema: a database that was never migrated is refused with a
// message that says what to run.
func TestCheckSchema(t *testing.T) {
	db := open(t, pgtest.URL(t), postgres.Config{})
	err := db.CheckSchema(ctx, postgres.Migrations)
	if !errors.Is(err, postgres.ErrSchema) {
		t.Fatalf("CheckSchema on an empty schema = %v, want ErrSchema", err)
	}
	if _, err := db.Write(ctx, create(tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc")))); tuples.KindOf(err) != tuples.Unavailable {
		t.Fatalf("Write on an unmigrated database = %v, want a 503-class schema error", err)
	}
}

// TestOpenUnreachable: a server that is not there is ErrUnavailable.
func TestOpenUnreachable(t *testing.T) {
	_, err := postgres.Open(ctx, "postgres://nobody@127.0.0.1:1/x?connect_timeout=2", postgres.Config{})
	if !errors.Is(err, postgres.ErrUnavailable) {
		t.Fatalf("Open(unreachable) = %v, want ErrUnavailable", err)
	}
	if _, err := postgres.Open(ctx, "postgres://%zz", postgres.Config{}); tuples.KindOf(err) != tuples.Invalid {
		t.Fatalf("Open(bad URL) = %v, want Invalid", err)
	}
}

// A transaction's cascade refuses a subject type with a NUL as a format
// error, before PostgreSQL sees it (its text cannot hold one: a 500).
func TestTxDeleteSubjectRefusesNUL(t *testing.T) {
	db, _ := pgtest.DB(t, postgres.Config{})
	_, err := db.Update(ctx, func(tx *postgres.Tx) error {
		_, err := tx.DeleteSubject(ctx, tuples.Ref{Type: "us\x00r", ID: tuples.NewUUID()})
		return err
	})
	if !errors.Is(err, tuples.ErrInvalidSubjType) {
		t.Fatalf("DeleteSubject(NUL type) = %v, want %v", err, tuples.ErrInvalidSubjType)
	}
}

// TestViewIsReadOnly: a View reads committed rows, and refuses tuple writes
// and savepoints, whose statements would otherwise autocommit.
func TestViewIsReadOnly(t *testing.T) {
	db, _ := pgtest.DB(t, postgres.Config{})
	k := tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))
	if _, err := db.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: k}}); err != nil {
		t.Fatal(err)
	}
	err := db.View(ctx, func(tx *postgres.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM tup`).Scan(&n); err != nil || n != 1 {
			t.Errorf("count in view = %d, %v; want 1", n, err)
		}
		k2 := tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))
		if _, err := tx.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: k2}}); tuples.KindOf(err) != tuples.Internal || err == nil {
			t.Errorf("Write in a view = %v, want a refusal", err)
		}
		if _, err := tx.DeleteSubject(ctx, k.Subject); err == nil {
			t.Error("DeleteSubject in a view succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !has(t, db, k) {
		t.Fatal("the view's refused delete removed the tuple")
	}
}
