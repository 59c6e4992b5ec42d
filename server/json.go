package server

import (
	"encoding/json"
	"net/http"
	"time"
)

// utcPtr is t in UTC, or nil. Views send every time in UTC (a "Z" time),
// whatever location the store read it back in (pgx: the process's).
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// writeJSON writes v as the JSON body of a response with the given status.
// Encoding errors are not reported: the status line is already sent, and every
// value passed here is a plain struct that cannot fail to encode.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
