package tuplestest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flametrench/server/tuples"
)

// Run runs the suite. newStore must return an empty store for each call.
func Run(t *testing.T, newStore func(t *testing.T) tuples.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s tuples.Store)
	}{
		{"CreateAndGet", testCreateAndGet},
		{"Duplicate", testDuplicate},
		{"BatchIsAtomic", testBatchIsAtomic},
		{"KeyTwiceInBatch", testKeyTwiceInBatch},
		{"LargeBatch", testLargeBatch},
		{"Touch", testTouch},
		{"Delete", testDelete},
		{"Validation", testValidation},
		{"NULRefused", testNULRefused},
		{"ListBySubject", testListBySubject},
		{"ListByObject", testListByObject},
		{"ListArgs", testListArgs},
		{"DeleteSubject", testDeleteSubject},
		{"Revision", testRevision},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Preconditions", testPreconditions},
		{"PreconditionRace", testPreconditionRace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

var ctx = context.Background()

// Ref returns a fresh ref of the given type.
func Ref(typ string) tuples.Ref { return tuples.Ref{Type: typ, ID: tuples.NewUUID()} }

// Key builds a key.
func Key(s tuples.Ref, rel string, o tuples.Ref) tuples.Key {
	return tuples.Key{Subject: s, Relation: rel, Object: o}
}

func create(t *testing.T, s tuples.Store, keys ...tuples.Key) []tuples.Tuple {
	t.Helper()
	cs := make([]tuples.Change, len(keys))
	for i, k := range keys {
		cs[i] = tuples.Change{Op: tuples.OpCreate, Key: k}
	}
	res, err := s.Write(ctx, cs)
	if err != nil {
		t.Fatalf("Write(create %d) = %v", len(keys), err)
	}
	return res.Tuples
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func testCreateAndGet(t *testing.T, s tuples.Store) {
	u, d, by := Ref("usr"), Ref("doc"), tuples.NewUUID()
	before := time.Now().Add(-time.Second)
	res, err := s.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: Key(u, "viewer", d), CreatedBy: by}})
	if err != nil {
		t.Fatal(err)
	}
	tup := res.Tuples[0]
	if tup.ID.Version() != 7 || tup.Key != Key(u, "viewer", d) || tup.CreatedBy != by {
		t.Fatalf("created %+v", tup)
	}
	if ca := tup.CreatedAt(); ca.Before(before) || ca.After(time.Now().Add(time.Second)) {
		t.Fatalf("CreatedAt = %v, want about now", ca)
	}
	got, err := s.Get(ctx, tup.ID)
	if err != nil || got != tup {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, tup)
	}
	_, err = s.Get(ctx, tuples.NewUUID())
	wantErr(t, "Get(unknown)", err, tuples.ErrTupleNotFound)
	// Non-usr subjects are accepted for tuple_to_userset hops (ADR 0017, A5).
	create(t, s, Key(Ref("org"), "parent_org", Ref("proj")))
}

func testDuplicate(t *testing.T, s tuples.Store) {
	k := Key(Ref("usr"), "owner", Ref("org"))
	create(t, s, k)
	_, err := s.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: k}})
	wantErr(t, "create duplicate", err, tuples.ErrDuplicateTuple)
	k2 := k
	k2.Relation = "admin"
	create(t, s, k2) // differs only in relation: allowed
}

func testBatchIsAtomic(t *testing.T, s tuples.Store) {
	existing := Key(Ref("usr"), "owner", Ref("org"))
	create(t, s, existing)
	rev := s.Revision()
	fresh := Key(Ref("usr"), "member", Ref("org"))
	_, err := s.Write(ctx, []tuples.Change{
		{Op: tuples.OpCreate, Key: fresh},
		{Op: tuples.OpCreate, Key: existing},
	})
	wantErr(t, "batch with duplicate", err, tuples.ErrDuplicateTuple)
	if got := s.Revision(); got != rev {
		t.Fatalf("Revision after failed batch = %d, want %d", got, rev)
	}
	page, err := s.ListBySubject(ctx, fresh.Subject, "", 0)
	if err != nil || len(page.Tuples) != 0 {
		t.Fatalf("failed batch left %v (err %v)", page.Tuples, err)
	}
	_, err = s.Write(ctx, []tuples.Change{
		{Op: tuples.OpCreate, Key: fresh},
		{Op: tuples.OpDelete, Key: Key(Ref("usr"), "owner", Ref("org"))},
	})
	wantErr(t, "batch with missing delete", err, tuples.ErrTupleNotFound)
	if page, _ := s.ListBySubject(ctx, fresh.Subject, "", 0); len(page.Tuples) != 0 {
		t.Fatalf("failed batch left %v", page.Tuples)
	}
}

func testKeyTwiceInBatch(t *testing.T, s tuples.Store) {
	k := Key(Ref("usr"), "owner", Ref("org"))
	_, err := s.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: k}, {Op: tuples.OpTouch, Key: k}})
	wantErr(t, "same key twice", err, tuples.ErrInvalidBatch)
	tup := create(t, s, k)[0]
	_, err = s.Write(ctx, []tuples.Change{{Op: tuples.OpDelete, Key: k}, {Op: tuples.OpDelete, ID: tup.ID}})
	wantErr(t, "delete by key and by id", err, tuples.ErrInvalidBatch)
	_, err = s.Write(ctx, []tuples.Change{{Op: 99, Key: k}})
	wantErr(t, "unknown op", err, tuples.ErrInvalidBatch)
}

// largeBatch is a batch size above any store's threshold for a bulk path
// (Postgres copies from 512 rows).
const largeBatch = 700

// testLargeBatch holds the bulk path to the same rules as a small batch:
// all new, some existing (touches find them, a create fails the batch whole),
// and a caller's id that is taken.
func testLargeBatch(t *testing.T, s tuples.Store) {
	d := Ref("doc")
	keys := make([]tuples.Key, largeBatch)
	for i := range keys {
		keys[i] = Key(Ref("usr"), "viewer", d)
	}
	first := create(t, s, keys[:largeBatch/2]...)
	rev := s.Revision()

	creates := make([]tuples.Change, largeBatch)
	for i := range creates {
		creates[i] = tuples.Change{Op: tuples.OpCreate, Key: Key(Ref("usr"), "viewer", d)}
	}
	creates[largeBatch-1].Key = keys[0] // one duplicate, last
	_, err := s.Write(ctx, creates)
	wantErr(t, "large batch with a duplicate", err, tuples.ErrDuplicateTuple)
	var ce *tuples.ChangeError
	if !errors.As(err, &ce) || ce.Index != largeBatch-1 {
		t.Fatalf("large batch with a duplicate: err = %v, want it to name change %d", err, largeBatch-1)
	}
	if s.Revision() != rev {
		t.Fatalf("failed large batch moved the revision %d → %d", rev, s.Revision())
	}
	if p, _ := s.ListByObject(ctx, d, "", "", 200); len(p.Tuples) != 200 || p.Next == "" {
		t.Fatalf("after the failed batch the object lists %d tuples", len(p.Tuples))
	}
	all, _ := collect(t, 200, func(c string, l int) (tuples.Page, error) { return s.ListByObject(ctx, d, "", c, l) })
	if len(all) != largeBatch/2 {
		t.Fatalf("failed large batch left %d tuples, want %d", len(all), largeBatch/2)
	}

	touches := make([]tuples.Change, largeBatch)
	for i, k := range keys {
		touches[i] = tuples.Change{Op: tuples.OpTouch, Key: k}
	}
	res, err := s.Write(ctx, touches)
	if err != nil || res.Revision != rev+1 {
		t.Fatalf("large touch = revision %d, %v; want %d", res.Revision, err, rev+1)
	}
	for i, tup := range res.Tuples {
		if tup.Key != keys[i] || (i < len(first) && tup != first[i]) {
			t.Fatalf("large touch result %d = %+v, want key %v (existing %v)", i, tup, keys[i], i < len(first))
		}
	}
	all, _ = collect(t, 200, func(c string, l int) (tuples.Page, error) { return s.ListByObject(ctx, d, "", c, l) })
	if len(all) != largeBatch {
		t.Fatalf("after the large touch the object lists %d tuples, want %d", len(all), largeBatch)
	}

	fresh := make([]tuples.Change, largeBatch)
	for i := range fresh {
		fresh[i] = tuples.Change{Op: tuples.OpCreate, Key: Key(Ref("usr"), "viewer", Ref("doc"))}
	}
	fresh[largeBatch/2].ID = first[0].ID
	_, err = s.Write(ctx, fresh)
	wantErr(t, "large batch reusing an id", err, tuples.ErrDuplicateTuple)
	if s.Revision() != rev+1 {
		t.Fatalf("failed large batch moved the revision to %d", s.Revision())
	}
}

func testTouch(t *testing.T, s tuples.Store) {
	k := Key(Ref("usr"), "viewer", Ref("doc"))
	first := create(t, s, k)[0]
	rev := s.Revision()
	res, err := s.Write(ctx, []tuples.Change{{Op: tuples.OpTouch, Key: k}})
	if err != nil || res.Tuples[0].ID != first.ID {
		t.Fatalf("Touch(existing) = %+v, %v; want id %v", res.Tuples, err, first.ID)
	}
	if s.Revision() != rev || res.Revision != rev {
		t.Fatalf("Touch(existing) moved the revision: %d → %d (result %d)", rev, s.Revision(), res.Revision)
	}
	k2 := Key(Ref("usr"), "viewer", Ref("doc"))
	res, err = s.Write(ctx, []tuples.Change{{Op: tuples.OpTouch, Key: k2}})
	if err != nil || res.Tuples[0].Key != k2 || res.Revision != rev+1 {
		t.Fatalf("Touch(new) = %+v, %v", res, err)
	}
}

func testDelete(t *testing.T, s tuples.Store) {
	u, d := Ref("usr"), Ref("doc")
	ts := create(t, s, Key(u, "viewer", d), Key(u, "editor", d))
	res, err := s.Write(ctx, []tuples.Change{{Op: tuples.OpDelete, ID: ts[0].ID}})
	if err != nil || res.Tuples[0] != ts[0] {
		t.Fatalf("Delete(by id) = %+v, %v; want %+v", res.Tuples, err, ts[0])
	}
	_, err = s.Get(ctx, ts[0].ID)
	wantErr(t, "Get(deleted)", err, tuples.ErrTupleNotFound)
	_, err = s.Write(ctx, []tuples.Change{{Op: tuples.OpDelete, ID: ts[0].ID}})
	wantErr(t, "Delete(deleted)", err, tuples.ErrTupleNotFound)
	if _, err = s.Write(ctx, []tuples.Change{{Op: tuples.OpDelete, Key: Key(u, "editor", d)}}); err != nil {
		t.Fatalf("Delete(by key) = %v", err)
	}
	_, err = s.Write(ctx, []tuples.Change{{Op: tuples.OpDelete, Key: Key(u, "editor", d)}})
	wantErr(t, "Delete(by key, deleted)", err, tuples.ErrTupleNotFound)
	// Deleted then re-created: a new id.
	again := create(t, s, Key(u, "viewer", d))[0]
	if again.ID == ts[0].ID {
		t.Fatalf("re-created tuple reused id %v", again.ID)
	}
}

func testValidation(t *testing.T, s tuples.Store) {
	u, o := Ref("usr"), Ref("org")
	bad := []struct {
		name string
		key  tuples.Key
		want error
	}{
		{"relation uppercase", Key(u, "Owner", o), tuples.ErrInvalidRelation},
		{"relation short", Key(u, "x", o), tuples.ErrInvalidRelation},
		{"object type long", Key(u, "viewer", tuples.Ref{Type: "project", ID: o.ID}), tuples.ErrInvalidObjType},
		{"subject type", Key(tuples.Ref{Type: "U", ID: u.ID}, "viewer", o), tuples.ErrInvalidSubjType},
		{"nil subject", Key(tuples.Ref{Type: "usr"}, "viewer", o), tuples.ErrInvalidSubjectID},
		{"max object", Key(u, "viewer", tuples.Ref{Type: "org", ID: maxUUID()}), tuples.ErrInvalidObjectID},
	}
	for _, tc := range bad {
		_, err := s.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: tc.key}})
		wantErr(t, tc.name, err, tc.want)
		if tuples.KindOf(err) != tuples.Invalid {
			t.Errorf("%s: kind %v, want Invalid", tc.name, tuples.KindOf(err))
		}
	}
	if s.Revision() != 0 {
		t.Fatalf("invalid writes moved the revision to %d", s.Revision())
	}
}

// testNULRefused: a NUL in any string a tuple operation takes is refused
// as a format error of that field before the store sees it (PostgreSQL's
// text cannot hold one: it would be a 500), and changes nothing.
func testNULRefused(t *testing.T, s tuples.Store) {
	u, d := Ref("usr"), Ref("doc")
	const nul = "vi\x00ewer"
	write := func(op tuples.Op, k tuples.Key) error {
		_, err := s.Write(ctx, []tuples.Change{{Op: op, Key: k}})
		return err
	}
	cases := []struct {
		name string
		call func() error
		want error
	}{
		{"create subject_type", func() error { return write(tuples.OpCreate, Key(tuples.Ref{Type: "u\x00", ID: u.ID}, "viewer", d)) }, tuples.ErrInvalidSubjType},
		{"create relation", func() error { return write(tuples.OpCreate, Key(u, nul, d)) }, tuples.ErrInvalidRelation},
		{"create object_type", func() error { return write(tuples.OpCreate, Key(u, "viewer", tuples.Ref{Type: "do\x00c", ID: d.ID})) }, tuples.ErrInvalidObjType},
		{"touch relation", func() error { return write(tuples.OpTouch, Key(u, nul, d)) }, tuples.ErrInvalidRelation},
		{"delete relation", func() error { return write(tuples.OpDelete, Key(u, nul, d)) }, tuples.ErrInvalidRelation},
		{"list by subject_type", func() error {
			_, err := s.ListBySubject(ctx, tuples.Ref{Type: "us\x00r", ID: u.ID}, "", 0)
			return err
		}, tuples.ErrInvalidSubjType},
		{"list by object_type", func() error {
			_, err := s.ListByObject(ctx, tuples.Ref{Type: "do\x00c", ID: d.ID}, "", "", 0)
			return err
		}, tuples.ErrInvalidObjType},
		{"list by relation", func() error {
			_, err := s.ListByObject(ctx, d, nul, "", 0)
			return err
		}, tuples.ErrInvalidRelation},
		{"list cursor", func() error {
			_, err := s.ListBySubject(ctx, u, "tup_\x00", 0)
			return err
		}, tuples.ErrInvalidCursor},
		{"delete subject_type", func() error {
			_, _, err := s.DeleteSubject(ctx, tuples.Ref{Type: "us\x00r", ID: u.ID})
			return err
		}, tuples.ErrInvalidSubjType},
	}
	create(t, s, Key(u, "viewer", d))
	rev := s.Revision()
	for _, tc := range cases {
		err := tc.call()
		wantErr(t, tc.name, err, tc.want)
		if tuples.KindOf(err) != tuples.Invalid {
			t.Errorf("%s: kind %v, want Invalid", tc.name, tuples.KindOf(err))
		}
	}
	if s.Revision() != rev {
		t.Fatalf("refused calls moved the revision from %d to %d", rev, s.Revision())
	}
	if p, err := s.ListBySubject(ctx, u, "", 0); err != nil || len(p.Tuples) != 1 {
		t.Fatalf("after the refusals the subject holds %v (err %v), want its one tuple", p.Tuples, err)
	}
}

func maxUUID() tuples.UUID {
	var u tuples.UUID
	for i := range u {
		u[i] = 0xff
	}
	return u
}

// collect pages through a listing with the given limit.
func collect(t *testing.T, limit int, list func(cursor string, limit int) (tuples.Page, error)) ([]tuples.Tuple, int) {
	t.Helper()
	var all []tuples.Tuple
	cursor, pages := "", 0
	for {
		p, err := list(cursor, limit)
		if err != nil {
			t.Fatalf("list(cursor %q) = %v", cursor, err)
		}
		pages++
		if len(p.Tuples) > limit {
			t.Fatalf("page of %d > limit %d", len(p.Tuples), limit)
		}
		all = append(all, p.Tuples...)
		if p.Next == "" {
			return all, pages
		}
		if pages > 1000 {
			t.Fatal("listing does not terminate")
		}
		cursor = p.Next
	}
}

func checkOrder(t *testing.T, got []tuples.Tuple, want map[tuples.UUID]tuples.Tuple) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("listed %d tuples, want %d", len(got), len(want))
	}
	for i, tup := range got {
		if w, ok := want[tup.ID]; !ok || w != tup {
			t.Fatalf("listed %+v, not expected", tup)
		}
		if i > 0 && bytes.Compare(got[i-1].ID[:], tup.ID[:]) >= 0 {
			t.Fatalf("listing not in ascending id order at %d", i)
		}
	}
}

func testListBySubject(t *testing.T, s tuples.Store) {
	u := Ref("usr")
	want := map[tuples.UUID]tuples.Tuple{}
	for i := 0; i < 7; i++ {
		for _, tup := range create(t, s, Key(u, "viewer", Ref("doc"))) {
			want[tup.ID] = tup
		}
	}
	create(t, s, Key(Ref("usr"), "viewer", Ref("doc"))) // someone else's
	got, pages := collect(t, 3, func(c string, l int) (tuples.Page, error) { return s.ListBySubject(ctx, u, c, l) })
	checkOrder(t, got, want)
	if pages != 3 {
		t.Fatalf("7 tuples with limit 3 took %d pages, want 3", pages)
	}
	// A tuple created after a cursor was issued still appears on a later page.
	p, _ := s.ListBySubject(ctx, u, "", 3)
	late := create(t, s, Key(u, "viewer", Ref("doc")))[0]
	want[late.ID] = late
	rest, _ := collect(t, 50, func(c string, l int) (tuples.Page, error) {
		if c == "" {
			c = p.Next
		}
		return s.ListBySubject(ctx, u, c, l)
	})
	checkOrder(t, append(p.Tuples, rest...), want)
	if p, err := s.ListBySubject(ctx, Ref("usr"), "", 0); err != nil || len(p.Tuples) != 0 || p.Next != "" {
		t.Fatalf("ListBySubject(unknown) = %+v, %v", p, err)
	}
}

func testListByObject(t *testing.T, s tuples.Store) {
	d := Ref("doc")
	all := map[tuples.UUID]tuples.Tuple{}
	viewers := map[tuples.UUID]tuples.Tuple{}
	for i := 0; i < 5; i++ {
		for _, tup := range create(t, s, Key(Ref("usr"), "viewer", d), Key(Ref("usr"), "editor", d)) {
			all[tup.ID] = tup
			if tup.Key.Relation == "viewer" {
				viewers[tup.ID] = tup
			}
		}
	}
	got, _ := collect(t, 4, func(c string, l int) (tuples.Page, error) { return s.ListByObject(ctx, d, "", c, l) })
	checkOrder(t, got, all)
	got, _ = collect(t, 2, func(c string, l int) (tuples.Page, error) { return s.ListByObject(ctx, d, "viewer", c, l) })
	checkOrder(t, got, viewers)
	if p, err := s.ListByObject(ctx, d, "owner", "", 0); err != nil || len(p.Tuples) != 0 {
		t.Fatalf("ListByObject(relation none hold) = %+v, %v", p, err)
	}
}

func testListArgs(t *testing.T, s tuples.Store) {
	u := Ref("usr")
	for _, limit := range []int{-1, 201} {
		_, err := s.ListBySubject(ctx, u, "", limit)
		wantErr(t, fmt.Sprintf("limit %d", limit), err, tuples.ErrInvalidLimit)
	}
	_, err := s.ListBySubject(ctx, u, "garbage", 10)
	wantErr(t, "bad cursor", err, tuples.ErrInvalidCursor)
	_, err = s.ListByObject(ctx, u, "Bad", "", 10)
	wantErr(t, "bad relation filter", err, tuples.ErrInvalidRelation)
}

func testDeleteSubject(t *testing.T, s tuples.Store) {
	u, other := Ref("usr"), Ref("usr")
	d := Ref("doc")
	create(t, s, Key(u, "viewer", d), Key(u, "editor", d), Key(u, "member", Ref("org")), Key(other, "viewer", d))
	n, rev, err := s.DeleteSubject(ctx, u)
	if err != nil || n != 3 || rev != s.Revision() {
		t.Fatalf("DeleteSubject = %d, %d, %v; want 3, %d", n, rev, err, s.Revision())
	}
	if p, _ := s.ListBySubject(ctx, u, "", 0); len(p.Tuples) != 0 {
		t.Fatalf("subject still holds %v", p.Tuples)
	}
	if p, _ := s.ListByObject(ctx, d, "", "", 0); len(p.Tuples) != 1 || p.Tuples[0].Key.Subject != other {
		t.Fatalf("object listing after cascade = %+v", p.Tuples)
	}
	if n, _, err := s.DeleteSubject(ctx, u); n != 0 || err != nil {
		t.Fatalf("DeleteSubject again = %d, %v", n, err)
	}
}

func testRevision(t *testing.T, s tuples.Store) {
	if s.Revision() != 0 {
		t.Fatalf("new store at revision %d", s.Revision())
	}
	res, err := s.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: Key(Ref("usr"), "viewer", Ref("doc"))}})
	if err != nil || res.Revision == 0 || res.Revision != s.Revision() {
		t.Fatalf("Write revision %d (store %d), %v", res.Revision, s.Revision(), err)
	}
	prev := res.Revision
	res, _ = s.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: Key(Ref("usr"), "viewer", Ref("doc"))}})
	if res.Revision <= prev {
		t.Fatalf("revision went %d → %d", prev, res.Revision)
	}
}

func testConcurrentWriters(t *testing.T, s tuples.Store) {
	const writers, each = 4, 25
	d := Ref("doc")
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := s.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: Key(Ref("usr"), "viewer", d)}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, _ := collect(t, 200, func(c string, l int) (tuples.Page, error) { return s.ListByObject(ctx, d, "viewer", c, l) })
	if len(got) != writers*each {
		t.Fatalf("%d concurrent creates left %d tuples", writers*each, len(got))
	}
}
