package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"hash"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flametrench/server/tuples"
)

// Algorithm is the HMAC hash, spelled as on the wire (lowercase).
type Algorithm string

const (
	SHA1   Algorithm = "sha1" // the spec's default, and what every authenticator app supports
	SHA256 Algorithm = "sha256"
	SHA512 Algorithm = "sha512"
)

// Valid reports whether a is one of the three algorithms.
func (a Algorithm) Valid() bool { return a.hash() != nil }

func (a Algorithm) hash() func() hash.Hash {
	switch a {
	case SHA1:
		return sha1.New
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	}
	return nil
}

const (
	// Period is the time step in seconds (RFC 6238's X); the spec fixes it.
	Period = 30
	// DefaultDigits is the spec's default code length.
	DefaultDigits = 6
	// MinDigits and MaxDigits bound the code length, as the wire regex does.
	// RFC 4226 requires at least 6; dynamic truncation yields 31 bits, so a
	// 10-digit code is the most that still varies in every digit position.
	MinDigits, MaxDigits = 6, 10
	// MinSecretLen is the spec's minimum secret (16 bytes; RFC 4226 §4 R6
	// requires 128 bits).
	MinSecretLen = 16
	// SecretLen is the length NewSecret returns: 160 bits, the RFC 4226
	// recommendation and the size of the SHA-1 vectors.
	SecretLen = 20
)

// ErrInvalid reports arguments Code cannot use: an unknown algorithm, a code
// length outside [MinDigits, MaxDigits], a short secret or a time before 1970.
var ErrInvalid = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.totp", Msg: "invalid TOTP parameters"}

// Code returns the code for time t: HMAC(secret, floor(unix(t)/Period)) with
// alg, dynamically truncated and zero-padded to digits digits.
func Code(secret []byte, t time.Time, digits int, alg Algorithm) (string, error) {
	h, err := check(secret, digits, alg)
	if err != nil {
		return "", err
	}
	unix := t.Unix()
	if unix < 0 {
		return "", ErrInvalid.With("time %v is before the Unix epoch", t)
	}
	return compute(secret, uint64(unix/Period), digits, h), nil
}

// Verify reports whether code is the code for the step containing now, the
// step before or the step after (RFC 6238 §5.2's one step of drift each way),
// and if so returns that step (floor(unix/Period)).
//
// All three candidates are computed and compared in constant time whatever
// matches, so timing tells nothing about how close a guess was. If a code
// happens to match two steps, the later one is returned. Callers reject
// replays by remembering, per user, the last step they accepted and refusing
// any step at or before it; with the later step returned, a code that matched
// twice cannot be accepted once for each.
//
// A code of the wrong length or with anything but ASCII digits, an unusable
// secret, digits or alg, or a time before 1970 is simply not ok.
func Verify(secret []byte, code string, now time.Time, digits int, alg Algorithm) (step int64, ok bool) {
	h, err := check(secret, digits, alg)
	if err != nil || len(code) != digits || !allDigits(code) {
		return 0, false
	}
	unix := now.Unix()
	if unix < 0 {
		return 0, false
	}
	cur := unix / Period
	var match int64
	var found int
	for s := cur - 1; s <= cur+1; s++ {
		if s < 0 { // the first step after the epoch has no predecessor
			continue
		}
		eq := subtle.ConstantTimeCompare([]byte(compute(secret, uint64(s), digits, h)), []byte(code))
		// Branch-free "if eq { match = s }": the loop runs upward, so the
		// latest matching step wins.
		mask := -int64(eq)
		match = match&^mask | s&mask
		found |= eq
	}
	if found == 0 {
		return 0, false
	}
	return match, true
}

func check(secret []byte, digits int, alg Algorithm) (func() hash.Hash, error) {
	h := alg.hash()
	switch {
	case h == nil:
		return nil, ErrInvalid.With("unknown algorithm %.16q; want sha1, sha256 or sha512", string(alg))
	case digits < MinDigits || digits > MaxDigits:
		return nil, ErrInvalid.With("digits=%d outside %d..%d", digits, MinDigits, MaxDigits)
	case len(secret) < MinSecretLen:
		return nil, ErrInvalid.With("secret of %d bytes; want at least %d", len(secret), MinSecretLen)
	}
	return h, nil
}

// pow10 holds 10^0 .. 10^MaxDigits.
var pow10 = func() (p [MaxDigits + 1]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// compute is HOTP (RFC 4226 §5.3) at counter.
func compute(secret []byte, counter uint64, digits int, h func() hash.Hash) string {
	mac := hmac.New(h, secret)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	// Dynamic truncation uses the low nibble of the last byte whatever the
	// hash length, as RFC 6238's reference code does for SHA-256 and SHA-512.
	off := sum[len(sum)-1] & 0x0f
	v := uint64(binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff) % pow10[digits]
	var out [MaxDigits]byte
	for i := digits - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return string(out[:digits])
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NewSecret returns SecretLen bytes from crypto/rand.
func NewSecret() []byte {
	b := make([]byte, SecretLen)
	rand.Read(b) // never fails since Go 1.24; it crashes the program instead
	return b
}

// b32 is RFC 4648 base32 without padding, the form authenticator apps expect
// in the otpauth URI.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// EncodeSecret returns secret as uppercase, unpadded RFC 4648 base32, the
// form a user types into an authenticator app.
func EncodeSecret(secret []byte) string { return b32.EncodeToString(secret) }

// URI returns the otpauth:// key URI (the de facto "Key Uri Format" that
// authenticator apps read from a QR code):
//
//	otpauth://totp/<issuer>:<account>?secret=<base32>&issuer=<issuer>&algorithm=SHA1&digits=6&period=30
//
// Issuer and account are percent-encoded (a space as %20, never "+", which
// some apps show literally). The format forbids a colon in either; one is
// encoded as %3A so the label's only literal colon is the separator. An empty
// issuer leaves out both the label prefix and the parameter. URI formats what
// it is given: validate digits and alg first (Code does).
func URI(issuer, account string, secret []byte, digits int, alg Algorithm) string {
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	if issuer != "" {
		b.WriteString(labelEscape(issuer))
		b.WriteByte(':')
	}
	b.WriteString(labelEscape(account))
	b.WriteString("?secret=")
	b.WriteString(EncodeSecret(secret))
	if issuer != "" {
		b.WriteString("&issuer=")
		b.WriteString(strings.ReplaceAll(url.QueryEscape(issuer), "+", "%20"))
	}
	b.WriteString("&algorithm=")
	b.WriteString(strings.ToUpper(string(alg)))
	b.WriteString("&digits=")
	b.WriteString(strconv.Itoa(digits))
	b.WriteString("&period=")
	b.WriteString(strconv.Itoa(Period))
	return b.String()
}

func labelEscape(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
}
