package password

import (
	"crypto/rand"
	"crypto/subtle"

	"golang.org/x/crypto/argon2"
)

// Hash derives an Argon2id hash of password with parameters p and a fresh
// random salt, and returns it as a PHC string. It refuses (ErrParams) any p
// outside [Floor, Max]: a weaker hash would be non-conformant (CRED-3), and a
// stronger one than Max could not be verified later. It runs on the calling
// goroutine; servers should go through a Pool.
func Hash(password string, p Params) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil { // never fails since Go 1.24
		return "", err
	}
	return encodePHC(p, salt, derive(password, p, salt)), nil
}

// Verify reports whether password matches the PHC string phc. A mismatch is
// (false, nil); a phc that ParsePHC refuses is (false, error) and costs no
// hashing. The tags are compared in constant time.
func Verify(phc, password string) (bool, error) {
	p, salt, key, err := ParsePHC(phc)
	if err != nil {
		return false, err
	}
	return check(password, p, salt, key), nil
}

func derive(password string, p Params, salt []byte) []byte {
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// check is the Argon2id computation and the constant-time comparison of one
// verify; p, salt and key come from ParsePHC.
func check(password string, p Params, salt, key []byte) bool {
	return subtle.ConstantTimeCompare(derive(password, p, salt), key) == 1
}
