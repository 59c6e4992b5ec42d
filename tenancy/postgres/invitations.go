package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/flametrench/server/tenancy"
	tpg "github.com/flametrench/server/tuples/postgres"
)

// preTuple is a pre-tuple as the pre_tuples jsonb array holds it.
type preTuple struct {
	Relation   string    `json:"relation"`
	ObjectType string    `json:"object_type"`
	ObjectID   uuid.UUID `json:"object_id"`
}

func toJSON(pts []tenancy.PreTuple) []preTuple {
	out := make([]preTuple, len(pts)) // never nil: nil would encode as null
	for i, pt := range pts {
		out[i] = preTuple{Relation: pt.Relation, ObjectType: pt.ObjectType, ObjectID: uuid.UUID(pt.ObjectID)}
	}
	return out
}

func fromJSON(pts []preTuple) []tenancy.PreTuple {
	out := make([]tenancy.PreTuple, len(pts))
	for i, pt := range pts {
		out[i] = tenancy.PreTuple{Relation: pt.Relation, ObjectType: pt.ObjectType, ObjectID: UUID(pt.ObjectID)}
	}
	return out
}

const invCols = `id, org_id, identifier, role, status, pre_tuples, invited_by, invited_user_id, created_at, expires_at,
	terminal_at, terminal_by, accept_token_hash`

func scanInv(row pgx.Row) (tenancy.Invitation, error) {
	var inv tenancy.Invitation
	var pts []preTuple
	var invitedBy, invitedUser, terminalBy pgtype.UUID
	var hash []byte
	err := row.Scan((*[16]byte)(&inv.ID), (*[16]byte)(&inv.OrgID), &inv.Identifier, &inv.Role, &inv.Status, &pts,
		&invitedBy, &invitedUser, &inv.CreatedAt, &inv.ExpiresAt, &inv.TerminalAt, &terminalBy, &hash)
	copy(inv.AcceptTokenHash[:], hash) // NULL: zero, no token
	inv.PreTuples = fromJSON(pts)
	inv.InvitedBy, inv.InvitedUserID, inv.TerminalBy = tpg.UUIDOf(invitedBy), tpg.UUIDOf(invitedUser), tpg.UUIDOf(terminalBy)
	inv.CreatedAt, inv.ExpiresAt, inv.TerminalAt = inv.CreatedAt.UTC(), inv.ExpiresAt.UTC(), utcPtr(inv.TerminalAt)
	return inv, err
}

// Invitation reads an invitation, locking its row in an Update: of
// concurrent accepts, the later ones wait and then find it accepted.
func (t *tx) Invitation(ctx context.Context, id UUID) (tenancy.Invitation, error) {
	inv, err := scanInv(t.t.QueryRow(ctx, `SELECT `+invCols+` FROM inv WHERE id = $1`+t.lock, [16]byte(id)))
	return inv, notFound(err, tenancy.ErrInvitationNotFound)
}

// Invitations filters by the status a caller sees at q.Now
// (Invitation.StatusAt): a pending row is expired once now is past its
// expires_at (INV-3).
func (t *tx) Invitations(ctx context.Context, q tenancy.InvitationQuery) ([]tenancy.Invitation, error) {
	args := []any{[16]byte(q.Org), [16]byte(q.After), limitArg(q.Limit)}
	var where string
	switch q.Status {
	case "":
	case tenancy.InvitationPending:
		where, args = ` AND status = 'pending' AND expires_at >= $4`, append(args, q.Now)
	case tenancy.InvitationExpired:
		where, args = ` AND (status = 'expired' OR (status = 'pending' AND expires_at < $4))`, append(args, q.Now)
	default:
		where, args = ` AND status = $4`, append(args, string(q.Status))
	}
	return tpg.Collect(ctx, t.t, scanInv, `SELECT `+invCols+` FROM inv WHERE org_id = $1 AND id > $2`+where+`
	ORDER BY id LIMIT $3`, args...)
}

// PendingInvitations counts through the partial index inv_pending.
func (t *tx) PendingInvitations(ctx context.Context, org UUID, now time.Time, limit int) (int, error) {
	var n int
	err := t.t.QueryRow(ctx, `SELECT count(*) FROM (
	SELECT 1 FROM inv WHERE org_id = $1 AND status = 'pending' AND expires_at >= $2 LIMIT $3) p`,
		[16]byte(org), now, limit).Scan(&n)
	return n, err
}

func (t *tx) PutInvitation(ctx context.Context, inv tenancy.Invitation) error {
	if !t.writable {
		return errReadOnly
	}
	var hash []byte // NULL for none
	if inv.AcceptTokenHash != ([32]byte{}) {
		hash = inv.AcceptTokenHash[:]
	}
	_, err := t.t.Exec(ctx, `INSERT INTO inv (`+invCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (id) DO UPDATE SET org_id = $2, identifier = $3, role = $4, status = $5, pre_tuples = $6, invited_by = $7,
	invited_user_id = $8, expires_at = $10, terminal_at = $11, terminal_by = $12, accept_token_hash = $13`,
		[16]byte(inv.ID), [16]byte(inv.OrgID), inv.Identifier, inv.Role, inv.Status, toJSON(inv.PreTuples),
		tpg.NullUUID(inv.InvitedBy), tpg.NullUUID(inv.InvitedUserID), inv.CreatedAt, inv.ExpiresAt, inv.TerminalAt, tpg.NullUUID(inv.TerminalBy),
		hash)
	return err
}
