package tuples_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/flametrench/server/tuples"
)

// sentinels lists every exported sentinel with the Kind and code the wire
// contract depends on. A new sentinel belongs here.
var sentinels = []struct {
	name string
	err  *tuples.Error
	kind tuples.Kind
	code string
}{
	{"ErrInvalidID", tuples.ErrInvalidID, tuples.Invalid, "invalid_format.id"},
	{"ErrInvalidType", tuples.ErrInvalidType, tuples.Invalid, "invalid_format.id_type"},
	{"ErrInvalidRelation", tuples.ErrInvalidRelation, tuples.Invalid, "invalid_format.relation"},
	{"ErrInvalidObjType", tuples.ErrInvalidObjType, tuples.Invalid, "invalid_format.object_type"},
	{"ErrInvalidSubjType", tuples.ErrInvalidSubjType, tuples.Invalid, "invalid_format.subject_type"},
	{"ErrInvalidSubjectID", tuples.ErrInvalidSubjectID, tuples.Invalid, "invalid_format.subject_id"},
	{"ErrInvalidObjectID", tuples.ErrInvalidObjectID, tuples.Invalid, "invalid_format.object_id"},
	{"ErrEmptyRelations", tuples.ErrEmptyRelations, tuples.Invalid, "invalid_format.relations"},
	{"ErrInvalidCursor", tuples.ErrInvalidCursor, tuples.Invalid, "invalid_format.cursor"},
	{"ErrInvalidLimit", tuples.ErrInvalidLimit, tuples.Invalid, "invalid_format.limit"},
	{"ErrInvalidBatch", tuples.ErrInvalidBatch, tuples.Invalid, "invalid_format.batch"},
	{"ErrDuplicateTuple", tuples.ErrDuplicateTuple, tuples.Conflict, "conflict.duplicate_tuple"},
	{"ErrTupleNotFound", tuples.ErrTupleNotFound, tuples.NotFound, "not_found"},
	{"ErrGraphFull", tuples.ErrGraphFull, tuples.LimitExceeded, "limit_exceeded.graph"},
}

func TestSentinels(t *testing.T) {
	codes := map[string]string{}
	for _, s := range sentinels {
		if s.err.Kind != s.kind || s.err.Code != s.code || s.err.Msg == "" {
			t.Errorf("%s = %+v, want kind %v, code %q and a message", s.name, *s.err, s.kind, s.code)
		}
		if prev, dup := codes[s.err.Code]; dup {
			t.Errorf("%s and %s share code %q, so errors.Is cannot tell them apart", prev, s.name, s.err.Code)
		}
		codes[s.err.Code] = s.name
		for _, o := range sentinels {
			if got := errors.Is(s.err, o.err); got != (s.name == o.name) {
				t.Errorf("errors.Is(%s, %s) = %v", s.name, o.name, got)
			}
		}
	}
}

func TestErrorIs(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"With keeps identity", tuples.ErrInvalidID.With("other %d", 1), tuples.ErrInvalidID, true},
		{"literal with other message", &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.id", Msg: "x"}, tuples.ErrInvalidID, true},
		{"Errorf", tuples.Errorf(tuples.Conflict, "conflict.duplicate_tuple", "dup %s", "k"), tuples.ErrDuplicateTuple, true},
		{"sentinel matches a With copy", tuples.ErrInvalidID, tuples.ErrInvalidID.With("x"), true},
		{"wrapped", fmt.Errorf("mem %s: %w", "m1", tuples.ErrTupleNotFound.With("gone")), tuples.ErrTupleNotFound, true},
		{"same code, other kind", &tuples.Error{Kind: tuples.Conflict, Code: "invalid_format.id"}, tuples.ErrInvalidID, false},
		{"same kind, other code", &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.idx"}, tuples.ErrInvalidID, false},
		{"other sentinel", tuples.ErrInvalidType.With("x"), tuples.ErrInvalidID, false},
		{"plain target", tuples.ErrInvalidID, errors.New("invalid_format.id: invalid identifier"), false},
		{"plain error", errors.New("invalid_format.id: invalid identifier"), tuples.ErrInvalidID, false},
	}
	for _, tt := range tests {
		if got := errors.Is(tt.err, tt.target); got != tt.want {
			t.Errorf("%s: errors.Is(%v, %v) = %v, want %v", tt.name, tt.err, tt.target, got, tt.want)
		}
	}
}

func TestErrorWithAndError(t *testing.T) {
	e := tuples.ErrInvalidRelation.With("relation %q is bad", "X")
	if e == tuples.ErrInvalidRelation {
		t.Fatal("With returned the sentinel itself, want a copy")
	}
	if got, want := e.Error(), `invalid_format.relation: relation "X" is bad`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := tuples.ErrInvalidRelation.Msg, "relation must match ^[a-z_]{2,32}$"; got != want {
		t.Errorf("With changed the sentinel's message to %q, want %q", got, want)
	}
	e2 := tuples.Errorf(tuples.Precondition, "precondition.sole_owner", "org %s", "o1")
	if e2.Kind != tuples.Precondition || e2.Code != "precondition.sole_owner" || e2.Msg != "org o1" {
		t.Errorf("Errorf(...) = %+v", *e2)
	}
}

func TestKindOfAndCodeOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		kind tuples.Kind
		code string
	}{
		{"sentinel", tuples.ErrDuplicateTuple, tuples.Conflict, "conflict.duplicate_tuple"},
		{"wrapped", fmt.Errorf("tup %s: %w", "t1", tuples.ErrDuplicateTuple), tuples.Conflict, "conflict.duplicate_tuple"},
		{"wrapped twice", fmt.Errorf("write: %w", fmt.Errorf("tup: %w", tuples.ErrTupleNotFound.With("x"))), tuples.NotFound, "not_found"},
		{"first in chain wins", errors.Join(tuples.ErrGraphFull, tuples.ErrInvalidID), tuples.LimitExceeded, "limit_exceeded.graph"},
		{"joined", errors.Join(io.EOF, tuples.ErrInvalidCursor), tuples.Invalid, "invalid_format.cursor"},
		{"plain", errors.New("boom"), tuples.Internal, "internal_error"},
		{"plain wrapped", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), tuples.Internal, "internal_error"},
	}
	for _, tt := range tests {
		if got := tuples.KindOf(tt.err); got != tt.kind {
			t.Errorf("%s: KindOf(%v) = %v, want %v", tt.name, tt.err, got, tt.kind)
		}
		if got := tuples.CodeOf(tt.err); got != tt.code {
			t.Errorf("%s: CodeOf(%v) = %q, want %q", tt.name, tt.err, got, tt.code)
		}
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		k    tuples.Kind
		want string
	}{
		{tuples.Internal, "internal"},
		{tuples.Invalid, "invalid"},
		{tuples.NotFound, "not_found"},
		{tuples.Conflict, "conflict"},
		{tuples.Precondition, "precondition"},
		{tuples.Unauthenticated, "unauthenticated"},
		{tuples.Forbidden, "forbidden"},
		{tuples.LimitExceeded, "limit_exceeded"},
		{tuples.Unavailable, "unavailable"},
		{tuples.RateLimited, "rate_limited"},
		{tuples.TooLarge, "too_large"},
		{tuples.Kind(200), "kind(200)"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(tt.k), got, tt.want)
		}
	}
	// Every named Kind has a name of its own.
	for k := tuples.Internal; k <= tuples.TooLarge; k++ {
		if s := k.String(); s == "" || strings.HasPrefix(s, "kind(") {
			t.Errorf("Kind(%d) has no name", uint8(k))
		}
	}
}
