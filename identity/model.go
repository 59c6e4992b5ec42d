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
	// Admin marks a platform administrator (DESIGN §4); not on the wire.
	Admin     bool
	CreatedAt time.Time
	UpdatedAt time.Time
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

// FactorType names an MFA factor's kind (ADR 0008).
type FactorType string

const (
	TOTP     FactorType = "totp"
	WebAuthn FactorType = "webauthn"
	Recovery FactorType = "recovery"
)

// FactorStatus is an MFA factor's state: TOTP and WebAuthn factors start
// pending and become active only when confirmed (MFA-2).
type FactorStatus string

const (
	FactorPending   FactorStatus = "pending"
	FactorActive    FactorStatus = "active"
	FactorSuspended FactorStatus = "suspended"
	FactorRevoked   FactorStatus = "revoked"
)

// Factor is an MFA factor. Secret material never leaves the module.
type Factor struct {
	ID         UUID
	UserID     UUID
	Type       FactorType
	Status     FactorStatus
	Identifier string // totp: label; webauthn: base64url credential ID; recovery: ""
	Replaces   UUID
	CreatedAt  time.Time
	UpdatedAt  time.Time

	TOTPSecret    []byte // totp
	TOTPAlgorithm string
	TOTPDigits    int
	TOTPLastStep  int64 // the last time step accepted; replays at or before it are refused (A12)

	RPID       string // webauthn
	PublicKey  []byte // webauthn: COSE key
	SignCount  uint32
	AAGUID     *UUID
	Transports []string

	RecoveryCodes []RecoveryCode // recovery: Count slots
}

// RecoveryCode is one slot of a recovery factor: its Argon2id hash and when
// it was used.
type RecoveryCode struct {
	Hash       string
	ConsumedAt *time.Time
}

// Challenge is a server-issued, single-use WebAuthn challenge (A10).
type Challenge struct {
	ID        UUID
	UserID    UUID
	FactorID  UUID // the factor being enrolled, or zero for a verification
	Bytes     []byte
	RPID      string
	ExpiresAt time.Time
}

// PAT is a personal access token (ADR 0016). Only the Argon2id hash of its
// secret is kept.
type PAT struct {
	ID         UUID
	UserID     UUID
	Name       string
	Scope      []string
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	SecretHash string
}

// PATStatus is a PAT's status, derived at read time.
type PATStatus string

const (
	PATActive  PATStatus = "active"
	PATExpired PATStatus = "expired"
	PATRevoked PATStatus = "revoked"
)

// StatusAt returns the PAT's status at t: revoked wins over expired.
func (p PAT) StatusAt(t time.Time) PATStatus {
	switch {
	case p.RevokedAt != nil:
		return PATRevoked
	case p.ExpiresAt != nil && !t.Before(*p.ExpiresAt):
		return PATExpired
	}
	return PATActive
}

// Share is a share token's row (ADR 0012): read access to one object by one
// relation, for whoever holds the token. Only the token's SHA-256 is kept.
type Share struct {
	ID         UUID
	Object     tuples.Ref
	Relation   string
	CreatedBy  UUID
	ExpiresAt  time.Time
	SingleUse  bool
	ConsumedAt *time.Time
	RevokedAt  *time.Time
	CreatedAt  time.Time
	TokenHash  [32]byte
}
