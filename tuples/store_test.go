package tuples_test

import (
	"errors"
	"testing"

	"github.com/flametrench/server/tuples"
)

func TestCheckLimit(t *testing.T) {
	tests := []struct {
		in, want int
		ok       bool
	}{
		{0, tuples.DefaultLimit, true},
		{1, 1, true},
		{50, 50, true},
		{tuples.MaxLimit, tuples.MaxLimit, true},
		{tuples.MaxLimit + 1, 0, false},
		{-1, 0, false},
		{1 << 40, 0, false},
	}
	for _, tt := range tests {
		got, err := tuples.CheckLimit(tt.in)
		if got != tt.want || (err == nil) != tt.ok || (err != nil && !errors.Is(err, tuples.ErrInvalidLimit)) {
			t.Errorf("CheckLimit(%d) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if tuples.DefaultLimit != 50 || tuples.MaxLimit != 200 {
		t.Errorf("DefaultLimit, MaxLimit = %d, %d; want 50, 200 (SPEC-MAP X-2)", tuples.DefaultLimit, tuples.MaxLimit)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, u := range []tuples.UUID{tuples.NewUUID(), tuples.NewUUID(), mustUUID(t, sampleHex), mustUUID(t, version1Hex)} {
		c := tuples.EncodeCursor(u)
		got, err := tuples.DecodeCursor(c)
		if err != nil || got != u {
			t.Errorf("DecodeCursor(EncodeCursor(%v) = %q) = %v, %v; want %v, nil", u, c, got, err, u)
		}
	}
	if got, err := tuples.DecodeCursor(""); err != nil || !got.IsZero() {
		t.Errorf(`DecodeCursor("") = %v, %v; want zero, nil`, got, err)
	}
}

func TestDecodeCursorRejects(t *testing.T) {
	for _, c := range []string{
		"x", "tup", "tup_", "tup_" + sampleUpper, "tup_" + nilHex, "tup_" + maxHex, "tup_" + version9Hex,
		"usr_" + sampleHex, "proj_" + sampleHex, sampleHex, sampleUUID, "tup_" + sampleHex + "=",
		"dHVwXzAxOTBmMmE4MWIzYzdhYmM4MTIzNDU2Nzg5YWJjZGVm", // base64 of a valid cursor
	} {
		got, err := tuples.DecodeCursor(c)
		if !errors.Is(err, tuples.ErrInvalidCursor) || !got.IsZero() {
			t.Errorf("DecodeCursor(%q) = %v, %v; want zero, ErrInvalidCursor", c, got, err)
		}
		if tuples.KindOf(err) != tuples.Invalid {
			t.Errorf("KindOf(DecodeCursor(%q) error) = %v, want invalid", c, tuples.KindOf(err))
		}
	}
}
