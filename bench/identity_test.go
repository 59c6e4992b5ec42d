package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flametrench/server/identity"
	identitymemory "github.com/flametrench/server/identity/memory"
	"github.com/flametrench/server/identity/password"
	"github.com/flametrench/server/tuples/memory"
)

// identityWorld is an identity service on the memory store with one user,
// a password credential, a live session and a PAT.
type identityWorld struct {
	svc      *identity.Service
	store    identity.Store
	hasher   *password.Pool
	session  string
	pat      string
	phc      string
	password string
}

func newIdentityWorld(b *testing.B, cfg password.PoolConfig) *identityWorld {
	b.Helper()
	ctx := context.Background()
	w := &identityWorld{hasher: password.NewPool(cfg), password: "correct horse battery staple"}
	w.store = identitymemory.New(memory.New())
	w.svc = identity.NewService(w.store, identity.Config{Hasher: w.hasher,
		Limiter: identity.NewLimiter(identity.LimiterConfig{Free: 1 << 30})})
	u, err := w.svc.CreateUser(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	c, err := w.svc.CreateCredential(ctx, identity.NewCredential{UserID: u.ID, Type: identity.Password, Identifier: "bench@example.com", Password: w.password})
	if err != nil {
		b.Fatal(err)
	}
	w.phc = c.PasswordHash
	v, err := w.svc.VerifyCredential(ctx, identity.VerifyInput{Type: identity.Password, Identifier: "bench@example.com", Password: w.password})
	if err != nil {
		b.Fatal(err)
	}
	if _, w.session, err = w.svc.CreateSession(ctx, v, time.Hour); err != nil {
		b.Fatal(err)
	}
	if _, w.pat, err = w.svc.CreatePAT(ctx, identity.NewPAT{UserID: u.ID, Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	return w
}

// BenchmarkPasswordVerify measures Argon2id verification at the spec floor
// through the pool, from GOMAXPROCS goroutines, and reports it against the
// machine's limit: cores ÷ the time of one verification on an idle core.
func BenchmarkPasswordVerify(b *testing.B) {
	w := newIdentityWorld(b, password.PoolConfig{QueueTimeout: time.Minute})
	start := time.Now()
	const solo = 5
	for range solo {
		if ok, err := password.Verify(w.phc, w.password); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
	one := time.Since(start) / solo
	limit := float64(runtime.GOMAXPROCS(0)) / one.Seconds()
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := w.hasher.Verify(ctx, w.phc, w.password); !ok || err != nil {
				b.Error(ok, err)
				return
			}
		}
	})
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "verifies/s")
	b.ReportMetric(limit, "limit/s")
	b.ReportMetric(100*rate/limit, "%limit")
}

// BenchmarkSessionAuthenticate measures resolving a session token on the
// memory store: SHA-256, one map lookup, the checks.
func BenchmarkSessionAuthenticate(b *testing.B) {
	w := newIdentityWorld(b, password.PoolConfig{})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := w.svc.Authenticate(ctx, w.session); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPATVerify compares a PAT's first verification (Argon2id) with
// later ones, which the verified-token cache serves after re-reading the
// row.
func BenchmarkPATVerify(b *testing.B) {
	ctx := context.Background()
	b.Run("cached", func(b *testing.B) {
		w := newIdentityWorld(b, password.PoolConfig{})
		if _, err := w.svc.VerifyPAT(ctx, w.pat); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if _, err := w.svc.VerifyPAT(ctx, w.pat); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		w := newIdentityWorld(b, password.PoolConfig{})
		b.ResetTimer()
		for b.Loop() {
			// A fresh service over the same store has an empty cache.
			svc := identity.NewService(w.store, identity.Config{Hasher: w.hasher})
			if _, err := svc.VerifyPAT(ctx, w.pat); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLoginFlood starts 1000 logins at once and reports the peak heap
// while they run: the Argon2id pool bounds concurrent hashes to GOMAXPROCS,
// so the peak stays near cores × 19 MiB however many logins wait, and the
// logins over the queue timeout get ErrBusy instead of memory.
func BenchmarkLoginFlood(b *testing.B) {
	const logins = 1000
	for _, timeout := range []time.Duration{time.Second, time.Minute} {
		b.Run(fmt.Sprintf("queue-timeout-%v", timeout), func(b *testing.B) {
			w := newIdentityWorld(b, password.PoolConfig{QueueTimeout: timeout})
			ctx := context.Background()
			for b.Loop() {
				runtime.GC()
				var base runtime.MemStats
				runtime.ReadMemStats(&base)
				var peak atomic.Uint64
				stop := make(chan struct{})
				sampled := make(chan struct{})
				go func() {
					defer close(sampled)
					var m runtime.MemStats
					for {
						runtime.ReadMemStats(&m)
						if m.HeapInuse > peak.Load() {
							peak.Store(m.HeapInuse)
						}
						select {
						case <-stop:
							return
						case <-time.After(20 * time.Millisecond):
						}
					}
				}()
				var ok, busy atomic.Int64
				var wg sync.WaitGroup
				for range logins {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := w.svc.VerifyCredential(ctx, identity.VerifyInput{Type: identity.Password, Identifier: "bench@example.com", Password: w.password})
						switch {
						case err == nil:
							ok.Add(1)
						case tuplesUnavailable(err):
							busy.Add(1)
						default:
							b.Error(err)
						}
					}()
				}
				wg.Wait()
				close(stop)
				<-sampled
				b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "peak-heap-MiB")
				b.ReportMetric(float64(ok.Load()), "ok")
				b.ReportMetric(float64(busy.Load()), "busy")
			}
		})
	}
}

func tuplesUnavailable(err error) bool { return errors.Is(err, password.ErrBusy) }
