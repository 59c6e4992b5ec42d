package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
	tpg "github.com/flametrench/server/tuples/postgres"
)

const patCols = `id, usr_id, name, scope, expires_at, last_used_at, revoked_at, created_at, updated_at, secret_hash`

func scanPAT(row pgx.Row) (identity.PAT, error) {
	var p identity.PAT
	err := row.Scan((*[16]byte)(&p.ID), (*[16]byte)(&p.UserID), &p.Name, &p.Scope, &p.ExpiresAt, &p.LastUsedAt,
		&p.RevokedAt, &p.CreatedAt, &p.UpdatedAt, &p.SecretHash)
	return p, err
}

func (t *tx) PAT(ctx context.Context, id UUID) (identity.PAT, error) {
	p, err := scanPAT(t.t.QueryRow(ctx, `SELECT `+patCols+` FROM pat WHERE id = $1`+t.lock, [16]byte(id)))
	return p, translate(err, identity.ErrPATNotFound)
}

func (t *tx) PATs(ctx context.Context, q identity.PATQuery) ([]identity.PAT, error) {
	where := ``
	switch q.Status {
	case identity.PATActive:
		where = ` AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $4)`
	case identity.PATExpired:
		where = ` AND revoked_at IS NULL AND expires_at <= $4`
	case identity.PATRevoked:
		where = ` AND revoked_at IS NOT NULL`
	}
	return tpg.Collect(ctx, t.t, scanPAT, `SELECT `+patCols+` FROM pat WHERE usr_id = $1 AND id > $2`+where+`
	AND $4::timestamptz IS NOT NULL ORDER BY id LIMIT $3`,
		[16]byte(q.User), [16]byte(q.After), q.Limit, q.Now)
}

func (t *tx) PutPAT(ctx context.Context, p identity.PAT) error {
	scope := p.Scope
	if scope == nil {
		scope = []string{}
	}
	_, err := t.t.Exec(ctx, `INSERT INTO pat (`+patCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (id) DO UPDATE SET last_used_at = $6, revoked_at = $7, updated_at = $9`,
		[16]byte(p.ID), [16]byte(p.UserID), p.Name, scope, p.ExpiresAt, p.LastUsedAt, p.RevokedAt, p.CreatedAt, p.UpdatedAt, p.SecretHash)
	return translate(err, nil)
}

func (t *tx) TouchPAT(ctx context.Context, id UUID, at time.Time, coalesce time.Duration) error {
	_, err := t.t.Exec(ctx, `UPDATE pat SET last_used_at = $2
WHERE id = $1 AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at <= $3)`,
		[16]byte(id), at, at.Add(-coalesce))
	return translate(err, nil)
}

func (t *tx) RevokePATs(ctx context.Context, user UUID, at time.Time) (int, error) {
	tag, err := t.t.Exec(ctx, `UPDATE pat SET revoked_at = $2, updated_at = $2 WHERE usr_id = $1 AND revoked_at IS NULL`,
		[16]byte(user), at)
	return int(tag.RowsAffected()), translate(err, nil)
}

const shareCols = `id, object_type, object_id, relation, created_by, expires_at, single_use, consumed_at, revoked_at, created_at, token_hash`

func scanShare(row pgx.Row) (identity.Share, error) {
	var s identity.Share
	var hash []byte
	err := row.Scan((*[16]byte)(&s.ID), &s.Object.Type, (*[16]byte)(&s.Object.ID), &s.Relation, (*[16]byte)(&s.CreatedBy),
		&s.ExpiresAt, &s.SingleUse, &s.ConsumedAt, &s.RevokedAt, &s.CreatedAt, &hash)
	copy(s.TokenHash[:], hash)
	return s, err
}

func (t *tx) Share(ctx context.Context, id UUID) (identity.Share, error) {
	s, err := scanShare(t.t.QueryRow(ctx, `SELECT `+shareCols+` FROM shr WHERE id = $1`+t.lock, [16]byte(id)))
	return s, translate(err, identity.ErrShareNotFound)
}

func (t *tx) ShareByToken(ctx context.Context, hash [32]byte) (identity.Share, error) {
	s, err := scanShare(t.t.QueryRow(ctx, `SELECT `+shareCols+` FROM shr WHERE token_hash = $1`+t.lock, hash[:]))
	return s, translate(err, identity.ErrShareNotFound)
}

func (t *tx) Shares(ctx context.Context, object tuples.Ref, after UUID, limit int) ([]identity.Share, error) {
	return tpg.Collect(ctx, t.t, scanShare, `SELECT `+shareCols+` FROM shr
WHERE object_id = $1 AND object_type = $2 AND id > $3 ORDER BY id LIMIT $4`,
		[16]byte(object.ID), object.Type, [16]byte(after), limit)
}

func (t *tx) PutShare(ctx context.Context, s identity.Share) error {
	_, err := t.t.Exec(ctx, `INSERT INTO shr (`+shareCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (id) DO UPDATE SET consumed_at = $8, revoked_at = $9`,
		[16]byte(s.ID), s.Object.Type, [16]byte(s.Object.ID), s.Relation, [16]byte(s.CreatedBy), s.ExpiresAt, s.SingleUse,
		s.ConsumedAt, s.RevokedAt, s.CreatedAt, s.TokenHash[:])
	return translate(err, nil)
}
