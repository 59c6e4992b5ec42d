package tuples

import (
	"strings"
	"unicode/utf8"
)

// ValidText reports whether s is a string a PostgreSQL text column can
// hold: valid UTF-8 without NUL. PostgreSQL refuses both with an error
// that would reach a client as a 500, and the memory stores would take
// them, so every module checks the free-form strings it stores or queries
// by with ValidText, answering its own invalid-format error, before any
// store sees them. Names held to a pattern (types, relations, slugs) need
// no more than the pattern.
func ValidText(s string) bool { return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) }
