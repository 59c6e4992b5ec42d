package server

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/flametrench/server/identity"
)

func TestAddressLimiter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newAddressLimiter(2, 3) // 2 a second, 3 at once
	l.now = func() time.Time { return now }
	for i := range 3 {
		if err := l.take("10.0.0.1"); err != nil {
			t.Fatalf("request %d of the burst: %v", i+1, err)
		}
	}
	err := l.take("10.0.0.1")
	var rl *identity.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 || rl.RetryAfter > 500*time.Millisecond {
		t.Fatalf("the 4th request at once: got %v, want a rate limit of at most 500ms", err)
	}
	if err := l.take("10.0.0.2"); err != nil {
		t.Fatalf("another address shares no bucket: %v", err)
	}
	now = now.Add(500 * time.Millisecond) // one token back
	if err := l.take("10.0.0.1"); err != nil {
		t.Fatalf("after 500ms: %v", err)
	}
	if err := l.take("10.0.0.1"); err == nil {
		t.Fatal("only one token came back in 500ms")
	}
	if newAddressLimiter(0, 10) != nil {
		t.Fatal("a zero rate must turn the limiter off")
	}
	var off *addressLimiter
	if err := off.take("x"); err != nil {
		t.Fatalf("an off limiter refused: %v", err)
	}
}

// Buckets are per identity.AddressBlock: an IPv6 /64 shares one, another
// /64 has its own, and a v4-mapped address is its IPv4 address.
func TestAddressLimiterBlocks(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name        string
		burst       [2]string // the burst, from these addresses
		same, other string
	}{
		{"IPv6 /64", [2]string{"2001:db8:0:1::1", "2001:db8:0:1::2"}, "2001:db8:0:1:ffff::3", "2001:db8:0:2::1"},
		{"IPv4", [2]string{"192.0.2.1", "192.0.2.1"}, "::ffff:192.0.2.1", "192.0.2.2"},
		{"IPv4-mapped", [2]string{"::ffff:192.0.2.1", "192.0.2.1"}, "::ffff:192.0.2.1", "::ffff:192.0.2.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newAddressLimiter(1, 2)
			l.now = func() time.Time { return now }
			for _, a := range tc.burst {
				if err := l.take(a); err != nil {
					t.Fatalf("take(%s) in the burst: %v", a, err)
				}
			}
			if err := l.take(tc.same); err == nil {
				t.Fatalf("take(%s) after a burst from %v passed, want it throttled (one block)", tc.same, tc.burst)
			}
			if err := l.take(tc.other); err != nil {
				t.Fatalf("take(%s) = %v, want a bucket of its own", tc.other, err)
			}
		})
	}
}

func TestAddressLimiterSweeps(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newAddressLimiter(1000, 1)
	l.now = func() time.Time { return now }
	for i := range maxLimitedAddresses {
		l.buckets[strconv.Itoa(i)] = &bucket{tokens: 0, at: now}
	}
	now = now.Add(time.Second) // every bucket has refilled
	if err := l.take("new"); err != nil {
		t.Fatal(err)
	}
	if len(l.buckets) != 1 {
		t.Fatalf("after a sweep %d buckets remain, want 1 (the new one)", len(l.buckets))
	}
}
