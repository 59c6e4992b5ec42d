package server

import (
	"sync"
	"time"

	"github.com/flametrench/server/identity"
)

// addressLimiter is a token bucket per client address (per IPv6 /64) for
// requests that carry no token, or only a share token: sign-up, sign-in
// challenges, share verification, ticket upgrades. What a bearer proves is throttled elsewhere (identity counts
// failed proofs per identifier and address); this bounds what an
// anonymous client can make the server store or compute. It is per
// process, like identity's limiter.
type addressLimiter struct {
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time

	// mu guards buckets.
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

// maxLimitedAddresses bounds the limiter's memory: past it, buckets that
// have refilled are dropped, and if none has, all are (failing open for a
// moment beats growing without bound under a spoofed-address flood, which
// TCP makes hard anyway).
const maxLimitedAddresses = 100_000

// newAddressLimiter allows each address rate requests a second on
// average, burst at once. A rate of zero or less turns it off (nil).
func newAddressLimiter(rate float64, burst int) *addressLimiter {
	if rate <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return &addressLimiter{rate: rate, burst: float64(burst), now: time.Now, buckets: map[string]*bucket{}}
}

// take spends one token of the bucket of addr's block (an IPv4 address, an
// IPv6 /64: identity.AddressBlock, the key identity's failure limiter uses
// too), or says how long until one is there.
func (l *addressLimiter) take(addr string) error {
	if l == nil {
		return nil
	}
	addr = identity.AddressBlock(addr)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		if len(l.buckets) >= maxLimitedAddresses {
			l.sweepLocked(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[addr] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens < 1 {
		wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
		return &identity.RateLimitError{RetryAfter: wait}
	}
	b.tokens--
	return nil
}

func (l *addressLimiter) sweepLocked(now time.Time) {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for a, b := range l.buckets {
		if now.Sub(b.at) >= full {
			delete(l.buckets, a)
		}
	}
	if len(l.buckets) >= maxLimitedAddresses {
		clear(l.buckets)
	}
}
