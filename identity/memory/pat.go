package memory

import (
	"context"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
)

func (t *tx) PAT(_ context.Context, id UUID) (identity.PAT, error) {
	return get(t.s.pats, id, identity.ErrPATNotFound)
}

func (t *tx) PATs(_ context.Context, q identity.PATQuery) ([]identity.PAT, error) {
	out := []identity.PAT{}
	for _, id := range after(t.s.patsOf[q.User], q.After) {
		if len(out) == q.Limit {
			break
		}
		if p := t.s.pats[id]; q.Status == "" || p.StatusAt(q.Now) == q.Status {
			out = append(out, p)
		}
	}
	return out, nil
}

func (t *tx) PutPAT(_ context.Context, p identity.PAT) error {
	set(t, t.s.pats, p.ID, p)
	index(t, t.s.patsOf, p.UserID, p.ID)
	return nil
}

func (t *tx) TouchPAT(_ context.Context, id UUID, at time.Time, coalesce time.Duration) error {
	p, ok := t.s.pats[id]
	if !ok || p.RevokedAt != nil || (p.LastUsedAt != nil && at.Sub(*p.LastUsedAt) < coalesce) {
		return nil
	}
	p.LastUsedAt = &at
	set(t, t.s.pats, id, p)
	return nil
}

func (t *tx) RevokePATs(_ context.Context, user UUID, at time.Time) (int, error) {
	n := 0
	for _, id := range t.s.patsOf[user] {
		if p := t.s.pats[id]; p.RevokedAt == nil {
			p.RevokedAt, p.UpdatedAt = &at, at
			set(t, t.s.pats, id, p)
			n++
		}
	}
	return n, nil
}

func (t *tx) Share(_ context.Context, id UUID) (identity.Share, error) {
	return get(t.s.shares, id, identity.ErrShareNotFound)
}

func (t *tx) ShareByToken(ctx context.Context, hash [32]byte) (identity.Share, error) {
	id, ok := t.s.shareTokens[hash]
	if !ok {
		return identity.Share{}, identity.ErrShareNotFound
	}
	return t.s.shares[id], nil
}

func (t *tx) Shares(_ context.Context, object tuples.Ref, cursor UUID, limit int) ([]identity.Share, error) {
	return page(t.s.sharesOf[object], t.s.shares, cursor, limit), nil
}

func (t *tx) PutShare(_ context.Context, s identity.Share) error {
	set(t, t.s.shares, s.ID, s)
	set(t, t.s.shareTokens, s.TokenHash, s.ID)
	index(t, t.s.sharesOf, s.Object, s.ID)
	return nil
}
