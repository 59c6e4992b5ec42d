package check_test

import (
	"errors"
	"testing"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/tuples"
)

func TestBodyRequest(t *testing.T) {
	s := func(v string) *string { return &v }
	const usr, doc = "usr_0190f2a81b3c7abc8123000000000001", "0190f2a8-1b3c-7abc-8123-000000000002"
	full := func() check.Body {
		return check.Body{SubjectType: s("usr"), SubjectID: s(usr), Relation: s("viewer"), ObjectType: s("doc"), ObjectID: s(doc)}
	}
	r, err := func() (check.Request, error) { b := full(); return b.Request() }()
	if err != nil || r.Subject.Type != "usr" || r.Relation != "viewer" || r.Object.Type != "doc" || r.Object.ID.String() != doc {
		t.Fatalf("a full body: %+v, %v", r, err)
	}
	tests := []struct {
		name string
		edit func(*check.Body)
		code string
	}{
		{"no subject_type", func(b *check.Body) { b.SubjectType = nil }, "invalid_format.subject_type"},
		{"no subject_id", func(b *check.Body) { b.SubjectID = nil }, "invalid_format.subject_id"},
		{"no object_type", func(b *check.Body) { b.ObjectType = nil }, "invalid_format.object_type"},
		{"no object_id", func(b *check.Body) { b.ObjectID = nil }, "invalid_format.object_id"},
		{"neither relation form", func(b *check.Body) { b.Relation = nil }, "invalid_format.relation"},
		{"both relation forms", func(b *check.Body) { b.Relations = []string{"viewer"} }, "invalid_format.relation"},
		{"an empty set", func(b *check.Body) { b.Relation, b.Relations = nil, []string{} }, "invalid_format.relations"},
		{"a bad subject id", func(b *check.Body) { b.SubjectID = s("usr_1") }, "invalid_format.subject_id"},
		{"a bad object type", func(b *check.Body) { b.ObjectType = s("Doc") }, "invalid_format.object_type"},
	}
	for _, tt := range tests {
		b := full()
		tt.edit(&b)
		_, err := b.Request()
		var te *tuples.Error
		if !errors.As(err, &te) || te.Code != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
}
