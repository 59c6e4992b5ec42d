// Package postgres stores Flametrench in PostgreSQL: the schema and its
// migrations, the transaction entry point every module writes through, the
// tuple store over SQL, and the Follower that keeps an in-memory graph a
// replica of the database's tuples.
//
// It imports tuples, pgx and Prometheus; never tuples/memory (the graph is
// reached through the Mirror interface, which *memory.Graph implements).
// No pgx error escapes: errors are *tuples.Error values (ErrUnavailable,
// ErrSchema, ...), context errors, or a caller's own errors passed through.
//
// # Transactions
//
// Every write goes through one entry point:
//
//	rev, err := db.Update(ctx, func(tx *postgres.Tx) error {
//		if _, err := tx.Exec(ctx, `INSERT INTO mem ...`, ...); err != nil {
//			return err
//		}
//		_, err := tx.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: membershipTuple}})
//		return err
//	})
//
// fn runs in one transaction that commits if fn returns nil and rolls back
// otherwise, so a membership row and its tuple commit together (SPEC-MAP X-5;
// tenancy and authorization share the tup table). fn may run more than once
// (serialisation failures and deadlocks are retried), so it must not act
// outside the transaction. To compose operations, one calls another inside
// tx.Savepoint(ctx, "acceptInvitation", fn): SAVEPOINT ft_<method>_<8 hex>,
// and on error ROLLBACK TO and RELEASE, leaving the outer transaction usable
// (ADR 0013). Tx.Write runs in such a savepoint itself, and inserts with
// ON CONFLICT DO NOTHING, so a duplicate is an error value, never a poisoned
// transaction. Follower.Update is the same entry point that also makes the
// transaction's tuple changes visible in the local graph before it returns.
//
// # Revisions and the changelog
//
// A transaction that changed tuples ends by taking the next revision from
// the one-row table tup_revision (UPDATE ... SET rev = rev + 1) and
// appending its changes to tup_changelog under that revision, then commits.
// The row lock is held from that statement to COMMIT, so revisions commit in
// order: a reader that sees revision N sees every revision before it. (A
// sequence value taken inside a transaction would not: revision 6 could
// commit while 5 is still open, and a reader that had read "up to 6" would
// never look at 5 again. TestRevisionsCommitInOrder shows both.) Revisions
// are dense, one changelog row each, so a replica can tell a gap (pruned
// rows) from the end, and reloads on a gap instead of skipping.
//
// A batch with preconditions (tuples.OpMustExist, OpMustNotExist) takes that
// same row lock before it reads them, and holds it to COMMIT: no other write
// can commit between the reads and this one, and a write that has changed
// rows but not yet committed stamps after this one, so the preconditions
// hold at this batch's place in revision order. Preconditions are never
// logged: the changelog holds only what a revision changed.
//
// # Replicas
//
// A Follower hydrates its graph from one REPEATABLE READ snapshot, streamed,
// then tails the changelog: LISTEN/NOTIFY wakes it early where the database
// has it, and it polls in any case (CockroachDB has no NOTIFY). Revisions are
// the database's, so a consistency token (tuples.Token) means the same in
// every replica; the database's epoch, drawn at migration, rejects tokens of
// another database. The Follower retries a lost database with backoff,
// serving checks from the graph meanwhile (Ready reports false), and prunes
// changelog rows older than its retention.
//
// The changelog is also the change feed (tuples.Watcher, for Connect's
// Watch): DB.Changes and Follower.Changes read the revisions after a given
// one from it, in one statement with the head, so a pruned revision is told
// from the end (tuples.ErrRevisionGone). A Follower's Wait wakes when its
// graph reaches a revision; a bare DB's when this handle commits one, or
// when it next reads the head (every 100 ms while someone waits).
//
// Schema: migrations/*.sql, embedded, forward-only, applied in one
// transaction under an advisory lock, so concurrent migrators take turns.
package postgres
