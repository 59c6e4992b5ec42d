package tuples

import (
	"strings"
	"unicode/utf8"
)

// Registered type prefixes (docs/ids.md plus `pat`, ADR 0016). Reserved prefixes
// (aud, not, file, flag, sub) are deliberately absent: they are not usable yet.
var registry = map[string]bool{
	"usr": true, "ses": true, "cred": true, "mfa": true, "org": true,
	"mem": true, "inv": true, "tup": true, "shr": true, "pat": true,
}

// IsRegisteredType reports whether typ is a registered Flametrench type prefix.
func IsRegisteredType(typ string) bool { return registry[typ] }

// EncodeID returns "{typ}_{hex}" for a registered typ and any valid UUID string
// (hyphenated or 32 hex, any case). It does not check the UUID version (ids.md
// encoding rule 3).
func EncodeID(typ, uuid string) (string, error) {
	if !registry[typ] {
		return "", ErrInvalidType.With("type prefix %q is not registered", typ)
	}
	u, ok := parseHyphenated(uuid)
	if !ok {
		u, ok = parseHex32(uuid, true)
	}
	if !ok {
		return "", ErrInvalidID.With("%q is not a UUID", uuid)
	}
	return typ + "_" + u.Hex(), nil
}

// FormatID encodes an already-parsed UUID. The caller guarantees typ is valid.
func FormatID(typ string, u UUID) string { return typ + "_" + u.Hex() }

// NewID generates a fresh id of a registered type.
func NewID(typ string) (string, UUID, error) {
	if !registry[typ] {
		return "", UUID{}, ErrInvalidType.With("type prefix %q is not registered", typ)
	}
	u := NewUUID()
	return FormatID(typ, u), u, nil
}

// DecodeID strictly decodes a wire id: registered prefix, 32 lowercase hex,
// version nibble 1..8 (ids.md decoding rules 1-6).
func DecodeID(id string) (typ string, u UUID, err error) {
	if i := strings.IndexByte(id, '_'); i >= 0 && !registry[id[:i]] {
		return "", UUID{}, ErrInvalidType.With("type prefix %q is not registered", truncate(id[:i]))
	}
	return DecodeAnyID(id)
}

// DecodeAnyID decodes the wire shape without consulting the registry (ids.md
// decodeAny). It never returns ErrInvalidType.
func DecodeAnyID(id string) (typ string, u UUID, err error) {
	i := strings.IndexByte(id, '_')
	if i < 0 {
		return "", UUID{}, ErrInvalidID.With("%q has no type separator", truncate(id))
	}
	u, ok := parseHex32(id[i+1:], false)
	if !ok {
		return "", UUID{}, ErrInvalidID.With("%q: payload must be 32 lowercase hex digits", truncate(id))
	}
	if !u.valid() {
		return "", UUID{}, ErrInvalidID.With("%q: UUID version must be 1..8 (Nil and Max are rejected)", truncate(id))
	}
	return id[:i], u, nil
}

// DecodeIDOf decodes a strict id that must carry the prefix want.
func DecodeIDOf(want, id string) (UUID, error) {
	typ, u, err := DecodeID(id)
	if err != nil {
		return UUID{}, err
	}
	if typ != want {
		return UUID{}, ErrInvalidID.With("%q is not a %s id", truncate(id), want)
	}
	return u, nil
}

// IsValidID reports whether DecodeID accepts id and, when expectedType is not
// empty, whether its prefix equals expectedType.
func IsValidID(id, expectedType string) bool {
	typ, _, err := DecodeID(id)
	return err == nil && (expectedType == "" || typ == expectedType)
}

// IsValidShape reports whether DecodeAnyID accepts id.
func IsValidShape(id string) bool { _, _, err := DecodeAnyID(id); return err == nil }

// TypeOfID returns the prefix of a strictly valid id.
func TypeOfID(id string) (string, error) { typ, _, err := DecodeID(id); return typ, err }

// truncate bounds echoed input in error messages.
func truncate(s string) string { return Truncate(s) }

// Truncate shortens a client-supplied string for an error message: at most
// 80 bytes, cut at a character boundary, with an ellipsis when cut.
func Truncate(s string) string {
	if len(s) <= 80 {
		return s
	}
	n := 80
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
