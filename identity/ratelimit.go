package identity

import (
	"crypto/sha256"
	"net/netip"
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

// Begin starts an attempt against key (an identifier, a user), checked
// together with the other keys (a client address); "" is ignored. If any of
// them is locked out it returns a *RateLimitError with the longest wait.
// Otherwise key is charged a failure at once, before any work, so
// concurrent guesses against one key cannot all pass the check before the
// first has failed: at most Free+1 run before a lock-out. The other keys
// are charged only when the attempt fails, so a backend that signs many
// users in from one address at once is not throttled by its own
// concurrency. End the attempt with Succeed, Fail or Refund.
func (l *Limiter) Begin(key string, others ...string) (Attempt, error) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	wait := l.lockedLocked(key, now)
	for _, k := range others {
		wait = max(wait, l.lockedLocked(k, now))
	}
	if wait > 0 {
		return Attempt{}, &RateLimitError{RetryAfter: wait}
	}
	if key != "" {
		l.chargeLocked(key, now)
	}
	return Attempt{l: l, key: key, others: others}, nil
}

// lockedLocked is how long key stays locked out from now (0: it is not).
func (l *Limiter) lockedLocked(key string, now time.Time) time.Duration {
	if a := l.keys[key]; key != "" && a != nil && a.until.After(now) {
		return a.until.Sub(now)
	}
	return 0
}

// chargeLocked counts a failure against key, locking it out once it has
// more than Free.
func (l *Limiter) chargeLocked(k string, now time.Time) {
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

// Attempt is one throttled attempt. The zero Attempt does nothing.
type Attempt struct {
	l      *Limiter
	key    string
	others []string
}

// Succeed ends an attempt that proved its key: the key's failures are
// forgotten. An address never gets a clean slate from one success.
func (a Attempt) Succeed() {
	if a.l == nil || a.key == "" {
		return
	}
	a.l.mu.Lock()
	delete(a.l.keys, a.key)
	a.l.mu.Unlock()
}

// Fail ends a failed attempt: the other keys are charged a failure, and the
// key keeps its own if keyAtFault (a wrong proof for it), or gets it back
// (a failure that says nothing about it, such as a bad ticket).
func (a Attempt) Fail(keyAtFault bool) {
	if a.l == nil {
		return
	}
	if !keyAtFault {
		a.Refund()
	}
	now := a.l.cfg.Now()
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	for _, k := range a.others {
		if k != "" {
			a.l.chargeLocked(k, now)
		}
	}
}

// Refund ends an attempt that proved nothing either way (the server was
// busy, the request was cancelled): the key gets its failure back.
func (a Attempt) Refund() {
	if a.l == nil || a.key == "" {
		return
	}
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	if st := a.l.keys[a.key]; st != nil && st.failures > 0 {
		st.failures--
		if st.failures <= a.l.cfg.Free {
			st.until = time.Time{}
		}
	}
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

// throttleKey is the limiter key of a value of a kind (an identifier, a
// user): a digest, so a key costs the same few bytes however long the
// value a caller sent.
func throttleKey(kind, value string) string {
	h := sha256.Sum256([]byte(value))
	return kind + ":" + string(h[:16])
}

// addressKey is the limiter key of a client address (its AddressBlock),
// or "" (no key) when the address is unknown.
func addressKey(addr string) string {
	if addr == "" {
		return ""
	}
	return throttleKey("addr", AddressBlock(addr))
}

// AddressBlock is what per-address throttling counts a client address as,
// here and in the server's anonymous limiter: an IPv4 address alone, but
// an IPv6 address's /64. An IPv6 client is given at least a /64 (RFC
// 6177), so keyed by whole address it could rotate through 2^64 of them,
// each with a fresh budget, for free. An IPv4-mapped IPv6 address
// (::ffff:a.b.c.d, what a dual-stack listener may report) counts as its
// IPv4 address. Anything that is not an IP address (a unix socket peer)
// is its own key, unchanged.
func AddressBlock(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	if ip = ip.Unmap(); ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64) // an IPv6 address always has 64 bits to keep
	return p.String()
}
