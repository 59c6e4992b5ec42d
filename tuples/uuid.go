package tuples

import (
	"bytes"
	"encoding/hex"

	"github.com/google/uuid"
)

// UUID is a 16-byte identifier, the storage form of every Flametrench id.
type UUID [16]byte

// NewUUID returns a fresh UUIDv7 from github.com/google/uuid (docs/ids.md forbids
// hand-rolled generation). It panics only if the system's random source fails.
func NewUUID() UUID { return UUID(uuid.Must(uuid.NewV7())) }

// IsZero reports whether u is the Nil UUID.
func (u UUID) IsZero() bool { return u == UUID{} }

// Compare orders UUIDs by their bytes: for UUIDv7, by creation time. It
// returns -1, 0 or +1, for slices.SortFunc and slices.BinarySearchFunc.
func (u UUID) Compare(v UUID) int { return bytes.Compare(u[:], v[:]) }

// Version returns the version nibble.
func (u UUID) Version() int { return int(u[6] >> 4) }

// valid reports whether u may identify a Flametrench entity: version 1..8, which
// excludes the Nil and Max UUIDs (docs/ids.md, decoding rule 5).
func (u UUID) valid() bool { v := u.Version(); return v >= 1 && v <= 8 }

// String returns the canonical hyphenated lowercase form.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}

// Hex returns the 32 lowercase hex digits without hyphens.
func (u UUID) Hex() string { return hex.EncodeToString(u[:]) }

// UnixMilli returns the creation time embedded in a UUIDv7, in milliseconds.
func (u UUID) UnixMilli() int64 {
	return int64(u[0])<<40 | int64(u[1])<<32 | int64(u[2])<<24 | int64(u[3])<<16 | int64(u[4])<<8 | int64(u[5])
}

// MarshalText encodes u hyphenated.
func (u UUID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// parseHex32 decodes exactly 32 hex digits. Uppercase is accepted only when upper is true.
func parseHex32(s string, upper bool) (UUID, bool) {
	var u UUID
	if len(s) != 32 {
		return u, false
	}
	for i := 0; i < 16; i++ {
		hi, ok1 := hexVal(s[2*i], upper)
		lo, ok2 := hexVal(s[2*i+1], upper)
		if !ok1 || !ok2 {
			return u, false
		}
		u[i] = hi<<4 | lo
	}
	return u, true
}

// parseHyphenated decodes the 36-character 8-4-4-4-12 form, any case.
func parseHyphenated(s string) (UUID, bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return UUID{}, false
	}
	var b [32]byte
	copy(b[0:8], s[0:8])
	copy(b[8:12], s[9:13])
	copy(b[12:16], s[14:18])
	copy(b[16:20], s[19:23])
	copy(b[20:32], s[24:36])
	return parseHex32(string(b[:]), true)
}

func hexVal(c byte, upper bool) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case upper && c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
