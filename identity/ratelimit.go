package identity

import (
	"sync"
	"time"
)

// LimiterConfig configures a Limiter. Zero values take the defaults.
type LimiterConfig struct {
	// Free is how many failures a key may have before it is throttled.
	// Default 5.
	Free int
	// Base is the first lock-out; each further failure doubles it. Default 1s.
	Base time.Duration
	// Max caps a lock-out, and a key with no failure for this long starts
	// afresh. Default 15 minutes.
	Max time.Duration
	// MaxKeys bounds the memory the limiter holds. Default 100 000.
	MaxKeys int
	Now     func() time.Time
}

// Limiter throttles failed attempts per key (an identifier, a client
// address) with exponential back-off (DESIGN §4). Only failures count, so a
// busy backend that signs many users in from one address is not throttled
// by its successes. It is per process: with several replicas, each
// throttles on its own, which multiplies an attacker's budget by the number
// of replicas but keeps sign-in free of database writes.
type Limiter struct {
	cfg LimiterConfig

	// mu guards keys.
	mu   sync.Mutex
	keys map[string]*attempts
}

type attempts struct {
	failures int
	last     time.Time // last failure
	until    time.Time // locked out until
}

// NewLimiter returns a Limiter.
func NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.Free <= 0 {
		cfg.Free = 5
	}
	if cfg.Base <= 0 {
		cfg.Base = time.Second
	}
	if cfg.Max <= 0 {
		cfg.Max = 15 * time.Minute
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 100_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{cfg: cfg, keys: map[string]*attempts{}}
}

// Allow returns a *RateLimitError if any of the keys is locked out, with the
// longest wait among them. Empty keys are ignored.
func (l *Limiter) Allow(keys ...string) error {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		if a := l.keys[k]; k != "" && a != nil && a.until.After(now) {
			wait = max(wait, a.until.Sub(now))
		}
	}
	if wait > 0 {
		return &RateLimitError{RetryAfter: wait}
	}
	return nil
}

// Fail counts a failure against each key.
func (l *Limiter) Fail(keys ...string) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if k == "" {
			continue
		}
		a := l.keys[k]
		if a == nil || now.Sub(a.last) > l.cfg.Max {
			if a == nil && len(l.keys) >= l.cfg.MaxKeys {
				l.evictLocked(now)
			}
			a = &attempts{}
			l.keys[k] = a
		}
		a.failures++
		a.last = now
		if over := a.failures - l.cfg.Free; over > 0 {
			d := l.cfg.Max
			if over <= 30 {
				d = min(l.cfg.Base<<(over-1), l.cfg.Max)
			}
			a.until = now.Add(d)
		}
	}
}

// Succeed forgets the failures of key (an identifier that just proved
// itself), never of an address.
func (l *Limiter) Succeed(key string) {
	l.mu.Lock()
	delete(l.keys, key)
	l.mu.Unlock()
}

// evictLocked makes room: first keys whose failures have aged out, then, if
// the table is still full (a flood of distinct keys), half of the rest. That
// forgets some attackers' history, which costs them little (they meet the
// free budget again) and keeps memory bounded.
func (l *Limiter) evictLocked(now time.Time) {
	for k, a := range l.keys {
		if now.Sub(a.last) > l.cfg.Max && !a.until.After(now) {
			delete(l.keys, k)
		}
	}
	n := len(l.keys) / 2
	for k := range l.keys {
		if len(l.keys) < l.cfg.MaxKeys-n {
			break
		}
		delete(l.keys, k)
	}
}
