package password

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flametrench/server/tuples"
)

// ErrBusy is returned when no worker became free within the queue timeout.
var ErrBusy = &tuples.Error{Kind: tuples.Unavailable, Code: "unavailable.busy", Msg: "too many password hashes in progress; try again"}

const defaultQueueTimeout = 2 * time.Second

// PoolConfig configures a Pool. Zero values take the defaults.
type PoolConfig struct {
	// Workers is how many Argon2id computations may run at once. Default
	// runtime.GOMAXPROCS(0): Argon2id is CPU-bound, so more workers than
	// cores only add memory, not throughput. (A computation with Threads > 1
	// runs its lanes on that many goroutines of its own.)
	Workers int
	// QueueTimeout is the longest a caller waits for a worker before getting
	// ErrBusy. Default 2s; negative: never wait.
	QueueTimeout time.Duration
	// Params are used by Pool.Hash and DummyVerify. Each zero field takes
	// Floor's value; the result must lie within [Floor, Max] (see
	// Params.Validate), or NewPool panics.
	Params Params
	// Registerer, when set, gets the pool's metrics (see the package doc).
	Registerer prometheus.Registerer
}

// Pool runs Argon2id on at most Workers goroutines at once. Memory therefore
// stays near Workers × Params.Memory KiB however many requests arrive (a
// stored hash with a larger m, up to Max.Memory, raises that for as long as its
// verify runs). A computation, once started, runs to completion: Argon2 cannot
// be interrupted, so ctx only governs the wait for a worker.
type Pool struct {
	sem     chan struct{} // a token per running computation; cap = Workers
	timeout time.Duration
	params  Params
	// dummySalt and dummyKey are the fixed "hash" DummyVerify checks against.
	dummySalt, dummyKey []byte
	m                   *metrics
	// hold, when set by a test, runs while a worker slot is held.
	hold func()
}

// NewPool returns a Pool. It panics if cfg.Params (after defaults) lies outside
// [Floor, Max], as regexp.MustCompile does on a bad pattern: that is a
// configuration error to catch at start-up; call cfg.Validate first to report
// it gracefully.
func NewPool(cfg PoolConfig) *Pool {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.QueueTimeout == 0 {
		cfg.QueueTimeout = defaultQueueTimeout
	}
	p := cfg.Params.orFloor()
	if err := p.Validate(); err != nil {
		panic(fmt.Sprintf("password.NewPool: %v", err))
	}
	return &Pool{
		sem:       make(chan struct{}, cfg.Workers),
		timeout:   cfg.QueueTimeout,
		params:    p,
		dummySalt: make([]byte, p.SaltLen),
		dummyKey:  make([]byte, p.KeyLen),
		m:         newMetrics(cfg.Registerer),
	}
}

// Validate reports the ErrParams error NewPool would panic with, if any.
func (c PoolConfig) Validate() error { return c.Params.orFloor().Validate() }

// Params returns the parameters Pool.Hash uses.
func (p *Pool) Params() Params { return p.params }

// Hash is Hash(password, p.Params()) run on a worker. Besides Hash's errors it
// returns ErrBusy when no worker became free within the queue timeout, and
// ctx.Err() when ctx ends first.
func (p *Pool) Hash(ctx context.Context, password string) (string, error) {
	if err := p.acquire(ctx); err != nil {
		return "", err
	}
	defer p.release()
	p.m.hashes.hash.Inc()
	return Hash(password, p.params)
}

// Verify is Verify(phc, password) run on a worker; like Pool.Hash it may also
// return ErrBusy or ctx.Err(). A phc that ParsePHC refuses is refused before
// queueing, so it never takes a worker.
func (p *Pool) Verify(ctx context.Context, phc, password string) (bool, error) {
	params, salt, key, err := ParsePHC(phc)
	if err != nil {
		return false, err
	}
	if err := p.acquire(ctx); err != nil {
		return false, err
	}
	defer p.release()
	p.m.hashes.verify.Inc()
	return check(password, params, salt, key), nil
}

// DummyVerify does the work of one Verify against a fixed hash at the pool's
// parameters and throws the answer away. Callers run it where there is no
// stored hash to check (an unknown PAT id, a user without a password), so that
// path takes as long as a wrong-secret path (PAT-3, audit H2).
//
// It queues like Verify and returns the same ErrBusy or ctx error. Callers
// should pass those on exactly as they would from Verify: answering "invalid
// token" here while the real path answers 503 under load would itself reveal
// which ids exist.
func (p *Pool) DummyVerify(ctx context.Context) error {
	if err := p.acquire(ctx); err != nil {
		return err
	}
	defer p.release()
	p.m.hashes.dummy.Inc()
	check("", p.params, p.dummySalt, p.dummyKey)
	return nil
}

// acquire takes a worker slot, waiting at most p.timeout. On success the
// caller must call release.
func (p *Pool) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case p.sem <- struct{}{}: // a worker is free: skip the timer
		p.m.wait.Observe(0)
		p.runHold()
		return nil
	default:
	}
	start := time.Now()
	if p.timeout < 0 {
		return p.busy(start)
	}
	p.m.depth.Inc()
	defer p.m.depth.Dec()
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	select {
	case p.sem <- struct{}{}:
		p.m.wait.Observe(time.Since(start).Seconds())
		p.runHold()
		return nil
	case <-ctx.Done():
		p.m.wait.Observe(time.Since(start).Seconds())
		return ctx.Err()
	case <-timer.C:
		return p.busy(start)
	}
}

func (p *Pool) busy(start time.Time) error {
	p.m.wait.Observe(time.Since(start).Seconds())
	p.m.busy.Inc()
	return ErrBusy
}

func (p *Pool) release() { <-p.sem }

func (p *Pool) runHold() {
	if p.hold != nil {
		p.hold()
	}
}
