package identity

import (
	"errors"
	"testing"
	"time"
)

func TestAddressBlock(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"}, // v4-mapped is the v4 address
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:DB8:1:2::ffff", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"@", "@"}, // not an IP (a unix socket peer): as it is
		{"", ""},
	} {
		if got := AddressBlock(tc.addr); got != tc.want {
			t.Errorf("AddressBlock(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// The failure limiter keys an address by its block: addresses of one IPv6
// /64 share a lock-out, another /64 does not, and a v4-mapped address is
// its IPv4 address.
func TestLimiterKeysAddressBlocks(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name        string
		failing     [3]string // three failures, from these addresses
		same, other string
	}{
		{"IPv6 /64", [3]string{"2001:db8:0:1::1", "2001:db8:0:1::2", "2001:db8:0:1:abcd::9"}, "2001:db8:0:1:ffff:ffff:ffff:ffff", "2001:db8:0:2::1"},
		{"IPv4", [3]string{"192.0.2.1", "::ffff:192.0.2.1", "192.0.2.1"}, "::ffff:192.0.2.1", "192.0.2.2"},
		{"IPv4-mapped", [3]string{"::ffff:198.51.100.7", "::ffff:198.51.100.7", "198.51.100.7"}, "198.51.100.7", "::ffff:198.51.100.8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLimiter(LimiterConfig{Free: 2, Base: time.Minute, Now: func() time.Time { return now }})
			for i, addr := range tc.failing {
				at, err := l.Begin("", addressKey(addr))
				if err != nil {
					t.Fatalf("failure %d, from %s: %v", i+1, addr, err)
				}
				at.Fail(false)
			}
			var rl *RateLimitError
			if _, err := l.Begin("", addressKey(tc.same)); !errors.As(err, &rl) {
				t.Fatalf("Begin(%s) after 3 failures from %v = %v, want a lock-out (one block)", tc.same, tc.failing, err)
			}
			if _, err := l.Begin("", addressKey(tc.other)); err != nil {
				t.Fatalf("Begin(%s) = %v, want no lock-out (another block)", tc.other, err)
			}
		})
	}
}
