package recovery

import (
	"crypto/rand"
	"io"
	"strings"
)

const (
	// Alphabet is the 31 characters a code may contain: A–Z and 2–9 without
	// 0, O, 1, I and L.
	Alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	// Count is the number of codes in a set.
	Count = 10
	// Len is the length of a canonical code, XXXX-XXXX-XXXX.
	Len = 14
)

// group is the number of characters between hyphens.
const group = 4

// inAlphabet[c] reports whether byte c is in Alphabet.
var inAlphabet = func() (t [256]bool) {
	for i := 0; i < len(Alphabet); i++ {
		t[Alphabet[i]] = true
	}
	return t
}()

// Generate returns Count distinct codes in canonical form, each character
// drawn uniformly from Alphabet using crypto/rand. Show them to the user once;
// store only their hashes.
func Generate() ([]string, error) { return generate(rand.Reader) }

func generate(r io.Reader) ([]string, error) {
	codes := make([]string, 0, Count)
	seen := make(map[string]bool, Count)
	var chars [Len - 2]byte
	for len(codes) < Count {
		if err := fill(r, chars[:]); err != nil {
			return nil, err
		}
		c := format(chars[:])
		if seen[c] { // about once in 10^16 sets: draw again rather than repeat a code
			continue
		}
		seen[c] = true
		codes = append(codes, c)
	}
	return codes, nil
}

// limit is the largest multiple of len(Alphabet) that fits in a byte (8·31).
// Bytes at or above it are discarded: mapping all 256 values with % 31 would
// make the first 8 characters slightly likelier than the rest.
const limit = 256 / len(Alphabet) * len(Alphabet)

// fill sets every byte of dst to a uniformly chosen Alphabet character,
// reading from r.
func fill(r io.Reader, dst []byte) error {
	var buf [32]byte
	n := 0
	for n < len(dst) {
		// A few more bytes than needed, so one read usually suffices.
		want := min(len(dst)-n+4, len(buf))
		if _, err := io.ReadFull(r, buf[:want]); err != nil {
			return err
		}
		for _, b := range buf[:want] {
			if int(b) < limit && n < len(dst) {
				dst[n] = Alphabet[int(b)%len(Alphabet)]
				n++
			}
		}
	}
	return nil
}

// format inserts the hyphens into 12 characters.
func format(chars []byte) string {
	var b [Len]byte
	copy(b[0:], chars[0:group])
	b[group] = '-'
	copy(b[group+1:], chars[group:2*group])
	b[2*group+1] = '-'
	copy(b[2*group+2:], chars[2*group:])
	return string(b[:])
}

// Valid reports whether code is a recovery code in canonical form:
// ^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$.
func Valid(code string) bool {
	if len(code) != Len {
		return false
	}
	for i := 0; i < len(code); i++ {
		if i == group || i == 2*group+1 {
			if code[i] != '-' {
				return false
			}
		} else if !inAlphabet[code[i]] {
			return false
		}
	}
	return true
}

// Normalize turns what a user typed into the canonical form: it trims
// surrounding white space, uppercases ASCII letters, and accepts the 12
// characters without hyphens, re-inserting them. It returns the canonical
// code and true, or "" and false when the result is not Valid; callers can
// then refuse the attempt without spending Argon2id on it.
//
// Only ASCII is uppercased: Unicode case mapping would turn some non-ASCII
// letters (ſ, ı) into valid ones, making different inputs the same code.
func Normalize(input string) (string, bool) {
	s := []byte(strings.TrimSpace(input))
	for i, c := range s {
		if 'a' <= c && c <= 'z' {
			s[i] = c - 'a' + 'A'
		}
	}
	code := string(s)
	if len(s) == Len-2 && !strings.Contains(code, "-") {
		code = format(s)
	}
	if !Valid(code) {
		return "", false
	}
	return code, true
}
