package password

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// b64 is the PHC string format's base64: the standard alphabet, no padding.
// Strict rejects non-zero trailing bits, so each byte string has exactly one
// accepted encoding.
var b64 = base64.RawStdEncoding.Strict()

const (
	prefix = "$argon2id$v=19$"
	// maxPHCLen is longer than any string within Max (about 220 bytes), and
	// lets ParsePHC refuse a huge input before looking at it.
	maxPHCLen = 256
)

// encodePHC formats an Argon2id hash. salt and key must already satisfy p.
func encodePHC(p Params, salt, key []byte) string {
	var b strings.Builder
	b.Grow(len(prefix) + 32 + b64.EncodedLen(len(salt)) + b64.EncodedLen(len(key)))
	b.WriteString(prefix)
	b.WriteString("m=")
	b.WriteString(strconv.FormatUint(uint64(p.Memory), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(p.Time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(p.Threads), 10))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(key))
	return b.String()
}

// ParsePHC decodes an Argon2id PHC string, for Verify and for callers that
// want to check a stored or imported hash without a password (a policy check
// that flags hashes below the floor, say). Params.SaltLen and Params.KeyLen are
// the decoded lengths. It accepts only the canonical form Hash writes:
//
//	$argon2id$v=19$m=<n>,t=<n>,p=<n>$<salt>$<tag>
//
// with the parameters in that order, decimal without sign or leading zeros, and
// salt and tag in unpadded standard base64. Anything else (another Argon2
// variant, another version, optional PHC fields such as keyid or data) is
// ErrMalformedHash; well-formed parameters outside [Floor, Max] are ErrParams.
// It never hashes, so it is cheap on hostile input.
func ParsePHC(phc string) (p Params, salt, key []byte, err error) {
	if len(phc) > maxPHCLen {
		return Params{}, nil, nil, ErrMalformedHash.With("PHC string longer than %d bytes", maxPHCLen)
	}
	rest, ok := strings.CutPrefix(phc, prefix)
	if !ok {
		return Params{}, nil, nil, malformedPrefix(phc)
	}
	fields := strings.Split(rest, "$")
	if len(fields) != 3 {
		return Params{}, nil, nil, ErrMalformedHash.With("want $argon2id$v=19$<params>$<salt>$<hash>")
	}
	if p, err = parseParams(fields[0]); err != nil {
		return Params{}, nil, nil, err
	}
	if salt, err = decodeB64("salt", fields[1]); err != nil {
		return Params{}, nil, nil, err
	}
	if key, err = decodeB64("hash", fields[2]); err != nil {
		return Params{}, nil, nil, err
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.Validate(); err != nil {
		return Params{}, nil, nil, err
	}
	return p, salt, key, nil
}

// malformedPrefix says why phc does not start with prefix, since "wrong
// algorithm" and "wrong version" are the two mistakes worth naming.
func malformedPrefix(phc string) error {
	alg, rest, _ := strings.Cut(strings.TrimPrefix(phc, "$"), "$")
	switch {
	case !strings.HasPrefix(phc, "$"):
		return ErrMalformedHash.With("PHC string must start with $")
	case alg != "argon2id":
		return ErrMalformedHash.With("algorithm %.16q is not argon2id", alg)
	case !strings.HasPrefix(rest, "v="):
		return ErrMalformedHash.With("missing version field")
	default:
		return ErrMalformedHash.With("unsupported Argon2 version; want v=19")
	}
}

// parseParams parses "m=<n>,t=<n>,p=<n>" exactly.
func parseParams(s string) (Params, error) {
	var vals [3]uint32
	for i, name := range [...]string{"m", "t", "p"} {
		part := s
		if i < 2 {
			var ok bool
			if part, s, ok = strings.Cut(s, ","); !ok {
				return Params{}, ErrMalformedHash.With("parameters must be m=<n>,t=<n>,p=<n>")
			}
		}
		digits, ok := strings.CutPrefix(part, name+"=")
		if !ok {
			return Params{}, ErrMalformedHash.With("parameters must be m=<n>,t=<n>,p=<n>")
		}
		v, ok := parseDecimal(digits)
		if !ok {
			return Params{}, ErrMalformedHash.With("parameter %s is not a canonical 32-bit decimal", name)
		}
		vals[i] = v
	}
	if vals[2] > 255 {
		// Argon2 allows up to 2^24-1 lanes, x/crypto/argon2 only 255; Max is
		// far below either, so report it as out of range, not malformed.
		return Params{}, ErrParams.With("p=%d is above the cap %d", vals[2], Max.Threads)
	}
	return Params{Memory: vals[0], Time: vals[1], Threads: uint8(vals[2])}, nil
}

// parseDecimal accepts what strconv.FormatUint writes for a uint32: ASCII
// digits, no sign, no leading zero except "0" itself.
func parseDecimal(s string) (uint32, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > 1<<32-1 {
		return 0, false
	}
	return uint32(v), true
}

// decodeB64 decodes one unpadded standard base64 field. The explicit alphabet
// check matters: encoding/base64 silently skips CR and LF, which would let two
// different strings name the same hash.
func decodeB64(name, s string) ([]byte, error) {
	if s == "" {
		return nil, ErrMalformedHash.With("empty %s", name)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, ErrMalformedHash.With("%s is not unpadded standard base64", name)
		}
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, ErrMalformedHash.With("%s is not canonical unpadded standard base64", name)
	}
	return b, nil
}
