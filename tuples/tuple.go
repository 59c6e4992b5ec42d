package tuples

import (
	"strings"
	"time"
)

// Ref names a subject or an object: a type prefix and the UUID of the entity.
type Ref struct {
	Type string
	ID   UUID
}

// String renders r as "type:uuid" for messages.
func (r Ref) String() string { return r.Type + ":" + r.ID.String() }

// Key is a tuple's natural key (subject, relation, object), unique per store (ADR 0001).
type Key struct {
	Subject  Ref
	Relation string
	Object   Ref
}

func (k Key) String() string {
	return k.Subject.String() + "#" + k.Relation + "@" + k.Object.String()
}

// Tuple is one stored grant. CreatedAt is the millisecond timestamp embedded in the
// tuple's UUIDv7 id, so it needs no storage of its own. CreatedBy is zero when unset.
type Tuple struct {
	ID        UUID
	Key       Key
	CreatedBy UUID
}

// CreatedAt returns the creation time embedded in the tuple id.
func (t Tuple) CreatedAt() time.Time { return time.UnixMilli(t.ID.UnixMilli()).UTC() }

// WireID returns the tuple's "tup_…" id.
func (t Tuple) WireID() string { return FormatID("tup", t.ID) }

// ValidRelation reports whether s matches ^[a-z_]{2,32}$.
func ValidRelation(s string) bool {
	if len(s) < 2 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

// ValidType reports whether s matches ^[a-z]{2,6}$.
func ValidType(s string) bool {
	if len(s) < 2 || len(s) > 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// ParseRefID parses a subject or object id in any of the three accepted forms:
// "{typ}_{32 lowercase hex}" (the prefix must equal typ), 32 hex digits, or a
// hyphenated UUID (any case). The version nibble must be 1..8.
func ParseRefID(typ, id string) (UUID, bool) {
	var u UUID
	var ok bool
	switch {
	case len(id) == len(typ)+33 && id[len(typ)] == '_' && strings.HasPrefix(id, typ):
		u, ok = parseHex32(id[len(typ)+1:], false)
	case len(id) == 36:
		u, ok = parseHyphenated(id)
	case len(id) == 32:
		u, ok = parseHex32(id, true)
	}
	return u, ok && u.valid()
}

// CheckSubjectType returns ErrInvalidSubjType unless typ is a valid type.
func CheckSubjectType(typ string) error {
	if !ValidType(typ) {
		return ErrInvalidSubjType.With("subject_type %q must match ^[a-z]{2,6}$", truncate(typ))
	}
	return nil
}

// CheckObjectType returns ErrInvalidObjType unless typ is a valid type.
func CheckObjectType(typ string) error {
	if !ValidType(typ) {
		return ErrInvalidObjType.With("object_type %q must match ^[a-z]{2,6}$", truncate(typ))
	}
	return nil
}

// ParseSubject validates a subject type and id.
func ParseSubject(typ, id string) (Ref, error) {
	if err := CheckSubjectType(typ); err != nil {
		return Ref{}, err
	}
	u, ok := ParseRefID(typ, id)
	if !ok {
		return Ref{}, ErrInvalidSubjectID.With("subject_id %q must be a %s_<32 hex> id, 32 hex digits or a UUID of version 1-8", truncate(id), typ)
	}
	return Ref{Type: typ, ID: u}, nil
}

// ParseObject validates an object type and id.
func ParseObject(typ, id string) (Ref, error) {
	if err := CheckObjectType(typ); err != nil {
		return Ref{}, err
	}
	u, ok := ParseRefID(typ, id)
	if !ok {
		return Ref{}, ErrInvalidObjectID.With("object_id %q must be a %s_<32 hex> id, 32 hex digits or a UUID of version 1-8", truncate(id), typ)
	}
	return Ref{Type: typ, ID: u}, nil
}

// CheckRelation returns ErrInvalidRelation unless s is a valid relation name.
func CheckRelation(s string) error {
	if !ValidRelation(s) {
		return ErrInvalidRelation.With("relation %q must match ^[a-z_]{2,32}$", truncate(s))
	}
	return nil
}

// ParseKey validates all five parts of a natural key.
func ParseKey(subjectType, subjectID, relation, objectType, objectID string) (Key, error) {
	s, err := ParseSubject(subjectType, subjectID)
	if err != nil {
		return Key{}, err
	}
	if err := CheckRelation(relation); err != nil {
		return Key{}, err
	}
	o, err := ParseObject(objectType, objectID)
	if err != nil {
		return Key{}, err
	}
	return Key{Subject: s, Relation: relation, Object: o}, nil
}

// Validate checks a Key built in code rather than parsed.
func (k Key) Validate() error {
	if err := CheckSubjectType(k.Subject.Type); err != nil {
		return err
	}
	if !k.Subject.ID.valid() {
		return ErrInvalidSubjectID.With("subject_id must be a UUID of version 1-8")
	}
	if err := CheckRelation(k.Relation); err != nil {
		return err
	}
	return CheckObject(k.Object)
}

// CheckObject validates an object reference: its type and the version of
// its id.
func CheckObject(o Ref) error {
	if err := CheckObjectType(o.Type); err != nil {
		return err
	}
	if !o.ID.valid() {
		return ErrInvalidObjectID.With("object_id must be a UUID of version 1-8")
	}
	return nil
}
