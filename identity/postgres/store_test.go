package postgres_test

import (
	"context"
	"testing"

	"github.com/flametrench/server/identity/identitytest"
	"github.com/flametrench/server/identity/postgres"
	"github.com/flametrench/server/tuples/memory"
	tpg "github.com/flametrench/server/tuples/postgres"
	"github.com/flametrench/server/tuples/postgres/pgtest"
)

// TestStoreSuite runs the identity suite on PostgreSQL through a Follower,
// as serve does: tuple cascades commit with the identity rows and show in
// the local graph.
func TestStoreSuite(t *testing.T) {
	identitytest.Run(t, func(t *testing.T) identitytest.Stores {
		db, _ := pgtest.DB(t, tpg.Config{})
		if _, err := db.Migrate(context.Background(), tpg.Migrations, postgres.Migrations); err != nil {
			t.Fatal(err)
		}
		f := tpg.NewFollower(db, memory.New(), tpg.FollowerConfig{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); f.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return identitytest.Stores{Identity: postgres.New(f), Tuples: f}
	})
}
