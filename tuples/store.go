package tuples

import (
	"context"
	"fmt"
)

// Op is the kind of one change in a write batch.
type Op uint8

const (
	// OpCreate inserts a tuple; the batch fails with ErrDuplicateTuple if its key exists.
	OpCreate Op = iota + 1
	// OpTouch inserts a tuple unless its key exists, in which case it is a no-op.
	OpTouch
	// OpDelete removes a tuple, by ID when ID is not zero, else by Key; the batch
	// fails with ErrTupleNotFound if there is no such tuple.
	OpDelete
	// OpMustExist is a precondition: it changes nothing, and the batch fails
	// with ErrPreconditionFailed unless a tuple with Key exists.
	OpMustExist
	// OpMustNotExist is a precondition: it changes nothing, and the batch
	// fails with ErrPreconditionFailed if a tuple with Key exists.
	OpMustNotExist
)

// IsPrecondition reports whether op is OpMustExist or OpMustNotExist.
func (op Op) IsPrecondition() bool { return op == OpMustExist || op == OpMustNotExist }

// Change is one operation of a write batch.
type Change struct {
	Op        Op
	Key       Key  // the tuple for create, touch and preconditions; for delete when ID is zero
	ID        UUID // delete by id; for create, a caller-assigned id (zero: generated)
	CreatedBy UUID // optional, for create and touch
}

// ValidateBatch checks what can be checked of a batch without its store:
// operations, key formats, that no key or id is changed twice, and that
// preconditions name only a key. A precondition's key may also be changed
// by the batch, and named by other preconditions. Errors are wrapped in a
// ChangeError when the batch has several changes.
func ValidateBatch(changes []Change) error {
	keys := make(map[Key]struct{}, len(changes))
	var ids map[UUID]struct{}
	for i, c := range changes {
		switch {
		case c.Op.IsPrecondition():
			if !c.ID.IsZero() || !c.CreatedBy.IsZero() {
				return changeErr(changes, i, ErrInvalidBatch.With("a precondition names a key only, not an id or a creator"))
			}
			if err := c.Key.Validate(); err != nil {
				return changeErr(changes, i, err)
			}
			continue
		case c.Op != OpCreate && c.Op != OpTouch && c.Op != OpDelete:
			return changeErr(changes, i, ErrInvalidBatch.With("unknown operation %d", c.Op))
		case c.Op == OpDelete && !c.ID.IsZero():
			if _, dup := ids[c.ID]; dup {
				return changeErr(changes, i, ErrInvalidBatch.With("tuple %s appears more than once in one batch", FormatID("tup", c.ID)))
			}
			if ids == nil {
				ids = map[UUID]struct{}{}
			}
			ids[c.ID] = struct{}{}
			continue
		}
		if err := c.Key.Validate(); err != nil {
			return changeErr(changes, i, err)
		}
		if _, dup := keys[c.Key]; dup {
			return changeErr(changes, i, ErrInvalidBatch.With("tuple %s appears more than once in one batch", c.Key))
		}
		keys[c.Key] = struct{}{}
	}
	return nil
}

// HasPreconditions reports whether a batch holds a precondition.
func HasPreconditions(changes []Change) bool {
	for _, c := range changes {
		if c.Op.IsPrecondition() {
			return true
		}
	}
	return false
}

// CheckPrecondition evaluates precondition c against whether its key
// exists (found is the tuple if it does). It returns the precondition's
// result tuple: the one found for OpMustExist, the bare key for
// OpMustNotExist.
func CheckPrecondition(c Change, found Tuple, exists bool) (Tuple, error) {
	switch {
	case c.Op == OpMustExist && !exists:
		return Tuple{}, ErrPreconditionFailed.With("tuple %s must exist and does not", c.Key)
	case c.Op == OpMustNotExist && exists:
		return Tuple{}, ErrPreconditionFailed.With("tuple %s must not exist and does, as %s", c.Key, FormatID("tup", found.ID))
	case exists:
		return found, nil
	}
	return Tuple{Key: c.Key}, nil
}

// changeErr adds the change's position to err when the batch has several.
func changeErr(changes []Change, i int, err error) error {
	if len(changes) > 1 {
		return &ChangeError{Index: i, Err: err}
	}
	return err
}

// ChangeError says which change of a batch of several failed (Index counts
// from 0). It wraps the change's own error, so errors.Is and KindOf see
// through it.
type ChangeError struct {
	Index int
	Err   error
}

func (e *ChangeError) Error() string { return fmt.Sprintf("change %d: %v", e.Index, e.Err) }
func (e *ChangeError) Unwrap() error { return e.Err }

// WriteResult reports a committed batch: the revision it produced and, in the
// order of the changes, the tuple each change created, found (touch or
// OpMustExist) or deleted; an OpMustNotExist gives a tuple with only its key.
type WriteResult struct {
	Revision uint64
	Tuples   []Tuple
}

// Page is one page of a listing. Next is the opaque cursor of the following page,
// or "" on the last page.
type Page struct {
	Tuples []Tuple
	Next   string
}

// PageOf is one page of a listing of entities other than tuples (users,
// memberships, …); Next is the wire id of its last item, or "" on the last
// page.
type PageOf[T any] struct {
	Items []T
	Next  string
}

// CutPage turns the up to limit+1 items a store returned into a page: a
// (limit+1)th item means there is a next page, which starts after the
// limit-th, whose id (of type typ) is the cursor.
func CutPage[T any](typ string, items []T, limit int, id func(T) UUID) PageOf[T] {
	if len(items) <= limit {
		return PageOf[T]{Items: items}
	}
	items = items[:limit]
	return PageOf[T]{Items: items, Next: FormatID(typ, id(items[limit-1]))}
}

// Default and maximum page sizes (SPEC-MAP X-2).
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Reader answers queries about stored tuples.
type Reader interface {
	// Get returns the tuple with the given id, or ErrTupleNotFound.
	Get(ctx context.Context, id UUID) (Tuple, error)
	// ListBySubject pages through the subject's tuples in ascending tuple-id
	// (UUIDv7) order. cursor is "" or a Page.Next value; limit 0 means
	// DefaultLimit, and limits outside 1..MaxLimit give ErrInvalidLimit.
	ListBySubject(ctx context.Context, subject Ref, cursor string, limit int) (Page, error)
	// ListByObject pages through the object's tuples, optionally only those with
	// relation (when not ""), in ascending tuple-id order.
	ListByObject(ctx context.Context, object Ref, relation string, cursor string, limit int) (Page, error)
}

// Writer changes stored tuples. Every call is atomic: all of it commits or none.
type Writer interface {
	// Write applies a batch atomically. A key may be changed at most once per
	// batch (ErrInvalidBatch otherwise; see ValidateBatch). The batch fails as
	// a whole on the first ErrDuplicateTuple (create of an existing key) or
	// ErrTupleNotFound (delete of a missing tuple), and nothing is written.
	//
	// Preconditions (OpMustExist, OpMustNotExist) are evaluated against the
	// state before the batch, as SpiceDB's are, whatever their place in it:
	// a batch may require a key to exist and delete it, or require it absent
	// and create it. They are evaluated before any change, atomically with
	// the write (no concurrent write can come between them and the commit),
	// and the first that fails (in batch order) fails the batch with
	// ErrPreconditionFailed: nothing is written and no revision is used. A
	// batch that changes nothing (only preconditions, or touches of existing
	// keys) reports the current revision without making a new one.
	Write(ctx context.Context, changes []Change) (WriteResult, error)
	// DeleteSubject deletes every tuple whose subject is subject
	// (cascadeRevokeSubject) and returns how many it deleted.
	DeleteSubject(ctx context.Context, subject Ref) (n int, rev uint64, err error)
}

// Store is a tuple store.
type Store interface {
	Reader
	Writer
	// Revision returns the revision of the latest committed write.
	Revision() uint64
}

// CheckLimit applies the page-size rule: 0 means DefaultLimit.
func CheckLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultLimit, nil
	case limit < 1 || limit > MaxLimit:
		return 0, ErrInvalidLimit.With("limit %d is outside 1..%d", limit, MaxLimit)
	}
	return limit, nil
}

// PageArgs checks a tuple listing's cursor and limit: the page size (0
// means DefaultLimit) and the id the page starts after (zero: the
// beginning).
func PageArgs(cursor string, limit int) (int, UUID, error) { return PageArgsOf("tup", cursor, limit) }

// PageArgsOf is PageArgs for a listing of entities with the id prefix typ,
// whose cursor is the wire id of the last item of the previous page (A43).
func PageArgsOf(typ, cursor string, limit int) (int, UUID, error) {
	limit, err := CheckLimit(limit)
	if err != nil {
		return 0, UUID{}, err
	}
	after, err := decodeCursor(typ, cursor)
	return limit, after, err
}

// EncodeCursor turns the last tuple id of a page into an opaque cursor.
func EncodeCursor(last UUID) string { return FormatID("tup", last) }

// DecodeCursor parses a tuple listing's cursor; "" decodes to the zero
// UUID (start of the listing).
func DecodeCursor(c string) (UUID, error) { return decodeCursor("tup", c) }

func decodeCursor(typ, c string) (UUID, error) {
	if c == "" {
		return UUID{}, nil
	}
	u, err := DecodeIDOf(typ, c)
	if err != nil {
		return UUID{}, ErrInvalidCursor.With("cursor %q is not a cursor this server issued", truncate(c))
	}
	return u, nil
}
