package tuples

import "testing"

func TestValidText(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"", true},
		{"Ada Lovelace", true},
		{"Zoë ✓ 日本", true},
		{`\u0000`, true}, // the escape's text, not a NUL
		{"a\x00b", false},
		{"\x00", false},
		{"bad \xff byte", false},
		{"\xc3", false}, // a cut rune
	} {
		if got := ValidText(tc.s); got != tc.want {
			t.Errorf("ValidText(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}
