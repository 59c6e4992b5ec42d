package postgres

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/flametrench/server/tuples"
)

// Errors of this package. Everything it returns is a *tuples.Error, a context
// error, or one of these: no pgx error escapes (STYLE §4).
var (
	// ErrUnavailable: the database cannot be reached, or refused the work
	// because it is shutting down or out of connections (503: try again).
	ErrUnavailable = &tuples.Error{Kind: tuples.Unavailable, Code: "unavailable.database", Msg: "the database is unreachable"}
	// ErrCommitUnknown: the connection broke while a commit was in flight, so
	// whether the transaction committed is unknown.
	ErrCommitUnknown = &tuples.Error{Kind: tuples.Unavailable, Code: "unavailable.commit_unknown", Msg: "the database connection broke during commit; the write may or may not have been applied"}
	// ErrSchema: the database schema is not the one this binary needs.
	ErrSchema   = &tuples.Error{Kind: tuples.Unavailable, Code: "unavailable.schema", Msg: "database schema out of date"}
	errInternal = &tuples.Error{Kind: tuples.Internal, Code: "internal_error", Msg: "database error"}
)

// SQLSTATE codes this package reacts to.
const (
	sqlUniqueViolation     = "23505"
	sqlCheckViolation      = "23514"
	sqlSerializationFailed = "40001"
	sqlDeadlock            = "40P01"
	sqlUndefinedTable      = "42P01"
)

// translate maps a driver error onto the taxonomy at this package's boundary;
// other errors pass through.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var te *tuples.Error
	if errors.As(err, &te) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == sqlUniqueViolation:
			return &tuples.Error{Kind: tuples.Conflict, Code: "conflict", Msg: pe.Message}
		case pe.Code == sqlCheckViolation:
			return &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format", Msg: pe.Message}
		case pe.Code == sqlUndefinedTable:
			return ErrSchema.With("%s: run 'flametrench migrate'", pe.Message)
		case pe.Code[:2] == "08", pe.Code[:2] == "53", pe.Code[:2] == "57":
			// connection exceptions, insufficient resources, operator intervention
			return ErrUnavailable.With("database: %s", pe.Message)
		}
		return errInternal.With("database: %s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	if isConnError(err) {
		return ErrUnavailable.With("database: %v", err)
	}
	if errors.Is(err, pgx.ErrNoRows) || errors.Is(err, pgx.ErrTxClosed) || errors.Is(err, pgx.ErrTxCommitRollback) {
		return errInternal.With("database: %v", err)
	}
	// Not the driver's: an error of the caller's own, returned from an
	// Update function, which the caller will want back unchanged.
	return err
}

// isConnError reports an error of reaching or talking to the server, as
// opposed to one the server reported.
func isConnError(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error // *net.OpError among them
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		pgconn.SafeToRetry(err) || errors.Is(err, net.ErrClosed) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// retryable reports a transaction the database aborted to keep transactions
// serialisable, which is safe and right to run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == sqlSerializationFailed || pe.Code == sqlDeadlock)
}
