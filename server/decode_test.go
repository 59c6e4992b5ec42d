package server

import "testing"

func TestHasNUL(t *testing.T) {
	for body, want := range map[string]bool{
		`{"a":"x\u0000y"}`:   true,
		`{"a":"\u0000"}`:     true,
		`{"a":"\\u0000"}`:    false, // an escaped backslash, then the text u0000
		`{"a":"\\\u0000"}`:   true,
		`{"a":"u0000"}`:      false,
		`{"a":"\u00000"}`:    true,
		`{"a":"plain text"}`: false,
	} {
		if got := hasNUL([]byte(body)); got != want {
			t.Errorf("hasNUL(%s) = %v, want %v", body, got, want)
		}
	}
}
