package bench

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
	"github.com/flametrench/server/tuples/postgres"
	"github.com/flametrench/server/tuples/postgres/pgtest"
)

// The PostgreSQL benchmarks need FLAMETRENCH_TEST_DATABASE_URL (they skip
// without it) and write into a fresh schema each.

var quiet = slog.New(slog.DiscardHandler)

// pgWorld is a database holding a generated graph of n tuples (plus the wide
// document) and a replica of it, built once per size.
type pgWorld struct {
	world
	url string
	db  *postgres.DB
	f   *postgres.Follower
}

var (
	pgWorldsMu sync.Mutex
	pgWorlds   = map[int]*pgWorld{}
)

// getPGWorld writes the SaaS graph into PostgreSQL in batches of 10,000 and
// hydrates a replica from it. The schema lives until the benchmark binary
// ends (the first benchmark that builds it owns its cleanup, so later ones
// reuse it only within one -bench run of that benchmark).
func getPGWorld(b *testing.B, n int) *pgWorld {
	pgWorldsMu.Lock()
	defer pgWorldsMu.Unlock()
	if w := pgWorlds[n]; w != nil {
		return w
	}
	ctx := context.Background()
	db, url := pgtest.DB(b, postgres.Config{})
	w := &pgWorld{world: world{gen: Generate(seed, n), g: memory.New()}, url: url, db: db}
	start := time.Now()
	if err := w.gen.WriteBatches(ctx, db, 10_000); err != nil {
		b.Fatal(err)
	}
	b.Logf("wrote %d tuples in %v", n, time.Since(start).Round(time.Millisecond))
	w.f = postgres.NewFollower(db, w.g, postgres.FollowerConfig{Logger: quiet})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.f.Run(rctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
		pgWorldsMu.Lock()
		delete(pgWorlds, n)
		pgWorldsMu.Unlock()
	})
	for !w.f.Ready() {
		time.Sleep(10 * time.Millisecond)
	}
	w.finish(b, w.f)
	pgWorlds[n] = w
	return w
}

// freshBatch returns size creates of new keys.
func freshBatch(size int) []tuples.Change {
	org := tuples.Ref{Type: "org", ID: tuples.NewUUID()}
	cs := make([]tuples.Change, size)
	for i := range cs {
		cs[i] = tuples.Change{Op: tuples.OpCreate, Key: tuples.Key{Subject: tuples.Ref{Type: "usr", ID: tuples.NewUUID()}, Relation: "member", Object: org}}
	}
	return cs
}

// BenchmarkPostgresWrite measures writes committed to PostgreSQL: one tuple
// per transaction (the round trip an application waits for, through the
// replica so that it includes making the write visible locally), and batches
// (through COPY from 512 tuples up), reported in tuples per second.
func BenchmarkPostgresWrite(b *testing.B) {
	ctx := context.Background()
	db, _ := pgtest.DB(b, postgres.Config{})
	g := memory.New()
	f := postgres.NewFollower(db, g, postgres.FollowerConfig{Logger: quiet})
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go f.Run(rctx)
	for !f.Ready() {
		time.Sleep(10 * time.Millisecond)
	}
	b.Run("single", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.Write(ctx, freshBatch(1)); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, tc := range []struct {
		name string
		w    Writer
		size int
	}{{"batch-100", f, 100}, {"batch-10000", f, 10_000}, {"batch-10000-db-only", db, 10_000}} {
		size := tc.size
		b.Run(tc.name, func(b *testing.B) {
			batches := make([][]tuples.Change, 0, 8)
			for range 8 {
				batches = append(batches, freshBatch(size))
			}
			n := 0
			for i := 0; b.Loop(); i++ {
				if i == len(batches) {
					b.StopTimer()
					batches = append(batches[:0], freshBatch(size))
					i = 0
					b.StartTimer()
				}
				if _, err := tc.w.Write(ctx, batches[i%len(batches)]); err != nil {
					b.Fatal(err)
				}
				batches[i%len(batches)] = nil
				n += size
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tuples/s")
		})
	}
}

// BenchmarkPostgresWriteParallel writes batches of 10,000 from two
// connections at once: inserts run in parallel and only the revision stamp
// at commit is serialised, so throughput grows with the database's cores.
func BenchmarkPostgresWriteParallel(b *testing.B) {
	ctx := context.Background()
	db, _ := pgtest.DB(b, postgres.Config{})
	const size = 10_000
	var n atomic.Int64
	b.SetParallelism(1) // GOMAXPROCS writers
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.Write(ctx, freshBatch(size)); err != nil {
				b.Error(err)
				return
			}
			n.Add(size)
		}
	})
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "tuples/s")
}

// BenchmarkPostgresHydrate measures a replica's start: streaming every tuple
// of the database into a new graph.
func BenchmarkPostgresHydrate(b *testing.B) {
	for _, n := range sizes() {
		b.Run(sizeName(n), func(b *testing.B) {
			w := getPGWorld(b, n)
			ctx := context.Background()
			for b.Loop() {
				g := memory.New()
				f := postgres.NewFollower(w.db, g, postgres.FollowerConfig{Logger: quiet})
				start := time.Now()
				if err := f.Run(stopWhenReady(ctx, f)); err != nil || !f.Hydrated() {
					b.Fatalf("hydrate: %v", err)
				}
				b.ReportMetric(float64(g.Len())/time.Since(start).Seconds(), "tuples/s")
			}
		})
	}
}

// stopWhenReady returns a context that ends once f has hydrated.
func stopWhenReady(ctx context.Context, f *postgres.Follower) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		for !f.Hydrated() {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	return ctx
}

// BenchmarkPostgresWriteToVisible measures how long a write through one
// replica takes to show in another: with NOTIFY, and by polling alone (at
// the default 100ms interval). It reports the median and 99th percentile.
func BenchmarkPostgresWriteToVisible(b *testing.B) {
	for _, mode := range []struct {
		name     string
		noNotify bool
	}{{"notify", false}, {"poll-100ms", true}} {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			db, url := pgtest.DB(b, postgres.Config{})
			writer := postgres.NewFollower(db, memory.New(), postgres.FollowerConfig{Logger: quiet})
			other, err := postgres.Open(ctx, url, postgres.Config{NoNotify: mode.noNotify})
			if err != nil {
				b.Fatal(err)
			}
			defer other.Close()
			g := memory.New()
			reader := postgres.NewFollower(other, g, postgres.FollowerConfig{Logger: quiet})
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go writer.Run(rctx)
			go reader.Run(rctx)
			for !writer.Ready() || !reader.Ready() {
				time.Sleep(10 * time.Millisecond)
			}
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				res, err := writer.Write(ctx, freshBatch(1))
				if err != nil {
					b.Fatal(err)
				}
				if err := g.Wait(ctx, res.Revision); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkCheckReplica runs the check scenarios against a graph hydrated
// from PostgreSQL, uncached, to compare with BenchmarkCheck/*/off on a graph
// loaded in memory: the replica is the same structure, so the numbers should
// match within noise.
func BenchmarkCheckReplica(b *testing.B) {
	for _, n := range sizes() {
		b.Run(sizeName(n), func(b *testing.B) {
			w := getPGWorld(b, n)
			for _, sc := range scenarios(&w.world) {
				b.Run(sc.name, func(b *testing.B) { runChecks(b, w.nocache, sc.reqs, sc.allowed) })
			}
		})
	}
}
