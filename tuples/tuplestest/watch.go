package tuplestest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flametrench/server/tuples"
)

// NewWatcher returns an empty store that implements tuples.Watcher, and
// expire, which makes the store discard its change history up to (at
// least) its revision when expire is called, as its retention running out
// would. expire may write to the store to get there.
type NewWatcher func(t *testing.T) (s tuples.Store, expire func())

// RunWatch runs the change feed suite (tuples.Watcher).
func RunWatch(t *testing.T, newStore NewWatcher) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s tuples.Store, w tuples.Watcher, expire func())
	}{
		{"Feed", testFeed},
		{"FeedArgs", testFeedArgs},
		{"FeedWait", testFeedWait},
		{"FeedTail", testFeedTail},
		{"FeedExpired", testFeedExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, expire := newStore(t)
			w, ok := s.(tuples.Watcher)
			if !ok {
				t.Fatalf("%T does not implement tuples.Watcher", s)
			}
			tc.fn(t, s, w, expire)
		})
	}
}

// feedOf is what a revision did, in a canonical order (by tuple id), as
// "create|delete tup_… key by".
func feedOf(cs []tuples.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		op := "create"
		if c.Op == tuples.OpDelete {
			op = "delete"
		} else if c.Op != tuples.OpCreate {
			op = fmt.Sprintf("op %d", c.Op)
		}
		out[i] = fmt.Sprintf("%s %s %s by %v", op, tuples.FormatID("tup", c.ID), c.Key, c.CreatedBy)
	}
	slices.Sort(out)
	return out
}

func created(ts ...tuples.Tuple) []tuples.Change {
	cs := make([]tuples.Change, len(ts))
	for i, t := range ts {
		cs[i] = tuples.Change{Op: tuples.OpCreate, ID: t.ID, Key: t.Key, CreatedBy: t.CreatedBy}
	}
	return cs
}

func deleted(ts ...tuples.Tuple) []tuples.Change {
	cs := created(ts...)
	for i := range cs {
		cs[i].Op = tuples.OpDelete
	}
	return cs
}

// write runs a batch that must succeed and make a new revision.
func write(t *testing.T, s tuples.Store, changes ...tuples.Change) tuples.WriteResult {
	t.Helper()
	before := s.Revision()
	res, err := s.Write(ctx, changes)
	if err != nil || res.Revision != before+1 {
		t.Fatalf("Write(%d changes) = revision %d, %v; want %d", len(changes), res.Revision, err, before+1)
	}
	return res
}

// changes reads the feed after `after`, all of it, in calls of limit.
func changes(t *testing.T, w tuples.Watcher, after uint64, limit int) []tuples.Revision {
	t.Helper()
	var all []tuples.Revision
	for {
		revs, err := w.Changes(ctx, after, limit)
		if err != nil {
			t.Fatalf("Changes(%d, %d) = %v", after, limit, err)
		}
		if limit > 0 && len(revs) > limit {
			t.Fatalf("Changes(%d, %d) returned %d revisions", after, limit, len(revs))
		}
		if len(revs) == 0 {
			return all
		}
		all = append(all, revs...)
		after = revs[len(revs)-1].Rev
	}
}

// wantFeed compares revisions with the expected changes of revisions
// from+1, from+2, ….
func wantFeed(t *testing.T, what string, got []tuples.Revision, from uint64, want [][]tuples.Change) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d revisions, want %d", what, len(got), len(want))
	}
	for i, r := range got {
		if r.Rev != from+uint64(i)+1 {
			t.Fatalf("%s: revision %d is %d, want %d (no gaps, no repeats)", what, i, r.Rev, from+uint64(i)+1)
		}
		if g, w := feedOf(r.Changes), feedOf(want[i]); !slices.Equal(g, w) {
			t.Fatalf("%s: revision %d changed\n%v\nwant\n%v", what, r.Rev, g, w)
		}
	}
}

// testFeed writes one revision of every kind of change (and writes that
// make none) and reads them back from every starting point.
func testFeed(t *testing.T, s tuples.Store, w tuples.Watcher, _ func()) {
	start := time.Now().Add(-time.Second)
	base := s.Revision()
	u, d := Ref("usr"), Ref("doc")
	by := tuples.NewUUID()
	var want [][]tuples.Change

	// A create with a creator, and others.
	r := write(t, s, tuples.Change{Op: tuples.OpCreate, Key: Key(u, "viewer", d), CreatedBy: by},
		tuples.Change{Op: tuples.OpCreate, Key: Key(Ref("usr"), "viewer", d)},
		tuples.Change{Op: tuples.OpCreate, Key: Key(Ref("usr"), "editor", d)})
	a, b, c := r.Tuples[0], r.Tuples[1], r.Tuples[2]
	want = append(want, created(a, b, c))
	// Touches of existing keys, preconditions and failed batches: no revision.
	if res, err := s.Write(ctx, []tuples.Change{{Op: tuples.OpTouch, Key: a.Key}}); err != nil || res.Revision != base+1 {
		t.Fatalf("touch of an existing key = %d, %v", res.Revision, err)
	}
	if _, err := s.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: Key(u, "owner", d)}, {Op: tuples.OpCreate, Key: b.Key}}); err == nil {
		t.Fatal("a batch with a duplicate succeeded")
	}
	if _, err := s.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: Key(u, "owner", d)}, {Op: tuples.OpMustNotExist, Key: b.Key}}); err == nil {
		t.Fatal("a batch with a failing precondition succeeded")
	}
	// A touch that creates beside one that finds.
	r = write(t, s, tuples.Change{Op: tuples.OpTouch, Key: a.Key}, tuples.Change{Op: tuples.OpTouch, Key: Key(u, "editor", Ref("doc"))})
	e := r.Tuples[1]
	want = append(want, created(e))
	// Delete by key, delete by id.
	write(t, s, tuples.Change{Op: tuples.OpDelete, Key: b.Key})
	want = append(want, deleted(b))
	write(t, s, tuples.Change{Op: tuples.OpDelete, ID: c.ID})
	want = append(want, deleted(c))
	// Preconditions are not changes.
	r = write(t, s, tuples.Change{Op: tuples.OpMustExist, Key: a.Key}, tuples.Change{Op: tuples.OpMustNotExist, Key: b.Key},
		tuples.Change{Op: tuples.OpCreate, Key: Key(u, "owner", Ref("org"))})
	f := r.Tuples[2]
	want = append(want, created(f))
	// A create and a delete in one revision.
	r = write(t, s, tuples.Change{Op: tuples.OpCreate, Key: Key(Ref("usr"), "viewer", d)}, tuples.Change{Op: tuples.OpDelete, Key: e.Key})
	g := r.Tuples[0]
	want = append(want, append(created(g), deleted(e)...))
	// The cascade.
	n, rev, err := s.DeleteSubject(ctx, u)
	if err != nil || n != 2 || rev != base+uint64(len(want))+1 {
		t.Fatalf("DeleteSubject = %d, %d, %v; want 2, %d", n, rev, err, base+uint64(len(want))+1)
	}
	want = append(want, deleted(a, f))
	if n, _, _ := s.DeleteSubject(ctx, u); n != 0 {
		t.Fatalf("second DeleteSubject deleted %d", n)
	}
	last := s.Revision()
	if last != base+uint64(len(want)) {
		t.Fatalf("the writes made revisions up to %d, want %d", last, base+uint64(len(want)))
	}

	all := changes(t, w, base, 0)
	wantFeed(t, "from the start", all, base, want)
	for i, r := range all {
		if r.At.Before(start) || r.At.After(time.Now().Add(time.Second)) || (i > 0 && r.At.Before(all[i-1].At)) {
			t.Fatalf("revision %d committed at %v; want about now, in order", r.Rev, r.At)
		}
	}
	// Resuming from any revision gives the rest; in pages of any size, too.
	for after := base; after <= last; after++ {
		wantFeed(t, fmt.Sprintf("after %d", after), changes(t, w, after, 0), after, want[after-base:])
	}
	for _, limit := range []int{1, 2, 3} {
		revs, err := w.Changes(ctx, base, limit)
		if err != nil || len(revs) != limit {
			t.Fatalf("Changes(limit %d) = %d revisions, %v", limit, len(revs), err)
		}
		wantFeed(t, fmt.Sprintf("pages of %d", limit), changes(t, w, base, limit), base, want)
	}
	if revs, err := w.Changes(ctx, last, 0); err != nil || len(revs) != 0 {
		t.Fatalf("Changes(head) = %v, %v; want nothing", revs, err)
	}
}

func testFeedArgs(t *testing.T, s tuples.Store, w tuples.Watcher, _ func()) {
	create(t, s, Key(Ref("usr"), "viewer", Ref("doc")))
	head := s.Revision()
	for _, after := range []uint64{head + 1, head + 100, 1 << 62} {
		_, err := w.Changes(ctx, after, 0)
		wantErr(t, fmt.Sprintf("Changes(%d) at %d", after, head), err, tuples.ErrFutureRevision)
		if tuples.KindOf(err) != tuples.Invalid {
			t.Fatalf("future revision: kind %v, want invalid", tuples.KindOf(err))
		}
	}
	for _, limit := range []int{-1, tuples.MaxWatchLimit + 1} {
		_, err := w.Changes(ctx, 0, limit)
		wantErr(t, fmt.Sprintf("limit %d", limit), err, tuples.ErrInvalidLimit)
	}
	if revs, err := w.Changes(ctx, 0, tuples.MaxWatchLimit); err != nil || len(revs) != 1 {
		t.Fatalf("Changes(0, max) = %v, %v", revs, err)
	}
}

// testFeedWait: a reader at the head waits, and wakes for the next write.
func testFeedWait(t *testing.T, s tuples.Store, w tuples.Watcher, _ func()) {
	create(t, s, Key(Ref("usr"), "viewer", Ref("doc")))
	head := s.Revision()
	if err := w.Wait(ctx, head); err != nil {
		t.Fatalf("Wait(head) = %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := w.Wait(short, head+1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait(head+1) with no write = %v, want the deadline", err)
	}
	woke := make(chan error, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		woke <- w.Wait(wctx, head+1)
	}()
	tup := create(t, s, Key(Ref("usr"), "viewer", Ref("doc")))[0]
	if err := <-woke; err != nil {
		t.Fatalf("Wait(head+1) across a write = %v", err)
	}
	revs, err := w.Changes(ctx, head, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantFeed(t, "after the wait", revs, head, [][]tuples.Change{created(tup)})
}

// testFeedTail follows concurrent writers with Changes and Wait, as a
// Watch does, and must see every revision once, in order.
func testFeedTail(t *testing.T, s tuples.Store, w tuples.Watcher, _ func()) {
	const writers, each = 4, 10
	d := Ref("doc")
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				if _, err := s.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: Key(Ref("usr"), "viewer", d)}}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	seen := map[tuples.UUID]bool{}
	var after uint64
	for after < writers*each {
		revs, err := w.Changes(tctx, after, 3)
		if err != nil {
			t.Fatalf("Changes(%d) = %v", after, err)
		}
		if len(revs) == 0 {
			if err := w.Wait(tctx, after+1); err != nil {
				t.Fatalf("Wait(%d) = %v (seen %d revisions)", after+1, err, after)
			}
			continue
		}
		for _, r := range revs {
			if r.Rev != after+1 || len(r.Changes) != 1 || r.Changes[0].Op != tuples.OpCreate || seen[r.Changes[0].ID] {
				t.Fatalf("after %d the feed gave revision %d with %+v", after, r.Rev, r.Changes)
			}
			seen[r.Changes[0].ID] = true
			after = r.Rev
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, _ := collect(t, 200, func(c string, l int) (tuples.Page, error) { return s.ListByObject(ctx, d, "", c, l) })
	for _, tup := range all {
		if !seen[tup.ID] {
			t.Fatalf("tuple %v is not in the feed", tup.ID)
		}
	}
	if len(all) != len(seen) {
		t.Fatalf("the feed created %d tuples, the store has %d", len(seen), len(all))
	}
}

// testFeedExpired: a reader behind the retained history is told to resync.
func testFeedExpired(t *testing.T, s tuples.Store, w tuples.Watcher, expire func()) {
	for i := 0; i < 3; i++ {
		create(t, s, Key(Ref("usr"), "viewer", Ref("doc")))
	}
	expired := s.Revision()
	expire()
	head := s.Revision()
	for _, after := range []uint64{0, 1, expired - 1} {
		_, err := w.Changes(ctx, after, 0)
		wantErr(t, fmt.Sprintf("Changes(%d) after expiry at %d", after, expired), err, tuples.ErrRevisionGone)
		if tuples.KindOf(err) != tuples.Precondition || tuples.CodeOf(err) != "precondition.revision_expired" {
			t.Fatalf("expired revision: kind %v code %q", tuples.KindOf(err), tuples.CodeOf(err))
		}
	}
	if revs, err := w.Changes(ctx, head, 0); err != nil || len(revs) != 0 {
		t.Fatalf("Changes(head) after expiry = %v, %v; want nothing", revs, err)
	}
	// The feed goes on from the head.
	tup := create(t, s, Key(Ref("usr"), "viewer", Ref("doc")))[0]
	revs, err := w.Changes(ctx, head, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantFeed(t, "after expiry", revs, head, [][]tuples.Change{created(tup)})
}
