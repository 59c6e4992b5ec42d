// Package postgres is the identity module's store on PostgreSQL: the usr,
// cred, ses, verification_ticket and usr_mfa_policy tables of its embedded
// migrations (Migrations), read and written through tuples/postgres's
// transactions so that a cascade into tuples (a revoked user's tuples)
// commits with the identity rows.
//
// Rows read inside Update are locked FOR UPDATE, which is what makes the
// service's read-check-write steps (single-use tickets, state transitions)
// safe under concurrency; a deadlock between two such transactions is
// retried by tuples/postgres. View reads without a transaction.
//
// It imports identity and tuples/postgres; the service's rules stay in
// identity.
package postgres
