package check

import (
	"cmp"
	"context"
	"encoding/binary"
	"slices"

	"github.com/flametrench/server/tuples"
)

// Page sizes of a lookup (the Connect API's: 1..10000, 0 means 1000).
const (
	DefaultLookupLimit = 1000
	MaxLookupLimit     = 10_000
)

// ResourcesQuery asks LookupResources for the objects of ObjectType on which
// Subject holds Relation, directly or through the rules.
type ResourcesQuery struct {
	Subject    tuples.Ref
	Relation   string
	ObjectType string
	// After is the cursor: only ids greater than it are returned (the zero
	// UUID, the default, is before every id).
	After tuples.UUID
	// Limit is the most ids to return: 1..MaxLookupLimit, 0 meaning
	// DefaultLookupLimit.
	Limit int
	// AtLeast is as Request.AtLeast.
	AtLeast uint64
}

// SubjectsQuery asks LookupSubjects for the subjects of SubjectType that hold
// Relation on Object, directly or through the rules. After, Limit and AtLeast
// are as in ResourcesQuery.
type SubjectsQuery struct {
	Object      tuples.Ref
	Relation    string
	SubjectType string
	After       tuples.UUID
	Limit       int
	AtLeast     uint64
}

// Page is one page of a lookup's answer, read at one graph revision.
type Page struct {
	// IDs are the answer's ids greater than the query's After, in ascending
	// order, at most its Limit of them.
	IDs []tuples.UUID
	// More reports that the limit cut the answer short: ids greater than the
	// last of IDs remain. Ask again with After set to it (and AtLeast to
	// Revision, so that the next page is read at this revision or later).
	More bool
	// Revision is the graph revision the page was read at.
	Revision uint64
}

// LookupResources returns a page of the ids of the objects of q.ObjectType on
// which q.Subject holds q.Relation: the objects for which Check would allow.
//
// It walks up from the subject's own tuples, reading the rules backwards
// (ADR 0007's computed_userset and tuple_to_userset, inverted), and visits
// each (relation, object) once, so cyclic rules and graphs terminate. The
// answer is exact or the call fails: it fails with ErrEvaluationLimit when an
// object would be in the answer only through more than MaxDepth rule
// expansions, when a tuple_to_userset step it follows enumerates more than
// MaxFanOut tuples, or when the walk takes more than MaxLookupSteps steps; it
// never leaves such an object out silently. Where Check succeeds, it agrees
// with the lookup; Check may fail where the lookup succeeds, and the reverse,
// because Check's depth-first order can meet a limit on a branch the
// lookup's shortest derivations never need (docs/CONFORMANCE.md, Lookups).
//
// Every page costs the whole walk, so a caller streaming a large answer
// should ask once for the page it will send (up to MaxLookupLimit) and split
// it into messages, not call once per message.
func (e *Engine) LookupResources(ctx context.Context, q ResourcesQuery) (Page, error) {
	limit, err := q.validate()
	if err != nil {
		return Page{}, err
	}
	g, err := e.snapshotAt(ctx, q.AtLeast)
	if err != nil {
		return Page{}, err
	}
	w := newWalk(ctx, g, e, q.After, limit)
	target := typeRel{g.Sym(q.ObjectType), g.Sym(q.Relation)}
	subj := g.Node(g.Sym(q.Subject.Type), q.Subject.ID)
	if target.typ != 0 && target.rel != 0 && subj != 0 {
		err = w.up(subj, target, e.prog.relevant(target))
	}
	return w.page(g.Revision(), err)
}

// LookupSubjects returns a page of the ids of the subjects of q.SubjectType
// that hold q.Relation on q.Object: the subjects for which Check would allow.
//
// It walks down from the object as Expand does (each relation's direct
// subjects, then its rule's computed_userset and tuple_to_userset branches),
// visiting each (relation, object) once. Its answer is exact or the call
// fails, as LookupResources's: ErrEvaluationLimit when a subject is reached
// only through more than MaxDepth rule expansions, when any tuple_to_userset
// step of the walk enumerates more than MaxFanOut tuples (as Check would for
// a subject without access), or when the walk takes more than
// MaxLookupSteps steps. Direct subject lists are not bounded by MaxFanOut:
// paging through a large relation is what the lookup is for.
func (e *Engine) LookupSubjects(ctx context.Context, q SubjectsQuery) (Page, error) {
	limit, err := q.validate()
	if err != nil {
		return Page{}, err
	}
	g, err := e.snapshotAt(ctx, q.AtLeast)
	if err != nil {
		return Page{}, err
	}
	w := newWalk(ctx, g, e, q.After, limit)
	objType, rel, subjType := g.Sym(q.Object.Type), g.Sym(q.Relation), g.Sym(q.SubjectType)
	if objType != 0 && rel != 0 && subjType != 0 {
		err = w.down(rel, g.Node(objType, q.Object.ID), objType, subjType)
	}
	return w.page(g.Revision(), err)
}

func (q *ResourcesQuery) validate() (int, error) {
	// The object id is not part of the query; the subject's stands in for it.
	k := tuples.Key{Subject: q.Subject, Relation: q.Relation, Object: tuples.Ref{Type: q.ObjectType, ID: q.Subject.ID}}
	if err := k.Validate(); err != nil {
		return 0, err
	}
	return lookupLimit(q.Limit)
}

func (q *SubjectsQuery) validate() (int, error) {
	if err := tuples.CheckObject(q.Object); err != nil {
		return 0, err
	}
	if err := tuples.CheckRelation(q.Relation); err != nil {
		return 0, err
	}
	if !tuples.ValidType(q.SubjectType) {
		return 0, tuples.ErrInvalidSubjType.With("subject_type %q must match ^[a-z]{2,6}$", tuples.Truncate(q.SubjectType))
	}
	return lookupLimit(q.Limit)
}

func lookupLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultLookupLimit, nil
	case limit < 1 || limit > MaxLookupLimit:
		return 0, tuples.ErrInvalidLimit.With("limit %d is outside 1..%d", limit, MaxLookupLimit)
	}
	return limit, nil
}

// collector keeps the smallest distinct ids after a cursor, up to keep of
// them, in a buffer of at most twice that: when the buffer fills it is
// sorted, deduplicated and cut back, and ids above the cut are refused from
// then on. A lookup with a small limit so holds a small set however large
// its answer, and an id cut once is refused when it comes again, since the
// cut only ever falls.
type collector struct {
	after tuples.UUID
	keep  int // the limit plus one, to know whether more follow
	ids   []tuples.UUID
	cut   *tuples.UUID // the largest id kept, once the buffer has been cut
}

func (c *collector) add(id tuples.UUID) {
	if cmpID(id, c.after) <= 0 || (c.cut != nil && cmpID(id, *c.cut) >= 0) {
		return
	}
	c.ids = append(c.ids, id)
	if len(c.ids) >= 2*c.keep && len(c.ids) >= 64 {
		c.compact()
	}
}

func (c *collector) compact() {
	slices.SortFunc(c.ids, cmpID)
	c.ids = slices.Compact(c.ids)
	if len(c.ids) >= c.keep {
		c.ids = c.ids[:c.keep]
		last := c.ids[c.keep-1]
		c.cut = &last
	}
}

// cmpID orders ids as tuples.UUID.Compare does, in two word comparisons.
func cmpID(a, b tuples.UUID) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
		return c
	}
	return cmp.Compare(binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]))
}
