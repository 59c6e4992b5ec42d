package memory

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
)

type UUID = tenancy.UUID

// Store is the in-memory tenancy.Store.
type Store struct {
	ids identity.Store

	// mu guards everything below. It is taken inside the identity store's
	// lock, never the other way round.
	mu       sync.RWMutex
	orgs     map[UUID]tenancy.Org
	slugs    map[string]UUID // slugs of orgs not revoked
	mems     map[UUID]tenancy.Membership
	memsOf   map[UUID][]UUID  // by org, sorted
	userMems map[UUID][]UUID  // by user, sorted
	owners   map[UUID][]UUID  // active owner memberships by org, sorted
	active   map[[2]UUID]UUID // (org, user) → active membership
	invs     map[UUID]tenancy.Invitation
	invsOf   map[UUID][]UUID // by org, sorted
}

// New returns an empty store whose transactions run inside ids's.
func New(ids identity.Store) *Store {
	return &Store{ids: ids, orgs: map[UUID]tenancy.Org{}, slugs: map[string]UUID{}, mems: map[UUID]tenancy.Membership{},
		memsOf: map[UUID][]UUID{}, userMems: map[UUID][]UUID{}, owners: map[UUID][]UUID{}, active: map[[2]UUID]UUID{},
		invs: map[UUID]tenancy.Invitation{}, invsOf: map[UUID][]UUID{}}
}

// rollbacker is the identity transaction's hook for a store that shares it
// (identity/memory's tx has it).
type rollbacker interface{ OnRollback(func()) }

// Update implements tenancy.Store.
func (s *Store) Update(ctx context.Context, fn func(tenancy.Tx) error) (uint64, error) {
	return s.ids.Update(ctx, func(itx identity.Tx) error { return s.Join(ctx, itx, fn) })
}

// Join implements tenancy.Store. itx must report its rollback (the memory
// identity store's does), so this transaction's rows are undone with it;
// fn's own failure undoes them at once.
func (s *Store) Join(_ context.Context, itx identity.Tx, fn func(tenancy.Tx) error) error {
	rb, ok := itx.(rollbacker)
	if !ok {
		return errNoRollback
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := &tx{s: s, itx: itx, writable: true}
	if err := fn(t); err != nil {
		t.rollback()
		return err
	}
	rb.OnRollback(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		t.rollback()
	})
	return nil
}

// errNoRollback is a Join on an identity transaction that cannot undo this
// store's rows with its own: a wiring mistake, not a client's.
var errNoRollback = &tuples.Error{Kind: tuples.Internal, Code: "internal_error",
	Msg: "tenancy/memory needs the memory identity store's transactions"}

// View implements tenancy.Store.
func (s *Store) View(ctx context.Context, fn func(tenancy.Tx) error) error {
	return s.ids.View(ctx, func(itx identity.Tx) error {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return fn(&tx{s: s, itx: itx})
	})
}

type tx struct {
	s        *Store
	itx      identity.Tx
	writable bool
	undo     []func()
}

func (t *tx) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
	t.undo = nil
}

func set[K comparable, V any](t *tx, m map[K]V, k K, v V) {
	old, had := m[k]
	m[k] = v
	t.undo = append(t.undo, func() {
		if had {
			m[k] = old
		} else {
			delete(m, k)
		}
	})
}

func del[K comparable, V any](t *tx, m map[K]V, k K) {
	old, had := m[k]
	if !had {
		return
	}
	delete(m, k)
	t.undo = append(t.undo, func() { m[k] = old })
}

// index adds id to owner's sorted list in m, in place: an insert costs
// a move of the list's tail, not a copy of the list.
func index(t *tx, m map[UUID][]UUID, owner, id UUID) {
	if insertID(m, owner, id) {
		t.undo = append(t.undo, func() { removeID(m, owner, id) })
	}
}

// unindex removes id from owner's sorted list in m.
func unindex(t *tx, m map[UUID][]UUID, owner, id UUID) {
	if removeID(m, owner, id) {
		t.undo = append(t.undo, func() { insertID(m, owner, id) })
	}
}

func insertID(m map[UUID][]UUID, owner, id UUID) bool {
	ids := m[owner]
	i, found := slices.BinarySearchFunc(ids, id, UUID.Compare)
	if !found {
		m[owner] = slices.Insert(ids, i, id)
	}
	return !found
}

func removeID(m map[UUID][]UUID, owner, id UUID) bool {
	ids := m[owner]
	i, found := slices.BinarySearchFunc(ids, id, UUID.Compare)
	switch {
	case !found:
	case len(ids) == 1:
		delete(m, owner)
	default:
		m[owner] = slices.Delete(ids, i, i+1)
	}
	return found
}

// after returns the ids of a sorted list after cursor.
func after(ids []UUID, cursor UUID) []UUID {
	i, found := slices.BinarySearchFunc(ids, cursor, UUID.Compare)
	if found {
		i++
	}
	return ids[i:]
}

func (t *tx) Identity() identity.Tx { return t.itx }

func (t *tx) Org(_ context.Context, id UUID) (tenancy.Org, error) {
	o, ok := t.s.orgs[id]
	if !ok {
		return tenancy.Org{}, tenancy.ErrOrgNotFound
	}
	return o, nil
}

func (t *tx) PutOrg(_ context.Context, o tenancy.Org) error {
	old, had := t.s.orgs[o.ID]
	if o.Slug != nil && o.Status != tenancy.Revoked {
		if holder, ok := t.s.slugs[*o.Slug]; ok && holder != o.ID {
			return tenancy.ErrSlugTaken.With("slug %q is taken", *o.Slug)
		}
	}
	if had && old.Slug != nil && t.s.slugs[*old.Slug] == o.ID {
		del(t, t.s.slugs, *old.Slug)
	}
	if o.Slug != nil && o.Status != tenancy.Revoked {
		set(t, t.s.slugs, *o.Slug, o.ID)
	}
	set(t, t.s.orgs, o.ID, o)
	return nil
}

func (t *tx) Membership(_ context.Context, id UUID) (tenancy.Membership, error) {
	m, ok := t.s.mems[id]
	if !ok {
		return tenancy.Membership{}, tenancy.ErrMembershipNotFound
	}
	return m, nil
}

func (t *tx) ActiveMembership(_ context.Context, org, user UUID) (tenancy.Membership, error) {
	id, ok := t.s.active[[2]UUID{org, user}]
	if !ok {
		return tenancy.Membership{}, tenancy.ErrMembershipNotFound
	}
	return t.s.mems[id], nil
}

func (t *tx) Memberships(_ context.Context, q tenancy.MembershipQuery) ([]tenancy.Membership, error) {
	out := []tenancy.Membership{}
	for _, id := range after(t.s.memsOf[q.Org], q.After) {
		if len(out) == q.Limit {
			break
		}
		if m := t.s.mems[id]; q.Status == "" || m.Status == q.Status {
			out = append(out, m)
		}
	}
	return out, nil
}

func (t *tx) ActiveOwners(_ context.Context, org UUID, limit int) ([]tenancy.Membership, error) {
	ids := t.s.owners[org]
	out := make([]tenancy.Membership, 0, min(len(ids), limit))
	for _, id := range ids[:min(len(ids), limit)] {
		out = append(out, t.s.mems[id])
	}
	return out, nil
}

func (t *tx) MembershipsOf(_ context.Context, user UUID) ([]tenancy.Membership, error) {
	out := []tenancy.Membership{}
	for _, id := range t.s.userMems[user] {
		if m := t.s.mems[id]; m.Status != tenancy.Revoked {
			out = append(out, m)
		}
	}
	return out, nil
}

func (t *tx) OrgsOf(ctx context.Context, user, cursor UUID, limit int) ([]tenancy.Org, error) {
	ms, _ := t.MembershipsOf(ctx, user)
	ids := make([]UUID, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.OrgID)
	}
	slices.SortFunc(ids, UUID.Compare)
	ids = after(slices.Compact(ids), cursor)
	out := make([]tenancy.Org, 0, min(len(ids), limit))
	for _, id := range ids[:min(len(ids), limit)] {
		out = append(out, t.s.orgs[id])
	}
	return out, nil
}

// PutMembership refuses what PostgreSQL's partial unique index refuses: a
// second active membership of a user and org.
func (t *tx) PutMembership(_ context.Context, m tenancy.Membership) error {
	key := [2]UUID{m.OrgID, m.UserID}
	holder, has := t.s.active[key]
	if m.Status == tenancy.Active {
		if has && holder != m.ID {
			return tenancy.ErrDuplicateMembership
		}
		set(t, t.s.active, key, m.ID)
	} else if has && holder == m.ID {
		del(t, t.s.active, key)
	}
	set(t, t.s.mems, m.ID, m)
	index(t, t.s.memsOf, m.OrgID, m.ID)
	index(t, t.s.userMems, m.UserID, m.ID)
	if m.Status == tenancy.Active && m.Role == tenancy.Owner {
		index(t, t.s.owners, m.OrgID, m.ID)
	} else {
		unindex(t, t.s.owners, m.OrgID, m.ID)
	}
	return nil
}

func (t *tx) Invitation(_ context.Context, id UUID) (tenancy.Invitation, error) {
	inv, ok := t.s.invs[id]
	if !ok {
		return tenancy.Invitation{}, tenancy.ErrInvitationNotFound
	}
	inv.PreTuples = slices.Clone(inv.PreTuples)
	return inv, nil
}

func (t *tx) Invitations(_ context.Context, q tenancy.InvitationQuery) ([]tenancy.Invitation, error) {
	out := []tenancy.Invitation{}
	for _, id := range after(t.s.invsOf[q.Org], q.After) {
		if len(out) == q.Limit {
			break
		}
		if inv := t.s.invs[id]; q.Status == "" || inv.StatusAt(q.Now) == q.Status {
			inv.PreTuples = slices.Clone(inv.PreTuples)
			out = append(out, inv)
		}
	}
	return out, nil
}

func (t *tx) PendingInvitations(_ context.Context, org UUID, now time.Time, limit int) (int, error) {
	n := 0
	for _, id := range t.s.invsOf[org] {
		if n == limit {
			break
		}
		if t.s.invs[id].StatusAt(now) == tenancy.InvitationPending {
			n++
		}
	}
	return n, nil
}

func (t *tx) PutInvitation(_ context.Context, inv tenancy.Invitation) error {
	inv.PreTuples = slices.Clone(inv.PreTuples)
	set(t, t.s.invs, inv.ID, inv)
	index(t, t.s.invsOf, inv.OrgID, inv.ID)
	return nil
}
