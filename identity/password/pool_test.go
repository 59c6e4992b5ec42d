package password

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/flametrench/server/tuples"
)

// holdFirst makes the first computation p runs block, holding its worker,
// until the returned release is called; started is closed once it holds.
func holdFirst(p *Pool) (started <-chan struct{}, release func()) {
	s, r := make(chan struct{}), make(chan struct{})
	var n atomic.Int32
	p.hold = func() {
		if n.Add(1) == 1 {
			close(s)
			<-r
		}
	}
	return s, func() { close(r) }
}

// waitFor polls cond, which becomes true through another goroutine's progress.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestNewPoolDefaults(t *testing.T) {
	p := NewPool(PoolConfig{})
	if p.Params() != Floor || cap(p.sem) != runtime.GOMAXPROCS(0) || p.timeout != defaultQueueTimeout {
		t.Errorf("NewPool(zero) = params %+v, %d workers, timeout %v; want Floor, GOMAXPROCS, 2s", p.Params(), cap(p.sem), p.timeout)
	}
	if err := (PoolConfig{Params: Params{Memory: 65536, Time: 3}}).Validate(); err != nil {
		t.Errorf("Validate(partial params) = %v, want nil: zero fields take the floor", err)
	}
	p = NewPool(PoolConfig{Workers: 3, QueueTimeout: time.Second, Params: Params{Memory: 65536, Time: 3}})
	want := Params{Memory: 65536, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}
	if p.Params() != want || cap(p.sem) != 3 || p.timeout != time.Second {
		t.Errorf("NewPool = params %+v, %d workers, timeout %v; want %+v, 3, 1s", p.Params(), cap(p.sem), p.timeout, want)
	}
}

func TestNewPoolPanicsOutOfRange(t *testing.T) {
	for _, params := range []Params{{Memory: 4096}, {Time: 1}, {Memory: Max.Memory + 1}} {
		if err := (PoolConfig{Params: params}).Validate(); !errors.Is(err, ErrParams) {
			t.Errorf("PoolConfig{Params: %+v}.Validate() = %v, want ErrParams", params, err)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewPool(Params: %+v) did not panic", params)
				}
			}()
			NewPool(PoolConfig{Params: params})
		}()
	}
}

func TestPoolHashVerify(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	p := NewPool(PoolConfig{Registerer: reg})
	ctx := context.Background()
	phc, err := p.Hash(ctx, "hunter2hunter2")
	if err != nil {
		t.Fatalf("Pool.Hash error = %v", err)
	}
	if got, _, _, err := ParsePHC(phc); err != nil || got != Floor {
		t.Errorf("ParsePHC(Pool.Hash) = %+v, %v, want Floor", got, err)
	}
	for _, c := range []struct {
		pw   string
		want bool
	}{{"hunter2hunter2", true}, {"hunter2", false}} {
		if ok, err := p.Verify(ctx, phc, c.pw); ok != c.want || err != nil {
			t.Errorf("Pool.Verify(%q) = %v, %v, want %v, nil", c.pw, ok, err, c.want)
		}
	}
	if err := p.DummyVerify(ctx); err != nil {
		t.Errorf("DummyVerify error = %v", err)
	}
	for name, c := range map[string]prometheus.Counter{"hash": p.m.hashes.hash, "verify": p.m.hashes.verify, "dummy": p.m.hashes.dummy} {
		want := map[string]float64{"hash": 1, "verify": 2, "dummy": 1}[name]
		if got := testutil.ToFloat64(c); got != want {
			t.Errorf("hashes_total{op=%s} = %v, want %v", name, got, want)
		}
	}
	if n, err := testutil.GatherAndCount(reg, "flametrench_argon2_hashes_total"); err != nil || n != 3 {
		t.Errorf("hashes_total series = %d, %v, want 3", n, err)
	}
	// A second pool on the same registry shares the series instead of panicking.
	NewPool(PoolConfig{Registerer: reg}).m.busy.Inc()
	if got := testutil.ToFloat64(p.m.busy); got != 1 {
		t.Errorf("busy_total after the second pool's Inc = %v, want 1 (shared)", got)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("metrics lint: %v %v", problems, err)
	}
}

// TestPoolBusy: with one worker held by a running hash, a second caller waits
// QueueTimeout and then gets ErrBusy, whichever operation it asked for.
func TestPoolBusy(t *testing.T) {
	p := NewPool(PoolConfig{Workers: 1, QueueTimeout: 20 * time.Millisecond})
	started, release := holdFirst(p)
	first := make(chan error, 1)
	go func() {
		_, err := p.Hash(context.Background(), "first")
		first <- err
	}()
	<-started
	ctx := context.Background()
	calls := map[string]func() error{
		"Hash":        func() error { _, err := p.Hash(ctx, "second"); return err },
		"Verify":      func() error { _, err := p.Verify(ctx, fixtureHash, "second"); return err },
		"DummyVerify": func() error { return p.DummyVerify(ctx) },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if !errors.Is(err, ErrBusy) || tuples.KindOf(err) != tuples.Unavailable {
			t.Errorf("%s while the worker is held: error = %v, want ErrBusy", name, err)
		}
		if waited := time.Since(start); waited < 20*time.Millisecond {
			t.Errorf("%s returned ErrBusy after %v, want at least the 20ms queue timeout", name, waited)
		}
	}
	if got := testutil.ToFloat64(p.m.busy); got != 3 {
		t.Errorf("busy_total = %v, want 3", got)
	}
	// A malformed hash is refused without queueing, so it is not "busy".
	if _, err := p.Verify(ctx, "$argon2i$v=19$m=19456,t=2,p=1$x$y", "pw"); !errors.Is(err, ErrMalformedHash) {
		t.Errorf("Verify(malformed) while busy: error = %v, want ErrMalformedHash", err)
	}
	release()
	if err := <-first; err != nil {
		t.Errorf("held Hash error = %v", err)
	}
	if _, err := p.Hash(ctx, "after"); err != nil {
		t.Errorf("Hash after release error = %v", err)
	}
}

// TestPoolNoWait: a negative QueueTimeout refuses at once when no worker is free.
func TestPoolNoWait(t *testing.T) {
	p := NewPool(PoolConfig{Workers: 1, QueueTimeout: -1})
	p.sem <- struct{}{} // occupy the only worker
	if err := p.DummyVerify(context.Background()); !errors.Is(err, ErrBusy) {
		t.Errorf("DummyVerify with no free worker and no wait: error = %v, want ErrBusy", err)
	}
	<-p.sem
	if err := p.DummyVerify(context.Background()); err != nil {
		t.Errorf("DummyVerify with a free worker: error = %v", err)
	}
}

// TestPoolQueues: a waiting caller shows in the queue depth and runs once the
// worker is released.
func TestPoolQueues(t *testing.T) {
	p := NewPool(PoolConfig{Workers: 1, QueueTimeout: time.Minute})
	started, release := holdFirst(p)
	errs := make(chan error, 2)
	go func() { _, err := p.Hash(context.Background(), "first"); errs <- err }()
	<-started
	go func() {
		_, err := p.Verify(context.Background(), fixtureHash, "correcthorsebatterystaple")
		errs <- err
	}()
	waitFor(t, "queue depth 1", func() bool { return testutil.ToFloat64(p.m.depth) == 1 })
	release()
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("queued call error = %v", err)
		}
	}
	if got := testutil.ToFloat64(p.m.depth); got != 0 {
		t.Errorf("queue depth after both ran = %v, want 0", got)
	}
}

func TestPoolContext(t *testing.T) {
	p := NewPool(PoolConfig{Workers: 1, QueueTimeout: time.Minute})

	// An ended context is refused even when a worker is free.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash(cancelled ctx) error = %v, want context.Canceled", err)
	}

	// A caller waiting for a worker gives up when its context ends.
	p.sem <- struct{}{}
	defer func() { <-p.sem }()
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := p.Verify(ctx, fixtureHash, "pw"); done <- err }()
	waitFor(t, "the caller to queue", func() bool { return testutil.ToFloat64(p.m.depth) == 1 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Verify after cancel while queued: error = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Verify did not return after its context was cancelled")
	}

	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := p.DummyVerify(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DummyVerify past its deadline while queued: error = %v, want context.DeadlineExceeded", err)
	}
	if got := testutil.ToFloat64(p.m.busy); got != 0 {
		t.Errorf("busy_total = %v, want 0: a context ending is not busy", got)
	}
}
