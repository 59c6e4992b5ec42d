package postgres_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
	"github.com/flametrench/server/tuples/postgres"
	"github.com/flametrench/server/tuples/postgres/pgtest"
	"github.com/flametrench/server/tuples/tuplestest"
)

var ctx = context.Background()

// quiet drops the replica's log lines.
var quiet = slog.New(slog.DiscardHandler)

// follow starts a follower of db into a new graph and waits until it is
// ready; it stops when the test ends.
func follow(t *testing.T, db *postgres.DB, cfg postgres.FollowerConfig) (*postgres.Follower, *memory.Graph) {
	t.Helper()
	g := memory.New()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	f := postgres.NewFollower(db, g, cfg)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Run(rctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	eventually(t, 10*time.Second, "follower ready", f.Ready)
	return f, g
}

// eventually polls cond until it holds or the time is up.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// open opens a second handle on the database at url.
func open(t *testing.T, url string, cfg postgres.Config) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(ctx, url, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// TestFollowerStore holds the production shape — writes to PostgreSQL, reads
// from the replica graph — to the shared store suite.
func TestFollowerStore(t *testing.T) {
	tuplestest.Run(t, func(t *testing.T) tuples.Store {
		db, _ := pgtest.DB(t, postgres.Config{})
		f, _ := follow(t, db, postgres.FollowerConfig{})
		return f
	})
}

// TestFollowerWatch holds the production shape of the feed — changes read
// from the database, waits on the replica graph — to the suite.
func TestFollowerWatch(t *testing.T) {
	tuplestest.RunWatch(t, func(t *testing.T) (tuples.Store, func()) {
		db, _ := pgtest.DB(t, postgres.Config{})
		f, _ := follow(t, db, postgres.FollowerConfig{})
		return f, func() { prune(t, db) }
	})
}

// dump lists every tuple of a store through its listings, by subject.
func keysOf(t *testing.T, tups []tuples.Tuple) []string {
	t.Helper()
	out := make([]string, len(tups))
	for i, tup := range tups {
		out[i] = tuples.FormatID("tup", tup.ID) + " " + tup.Key.String()
	}
	slices.Sort(out)
	return out
}

// graphTuples reads every tuple of a graph snapshot.
func graphTuples(g *memory.Graph, subjects []tuples.Ref) []tuples.Tuple {
	var all []tuples.Tuple
	s := g.Snapshot()
	for _, subj := range subjects {
		cursor := ""
		for {
			p, _ := s.ListBySubject(subj, cursor, tuples.MaxLimit)
			all = append(all, p.Tuples...)
			if cursor = p.Next; cursor == "" {
				break
			}
		}
	}
	return all
}

func create(key tuples.Key) []tuples.Change {
	return []tuples.Change{{Op: tuples.OpCreate, Key: key}}
}

// TestRevisionsCommitInOrder is the deterministic form of the changelog's
// central claim: a replica never skips a committed change. Transaction T1
// starts first and is still open when T2 commits. With revisions taken from a
// sequence at the start of a transaction (the naive design), T2 commits
// revision 2 while revision 1 is invisible, and a reader that has read "up to
// 2" would never look at 1 again. With revisions taken under the row lock as
// a transaction's last step, T2 gets revision 1 and T1 revision 2.
func TestRevisionsCommitInOrder(t *testing.T) {
	t.Run("serialised", func(t *testing.T) {
		skipped := commitOutOfOrder(t, false)
		if skipped {
			t.Fatal("the replica saw a later revision before an earlier one committed")
		}
	})
	t.Run("naive sequence is caught", func(t *testing.T) {
		// The same interleaving against the naive design: the test must see
		// the hole, or it proves nothing about the serialised design.
		if !commitOutOfOrder(t, true) {
			t.Fatal("the naive design was not caught: this test cannot tell the designs apart")
		}
	})
}

// commitOutOfOrder runs the interleaving and reports whether the follower met
// a revision ahead of one not yet committed.
func commitOutOfOrder(t *testing.T, naive bool) bool {
	db, _ := pgtest.DB(t, postgres.Config{NoNotify: true})
	begin := func(ctx context.Context, tx *postgres.Tx) error { return nil }
	if naive {
		if _, err := db.Update(ctx, func(tx *postgres.Tx) error {
			_, err := tx.Exec(ctx, `CREATE SEQUENCE naive_rev`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		begin = func(ctx context.Context, tx *postgres.Tx) error {
			_, err := tx.Exec(ctx, `SELECT set_config('naive.rev', nextval('naive_rev')::text, true)`)
			return err
		}
		postgres.SetStamp(db, func(ctx context.Context, tx pgx.Tx, changes []byte) (uint64, error) {
			var rev int64
			err := tx.QueryRow(ctx, `WITH r AS (SELECT current_setting('naive.rev')::bigint AS rev),
	l AS (INSERT INTO tup_changelog (rev, changes) SELECT rev, $1 FROM r),
	u AS (UPDATE tup_revision SET rev = greatest(tup_revision.rev, (SELECT rev FROM r)))
SELECT rev FROM r`, changes).Scan(&rev)
			return uint64(rev), err
		})
	}
	g := memory.New()
	f := postgres.NewFollower(db, g, postgres.FollowerConfig{Logger: quiet})
	step := func() {
		t.Helper()
		if err := f.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	step() // hydrate

	a := tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))
	b := tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))
	started, release := make(chan struct{}), make(chan struct{})
	t1 := make(chan error, 1)
	go func() {
		_, err := db.Update(ctx, func(tx *postgres.Tx) error {
			if err := begin(ctx, tx); err != nil {
				return err
			}
			if _, err := tx.Write(ctx, create(a)); err != nil {
				return err
			}
			close(started)
			<-release
			return nil
		})
		t1 <- err
	}()
	<-started
	if _, err := db.Update(ctx, func(tx *postgres.Tx) error {
		if err := begin(ctx, tx); err != nil {
			return err
		}
		_, err := tx.Write(ctx, create(b))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	step() // T2 is committed, T1 is not
	skipped := f.NeedsReload()
	close(release)
	if err := <-t1; err != nil {
		t.Fatal(err)
	}
	if !naive {
		step()
		if f.NeedsReload() {
			t.Fatal("follower needs a reload after in-order commits")
		}
		if got, want := keysOf(t, graphTuples(g, []tuples.Ref{a.Subject, b.Subject})), keysOf(t, pgtest.Tuples(t, db)); !slices.Equal(got, want) {
			t.Fatalf("graph %v, database %v", got, want)
		}
	}
	return skipped
}

// TestConcurrentWritersReplica: many writers commit while a replica tails
// with a short poll and no NOTIFY, so reads land between commits at random.
// The replica must never meet a gap (one load at start, no reload) and must
// end equal to the database.
func TestConcurrentWritersReplica(t *testing.T) {
	db, url := pgtest.DB(t, postgres.Config{NoNotify: true})
	f, g := follow(t, db, postgres.FollowerConfig{PollInterval: time.Millisecond})
	writers := open(t, url, postgres.Config{NoNotify: true, MaxConns: 8})
	const n, each = 8, 40
	var mu sync.Mutex
	var subjects []tuples.Ref
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				u := tuplestest.Ref("usr")
				mu.Lock()
				subjects = append(subjects, u)
				mu.Unlock()
				_, err := writers.Update(ctx, func(tx *postgres.Tx) error {
					if _, err := tx.Write(ctx, create(tuplestest.Key(u, "viewer", tuplestest.Ref("doc")))); err != nil {
						return err
					}
					time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond) // hold the transaction open a while
					return nil
				})
				if err != nil {
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
	head, _, err := db.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tuples.AwaitRevision(ctx, f, head, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if f.NeedsReload() {
		t.Fatal("replica met a gap in the changelog")
	}
	if got, want := keysOf(t, graphTuples(g, subjects)), keysOf(t, pgtest.Tuples(t, db)); !slices.Equal(got, want) {
		t.Fatalf("replica holds %d tuples, database %d", len(got), len(want))
	}
	if g.Len() != n*each {
		t.Fatalf("graph has %d tuples, want %d", g.Len(), n*each)
	}
}

// TestHydrate: a replica started over a populated database loads it whole,
// at the database's revision, and is not ready before.
func TestHydrate(t *testing.T) {
	db, _ := pgtest.DB(t, postgres.Config{})
	var keys []tuples.Change
	var subjects []tuples.Ref
	for i := 0; i < 3000; i++ {
		u := tuplestest.Ref("usr")
		subjects = append(subjects, u)
		keys = append(keys, tuples.Change{Op: tuples.OpCreate, Key: tuplestest.Key(u, "member", tuplestest.Ref("org")), CreatedBy: tuples.NewUUID()})
	}
	res, err := db.Write(ctx, keys) // large enough to go through COPY
	if err != nil {
		t.Fatal(err)
	}
	g := memory.New()
	f := postgres.NewFollower(db, g, postgres.FollowerConfig{Logger: quiet})
	if f.Ready() {
		t.Fatal("ready before hydration")
	}
	if err := f.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if !f.Hydrated() || g.Revision() != res.Revision || f.Epoch() == 0 {
		t.Fatalf("after hydration: hydrated %v, revision %d (want %d), epoch %d", f.Hydrated(), g.Revision(), res.Revision, f.Epoch())
	}
	if got, want := keysOf(t, graphTuples(g, subjects)), keysOf(t, res.Tuples); !slices.Equal(got, want) {
		t.Fatalf("hydrated %d tuples, wrote %d", len(got), len(want))
	}
	tup, err := g.Get(ctx, res.Tuples[17].ID)
	if err != nil || tup != res.Tuples[17] {
		t.Fatalf("Get = %+v, %v; want %+v", tup, err, res.Tuples[17])
	}
}

// TestPruneReloads: a replica that falls behind the changelog's retention
// notices the hole and reloads instead of skipping what was pruned.
func TestPruneReloads(t *testing.T) {
	db, _ := pgtest.DB(t, postgres.Config{NoNotify: true})
	g := memory.New()
	f := postgres.NewFollower(db, g, postgres.FollowerConfig{Logger: quiet})
	if err := f.Step(ctx); err != nil {
		t.Fatal(err)
	}
	u := tuplestest.Ref("usr")
	var last tuples.WriteResult
	for i := 0; i < 5; i++ {
		var err error
		if last, err = db.Write(ctx, create(tuplestest.Key(u, "viewer", tuplestest.Ref("doc")))); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(10 * time.Millisecond)
	n, err := db.Prune(ctx, time.Millisecond)
	if err != nil || n != 5 {
		t.Fatalf("Prune = %d, %v; want 5", n, err)
	}
	if err := f.Step(ctx); err != nil || !f.NeedsReload() {
		t.Fatalf("after pruning: err %v, needs reload %v", err, f.NeedsReload())
	}
	if err := f.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if g.Revision() != last.Revision || g.Len() != 5 || f.NeedsReload() {
		t.Fatalf("after reload: revision %d (want %d), %d tuples", g.Revision(), last.Revision, g.Len())
	}
	// And it tails again from there.
	res, err := db.Write(ctx, create(tuplestest.Key(u, "editor", tuplestest.Ref("doc"))))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Step(ctx); err != nil || g.Revision() != res.Revision {
		t.Fatalf("tail after reload: %v, revision %d, want %d", err, g.Revision(), res.Revision)
	}
}

// TestRetentionKeepsRecent: pruning leaves what is younger than retention.
func TestRetentionKeepsRecent(t *testing.T) {
	db, _ := pgtest.DB(t, postgres.Config{})
	if _, err := db.Write(ctx, create(tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc")))); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Prune(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("Prune(1h) = %d, %v; want 0", n, err)
	}
}

func TestChangelogRoundTrip(t *testing.T) {
	cs := []tuples.Change{
		{Op: tuples.OpCreate, ID: tuples.NewUUID(), Key: tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc")), CreatedBy: tuples.NewUUID()},
		{Op: tuples.OpDelete, ID: tuples.NewUUID(), Key: tuplestest.Key(tuplestest.Ref("org"), "parent_org", tuplestest.Ref("proj"))},
	}
	got, err := postgres.DecodeChanges(postgres.EncodeChanges(cs), map[string]string{})
	if err != nil || !slices.Equal(got, cs) {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, cs)
	}
	b := postgres.EncodeChanges(cs)
	for i := range b {
		if _, err := postgres.DecodeChanges(b[:i], nil); err == nil {
			t.Fatalf("decoding %d of %d bytes succeeded", i, len(b))
		}
	}
}

func FuzzDecodeChanges(f *testing.F) {
	f.Add(postgres.EncodeChanges([]tuples.Change{{Op: tuples.OpCreate, Key: tuplestest.Key(tuplestest.Ref("usr"), "viewer", tuplestest.Ref("doc"))}}))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := postgres.DecodeChanges(b, map[string]string{})
		if err != nil {
			return
		}
		again, err := postgres.DecodeChanges(postgres.EncodeChanges(cs), nil)
		if err != nil || !slices.Equal(again, cs) {
			t.Fatalf("re-encoding %+v gave %+v, %v", cs, again, err)
		}
	})
}
