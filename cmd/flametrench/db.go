package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	identitypg "github.com/flametrench/server/identity/postgres"
	tenancypg "github.com/flametrench/server/tenancy/postgres"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/postgres"
)

// databaseFlag registers --database-url, which migrate, import and export
// require.
func databaseFlag(fs *flag.FlagSet) *string {
	return fs.String("database-url", "", "PostgreSQL `URL` (postgres://… or key=value DSN; required)")
}

// openDB connects to the database of a PostgreSQL command and, when
// needSchema is set, checks that it has been migrated. On failure it reports
// the problem and returns a nil DB and the exit status: 2 for a URL that
// does not parse, 3 for a database that cannot be reached or is not
// migrated. No message shows a password: a URL that does not parse is
// echoed with its password masked (by pgx), and connection errors name only
// the host, user and database.
func openDB(ctx context.Context, sio stdio, cmd, url string, needSchema bool) (*postgres.DB, int) {
	if url == "" {
		return nil, usageError(sio.err, cmd, "--database-url URL is required")
	}
	db, err := postgres.Open(ctx, url, postgres.Config{})
	if err != nil {
		if tuples.KindOf(err) == tuples.Invalid {
			return nil, usageError(sio.err, cmd, "%s", message(err))
		}
		fmt.Fprintf(sio.err, "flametrench %s: cannot open the database: %s\n", cmd, strings.TrimPrefix(message(err), "database: "))
		return nil, exitFailed
	}
	if needSchema {
		if err := db.CheckSchema(ctx, postgres.Migrations); err != nil {
			db.Close()
			fmt.Fprintf(sio.err, "flametrench %s: %s\n", cmd, message(err))
			return nil, exitFailed
		}
	}
	return db, exitOK
}

// message is an error's text for a person: a bare tuples.Error's message
// without its code, which a terminal reader has no use for.
func message(err error) string {
	if te, ok := err.(*tuples.Error); ok {
		return te.Msg
	}
	return err.Error()
}

// schema is every module's migrations, in the order they apply: tuples
// first, since the others share its transactions and tables; tenancy after
// identity, whose usr table its memberships reference.
var schema = [][]postgres.Migration{postgres.Migrations, identitypg.Migrations, tenancypg.Migrations}
