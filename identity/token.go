package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// tokenBytes is the entropy of every bearer secret the module mints: 256
// bits (SES-3, security.md).
const tokenBytes = 32

// maxTokenLen bounds a presented token before it is hashed or parsed.
const maxTokenLen = 512

// newSecret returns a fresh base64url secret (no padding) and its SHA-256.
// A secret is drawn again if it would be routed as another kind of bearer
// (one in about eight million starts with "pat_" or "shr_"), so every
// session token it mints classifies as a session.
func newSecret() (string, [32]byte) {
	b := make([]byte, tokenBytes)
	for {
		rand.Read(b) // never fails (crypto/rand, Go 1.24+)
		s := base64.RawURLEncoding.EncodeToString(b)
		if Classify(s) == KindSession {
			return s, sha256.Sum256([]byte(s))
		}
	}
}

// hashToken is the form tokens are stored and looked up in.
func hashToken(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// sameHash compares two token hashes in constant time. A lookup by hash has
// already matched them; comparing again guards a store whose index compares
// case- or collation-insensitively.
func sameHash(a, b [32]byte) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }
