package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/tuples"
)

// maxLine bounds one JSON line. A tuple or check is a few hundred bytes.
const maxLine = 1 << 20

// errJSON reports a line that is not the JSON object expected: malformed JSON,
// not an object, an unknown field, a value of the wrong type, a missing field,
// trailing data, or an over-long line. Problems with a field's value are
// reported with the tuples codes instead (invalid_format.subject_id, ...).
var errJSON = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.json", Msg: "invalid JSON line"}

// lineReader reads lines of at most maxLine bytes.
type lineReader struct {
	r    *bufio.Reader
	line int // number of the line last returned, from 1
	buf  []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line without its line ending ("\n" or "\r\n"). A line
// longer than maxLine is consumed whole and reported with tooLong set and no
// content. At the end of input it returns io.EOF. The line is valid until the
// next call.
func (lr *lineReader) next() (line []byte, tooLong bool, err error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if !tooLong {
			if len(lr.buf)+len(chunk) > maxLine+2 { // +2: the line ending
				tooLong, lr.buf = true, lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(lr.buf) == 0 && !tooLong && len(chunk) == 0 {
				return nil, false, io.EOF
			}
		case err != nil:
			return nil, false, err
		}
		lr.line++
		line = bytes.TrimSuffix(lr.buf, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > maxLine {
			return nil, true, nil
		}
		return line, tooLong, nil
	}
}

// buffered reports whether a next call would not have to wait for input.
func (lr *lineReader) buffered() bool { return lr.r.Buffered() > 0 }

// tooLongError is the error for a line over maxLine.
func tooLongError() error { return errJSON.With("line longer than %d bytes", maxLine) }

// blank reports whether line holds only white space.
func blank(line []byte) bool { return len(bytes.TrimSpace(line)) == 0 }

// errCreatedBy reports a created_by that is not a user id.
var errCreatedBy = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.created_by", Msg: "invalid created_by"}

// tupleLine is one line of a tuples file: the body of the REST tuple create
// (created_by optional), plus the tuple's id, optional too, which import
// keeps and export writes. An optional field may be absent or null.
type tupleLine struct {
	ID          *string `json:"id"`
	SubjectType *string `json:"subject_type"`
	SubjectID   *string `json:"subject_id"`
	Relation    *string `json:"relation"`
	ObjectType  *string `json:"object_type"`
	ObjectID    *string `json:"object_id"`
	CreatedBy   *string `json:"created_by"`
}

// exportLine is the form export writes a tuple in, which tupleLine reads
// back: the REST Tuple without created_at (the tuple's UUIDv7 id holds it).
// Subject and object ids are hyphenated UUIDs, as the REST API returns them
// (DESIGN §3, SPEC-MAP A4), which every tuple reader accepts for any type.
type exportLine struct {
	ID          string `json:"id"`
	SubjectType string `json:"subject_type"`
	SubjectID   string `json:"subject_id"`
	Relation    string `json:"relation"`
	ObjectType  string `json:"object_type"`
	ObjectID    string `json:"object_id"`
	CreatedBy   string `json:"created_by,omitempty"`
}

// decodeTuple decodes and validates one tuples-file line. The id and
// created_by of the result are zero when the line has none. Both take the
// forms a subject id takes: tup_<32 hex> (usr_<32 hex>), 32 hex digits, or a
// hyphenated UUID, of version 1..8.
func decodeTuple(line []byte) (tuples.Tuple, error) {
	var t tupleLine
	if err := decodeObject(line, &t); err != nil {
		return tuples.Tuple{}, err
	}
	if err := required(field{"subject_type", t.SubjectType}, field{"subject_id", t.SubjectID}, field{"relation", t.Relation}, field{"object_type", t.ObjectType}, field{"object_id", t.ObjectID}); err != nil {
		return tuples.Tuple{}, err
	}
	k, err := tuples.ParseKey(*t.SubjectType, *t.SubjectID, *t.Relation, *t.ObjectType, *t.ObjectID)
	if err != nil {
		return tuples.Tuple{}, err
	}
	tup := tuples.Tuple{Key: k}
	if t.ID != nil {
		u, ok := tuples.ParseRefID("tup", *t.ID)
		if !ok {
			return tuples.Tuple{}, tuples.ErrInvalidID.With("id %q must be a tup_<32 hex> id, 32 hex digits or a UUID of version 1-8", truncate(*t.ID))
		}
		tup.ID = u
	}
	if t.CreatedBy != nil {
		u, ok := tuples.ParseRefID("usr", *t.CreatedBy)
		if !ok {
			return tuples.Tuple{}, errCreatedBy.With("created_by %q must be a usr_<32 hex> id, 32 hex digits or a UUID of version 1-8", truncate(*t.CreatedBy))
		}
		tup.CreatedBy = u
	}
	return tup, nil
}

// encodeTuple renders t as one export line, newline included.
func encodeTuple(t tuples.Tuple) []byte {
	l := exportLine{
		ID:          tuples.FormatID("tup", t.ID),
		SubjectType: t.Key.Subject.Type,
		SubjectID:   t.Key.Subject.ID.String(),
		Relation:    t.Key.Relation,
		ObjectType:  t.Key.Object.Type,
		ObjectID:    t.Key.Object.ID.String(),
	}
	if !t.CreatedBy.IsZero() {
		l.CreatedBy = tuples.FormatID("usr", t.CreatedBy)
	}
	b, _ := json.Marshal(l) // strings only: cannot fail
	return append(b, '\n')
}

// truncate bounds echoed input in error messages, as package tuples does.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// decodeCheck decodes and validates one checks-file line, the body of the
// REST check (check.Body), with the REST API's codes for its fields.
func decodeCheck(line []byte) (check.Request, error) {
	var b check.Body
	if err := decodeObject(line, &b); err != nil {
		return check.Request{}, err
	}
	return b.Request()
}

// field is a decoded string field and its JSON name.
type field struct {
	name string
	v    *string
}

// required reports the first field that was absent or null.
func required(fields ...field) error {
	for _, f := range fields {
		if f.v == nil {
			return errJSON.With("missing %s", f.name)
		}
	}
	return nil
}

// decodeObject decodes line, which must hold exactly one JSON object with no
// unknown fields, into v.
func decodeObject(line []byte, v any) error {
	trimmed := bytes.TrimSpace(line)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errJSON.With("want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errJSON.With("unexpected data after the JSON object")
	}
	return nil
}

// jsonProblem rewords encoding/json's errors without its "json: " prefix.
func jsonProblem(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return errJSON.With("malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "value"
		}
		return errJSON.With("%s: want %s, got %s", field, describeGoType(typ.Type.String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errJSON.With("malformed JSON: unexpected end of line")
	}
	msg := err.Error()
	if len(msg) > 6 && msg[:6] == "json: " {
		msg = msg[6:]
	}
	return errJSON.With("%s", msg)
}

func describeGoType(t string) string {
	switch t {
	case "string", "*string":
		return "a string"
	case "[]string":
		return "an array of strings"
	}
	return fmt.Sprintf("a %s", t)
}
