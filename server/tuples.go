package server

import (
	"net/http"
	"time"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
)

// tupleView is the spec's Tuple: subject and object ids hyphenated (A4),
// created_at from the id's UUIDv7 time.
type tupleView struct {
	ID          string    `json:"id"`
	SubjectType string    `json:"subject_type"`
	SubjectID   string    `json:"subject_id"`
	Relation    string    `json:"relation"`
	ObjectType  string    `json:"object_type"`
	ObjectID    string    `json:"object_id"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   *string   `json:"created_by"`
}

func viewTuple(t tuples.Tuple) tupleView {
	v := tupleView{ID: tuples.FormatID("tup", t.ID), SubjectType: t.Key.Subject.Type, SubjectID: t.Key.Subject.ID.String(),
		Relation: t.Key.Relation, ObjectType: t.Key.Object.Type, ObjectID: t.Key.Object.ID.String(), CreatedAt: t.CreatedAt()}
	if !t.CreatedBy.IsZero() {
		by := tuples.FormatID("usr", t.CreatedBy)
		v.CreatedBy = &by
	}
	return v
}

// page is the spec's page envelope.
type page[T any] struct {
	Data []T     `json:"data"`
	Page pageRef `json:"page"`
}

type pageRef struct {
	NextCursor *string `json:"next_cursor"`
}

func viewPage[T, V any](items []T, next string, view func(T) V) page[V] {
	p := page[V]{Data: make([]V, len(items))}
	for i, it := range items {
		p.Data[i] = view(it)
	}
	if next != "" {
		p.Page.NextCursor = &next
	}
	return p
}

// tupleBody is createTuple's request (and the key fields of check's).
type tupleBody struct {
	SubjectType *string `json:"subject_type"`
	SubjectID   *string `json:"subject_id"`
	Relation    *string `json:"relation"`
	ObjectType  *string `json:"object_type"`
	ObjectID    *string `json:"object_id"`
}

// errMembershipTuple: a tuple write through /tuples that would change an
// org membership, which only tenancy's operations may (DESIGN §4).
var errMembershipTuple = &tuples.Error{Kind: tuples.Forbidden, Code: "forbidden.membership_tuple",
	Msg: "membership tuples (a role on an org) change only through the membership operations"}

func isMembership(k tuples.Key) bool {
	return k.Object.Type == "org" && tenancy.Role(k.Relation).Valid()
}

func (s *Server) createTuple(q *request) (int, any, error) {
	var b tupleBody
	if err := q.decode(&b, false); err != nil {
		return 0, nil, err
	}
	if err := required(field("subject_type", b.SubjectType), field("subject_id", b.SubjectID), field("relation", b.Relation),
		field("object_type", b.ObjectType), field("object_id", b.ObjectID)); err != nil {
		return 0, nil, err
	}
	k, err := tuples.ParseKey(*b.SubjectType, *b.SubjectID, *b.Relation, *b.ObjectType, *b.ObjectID)
	if err != nil {
		return 0, nil, err
	}
	if isMembership(k) {
		return 0, nil, errMembershipTuple
	}
	by, _ := q.caller.user()
	res, err := s.tuples.Write(q.Context(), []tuples.Change{{Op: tuples.OpCreate, Key: k, CreatedBy: by}})
	if err != nil {
		return 0, nil, err
	}
	s.setToken(q, res.Revision)
	return http.StatusCreated, viewTuple(res.Tuples[0]), nil
}

func (s *Server) deleteTuple(q *request) (int, any, error) {
	id, err := pathID(q, "tup_id", "tup")
	if err != nil {
		return 0, nil, err
	}
	t, err := s.tuples.Get(q.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	if isMembership(t.Key) {
		return 0, nil, errMembershipTuple
	}
	res, err := s.tuples.Write(q.Context(), []tuples.Change{{Op: tuples.OpDelete, Key: t.Key}})
	if err != nil {
		return 0, nil, err
	}
	s.setToken(q, res.Revision)
	return http.StatusNoContent, nil, nil
}

// pathID parses a path parameter holding an id of type typ (typ_<32 hex>;
// the Nil UUID is malformed, a 400, not a 404).
func pathID(q *request, name, typ string) (tuples.UUID, error) {
	return tuples.DecodeIDOf(typ, q.PathValue(name))
}

// checkSubject finds the subject of a check body, for the policy; the
// handler validates the body in full.
func checkSubject(q *request) (tuples.Ref, error) {
	var b check.Body
	if err := q.decode(&b, false); err != nil {
		return tuples.Ref{}, err
	}
	return b.Subject()
}

type checkView struct {
	Allowed        bool    `json:"allowed"`
	MatchedTupleID *string `json:"matched_tuple_id"`
}

func (s *Server) check(q *request) (int, any, error) {
	var b check.Body
	if err := q.decode(&b, false); err != nil {
		return 0, nil, err
	}
	req, err := b.Request()
	if err != nil {
		return 0, nil, err
	}
	if req.AtLeast, err = s.atLeast(q); err != nil {
		return 0, nil, err
	}
	res, err := s.engine.Check(q.Context(), req)
	if err != nil {
		return 0, nil, err
	}
	s.setToken(q, res.Revision)
	v := checkView{Allowed: res.Allowed}
	if !res.MatchedTupleID.IsZero() {
		id := tuples.FormatID("tup", res.MatchedTupleID)
		v.MatchedTupleID = &id
	}
	return http.StatusOK, v, nil
}

// querySubject is the subject of a by-subject listing, for the policy.
func querySubject(q *request) (tuples.Ref, error) {
	return tuples.ParseSubject(q.URL.Query().Get("subject_type"), q.URL.Query().Get("subject_id"))
}

// listArgs reads a listing's cursor and limit, and waits for the
// request's consistency token, if it has one.
func (s *Server) listArgs(q *request) (cursor string, limit int, err error) {
	rev, err := s.atLeast(q)
	if err != nil {
		return "", 0, err
	}
	if err := s.engine.Await(q.Context(), rev); err != nil {
		return "", 0, err
	}
	return pageArgs(q)
}

func (s *Server) listBySubject(q *request) (int, any, error) {
	subj, err := querySubject(q)
	if err != nil {
		return 0, nil, err
	}
	cursor, limit, err := s.listArgs(q)
	if err != nil {
		return 0, nil, err
	}
	p, err := s.tuples.ListBySubject(q.Context(), subj, cursor, limit)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewPage(p.Tuples, p.Next, viewTuple), nil
}

func (s *Server) listByObject(q *request) (int, any, error) {
	v := q.URL.Query()
	obj, err := tuples.ParseObject(v.Get("object_type"), v.Get("object_id"))
	if err != nil {
		return 0, nil, err
	}
	rel := v.Get("relation")
	if rel != "" {
		if err := tuples.CheckRelation(rel); err != nil {
			return 0, nil, err
		}
	}
	cursor, limit, err := s.listArgs(q)
	if err != nil {
		return 0, nil, err
	}
	p, err := s.tuples.ListByObject(q.Context(), obj, rel, cursor, limit)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewPage(p.Tuples, p.Next, viewTuple), nil
}

// expandBody is the expand extension's request.
type expandBody struct {
	Relation   *string `json:"relation"`
	ObjectType *string `json:"object_type"`
	ObjectID   *string `json:"object_id"`
}

func (s *Server) expand(q *request) (int, any, error) {
	var b expandBody
	if err := q.decode(&b, false); err != nil {
		return 0, nil, err
	}
	if err := required(field("relation", b.Relation), field("object_type", b.ObjectType), field("object_id", b.ObjectID)); err != nil {
		return 0, nil, err
	}
	obj, err := tuples.ParseObject(*b.ObjectType, *b.ObjectID)
	if err != nil {
		return 0, nil, err
	}
	rev, err := s.atLeast(q)
	if err != nil {
		return 0, nil, err
	}
	tree, at, err := s.engine.Expand(q.Context(), *b.Relation, obj, rev)
	if err != nil {
		return 0, nil, err
	}
	s.setToken(q, at)
	return http.StatusOK, tree, nil
}

func (s *Server) rules(q *request) (int, any, error) {
	return http.StatusOK, s.engine.Rules(), nil
}
