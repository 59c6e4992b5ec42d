package webauthn

import "crypto/rand"

// ChallengeSize is the length of the challenges NewChallenge returns.
const ChallengeSize = 32

// NewChallenge returns ChallengeSize bytes from crypto/rand, for a
// registration or an assertion. The caller stores it with the pending
// ceremony and passes it back as the options' Challenge.
func NewChallenge() []byte {
	b := make([]byte, ChallengeSize)
	// Since Go 1.24 crypto/rand.Read never returns an error; it crashes the
	// program if the system's random source fails.
	_, _ = rand.Read(b)
	return b
}
