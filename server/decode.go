package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flametrench/server/tuples"
)

// DefaultMaxBodyBytes bounds a request body when Config.MaxBodyBytes is 0.
// The largest legitimate body, an invitation with 100 pre-tuples, is under
// 20 KiB.
const DefaultMaxBodyBytes = 1 << 20

// Errors of request decoding. A problem with a field's value is reported
// with the code of that field (invalid_format.subject_id …) by whoever
// checks the value; these are for bodies that are not the JSON expected.
var (
	errBody     = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.body", Msg: "the request body is not the JSON object expected"}
	errTooLarge = &tuples.Error{Kind: tuples.TooLarge, Code: "too_large", Msg: "the request body is too large"}
	errQuery    = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.query", Msg: "invalid query parameter"}
	errNUL      = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.body", Msg: "strings may not contain NUL (\\u0000)"}
)

// decodeJSON decodes a request body, which must be one JSON object with
// no unknown fields and nothing after it, into v. An empty body decodes as
// {} when optional is set (operations whose body the spec makes optional),
// and is an error otherwise.
func decodeJSON(body []byte, v any, optional bool) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		if optional {
			body = []byte("{}")
		} else {
			return errBody.With("a JSON object body is required")
		}
	}
	if body[0] != '{' {
		return errBody.With("the body must be a JSON object")
	}
	if hasNUL(body) {
		return errNUL
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errBody.With("unexpected data after the JSON object")
	}
	return nil
}

// jsonProblem words encoding/json's errors for a client: which field, what
// was wanted, what came.
func jsonProblem(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return errBody.With("malformed JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errBody.With("want a JSON object, got %s", typ.Value)
		}
		return &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format." + typ.Field,
			Msg: fmt.Sprintf("%s: want %s, got %s", typ.Field, describe(typ.Type.String()), typ.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errBody.With("malformed JSON: unexpected end of the body")
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return errBody.With("unknown field %s", tuples.Truncate(name))
	}
	return errBody.With("%s", tuples.Truncate(msg))
}

// describe names a Go type the way a JSON client thinks of it.
func describe(goType string) string {
	t := strings.TrimLeft(goType, "*")
	switch {
	case t == "string":
		return "a string"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"), strings.HasPrefix(t, "float"):
		return "a number"
	case strings.HasPrefix(t, "[]"):
		return "an array"
	}
	return "an object"
}

// required reports the first of the named fields that was absent or null.
func required(fields ...namedField) error {
	for _, f := range fields {
		if f.missing {
			return &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format." + f.name, Msg: f.name + " is required"}
		}
	}
	return nil
}

// namedField is a decoded field's name and whether it was absent or null.
type namedField struct {
	name    string
	missing bool
}

func field[T any](name string, v *T) namedField { return namedField{name, v == nil} }

// queryInt reads an integer query parameter; absent is 0.
func queryInt(r *http.Request, name string) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format." + name, Msg: name + " must be an integer"}
	}
	return n, nil
}

// nullable is a body field where absent, null and a value mean three
// things (PUT /users/{id}: an absent display_name is left as it is, null
// clears it). A value of the wrong type is invalid_format.<field>.
type nullable[T any] struct {
	set   bool // present, null or not
	value *T   // nil: null (or absent)
}

func (n *nullable[T]) UnmarshalJSON(b []byte) error {
	n.set = true
	if string(b) == "null" {
		n.value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	n.value = &v
	return nil
}

// patch is the field as an identity or tenancy patch takes it: nil for
// "leave as it is", a pointer to nil for "clear".
func (n nullable[T]) patch() **T {
	if !n.set {
		return nil
	}
	return &n.value
}

// parseTime reads an RFC 3339 timestamp from field name. It must fall
// within years 1 to 9999 in UTC, where it is stored and answered: an
// offset can carry 9999-12-31T23:00:00-05:00 into year 10000, which
// encoding/json cannot write, so the row would answer every read with an
// empty body.
func parseTime(name, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if y := t.UTC().Year(); err != nil || y < 1 || y > 9999 {
		return time.Time{}, &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format." + name,
			Msg: name + " must be an RFC 3339 timestamp in years 0001 to 9999 UTC, such as 2026-01-02T15:04:05Z"}
	}
	return t, nil
}

// pageArgs reads a listing's cursor and limit (the stores clamp the
// limit to 1..200, default 50, and reject a cursor they did not make).
func pageArgs(q *request) (cursor string, limit int, err error) {
	if limit, err = queryInt(q.Request, "limit"); err != nil {
		return "", 0, err
	}
	return q.URL.Query().Get("cursor"), limit, nil
}

// hasNUL reports whether a JSON text holds a \u0000 escape, a NUL in a
// string once decoded: no field takes one, and PostgreSQL's text refuses
// it, so it is refused at the edge (a raw NUL byte is malformed JSON
// already). An escape is real when an odd number of backslashes leads to
// its u: in "\\u0000" the backslash is itself escaped.
func hasNUL(body []byte) bool {
	for i := 0; ; {
		j := bytes.Index(body[i:], []byte(`u0000`))
		if j < 0 {
			return false
		}
		j += i
		n := 0
		for k := j - 1; k >= 0 && body[k] == '\\'; k-- {
			n++
		}
		if n%2 == 1 {
			return true
		}
		i = j + 1
	}
}

// checkQuery refuses a query string with a NUL in any name or value.
func checkQuery(q *request) error {
	if strings.Contains(q.URL.RawQuery, "%00") || strings.IndexByte(q.URL.RawQuery, 0) >= 0 {
		return errQuery.With("query parameters may not contain NUL")
	}
	return nil
}

// statusQuery reads a listing's status filter: "" (any) or one of valid,
// else 400 invalid_format.status naming them.
func statusQuery[S ~string](q *request, valid ...S) (S, error) {
	st := S(q.URL.Query().Get("status"))
	if st == "" || slices.Contains(valid, st) {
		return st, nil
	}
	names := make([]string, len(valid))
	for i, v := range valid {
		names[i] = string(v)
	}
	return "", &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.status", Msg: "status must be one of " + strings.Join(names, ", ")}
}
