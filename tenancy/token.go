package tenancy

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// acceptTokenPrefix marks an invitation's accept token, so that one found
// in a log or a paste says what it is.
const acceptTokenPrefix = "ivt_"

// maxAcceptToken bounds a presented token before it is hashed.
const maxAcceptToken = 512

// NewAcceptToken returns a fresh accept token for an invitation, "ivt_"
// and 32 bytes from crypto/rand in base64url, and its SHA-256, which is all
// that is stored (NewInvitation.AcceptTokenHash): the token itself is shown
// once, to whoever creates the invitation, to hand to the invitee.
// Identifiers are not verified, so an invitation's identifier alone does
// not prove that a user is the one invited; the token does (the transport
// requires it of the invitee, CONFORMANCE "Invitation tokens").
func NewAcceptToken() (token string, hash [32]byte) {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	token = acceptTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, sha256.Sum256([]byte(token))
}

// AcceptTokenMatches reports whether token is the invitation's accept
// token, comparing SHA-256 hashes in constant time. An invitation made
// without one (a zero hash) matches no token.
func (inv Invitation) AcceptTokenMatches(token string) bool {
	if inv.AcceptTokenHash == ([32]byte{}) || token == "" || len(token) > maxAcceptToken {
		return false
	}
	h := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(h[:], inv.AcceptTokenHash[:]) == 1
}
