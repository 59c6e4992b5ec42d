package recovery_test

import (
	"testing"

	"github.com/flametrench/server/identity/recovery"
)

// FuzzNormalize: Normalize never panics, returns only Valid codes, is
// idempotent, and leaves canonical codes alone.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"ABCD-EFGH-JKMN", "abcdefghjkmn", " 2345-6789-2345 ", "ABCD-EFGH-JKM0", "abcd-efgh-jkmſ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := recovery.Normalize(in)
		if !ok {
			if got != "" || recovery.Valid(in) {
				t.Fatalf("Normalize(%q) = %q, false (Valid = %v)", in, got, recovery.Valid(in))
			}
			return
		}
		if !recovery.Valid(got) {
			t.Fatalf("Normalize(%q) = %q, which Valid refuses", in, got)
		}
		if again, ok := recovery.Normalize(got); !ok || again != got {
			t.Fatalf("Normalize(Normalize(%q)) = %q, %v, want %q", in, again, ok, got)
		}
		if recovery.Valid(in) && got != in {
			t.Fatalf("Normalize(canonical %q) = %q", in, got)
		}
	})
}
