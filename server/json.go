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
// v is encoded before anything is sent, so a value that cannot be encoded
// (a time outside years 0 to 9999) writes nothing and returns the error,
// for the caller to answer with a 500 rather than a success without a
// body.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}
