package postgres_test

import (
	"testing"

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
