package postgres

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flametrench/server/tuples"
)

// Mirror is the local copy of the database's tuples that a Follower keeps
// current; *memory.Graph is one. Apply and Reset have the semantics of the
// memory graph's methods of those names: Apply is idempotent, refuses a gap,
// and publishes at the database's revision, so revisions (and tokens) mean
// the same in every replica.
type Mirror interface {
	tuples.Reader
	tuples.Waiter
	Apply(ctx context.Context, rev uint64, changes []tuples.Change) (bool, error)
	Reset(ctx context.Context, rev uint64, src iter.Seq2[tuples.Tuple, error]) error
}

// FollowerConfig tunes a Follower. Zero values take the defaults.
type FollowerConfig struct {
	// PollInterval is how often the changelog is read when nothing wakes the
	// follower earlier (NOTIFY, or a write through this process). It bounds
	// how stale a replica can be without NOTIFY. Default 100ms.
	PollInterval time.Duration
	// Retention is how long changelog rows are kept; a replica that falls
	// further behind reloads the whole graph. Default 24h; negative: never prune.
	Retention time.Duration
	// WriteVisibleTimeout bounds how long a write through this follower waits
	// for the local graph to show it before returning (it returns success
	// either way: the write committed). Default 5s.
	WriteVisibleTimeout time.Duration
	// Logger receives replication events. Nil: slog.Default().
	Logger *slog.Logger
	// Registerer, when set, gets the replication metrics.
	Registerer prometheus.Registerer
}

const (
	defaultPollInterval = 100 * time.Millisecond
	defaultRetention    = 24 * time.Hour
	pruneEvery          = time.Minute
	maxBackoff          = 5 * time.Second
	// pollRevisions bounds the revisions one changelog read asks for; rows
	// stream in, so this bounds the statement, not memory.
	pollRevisions = 1000
)

// Follower makes a Mirror a replica of the database: it hydrates the mirror
// from a consistent snapshot, then tails the changelog, woken early by
// LISTEN/NOTIFY where the database has it and by polling always, so it is
// correct without NOTIFY. While the database is unreachable the mirror keeps
// serving what it has, Ready reports false, and the follower reconnects with
// backoff and catches up where it stopped; a replica that fell behind the
// changelog's retention reloads.
//
// A Follower is also the tuples.Store a server uses over PostgreSQL: writes go
// to the database and then into the local mirror at once (so a client reads
// its own writes from this replica), reads come from the mirror.
type Follower struct {
	db  *DB
	m   Mirror
	cfg FollowerConfig
	log *slog.Logger

	kick      chan struct{} // a buffered wake-up for the tail loop
	hydrated  atomic.Bool
	up        atomic.Bool
	mustReset atomic.Bool
	epoch     atomic.Uint64
	head      atomic.Uint64 // the database's revision at the last read
	current   atomic.Int64  // unix nanos when the mirror was last seen at the head

	applied, resets prometheus.Counter
}

// NewFollower returns a follower of db into m. Call Run to start it.
func NewFollower(db *DB, m Mirror, cfg FollowerConfig) *Follower {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = defaultPollInterval
	}
	if cfg.Retention == 0 {
		cfg.Retention = defaultRetention
	}
	if cfg.WriteVisibleTimeout <= 0 {
		cfg.WriteVisibleTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	f := &Follower{db: db, m: m, cfg: cfg, log: cfg.Logger, kick: make(chan struct{}, 1)}
	f.applied = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "flametrench_replica_applied_revisions_total",
		Help: "Changelog revisions this replica applied to its graph (from its own writes or the changelog).",
	})
	f.resets = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "flametrench_replica_reloads_total",
		Help: "Full reloads of the graph from the database (start-up, or after falling behind the changelog).",
	})
	if r := cfg.Registerer; r != nil {
		r.MustRegister(f.applied, f.resets,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "flametrench_replica_lag_revisions",
				Help: "Revisions the graph is behind the database, as of the last changelog read.",
			}, func() float64 { return float64(f.Lag()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "flametrench_replica_staleness_seconds",
				Help: "Seconds since the graph was last confirmed current with the database (about the poll interval when healthy).",
			}, func() float64 {
				if t := f.current.Load(); t != 0 {
					return time.Since(time.Unix(0, t)).Seconds()
				}
				return 0
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "flametrench_database_up",
				Help: "1 if the last database round trip of the replica succeeded.",
			}, func() float64 {
				if f.up.Load() {
					return 1
				}
				return 0
			}),
		)
	}
	return f
}

// Ready reports whether the replica has hydrated and the database answers:
// what /readyz shows. Checks are served from the graph even when it is false.
func (f *Follower) Ready() bool { return f.hydrated.Load() && f.up.Load() }

// Hydrated reports whether the first load has finished.
func (f *Follower) Hydrated() bool { return f.hydrated.Load() }

// Epoch returns the database's epoch, for consistency tokens; 0 until hydrated.
func (f *Follower) Epoch() uint64 { return f.epoch.Load() }

// Lag returns how many revisions the graph was behind at the last read.
func (f *Follower) Lag() uint64 {
	h, r := f.head.Load(), f.m.Revision()
	if h > r {
		return h - r
	}
	return 0
}

// Kick wakes the tail loop to read the changelog now.
func (f *Follower) Kick() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// Run hydrates the mirror and then keeps it current until ctx ends; it
// returns nil then. Database failures never stop it: it retries with backoff.
func (f *Follower) Run(ctx context.Context) error {
	if f.db.notify {
		go f.listen(ctx)
	}
	backoff := time.Duration(0)
	lastPrune := time.Time{}
	for ctx.Err() == nil {
		if err := f.step(ctx); err != nil {
			if ctx.Err() != nil {
				break
			}
			f.up.Store(false)
			backoff = min(max(2*backoff, 50*time.Millisecond), maxBackoff)
			f.log.Warn("replica: database round trip failed; retrying", "err", err, "retry_in", backoff)
			sleep(ctx, jitter(backoff))
			continue
		}
		if !f.up.Swap(true) && backoff > 0 {
			f.log.Info("replica: database reachable again", "revision", f.m.Revision())
		}
		backoff = 0
		if f.cfg.Retention > 0 && time.Since(lastPrune) > pruneEvery {
			lastPrune = time.Now()
			if n, err := f.db.Prune(ctx, f.cfg.Retention); err != nil && ctx.Err() == nil {
				f.log.Warn("replica: pruning the changelog failed", "err", err)
			} else if n > 0 {
				f.log.Info("replica: pruned the changelog", "revisions", n)
			}
		}
		if f.m.Revision() < f.head.Load() {
			continue // more to read
		}
		select {
		case <-f.kick:
		case <-time.After(f.cfg.PollInterval):
		case <-ctx.Done():
		}
	}
	return nil
}

// step hydrates (or reloads) the mirror if it must, else reads the changelog once.
func (f *Follower) step(ctx context.Context) error {
	if !f.hydrated.Load() || f.mustReset.Load() {
		return f.reload(ctx)
	}
	return f.poll(ctx)
}

// reload replaces the mirror's content with a snapshot of the database.
func (f *Follower) reload(ctx context.Context) error {
	start := time.Now()
	var rev uint64
	err := f.db.Stream(ctx, false, func(r, epoch uint64, src iter.Seq2[tuples.Tuple, error]) error {
		rev = r
		if old := f.epoch.Load(); old != 0 && old != epoch {
			f.log.Error("replica: the database's epoch changed (restored or replaced?); tokens issued before are now refused", "old", old, "new", epoch)
		}
		f.epoch.Store(epoch)
		if r <= f.m.Revision() && f.hydrated.Load() {
			// Our graph is at or past this snapshot; a reload would move it
			// backwards. Drain and keep tailing.
			for range src {
			}
			return nil
		}
		if r == 0 { // an empty database: nothing to load, and revision 0 is the start
			for range src {
			}
			return nil
		}
		return f.m.Reset(ctx, r, src)
	})
	if err != nil {
		return err
	}
	f.head.Store(max(f.head.Load(), rev))
	f.mustReset.Store(false)
	f.resets.Inc()
	if !f.hydrated.Swap(true) {
		f.log.Info("replica: graph hydrated", "revision", rev, "took", time.Since(start).Round(time.Millisecond))
	} else {
		f.log.Warn("replica: graph reloaded", "revision", rev, "took", time.Since(start).Round(time.Millisecond))
	}
	f.current.Store(time.Now().UnixNano())
	return nil
}

// pollSQL reads the head and the next revisions in one statement, so both
// come from one snapshot: if the head is ahead and the next revision is not
// there, it was pruned.
const pollSQL = `SELECT r.rev, c.rev, c.changes FROM tup_revision r
LEFT JOIN LATERAL (SELECT rev, changes FROM tup_changelog WHERE rev > $1 ORDER BY rev LIMIT $2) c ON true`

// poll applies the changelog after the mirror's revision.
func (f *Follower) poll(ctx context.Context) error {
	from := f.m.Revision()
	rows, err := f.db.pool.Query(ctx, pollSQL, int64(from), pollRevisions)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	var head int64
	names := map[string]string{}
	for rows.Next() {
		var rev *int64
		var blob []byte
		if err := rows.Scan(&head, &rev, &blob); err != nil {
			return translate(err)
		}
		if rev == nil {
			break
		}
		cs, err := decodeChanges(blob, names)
		if err != nil {
			f.log.Error("replica: unreadable changelog entry; reloading", "revision", *rev, "err", err)
			f.mustReset.Store(true)
			return nil
		}
		if _, err := f.m.Apply(ctx, uint64(*rev), cs); err != nil {
			f.log.Error("replica: could not apply a revision; reloading", "revision", *rev, "err", err)
			f.mustReset.Store(true)
			return nil
		}
		f.applied.Inc()
	}
	if err := rows.Err(); err != nil {
		return translate(err)
	}
	f.head.Store(uint64(head))
	f.db.saw(uint64(head))
	if cur := f.m.Revision(); cur < uint64(head) && cur == from {
		f.log.Warn("replica: fell behind the changelog's retention; reloading", "revision", cur, "head", head)
		f.mustReset.Store(true)
		return nil
	}
	if f.m.Revision() >= uint64(head) {
		f.current.Store(time.Now().UnixNano())
	}
	return nil
}

// listen holds a connection that LISTENs for commits and kicks the tail loop
// on each. It gives up for good on a database without LISTEN.
func (f *Follower) listen(ctx context.Context) {
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		err := f.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "0A000" { // feature_not_supported
			f.log.Warn("replica: the database has no LISTEN/NOTIFY; relying on polling", "interval", f.cfg.PollInterval)
			return
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), maxBackoff)
		sleep(ctx, jitter(backoff))
	}
}

func (f *Follower) listenOnce(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, f.db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	f.Kick() // anything committed while we were not listening
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		f.Kick()
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// jitter spreads retries of many replicas over [d/2, d).
func jitter(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) }

// Prune deletes changelog rows older than retention and records how far it
// pruned. It returns the number of revisions deleted. Any replica may run
// it; running it twice is harmless.
func (db *DB) Prune(ctx context.Context, retention time.Duration) (int64, error) {
	var n int64
	err := db.pool.QueryRow(ctx, `WITH cut AS (
	SELECT max(rev) AS rev FROM tup_changelog WHERE committed_at < clock_timestamp() - make_interval(secs => $1)
), gone AS (
	DELETE FROM tup_changelog WHERE rev <= (SELECT rev FROM cut) RETURNING rev
), mark AS (
	UPDATE tup_revision SET pruned_through = (SELECT max(rev) FROM gone)
	WHERE (SELECT max(rev) FROM gone) > pruned_through
)
SELECT count(*) FROM gone`, retention.Seconds()).Scan(&n)
	return n, translate(err)
}

// applyLocal brings a write this process committed into the mirror: at once
// if it is the next revision, else by waking the tail loop and waiting for it
// (bounded; the write has committed either way).
func (f *Follower) applyLocal(ctx context.Context, rev uint64, log []tuples.Change) {
	if rev == 0 {
		return
	}
	ok, err := f.m.Apply(ctx, rev, log)
	if ok {
		f.applied.Inc()
	}
	if err == nil && f.m.Revision() >= rev {
		return
	}
	f.Kick()
	_ = tuples.AwaitRevision(ctx, f.m, rev, f.cfg.WriteVisibleTimeout)
}

// Update runs fn in a transaction like DB.Update, and makes the tuples it
// changed visible in the local graph before returning.
func (f *Follower) Update(ctx context.Context, fn func(*Tx) error) (uint64, error) {
	rev, log, err := f.db.update(ctx, fn)
	if err != nil {
		return 0, err
	}
	f.applyLocal(context.WithoutCancel(ctx), rev, log)
	return rev, nil
}

// View runs fn to read the database (DB.View).
func (f *Follower) View(ctx context.Context, fn func(*Tx) error) error { return f.db.View(ctx, fn) }

// Write implements tuples.Writer: the batch commits to the database, then
// shows in the local graph.
func (f *Follower) Write(ctx context.Context, changes []tuples.Change) (tuples.WriteResult, error) {
	res, err := writeBatch(ctx, f.Update, changes)
	if err == nil {
		f.await(ctx, res.Revision)
	}
	return res, err
}

// DeleteSubject implements tuples.Writer.
func (f *Follower) DeleteSubject(ctx context.Context, subject tuples.Ref) (int, uint64, error) {
	n, rev, err := deleteSubject(ctx, f.Update, subject)
	if err == nil {
		f.await(ctx, rev)
	}
	return n, rev, err
}

// await waits (bounded) for the local graph to reach rev: a write that
// changed nothing may have found tuples that another replica wrote.
func (f *Follower) await(ctx context.Context, rev uint64) {
	if f.m.Revision() < rev {
		f.Kick()
		_ = tuples.AwaitRevision(ctx, f.m, rev, f.cfg.WriteVisibleTimeout)
	}
}

// Revision returns the local graph's revision (tuples.Store).
func (f *Follower) Revision() uint64 { return f.m.Revision() }

// Wait waits for the local graph to reach rev (tuples.Waiter). A request
// that asks for a revision the graph lacks wakes the tail loop, so it waits
// for one changelog read, not for the next poll.
func (f *Follower) Wait(ctx context.Context, rev uint64) error {
	if f.m.Revision() < rev {
		f.Kick()
	}
	return f.m.Wait(ctx, rev)
}

// Get reads the local graph (tuples.Reader).
func (f *Follower) Get(ctx context.Context, id tuples.UUID) (tuples.Tuple, error) {
	return f.m.Get(ctx, id)
}

// ListBySubject reads the local graph (tuples.Reader).
func (f *Follower) ListBySubject(ctx context.Context, subject tuples.Ref, cursor string, limit int) (tuples.Page, error) {
	return f.m.ListBySubject(ctx, subject, cursor, limit)
}

// ListByObject reads the local graph (tuples.Reader).
func (f *Follower) ListByObject(ctx context.Context, object tuples.Ref, relation, cursor string, limit int) (tuples.Page, error) {
	return f.m.ListByObject(ctx, object, relation, cursor, limit)
}

var _ tuples.Store = (*Follower)(nil)
