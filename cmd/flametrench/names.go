package main

import (
	"strings"

	"github.com/google/uuid"

	"github.com/flametrench/server/tuples"
)

// nameSpace is the namespace of the name-based (version 5) UUIDs that names in
// validation files stand for. It is fixed forever: changing it would change
// the id of every name.
var nameSpace = uuid.MustParse("10204e24-0d3e-4d89-a3fe-e724916a169a")

// nameSyntax is the syntax of a name, for messages.
const nameSyntax = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

// names lets validation files say usr:alice instead of a UUID. A name is any
// id that matches nameSyntax and does not look like one of the three id forms;
// TYPE:NAME stands for uuid.NewSHA1(nameSpace, "TYPE:NAME"), so the same name
// is the same UUID in every run, and usr:alice and doc:alice differ. The table
// remembers the names it resolved so that output can show them back.
//
// A nil *names accepts ids only: names exist in validation files alone.
type names struct {
	byRef map[tuples.Ref]string
}

func newNames() *names { return &names{byRef: make(map[tuples.Ref]string)} }

// nameUUID is the UUID TYPE:NAME stands for.
func nameUUID(typ, name string) tuples.UUID {
	return tuples.UUID(uuid.NewSHA1(nameSpace, []byte(typ+":"+name)))
}

// subject parses a subject type and id (or name).
func (nm *names) subject(typ, id string) (tuples.Ref, error) {
	if r, ok := nm.resolve(typ, id); ok {
		return r, nil
	}
	r, err := tuples.ParseSubject(typ, id)
	if err != nil && nm != nil && tuples.ValidType(typ) && !looksLikeID(typ, id) {
		return r, tuples.ErrInvalidSubjectID.With("subject_id %q must be a name (%s), a %s_<32 hex> id, 32 hex digits or a UUID of version 1-8", clip(id), nameSyntax, typ)
	}
	return r, err
}

// object parses an object type and id (or name).
func (nm *names) object(typ, id string) (tuples.Ref, error) {
	if r, ok := nm.resolve(typ, id); ok {
		return r, nil
	}
	r, err := tuples.ParseObject(typ, id)
	if err != nil && nm != nil && tuples.ValidType(typ) && !looksLikeID(typ, id) {
		return r, tuples.ErrInvalidObjectID.With("object_id %q must be a name (%s), a %s_<32 hex> id, 32 hex digits or a UUID of version 1-8", clip(id), nameSyntax, typ)
	}
	return r, err
}

// resolve maps a name to its Ref. It reports false for ids and for anything
// invalid, which the tuples parsers then accept or explain.
func (nm *names) resolve(typ, id string) (tuples.Ref, bool) {
	if nm == nil || !tuples.ValidType(typ) || !isName(id) || looksLikeID(typ, id) {
		return tuples.Ref{}, false
	}
	if _, ok := tuples.ParseRefID(typ, id); ok {
		return tuples.Ref{}, false // belt and braces: an id is never a name
	}
	r := tuples.Ref{Type: typ, ID: nameUUID(typ, id)}
	nm.byRef[r] = id
	return r, true
}

// format renders r as TYPE:NAME when r came from a name, else TYPE:UUID.
func (nm *names) format(r tuples.Ref) string {
	if nm != nil {
		if name, ok := nm.byRef[r]; ok {
			return r.Type + ":" + name
		}
	}
	return r.Type + ":" + r.ID.String()
}

func isName(s string) bool {
	if len(s) == 0 || len(s) > 64 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// looksLikeID reports whether id has the shape of an id form (32 hex digits,
// 8-4-4-4-12 hex, or TYPE_ and 32 hex digits) whatever its case or version
// nibble. Such a string is never a name: an id with a typo must be reported
// as an invalid id, not silently become a different subject.
func looksLikeID(typ, id string) bool {
	if rest, ok := strings.CutPrefix(id, typ+"_"); ok && len(rest) == 32 && allHex(rest) {
		return true
	}
	switch len(id) {
	case 32:
		return allHex(id)
	case 36:
		return id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-' &&
			allHex(id[0:8]+id[9:13]+id[14:18]+id[19:23]+id[24:])
	}
	return false
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}
