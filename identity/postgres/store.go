package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/flametrench/server/identity"
	tpg "github.com/flametrench/server/tuples/postgres"
)

type UUID = identity.UUID

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the identity module's schema migrations, applied with
// tuples/postgres's DB.Migrate after the tuple migrations.
var Migrations = func() []tpg.Migration {
	m, err := tpg.LoadMigrations("identity", migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	return m
}()

// Transactor runs transactions: a *tuples/postgres.DB, or a Follower, whose
// Update also applies the committed tuple changes to the local graph.
type Transactor interface {
	Update(ctx context.Context, fn func(*tpg.Tx) error) (uint64, error)
	View(ctx context.Context, fn func(*tpg.Tx) error) error
}

// Store is the identity store on PostgreSQL.
type Store struct{ db Transactor }

// New returns a store that runs its transactions on db.
func New(db Transactor) *Store { return &Store{db: db} }

// Update implements identity.Store. Rows read in it are locked (FOR UPDATE)
// until commit.
func (s *Store) Update(ctx context.Context, fn func(identity.Tx) error) (uint64, error) {
	return s.db.Update(ctx, func(t *tpg.Tx) error { return fn(&tx{t: t, lock: " FOR UPDATE"}) })
}

// View implements identity.Store.
func (s *Store) View(ctx context.Context, fn func(identity.Tx) error) error {
	return s.db.View(ctx, func(t *tpg.Tx) error { return fn(&tx{t: t}) })
}

type tx struct {
	t    *tpg.Tx
	lock string // " FOR UPDATE" in an Update
}

// PG returns the tuples/postgres transaction t runs on, and whether it is
// an Update's (its rows are to be locked; a View's is not and must not be
// written through). A store that shares identity's transactions
// (tenancy/postgres) reaches it through this method, without importing
// this package.
func (t *tx) PG() (*tpg.Tx, bool) { return t.t, t.lock != "" }

// translate maps what the driver reports onto the module's errors; the rest
// goes through tuples/postgres's translation when the transaction returns.
func translate(err error, notFound error) error {
	var pe *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return notFound
	case errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "cred_active_identifier":
		return identity.ErrDuplicateCredential
	}
	return err
}

// ----- users

const userCols = `id, status, display_name, admin, created_at, updated_at`

func scanUser(row pgx.Row) (identity.User, error) {
	var u identity.User
	err := row.Scan((*[16]byte)(&u.ID), &u.Status, &u.DisplayName, &u.Admin, &u.CreatedAt, &u.UpdatedAt)
	return u, err
}

func (t *tx) User(ctx context.Context, id UUID) (identity.User, error) {
	u, err := scanUser(t.t.QueryRow(ctx, `SELECT `+userCols+` FROM usr WHERE id = $1`+t.lock, [16]byte(id)))
	return u, translate(err, identity.ErrUserNotFound)
}

func (t *tx) PutUser(ctx context.Context, u identity.User) error {
	_, err := t.t.Exec(ctx, `INSERT INTO usr (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET status = $2, display_name = $3, admin = $4, updated_at = $6`,
		[16]byte(u.ID), u.Status, u.DisplayName, u.Admin, u.CreatedAt, u.UpdatedAt)
	return translate(err, nil)
}

// likePattern escapes s for LIKE, so a query's % and _ match themselves.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

func (t *tx) Users(ctx context.Context, q identity.UserQuery) ([]identity.User, error) {
	sql := `SELECT ` + userCols + ` FROM usr u WHERE id > $1`
	args := []any{[16]byte(q.After)}
	if q.Status != "" {
		args = append(args, q.Status)
		sql += ` AND status = $2`
	}
	if q.Query != "" {
		args = append(args, likePattern(q.Query))
		sql += fmt.Sprintf(` AND EXISTS (SELECT 1 FROM cred c WHERE c.usr_id = u.id AND c.status = 'active' AND lower(c.identifier) LIKE $%d)`, len(args))
	}
	args = append(args, q.Limit)
	sql += fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args))
	return tpg.Collect(ctx, t.t, scanUser, sql, args...)
}

// ----- credentials

const credCols = `id, usr_id, type, identifier, status, replaces, password_hash, passkey_rp_id, passkey_public_key,
	passkey_sign_count, oidc_issuer, oidc_subject, created_at, updated_at`

func scanCred(row pgx.Row) (identity.Credential, error) {
	var c identity.Credential
	var replaces pgtype.UUID
	var hash, rp, iss, sub pgtype.Text
	var count pgtype.Int8
	err := row.Scan((*[16]byte)(&c.ID), (*[16]byte)(&c.UserID), &c.Type, &c.Identifier, &c.Status, &replaces,
		&hash, &rp, &c.PasskeyPublicKey, &count, &iss, &sub, &c.CreatedAt, &c.UpdatedAt)
	c.Replaces = tpg.UUIDOf(replaces)
	c.PasswordHash, c.PasskeyRPID, c.OIDCIssuer, c.OIDCSubject = hash.String, rp.String, iss.String, sub.String
	c.PasskeySignCount = uint32(count.Int64)
	return c, err
}

func (t *tx) Credential(ctx context.Context, id UUID) (identity.Credential, error) {
	c, err := scanCred(t.t.QueryRow(ctx, `SELECT `+credCols+` FROM cred WHERE id = $1`+t.lock, [16]byte(id)))
	return c, translate(err, identity.ErrCredentialNotFound)
}

func (t *tx) ActiveCredential(ctx context.Context, typ identity.CredentialType, identifier string) (identity.Credential, error) {
	c, err := scanCred(t.t.QueryRow(ctx, `SELECT `+credCols+` FROM cred WHERE type = $1 AND identifier = $2 AND status = 'active'`+t.lock,
		typ, identifier))
	return c, translate(err, identity.ErrCredentialNotFound)
}

func (t *tx) CredentialsOf(ctx context.Context, user UUID) ([]identity.Credential, error) {
	return tpg.Collect(ctx, t.t, scanCred, `SELECT `+credCols+` FROM cred WHERE usr_id = $1 ORDER BY id`+t.lock, [16]byte(user))
}

func nullText(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

func (t *tx) PutCredential(ctx context.Context, c identity.Credential) error {
	var key []byte
	var count pgtype.Int8
	if c.Type == identity.Passkey {
		key, count = c.PasskeyPublicKey, pgtype.Int8{Int64: int64(c.PasskeySignCount), Valid: true}
	}
	_, err := t.t.Exec(ctx, `INSERT INTO cred (`+credCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (id) DO UPDATE SET status = $5, password_hash = $7, passkey_rp_id = $8, passkey_public_key = $9,
	passkey_sign_count = $10, oidc_issuer = $11, oidc_subject = $12, updated_at = $14`,
		[16]byte(c.ID), [16]byte(c.UserID), c.Type, c.Identifier, c.Status, tpg.NullUUID(c.Replaces),
		nullText(c.PasswordHash), nullText(c.PasskeyRPID), key, count, nullText(c.OIDCIssuer), nullText(c.OIDCSubject),
		c.CreatedAt, c.UpdatedAt)
	return translate(err, nil)
}

// ----- sessions

const sesCols = `id, usr_id, cred_id, created_at, expires_at, revoked_at, mfa_verified_at, token_hash`

func scanSession(row pgx.Row) (identity.Session, error) {
	var s identity.Session
	var hash []byte
	err := row.Scan((*[16]byte)(&s.ID), (*[16]byte)(&s.UserID), (*[16]byte)(&s.CredentialID), &s.CreatedAt, &s.ExpiresAt,
		&s.RevokedAt, &s.MFAVerifiedAt, &hash)
	copy(s.TokenHash[:], hash)
	return s, err
}

func (t *tx) Session(ctx context.Context, id UUID) (identity.Session, error) {
	s, err := scanSession(t.t.QueryRow(ctx, `SELECT `+sesCols+` FROM ses WHERE id = $1`+t.lock, [16]byte(id)))
	return s, translate(err, identity.ErrSessionNotFound)
}

func (t *tx) SessionByToken(ctx context.Context, hash [32]byte) (identity.Session, error) {
	s, err := scanSession(t.t.QueryRow(ctx, `SELECT `+sesCols+` FROM ses WHERE token_hash = $1`+t.lock, hash[:]))
	return s, translate(err, identity.ErrSessionNotFound)
}

func (t *tx) Sessions(ctx context.Context, user UUID, after UUID, limit int) ([]identity.Session, error) {
	return tpg.Collect(ctx, t.t, scanSession, `SELECT `+sesCols+` FROM ses WHERE usr_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		[16]byte(user), [16]byte(after), limit)
}

func (t *tx) PutSession(ctx context.Context, s identity.Session) error {
	_, err := t.t.Exec(ctx, `INSERT INTO ses (`+sesCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (id) DO UPDATE SET revoked_at = $6, mfa_verified_at = $7`,
		[16]byte(s.ID), [16]byte(s.UserID), [16]byte(s.CredentialID), s.CreatedAt, s.ExpiresAt, s.RevokedAt, s.MFAVerifiedAt, s.TokenHash[:])
	return translate(err, nil)
}

func (t *tx) RevokeSessions(ctx context.Context, user, cred UUID, at time.Time) (int, error) {
	tag, err := t.t.Exec(ctx, `UPDATE ses SET revoked_at = $3
WHERE usr_id = $1 AND ($2::uuid IS NULL OR cred_id = $2) AND revoked_at IS NULL AND expires_at > $3`,
		[16]byte(user), tpg.NullUUID(cred), at)
	return int(tag.RowsAffected()), translate(err, nil)
}

// ----- verification tickets

const ticketCols = `hash, usr_id, cred_id, expires_at, mfa_required, mfa_verified_at`

func scanTicket(row pgx.Row) (identity.Ticket, error) {
	var tk identity.Ticket
	var hash []byte
	err := row.Scan(&hash, (*[16]byte)(&tk.UserID), (*[16]byte)(&tk.CredentialID), &tk.ExpiresAt, &tk.MFARequired, &tk.MFAVerified)
	copy(tk.Hash[:], hash)
	return tk, err
}

func (t *tx) Ticket(ctx context.Context, hash [32]byte) (identity.Ticket, error) {
	tk, err := scanTicket(t.t.QueryRow(ctx, `SELECT `+ticketCols+` FROM verification_ticket WHERE hash = $1`+t.lock, hash[:]))
	return tk, translate(err, identity.ErrInvalidTicket)
}

func (t *tx) TakeTicket(ctx context.Context, hash [32]byte) (identity.Ticket, error) {
	tk, err := scanTicket(t.t.QueryRow(ctx, `DELETE FROM verification_ticket WHERE hash = $1 RETURNING `+ticketCols, hash[:]))
	return tk, translate(err, identity.ErrInvalidTicket)
}

func (t *tx) PutTicket(ctx context.Context, tk identity.Ticket) error {
	// Tickets left unused expire within a minute; sweep a few old ones on
	// every insert so the table stays small without a background job.
	if _, err := t.t.Exec(ctx, `DELETE FROM verification_ticket WHERE hash IN (
	SELECT hash FROM verification_ticket WHERE expires_at < $1 LIMIT 16 FOR UPDATE SKIP LOCKED)`,
		tk.ExpiresAt.Add(-2*identity.TicketTTL)); err != nil {
		return err
	}
	_, err := t.t.Exec(ctx, `INSERT INTO verification_ticket (`+ticketCols+`) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (hash) DO UPDATE SET mfa_verified_at = $6`,
		tk.Hash[:], [16]byte(tk.UserID), [16]byte(tk.CredentialID), tk.ExpiresAt, tk.MFARequired, tk.MFAVerified)
	return translate(err, nil)
}

// ----- MFA policy

func (t *tx) Policy(ctx context.Context, user UUID) (identity.Policy, bool, error) {
	p := identity.Policy{UserID: user}
	err := t.t.QueryRow(ctx, `SELECT required, grace_until, updated_at FROM usr_mfa_policy WHERE usr_id = $1`+t.lock, [16]byte(user)).
		Scan(&p.Required, &p.GraceUntil, &p.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, nil
	}
	return p, err == nil, err
}

func (t *tx) PutPolicy(ctx context.Context, p identity.Policy) error {
	_, err := t.t.Exec(ctx, `INSERT INTO usr_mfa_policy (usr_id, required, grace_until, updated_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (usr_id) DO UPDATE SET required = $2, grace_until = $3, updated_at = $4`,
		[16]byte(p.UserID), p.Required, p.GraceUntil, p.UpdatedAt)
	return translate(err, nil)
}

// Tuples implements identity.Tx: tuple writes join the transaction.
func (t *tx) Tuples() identity.TupleTx { return t.t }

var _ identity.Store = (*Store)(nil)
