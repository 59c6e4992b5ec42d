package check

import "github.com/flametrench/server/tuples"

// Body is a check request as JSON carries it: the body of POST
// /v1/tuples/check, a line of a checks file (flametrench check --checks),
// and the field names of the Connect check request (DESIGN §7). Decoding
// the JSON is the caller's (each reports malformed JSON its own way);
// Request validates the fields, the same way for all.
type Body struct {
	SubjectType *string  `json:"subject_type"`
	SubjectID   *string  `json:"subject_id"`
	Relation    *string  `json:"relation"`
	Relations   []string `json:"relations"`
	ObjectType  *string  `json:"object_type"`
	ObjectID    *string  `json:"object_id"`
}

// Request builds the request the body names. A missing field is
// invalid_format.<field>; both or neither of relation and relations is
// ErrRelationForm (SPEC-MAP A7), an empty relations list
// tuples.ErrEmptyRelations; ids take every form tuples.ParseSubject and
// ParseObject take. Relation names are checked by Engine.Check.
func (b *Body) Request() (Request, error) {
	subj, err := b.Subject()
	if err != nil {
		return Request{}, err
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"object_type", b.ObjectType}, {"object_id", b.ObjectID}} {
		if f.v == nil {
			return Request{}, MissingField(f.name)
		}
	}
	obj, err := tuples.ParseObject(*b.ObjectType, *b.ObjectID)
	if err != nil {
		return Request{}, err
	}
	req := Request{Subject: subj, Object: obj}
	switch {
	case (b.Relation == nil) == (b.Relations == nil):
		return Request{}, ErrRelationForm
	case b.Relation != nil:
		req.Relation = *b.Relation
	default:
		if len(b.Relations) == 0 {
			return Request{}, tuples.ErrEmptyRelations
		}
		req.Relations = b.Relations
	}
	return req, nil
}

// Subject parses the body's subject alone (an authorization policy asks
// whose check it is before the whole body is validated).
func (b *Body) Subject() (tuples.Ref, error) {
	switch {
	case b.SubjectType == nil:
		return tuples.Ref{}, MissingField("subject_type")
	case b.SubjectID == nil:
		return tuples.Ref{}, MissingField("subject_id")
	}
	return tuples.ParseSubject(*b.SubjectType, *b.SubjectID)
}

// MissingField is the error for a required field that is absent:
// invalid_format.<field>.
func MissingField(field string) error {
	return &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format." + field, Msg: field + " is required"}
}
