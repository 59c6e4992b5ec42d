package tuples

import (
	"errors"
	"fmt"
)

// Kind classifies an error for transport mapping. The server holds the one table
// that turns a Kind into an HTTP status and a Connect code (STYLE §4).
type Kind uint8

const (
	Internal        Kind = iota // anything unrecognised: 500
	Invalid                     // malformed input: 400
	NotFound                    // 404
	Conflict                    // duplicates: 409
	Precondition                // state machine refusals: 409
	Unauthenticated             // 401
	Forbidden                   // 403
	LimitExceeded               // evaluation limits: 400
	Unavailable                 // 503
	RateLimited                 // 429
	TooLarge                    // request body over the limit: 413
)

var kindNames = [...]string{
	Internal: "internal", Invalid: "invalid", NotFound: "not_found", Conflict: "conflict",
	Precondition: "precondition", Unauthenticated: "unauthenticated", Forbidden: "forbidden",
	LimitExceeded: "limit_exceeded", Unavailable: "unavailable", RateLimited: "rate_limited",
	TooLarge: "too_large",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Error is the one error type that crosses package boundaries. Code is the spec's
// stable, dot-namespaced code ("conflict.duplicate_tuple"); Msg is human text.
// Errors compare equal under errors.Is when their Kind and Code match, so a
// sentinel matches any error built from it with a different message.
type Error struct {
	Kind Kind
	Code string
	Msg  string
}

func (e *Error) Error() string { return e.Code + ": " + e.Msg }

// Is reports whether target is an *Error with the same Kind and Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Code == e.Code
}

// With returns a copy of e with a more specific message.
func (e *Error) With(format string, args ...any) *Error {
	return &Error{Kind: e.Kind, Code: e.Code, Msg: fmt.Sprintf(format, args...)}
}

// Errorf builds an *Error directly.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// KindOf returns the Kind of err's first *Error in its chain, or Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// CodeOf returns the code of err's first *Error in its chain, or "internal_error".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "internal_error"
}

// Sentinels of this package. The spec error name each one stands for is in its comment.
var (
	ErrInvalidID        = &Error{Kind: Invalid, Code: "invalid_format.id", Msg: "invalid identifier"}            // InvalidIdError
	ErrInvalidType      = &Error{Kind: Invalid, Code: "invalid_format.id_type", Msg: "unregistered type prefix"} // InvalidTypeError
	ErrInvalidRelation  = &Error{Kind: Invalid, Code: "invalid_format.relation", Msg: "relation must match ^[a-z_]{2,32}$"}
	ErrInvalidObjType   = &Error{Kind: Invalid, Code: "invalid_format.object_type", Msg: "object_type must match ^[a-z]{2,6}$"}
	ErrInvalidSubjType  = &Error{Kind: Invalid, Code: "invalid_format.subject_type", Msg: "subject_type must match ^[a-z]{2,6}$"}
	ErrInvalidSubjectID = &Error{Kind: Invalid, Code: "invalid_format.subject_id", Msg: "invalid subject_id"}
	ErrInvalidObjectID  = &Error{Kind: Invalid, Code: "invalid_format.object_id", Msg: "invalid object_id"}
	ErrEmptyRelations   = &Error{Kind: Invalid, Code: "invalid_format.relations", Msg: "relation set must not be empty"} // EmptyRelationSetError
	ErrInvalidCursor    = &Error{Kind: Invalid, Code: "invalid_format.cursor", Msg: "invalid cursor"}
	ErrInvalidLimit     = &Error{Kind: Invalid, Code: "invalid_format.limit", Msg: "limit must be between 1 and 200"}
	ErrInvalidBatch     = &Error{Kind: Invalid, Code: "invalid_format.batch", Msg: "invalid write batch"}
	ErrDuplicateTuple   = &Error{Kind: Conflict, Code: "conflict.duplicate_tuple", Msg: "tuple already exists"} // DuplicateTupleError
	ErrTupleNotFound    = &Error{Kind: NotFound, Code: "not_found", Msg: "tuple not found"}
	ErrGraphFull        = &Error{Kind: LimitExceeded, Code: "limit_exceeded.graph", Msg: "graph capacity exhausted"}
	// ErrPreconditionFailed is a write batch's OpMustExist or OpMustNotExist
	// that did not hold; the batch wrote nothing.
	ErrPreconditionFailed = &Error{Kind: Precondition, Code: "precondition.failed", Msg: "write precondition failed"}
)
