package totp_test

import (
	"testing"
	"time"

	"github.com/flametrench/server/identity/totp"
)

// FuzzVerify: Verify never panics, and whatever it accepts is exactly Code's
// answer for the returned step, which lies within one step of now.
func FuzzVerify(f *testing.F) {
	f.Add([]byte("12345678901234567890"), "94287082", int64(59), 8, "sha1")
	f.Add([]byte("12345678901234567890123456789012"), "46119246", int64(59), 8, "sha256")
	f.Add([]byte("12345678901234567890"), "65353130", int64(20000000000), 8, "sha1")
	f.Add([]byte("short"), "123456", int64(0), 6, "sha512")
	f.Add([]byte("12345678901234567890"), "１２３４５６", int64(-1), 6, "md5")
	f.Fuzz(func(t *testing.T, secret []byte, code string, unix int64, digits int, alg string) {
		now := time.Unix(unix, 0)
		a := totp.Algorithm(alg)
		step, ok := totp.Verify(secret, code, now, digits, a)
		if !ok {
			if step != 0 {
				t.Fatalf("Verify = %d, false: a step without a match", step)
			}
			return
		}
		if cur := unix / totp.Period; step < cur-1 || step > cur+1 {
			t.Fatalf("Verify(now=%d) = step %d, outside %d±1", unix, step, cur)
		}
		want, err := totp.Code(secret, time.Unix(step*totp.Period, 0), digits, a)
		if err != nil || want != code {
			t.Fatalf("Verify accepted %q at step %d, but Code there = %q, %v", code, step, want, err)
		}
	})
}
