package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/postgres"
	"github.com/flametrench/server/tuples/postgres/pgtest"
	"github.com/flametrench/server/tuples/tuplestest"
)

// TestStore holds the SQL store to the suite the memory store passes.
func TestStore(t *testing.T) {
	tuplestest.Run(t, func(t *testing.T) tuples.Store {
		db, _ := pgtest.DB(t, postgres.Config{})
		return db
	})
}

// TestWatch holds the changelog feed to the suite the memory graph's ring
// passes; retention here is Prune.
func TestWatch(t *testing.T) {
	tuplestest.RunWatch(t, func(t *testing.T) (tuples.Store, func()) {
		db, _ := pgtest.DB(t, postgres.Config{})
		return db, func() { prune(t, db) }
	})
}

// prune drops the whole changelog, as a retention that ran out would.
func prune(t *testing.T, db *postgres.DB) {
	t.Helper()
	if _, err := db.Prune(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}

// A bare DB's Wait learns of commits by other processes by reading the
// head, without LISTEN.
func TestWaitOtherHandle(t *testing.T) {
	ctx := context.Background()
	db, url := pgtest.DB(t, postgres.Config{})
	other := open(t, url, postgres.Config{})
	woke := make(chan error, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		woke <- db.Wait(wctx, 1)
	}()
	res, err := other.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))}})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-woke; err != nil || db.Revision() < res.Revision {
		t.Fatalf("Wait(1) across another handle's write = %v, revision %d", err, db.Revision())
	}
	revs, err := db.Changes(ctx, 0, 0)
	if err != nil || len(revs) != 1 || revs[0].Changes[0].ID != res.Tuples[0].ID {
		t.Fatalf("Changes(0) = %+v, %v", revs, err)
	}
}
