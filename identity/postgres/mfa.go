package postgres

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/flametrench/server/identity"
	tpg "github.com/flametrench/server/tuples/postgres"
)

// ----- MFA factors

const mfaCols = `id, usr_id, type, status, identifier, replaces, created_at, updated_at,
	totp_secret, totp_algorithm, totp_digits, totp_last_step,
	webauthn_rp_id, webauthn_public_key, webauthn_sign_count, webauthn_aaguid, webauthn_transports`

func scanFactor(row pgx.Row) (identity.Factor, error) {
	var f identity.Factor
	var ident, alg, rp pgtype.Text
	var replaces, aaguid pgtype.UUID
	var digits pgtype.Int2
	var step, count pgtype.Int8
	err := row.Scan((*[16]byte)(&f.ID), (*[16]byte)(&f.UserID), &f.Type, &f.Status, &ident, &replaces, &f.CreatedAt, &f.UpdatedAt,
		&f.TOTPSecret, &alg, &digits, &step, &rp, &f.PublicKey, &count, &aaguid, &f.Transports)
	f.Identifier, f.Replaces = ident.String, tpg.UUIDOf(replaces)
	f.TOTPAlgorithm, f.TOTPDigits, f.TOTPLastStep = alg.String, int(digits.Int16), step.Int64
	f.RPID, f.SignCount = rp.String, uint32(count.Int64)
	if aaguid.Valid {
		a := UUID(aaguid.Bytes)
		f.AAGUID = &a
	}
	return f, err
}

// translateMFA maps the MFA unique indexes onto the module's errors.
func translateMFA(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		switch pe.ConstraintName {
		case "mfa_active_singleton":
			return identity.ErrFactorSingleton
		case "mfa_active_webauthn":
			return identity.ErrDuplicateWebAuthnCredential
		}
	}
	return translate(err, nil)
}

// Factor reads the row (locked in an Update), then its recovery slots in a
// second statement: under READ COMMITTED that statement sees every change
// committed before the lock was granted, so a slot consumed by a
// transaction that held the lock is seen consumed.
func (t *tx) Factor(ctx context.Context, id UUID) (identity.Factor, error) {
	f, err := scanFactor(t.t.QueryRow(ctx, `SELECT `+mfaCols+` FROM mfa WHERE id = $1`+t.lock, [16]byte(id)))
	if err != nil {
		return identity.Factor{}, translate(err, identity.ErrFactorNotFound)
	}
	if f.Type == identity.Recovery {
		fs := []identity.Factor{f}
		if err := t.recoveryCodes(ctx, fs, `mfa_id = $1`, [16]byte(id)); err != nil {
			return identity.Factor{}, err
		}
		f = fs[0]
	}
	return f, nil
}

func (t *tx) FactorsOf(ctx context.Context, user UUID) ([]identity.Factor, error) {
	fs, err := tpg.Collect(ctx, t.t, scanFactor, `SELECT `+mfaCols+` FROM mfa WHERE usr_id = $1 ORDER BY id`+t.lock, [16]byte(user))
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(fs, func(f identity.Factor) bool { return f.Type == identity.Recovery }) {
		return fs, nil
	}
	err = t.recoveryCodes(ctx, fs, `mfa_id IN (SELECT id FROM mfa WHERE usr_id = $1 AND type = 'recovery')`, [16]byte(user))
	return fs, err
}

// recoveryCodes fills the recovery slots of the factors in fs from the rows
// that where selects.
func (t *tx) recoveryCodes(ctx context.Context, fs []identity.Factor, where string, arg any) error {
	rows, err := t.t.Query(ctx, `SELECT mfa_id, slot, hash, consumed_at FROM mfa_recovery_code WHERE `+where+` ORDER BY mfa_id, slot`, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	byID := make(map[UUID]int, len(fs))
	for i, f := range fs {
		byID[f.ID] = i
	}
	for rows.Next() {
		var id UUID
		var slot int16
		var c identity.RecoveryCode
		if err := rows.Scan((*[16]byte)(&id), &slot, &c.Hash, &c.ConsumedAt); err != nil {
			return err
		}
		i, ok := byID[id]
		if !ok {
			continue
		}
		codes := fs[i].RecoveryCodes
		for len(codes) <= int(slot) {
			codes = append(codes, identity.RecoveryCode{})
		}
		codes[slot] = c
		fs[i].RecoveryCodes = codes
	}
	return rows.Err()
}

// PutFactor upserts the row; type, secret and creation never change. A
// recovery factor's slots are upserted too, and a consumed slot stays
// consumed whatever the caller passes (MFA-7).
func (t *tx) PutFactor(ctx context.Context, f identity.Factor) error {
	var secret []byte
	var alg, rp pgtype.Text
	var digits pgtype.Int2
	var step, count pgtype.Int8
	var transports []string
	var aaguid any
	switch f.Type {
	case identity.TOTP:
		secret, alg = f.TOTPSecret, pgtype.Text{String: f.TOTPAlgorithm, Valid: true}
		digits = pgtype.Int2{Int16: int16(f.TOTPDigits), Valid: true}
		step = pgtype.Int8{Int64: f.TOTPLastStep, Valid: true}
	case identity.WebAuthn:
		rp = pgtype.Text{String: f.RPID, Valid: true}
		if f.PublicKey != nil {
			count = pgtype.Int8{Int64: int64(f.SignCount), Valid: true}
		}
		transports = f.Transports
		if f.AAGUID != nil {
			aaguid = [16]byte(*f.AAGUID)
		}
	}
	_, err := t.t.Exec(ctx, `INSERT INTO mfa (`+mfaCols+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
ON CONFLICT (id) DO UPDATE SET status = $4, identifier = $5, replaces = $6, updated_at = $8, totp_last_step = $12,
	webauthn_public_key = $14, webauthn_sign_count = $15, webauthn_aaguid = $16, webauthn_transports = $17`,
		[16]byte(f.ID), [16]byte(f.UserID), f.Type, f.Status, nullText(f.Identifier), tpg.NullUUID(f.Replaces), f.CreatedAt, f.UpdatedAt,
		secret, alg, digits, step, rp, f.PublicKey, count, aaguid, transports)
	if err != nil {
		return translateMFA(err)
	}
	if f.Type != identity.Recovery || len(f.RecoveryCodes) == 0 {
		return nil
	}
	slots := make([]int16, len(f.RecoveryCodes))
	hashes := make([]string, len(f.RecoveryCodes))
	used := make([]pgtype.Timestamptz, len(f.RecoveryCodes))
	for i, c := range f.RecoveryCodes {
		slots[i], hashes[i] = int16(i), c.Hash
		if c.ConsumedAt != nil {
			used[i] = pgtype.Timestamptz{Time: *c.ConsumedAt, Valid: true}
		}
	}
	_, err = t.t.Exec(ctx, `INSERT INTO mfa_recovery_code (mfa_id, slot, hash, consumed_at)
SELECT $1, u.slot, u.hash, u.consumed_at FROM unnest($2::smallint[], $3::text[], $4::timestamptz[]) AS u (slot, hash, consumed_at)
ON CONFLICT (mfa_id, slot) DO UPDATE SET consumed_at = EXCLUDED.consumed_at
WHERE mfa_recovery_code.consumed_at IS NULL`,
		[16]byte(f.ID), slots, hashes, used)
	return translateMFA(err)
}

// ----- WebAuthn challenges

const challengeCols = `id, usr_id, mfa_id, challenge, rp_id, expires_at`

func scanChallenge(row pgx.Row) (identity.Challenge, error) {
	var c identity.Challenge
	var user, factor pgtype.UUID
	var rp pgtype.Text
	err := row.Scan((*[16]byte)(&c.ID), &user, &factor, &c.Bytes, &rp, &c.ExpiresAt)
	c.UserID, c.FactorID, c.RPID = tpg.UUIDOf(user), tpg.UUIDOf(factor), rp.String
	return c, err
}

func (t *tx) PutChallenge(ctx context.Context, c identity.Challenge) error {
	// Challenges left unanswered expire within minutes; sweep a few old
	// ones on every insert so the table stays small without a background
	// job.
	if _, err := t.t.Exec(ctx, `DELETE FROM webauthn_challenge WHERE id IN (
	SELECT id FROM webauthn_challenge WHERE expires_at < $1 LIMIT 16 FOR UPDATE SKIP LOCKED)`,
		c.ExpiresAt.Add(-2*identity.ChallengeTTL)); err != nil {
		return err
	}
	_, err := t.t.Exec(ctx, `INSERT INTO webauthn_challenge (`+challengeCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		[16]byte(c.ID), tpg.NullUUID(c.UserID), tpg.NullUUID(c.FactorID), c.Bytes, nullText(c.RPID), c.ExpiresAt)
	return translate(err, nil)
}

func (t *tx) TakeChallenge(ctx context.Context, id UUID) (identity.Challenge, error) {
	c, err := scanChallenge(t.t.QueryRow(ctx, `DELETE FROM webauthn_challenge WHERE id = $1 RETURNING `+challengeCols, [16]byte(id)))
	return c, translate(err, identity.ErrChallengeNotFound)
}
