package main

import (
	"context"
	"fmt"
)

const migrateDescription = `
Applies the schema migrations this binary embeds that the database lacks, in
one transaction: all of them or none. Prints one line per migration applied,
or "schema is up to date". Processes that migrate one schema at once take
turns (an advisory lock), so running migrate from several at start-up is safe.

Exit 0 on success, 2 on bad usage (a missing or unparsable URL), 3 if the
database cannot be reached or a migration fails.
`

func runMigrate(ctx context.Context, sio stdio, args []string) int {
	fs := newFlagSet("migrate", "--database-url URL", migrateDescription, sio.err)
	dbURL := databaseFlag(fs)
	cl, err := parseArgs(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	if len(cl.args) > 0 {
		return usageError(sio.err, "migrate", "takes no arguments, got %q", cl.args[0])
	}
	db, code := openDB(ctx, sio, "migrate", *dbURL, false)
	if db == nil {
		return code
	}
	defer db.Close()
	applied, err := db.Migrate(ctx, schema...)
	if err != nil {
		fmt.Fprintf(sio.err, "flametrench migrate: %s\n", message(err))
		return exitFailed
	}
	if len(applied) == 0 {
		fmt.Fprintln(sio.out, "schema is up to date")
	}
	for _, m := range applied {
		fmt.Fprintf(sio.out, "applied %s\n", m)
	}
	return exitOK
}
