package identity

import (
	"context"
	"time"

	"github.com/flametrench/server/tuples"
)

// Store holds the module's rows. It is plain storage: every rule of the
// module lives once, in Service, and runs inside Update (STYLE §1). The
// memory and PostgreSQL stores implement it, and identitytest holds both to
// the same behaviour.
type Store interface {
	// Update runs fn in one transaction and commits it if fn returns nil;
	// otherwise nothing fn did is kept and fn's error is returned unchanged.
	// Rows fn reads by key (the single-row getters: User, Credential,
	// Ticket, Factor, PAT, Share, …) are locked against concurrent Updates
	// until the end, so read-check-write on them is safe (single-use
	// consumption relies on it). Listings take no lock: a rule that counts
	// rows must lock a row they share (the user's) first.
	// rev is the tuple revision the transaction committed, or 0 if it wrote
	// no tuple.
	Update(ctx context.Context, fn func(Tx) error) (rev uint64, err error)
	// View runs fn on a consistent read-only view.
	View(ctx context.Context, fn func(Tx) error) error
}

// Tx is the row access of one transaction. Getters return the package's
// NotFound sentinels; Put methods insert or replace a whole row.
type Tx interface {
	User(ctx context.Context, id UUID) (User, error)
	PutUser(ctx context.Context, u User) error
	// Users lists users with ids after q.After in id order, at most q.Limit.
	Users(ctx context.Context, q UserQuery) ([]User, error)

	Credential(ctx context.Context, id UUID) (Credential, error)
	// ActiveCredential finds the active credential of the type with the
	// identifier (CRED-2: at most one exists).
	ActiveCredential(ctx context.Context, typ CredentialType, identifier string) (Credential, error)
	CredentialsOf(ctx context.Context, user UUID) ([]Credential, error)
	// PutCredential fails with ErrDuplicateCredential if the row would make
	// a second active credential with its type and identifier.
	PutCredential(ctx context.Context, c Credential) error

	Session(ctx context.Context, id UUID) (Session, error)
	SessionByToken(ctx context.Context, hash [32]byte) (Session, error)
	// Sessions lists the user's sessions after the id in id order.
	Sessions(ctx context.Context, user UUID, after UUID, limit int) ([]Session, error)
	PutSession(ctx context.Context, s Session) error
	// RevokeSessions sets revoked_at on the active sessions of the user, or
	// of one credential when cred is not zero, and returns how many.
	RevokeSessions(ctx context.Context, user, cred UUID, at time.Time) (int, error)

	// TakeTicket removes the ticket and returns it: a ticket is used once.
	TakeTicket(ctx context.Context, hash [32]byte) (Ticket, error)
	Ticket(ctx context.Context, hash [32]byte) (Ticket, error)
	PutTicket(ctx context.Context, t Ticket) error

	// Policy returns the user's MFA policy; without a row, Required is false.
	Policy(ctx context.Context, user UUID) (Policy, bool, error)
	PutPolicy(ctx context.Context, p Policy) error

	// Factor returns an MFA factor, or ErrFactorNotFound.
	Factor(ctx context.Context, id UUID) (Factor, error)
	// FactorsOf returns the user's factors, all states, in id order.
	FactorsOf(ctx context.Context, user UUID) ([]Factor, error)
	PutFactor(ctx context.Context, f Factor) error
	PutChallenge(ctx context.Context, c Challenge) error
	// TakeChallenge removes the challenge and returns it (single use), or
	// ErrChallengeNotFound.
	TakeChallenge(ctx context.Context, id UUID) (Challenge, error)

	PAT(ctx context.Context, id UUID) (PAT, error)
	// PATs lists a user's tokens after the id in id order, of one status at
	// q.Now when q.Status is set.
	PATs(ctx context.Context, q PATQuery) ([]PAT, error)
	PutPAT(ctx context.Context, p PAT) error
	// TouchPAT sets last_used_at to at unless the token is revoked or was
	// used less than coalesce before at (ADR 0016 step 8, audit H3).
	TouchPAT(ctx context.Context, id UUID, at time.Time, coalesce time.Duration) error
	// RevokePATs revokes the user's unrevoked tokens.
	RevokePATs(ctx context.Context, user UUID, at time.Time) (int, error)

	Share(ctx context.Context, id UUID) (Share, error)
	ShareByToken(ctx context.Context, hash [32]byte) (Share, error)
	// Shares lists an object's shares, all states, after the id in id order.
	Shares(ctx context.Context, object tuples.Ref, after UUID, limit int) ([]Share, error)
	PutShare(ctx context.Context, s Share) error

	// Tuples writes tuples in the same transaction (user revocation removes
	// the user's tuples, authorization.md cascadeRevokeSubject).
	Tuples() TupleTx
}

// TupleTx is the tuple writing a transaction offers; tuples/postgres.Tx has
// exactly these methods.
type TupleTx interface {
	Write(ctx context.Context, changes []tuples.Change) ([]tuples.Tuple, error)
	DeleteSubject(ctx context.Context, subject tuples.Ref) (int, error)
}

// UserQuery filters listUsers (ADR 0015).
type UserQuery struct {
	After  UUID
	Limit  int
	Status Status // "": any
	// Query is a case-insensitive substring of an active credential's
	// identifier; "": no filter.
	Query string
}

// PATQuery filters listPatsForUser.
type PATQuery struct {
	User   UUID
	After  UUID
	Limit  int
	Status PATStatus // "": any
	Now    time.Time
}

// Policy is a user's MFA policy (MFA-8).
type Policy struct {
	UserID     UUID
	Required   bool
	GraceUntil *time.Time
	UpdatedAt  time.Time
}

// InForce reports whether the policy requires MFA at t.
func (p Policy) InForce(t time.Time) bool {
	return p.Required && (p.GraceUntil == nil || !p.GraceUntil.After(t))
}
