package postgres

import (
	"context"
	"embed"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
	tpg "github.com/flametrench/server/tuples/postgres"
)

type UUID = tenancy.UUID

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the tenancy module's schema migrations, applied with
// tuples/postgres's DB.Migrate after the tuple and identity migrations
// (mem references usr).
var Migrations = func() []tpg.Migration {
	m, err := tpg.LoadMigrations("tenancy", migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	return m
}()

// Store is the tenancy store on PostgreSQL.
type Store struct{ ids identity.Store }

// New returns a store whose transactions run inside ids's, which must be
// an identity/postgres store.
func New(ids identity.Store) *Store { return &Store{ids: ids} }

// pgTx is what identity/postgres's transactions offer a store that shares
// them: the tuples/postgres transaction and whether it is an Update's.
type pgTx interface {
	PG() (t *tpg.Tx, locking bool)
}

// errNotPostgres: Join was handed an identity transaction of another
// backend, a wiring mistake.
var errNotPostgres = &tuples.Error{Kind: tuples.Internal, Code: "internal_error",
	Msg: "tenancy/postgres needs an identity/postgres transaction"}

// errReadOnly: a Put in a View.
var errReadOnly = &tuples.Error{Kind: tuples.Internal, Code: "internal_error", Msg: "write attempted in a read-only view"}

// Update implements tenancy.Store.
func (s *Store) Update(ctx context.Context, fn func(tenancy.Tx) error) (uint64, error) {
	return s.ids.Update(ctx, func(itx identity.Tx) error { return s.Join(ctx, itx, fn) })
}

// Join implements tenancy.Store: fn's statements run in itx's own
// PostgreSQL transaction. It fails with an internal error if itx is not
// identity/postgres's. Joined to a View's transaction, fn reads without
// locks and cannot write.
func (s *Store) Join(_ context.Context, itx identity.Tx, fn func(tenancy.Tx) error) error {
	p, ok := itx.(pgTx)
	if !ok {
		return errNotPostgres.With("tenancy/postgres: the identity transaction is a %T, not identity/postgres's", itx)
	}
	t, locking := p.PG()
	x := &tx{itx: itx, t: t, writable: locking}
	if locking {
		x.lock = " FOR UPDATE"
	}
	return fn(x)
}

// View implements tenancy.Store.
func (s *Store) View(ctx context.Context, fn func(tenancy.Tx) error) error {
	return s.ids.View(ctx, func(itx identity.Tx) error { return s.Join(ctx, itx, fn) })
}

type tx struct {
	itx      identity.Tx
	t        *tpg.Tx
	writable bool   // an Update's
	lock     string // " FOR UPDATE" in an Update
}

func (t *tx) Identity() identity.Tx { return t.itx }

// Names of the unique indexes whose violations are the module's errors.
const (
	idxLiveSlug     = "org_live_slug"
	idxActiveMember = "mem_active"
)

// notFound maps pgx's "no row" to the getter's sentinel. Other errors go
// back as they are, for tuples/postgres to retry (deadlocks) or translate
// when the transaction returns.
func notFound(err, sentinel error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return sentinel
	}
	return err
}

// violates reports whether err is a violation of the unique index idx.
func violates(err error, idx string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == idx
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// limitArg is a listing's LIMIT: a negative limit means none, as in the
// memory store.
func limitArg(n int) any {
	if n < 0 {
		return nil
	}
	return n
}

// ----- organizations

const orgCols = `id, name, slug, status, created_at, updated_at`

func scanOrg(row pgx.Row) (tenancy.Org, error) {
	var o tenancy.Org
	err := row.Scan((*[16]byte)(&o.ID), &o.Name, &o.Slug, &o.Status, &o.CreatedAt, &o.UpdatedAt)
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return o, err
}

// Org reads an organization, locking its row in an Update.
func (t *tx) Org(ctx context.Context, id UUID) (tenancy.Org, error) {
	o, err := scanOrg(t.t.QueryRow(ctx, `SELECT `+orgCols+` FROM org WHERE id = $1`+t.lock, [16]byte(id)))
	return o, notFound(err, tenancy.ErrOrgNotFound)
}

func (t *tx) PutOrg(ctx context.Context, o tenancy.Org) error {
	if !t.writable {
		return errReadOnly
	}
	_, err := t.t.Exec(ctx, `INSERT INTO org (`+orgCols+`) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE SET name = $2, slug = $3, status = $4, updated_at = $6`,
		[16]byte(o.ID), o.Name, o.Slug, o.Status, o.CreatedAt, o.UpdatedAt)
	if violates(err, idxLiveSlug) && o.Slug != nil {
		return tenancy.ErrSlugTaken.With("slug %q is taken", *o.Slug)
	}
	return err
}

// ----- memberships

const memCols = `id, usr_id, org_id, role, status, replaces, invited_by, removed_by, created_at, updated_at`

func scanMem(row pgx.Row) (tenancy.Membership, error) {
	var m tenancy.Membership
	var replaces, invitedBy, removedBy pgtype.UUID
	err := row.Scan((*[16]byte)(&m.ID), (*[16]byte)(&m.UserID), (*[16]byte)(&m.OrgID), &m.Role, &m.Status,
		&replaces, &invitedBy, &removedBy, &m.CreatedAt, &m.UpdatedAt)
	m.Replaces, m.InvitedBy, m.RemovedBy = tpg.UUIDOf(replaces), tpg.UUIDOf(invitedBy), tpg.UUIDOf(removedBy)
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, err
}

// Membership reads a membership without locking it (see the package
// comment: the service locks the organization, then reads again).
func (t *tx) Membership(ctx context.Context, id UUID) (tenancy.Membership, error) {
	m, err := scanMem(t.t.QueryRow(ctx, `SELECT `+memCols+` FROM mem WHERE id = $1`, [16]byte(id)))
	return m, notFound(err, tenancy.ErrMembershipNotFound)
}

func (t *tx) ActiveMembership(ctx context.Context, org, user UUID) (tenancy.Membership, error) {
	m, err := scanMem(t.t.QueryRow(ctx, `SELECT `+memCols+` FROM mem WHERE org_id = $1 AND usr_id = $2 AND status = 'active'`,
		[16]byte(org), [16]byte(user)))
	return m, notFound(err, tenancy.ErrMembershipNotFound)
}

func (t *tx) Memberships(ctx context.Context, q tenancy.MembershipQuery) ([]tenancy.Membership, error) {
	if q.Status == "" {
		return tpg.Collect(ctx, t.t, scanMem, `SELECT `+memCols+` FROM mem
WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`, [16]byte(q.Org), [16]byte(q.After), limitArg(q.Limit))
	}
	return tpg.Collect(ctx, t.t, scanMem, `SELECT `+memCols+` FROM mem
WHERE org_id = $1 AND status = $4 AND id > $2 ORDER BY id LIMIT $3`,
		[16]byte(q.Org), [16]byte(q.After), limitArg(q.Limit), string(q.Status))
}

// ActiveOwners reads the partial index mem_owner.
func (t *tx) ActiveOwners(ctx context.Context, org UUID, limit int) ([]tenancy.Membership, error) {
	return tpg.Collect(ctx, t.t, scanMem, `SELECT `+memCols+` FROM mem
WHERE org_id = $1 AND status = 'active' AND role = 'owner' ORDER BY id LIMIT $2`, [16]byte(org), limit)
}

func (t *tx) MembershipsOf(ctx context.Context, user UUID) ([]tenancy.Membership, error) {
	return tpg.Collect(ctx, t.t, scanMem, `SELECT `+memCols+` FROM mem
WHERE usr_id = $1 AND status <> 'revoked' ORDER BY id`, [16]byte(user))
}

func (t *tx) OrgsOf(ctx context.Context, user, after UUID, limit int) ([]tenancy.Org, error) {
	return tpg.Collect(ctx, t.t, scanOrg, `SELECT `+orgCols+` FROM org WHERE id IN (
	SELECT org_id FROM mem WHERE usr_id = $1 AND status <> 'revoked' AND org_id > $2) ORDER BY id LIMIT $3`,
		[16]byte(user), [16]byte(after), limit)
}

func (t *tx) PutMembership(ctx context.Context, m tenancy.Membership) error {
	if !t.writable {
		return errReadOnly
	}
	_, err := t.t.Exec(ctx, `INSERT INTO mem (`+memCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (id) DO UPDATE SET usr_id = $2, org_id = $3, role = $4, status = $5, replaces = $6, invited_by = $7,
	removed_by = $8, updated_at = $10`,
		[16]byte(m.ID), [16]byte(m.UserID), [16]byte(m.OrgID), m.Role, m.Status, tpg.NullUUID(m.Replaces),
		tpg.NullUUID(m.InvitedBy), tpg.NullUUID(m.RemovedBy), m.CreatedAt, m.UpdatedAt)
	if violates(err, idxActiveMember) {
		return tenancy.ErrDuplicateMembership
	}
	return err
}

var _ tenancy.Store = (*Store)(nil)
