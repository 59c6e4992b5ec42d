package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

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

// An answer that cannot be encoded is a 500, never a success without a
// body: writeJSON writes nothing and says so.
func TestWriteJSONRefusesWhatCannotBeEncoded(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := writeJSON(rec, http.StatusOK, struct{ T time.Time }{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Fatal("writeJSON(year 10000) = nil, want an error")
	}
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || len(rec.Header()) != 0 || rec.Flushed {
		t.Fatalf("writeJSON(year 10000) wrote %d %v %q", rec.Code, rec.Header(), rec.Body)
	}
}
