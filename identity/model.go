package identity

import (
	"time"

	"github.com/flametrench/server/tuples"
)

// UUID is the storage form of every id (tuples.UUID).
type UUID = tuples.UUID

// Status is the tri-state lifecycle of users and credentials (USR-1, CRED-5).
type Status string

const (
	Active    Status = "active"
	Suspended Status = "suspended"
	Revoked   Status = "revoked"
)

// User is an identity. It carries no identifiers: those live on credentials
// (USR-6).
type User struct {
	ID          UUID
	Status      Status
	DisplayName *string // nil: unset (ADR 0014)
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// CredentialType names how a credential proves the user.
type CredentialType string

const (
	Password CredentialType = "password"
	Passkey  CredentialType = "passkey"
	OIDC     CredentialType = "oidc"
)

// Credential is a way for a user to prove who they are. Its secret material
// (PasswordHash, PublicKey) never leaves the module.
type Credential struct {
	ID         UUID
	UserID     UUID
	Type       CredentialType
	Identifier string
	Status     Status
	Replaces   UUID // zero: none
	CreatedAt  time.Time
	UpdatedAt  time.Time

	PasswordHash string // password: the Argon2id PHC string

	PasskeyRPID      string // passkey
	PasskeyPublicKey []byte // passkey: COSE key
	PasskeySignCount uint32

	OIDCIssuer  string // oidc
	OIDCSubject string
}

// Session is a user's authenticated session. The token that proves it is
// stored only as its SHA-256 (SES-3).
type Session struct {
	ID            UUID
	UserID        UUID
	CredentialID  UUID
	CreatedAt     time.Time
	ExpiresAt     time.Time
	RevokedAt     *time.Time
	MFAVerifiedAt *time.Time // ADR 0008; not on the wire
	TokenHash     [32]byte
}

// ActiveAt reports whether the session may authenticate at t.
func (s Session) ActiveAt(t time.Time) bool { return s.RevokedAt == nil && t.Before(s.ExpiresAt) }

// Ticket is a verification ticket (DESIGN §4, A1): the proof, valid for at
// most a minute and once, that a credential was just verified. A session is
// minted only from a ticket, and only from an MFA-upgraded one when the
// user's MFA policy is in force.
type Ticket struct {
	Hash         [32]byte // SHA-256 of the ticket string
	UserID       UUID
	CredentialID UUID
	ExpiresAt    time.Time
	MFARequired  bool
	MFAVerified  *time.Time // set by a successful MFA verification
}

// Limits of the module that the spec pins or that bound work.
const (
	TicketTTL        = 60 * time.Second
	MinSessionTTL    = 60 * time.Second
	DefaultMaxTTL    = 30 * 24 * time.Hour
	MaxPATLifetime   = 365 * 24 * time.Hour
	MaxShareLifetime = 365 * 24 * time.Hour
	MaxPATNameUnits  = 120
	MaxPATSecret     = 256 // characters; longer secrets are refused before hashing (audit H6)
)
