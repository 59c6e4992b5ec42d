package memory

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
)

type UUID = identity.UUID

// Store keeps the identity module's rows in maps. Update holds the one write
// lock for the whole transaction and records an undo step for every change,
// so a failed transaction leaves nothing behind and no reader sees half of
// one. Tuple writes are buffered and applied to the tuple store at commit,
// still under the lock, so identity rows and tuples change together.
type Store struct {
	tuples tuples.Store

	// mu guards every field below.
	mu       sync.RWMutex
	users    map[UUID]identity.User
	userIDs  []UUID // sorted
	creds    map[UUID]identity.Credential
	active   map[credKey]UUID // active credentials by (type, identifier)
	credsOf  map[UUID][]UUID  // by user, sorted
	sessions map[UUID]identity.Session
	byToken  map[[32]byte]UUID
	sessOf   map[UUID][]UUID // by user, sorted
	tickets  map[[32]byte]identity.Ticket
	policies map[UUID]identity.Policy

	factors    map[UUID]identity.Factor
	factorsOf  map[UUID][]UUID // by user, sorted
	challenges map[UUID]identity.Challenge

	pats   map[UUID]identity.PAT
	patsOf map[UUID][]UUID // by user, sorted

	shares      map[UUID]identity.Share
	sharesOf    map[tuples.Ref][]UUID // by object, sorted
	shareTokens map[[32]byte]UUID
}

type credKey struct {
	typ        identity.CredentialType
	identifier string
}

// New returns an empty store whose transactions write tuples to w.
func New(w tuples.Store) *Store {
	return &Store{
		tuples:   w,
		users:    map[UUID]identity.User{},
		creds:    map[UUID]identity.Credential{},
		active:   map[credKey]UUID{},
		credsOf:  map[UUID][]UUID{},
		sessions: map[UUID]identity.Session{},
		byToken:  map[[32]byte]UUID{},
		sessOf:   map[UUID][]UUID{},
		tickets:  map[[32]byte]identity.Ticket{},
		policies: map[UUID]identity.Policy{},

		factors:    map[UUID]identity.Factor{},
		factorsOf:  map[UUID][]UUID{},
		challenges: map[UUID]identity.Challenge{},

		pats:   map[UUID]identity.PAT{},
		patsOf: map[UUID][]UUID{},

		shares:      map[UUID]identity.Share{},
		sharesOf:    map[tuples.Ref][]UUID{},
		shareTokens: map[[32]byte]UUID{},
	}
}

// Update implements identity.Store.
func (s *Store) Update(ctx context.Context, fn func(identity.Tx) error) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &tx{s: s, writable: true, tup: tupleBuffer{st: s.tuples}}
	if err := fn(tx); err != nil {
		tx.rollback()
		return 0, err
	}
	rev, err := tx.tup.apply(context.WithoutCancel(ctx), s.tuples)
	if err != nil {
		tx.rollback()
		return 0, err
	}
	return rev, nil
}

// View implements identity.Store.
func (s *Store) View(ctx context.Context, fn func(identity.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(&tx{s: s})
}

// tx is one transaction. Writes record how to undo them.
type tx struct {
	s        *Store
	writable bool
	undo     []func()
	tup      tupleBuffer
}

// OnRollback registers f to run if the transaction rolls back, after the
// undo of everything written after it: a store sharing this transaction
// (tenancy/memory) undoes its own rows with it.
func (t *tx) OnRollback(f func()) { t.undo = append(t.undo, f) }

func (t *tx) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
}

// set stores v under k in m and records how to restore the old entry.
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

// del deletes k from m and records how to restore it.
func del[K comparable, V any](t *tx, m map[K]V, k K) {
	old, had := m[k]
	if !had {
		return
	}
	delete(m, k)
	t.undo = append(t.undo, func() { m[k] = old })
}

// insertSorted adds id to the sorted list *ids (if absent) and records how
// to take it out again.
func insertSorted(t *tx, ids *[]UUID, id UUID) {
	i, found := slices.BinarySearchFunc(*ids, id, UUID.Compare)
	if found {
		return
	}
	*ids = slices.Insert(*ids, i, id)
	t.undo = append(t.undo, func() {
		if j, ok := slices.BinarySearchFunc(*ids, id, UUID.Compare); ok {
			*ids = slices.Delete(*ids, j, j+1)
		}
	})
}

// index adds id to the sorted list of owner in m.
func index[K comparable](t *tx, m map[K][]UUID, owner K, id UUID) {
	ids := m[owner]
	insertSorted(t, &ids, id)
	set(t, m, owner, ids)
}

// after returns the ids of the sorted list after the cursor id.
func after(ids []UUID, cursor UUID) []UUID {
	i, found := slices.BinarySearchFunc(ids, cursor, UUID.Compare)
	if found {
		i++
	}
	return ids[i:]
}

// page returns the rows of m for the sorted ids after the cursor, at most
// limit of them.
func page[V any](ids []UUID, m map[UUID]V, cursor UUID, limit int) []V {
	ids = after(ids, cursor)
	ids = ids[:min(len(ids), limit)]
	out := make([]V, len(ids))
	for i, id := range ids {
		out[i] = m[id]
	}
	return out
}

// get is a row by id, or missing.
func get[V any](m map[UUID]V, id UUID, missing error) (V, error) {
	v, ok := m[id]
	if !ok {
		return v, missing
	}
	return v, nil
}

func (t *tx) User(_ context.Context, id UUID) (identity.User, error) {
	return get(t.s.users, id, identity.ErrUserNotFound)
}

func (t *tx) PutUser(_ context.Context, u identity.User) error {
	set(t, t.s.users, u.ID, u)
	insertSorted(t, &t.s.userIDs, u.ID)
	return nil
}

func (t *tx) Users(_ context.Context, q identity.UserQuery) ([]identity.User, error) {
	out := []identity.User{}
	needle := strings.ToLower(q.Query)
	for _, id := range after(t.s.userIDs, q.After) {
		if len(out) == q.Limit {
			break
		}
		u := t.s.users[id]
		if q.Status != "" && u.Status != q.Status {
			continue
		}
		if q.Query != "" && !t.hasIdentifier(id, needle) {
			continue
		}
		out = append(out, u)
	}
	return out, nil
}

// hasIdentifier reports whether an active credential of the user has an
// identifier containing needle, case-insensitively.
func (t *tx) hasIdentifier(user UUID, needle string) bool {
	for _, id := range t.s.credsOf[user] {
		c := t.s.creds[id]
		if c.Status == identity.Active && strings.Contains(strings.ToLower(c.Identifier), needle) {
			return true
		}
	}
	return false
}

func (t *tx) Credential(_ context.Context, id UUID) (identity.Credential, error) {
	return get(t.s.creds, id, identity.ErrCredentialNotFound)
}

func (t *tx) ActiveCredential(_ context.Context, typ identity.CredentialType, identifier string) (identity.Credential, error) {
	id, ok := t.s.active[credKey{typ, identifier}]
	if !ok {
		return identity.Credential{}, identity.ErrCredentialNotFound
	}
	return t.s.creds[id], nil
}

func (t *tx) CredentialsOf(_ context.Context, user UUID) ([]identity.Credential, error) {
	ids := t.s.credsOf[user]
	out := make([]identity.Credential, len(ids))
	for i, id := range ids {
		out[i] = t.s.creds[id]
	}
	return out, nil
}

func (t *tx) PutCredential(_ context.Context, c identity.Credential) error {
	k := credKey{c.Type, c.Identifier}
	holder, taken := t.s.active[k]
	if c.Status == identity.Active && taken && holder != c.ID {
		return identity.ErrDuplicateCredential
	}
	if old, ok := t.s.creds[c.ID]; ok && old.Status == identity.Active {
		del(t, t.s.active, credKey{old.Type, old.Identifier})
	}
	if c.Status == identity.Active {
		set(t, t.s.active, k, c.ID)
	}
	set(t, t.s.creds, c.ID, c)
	index(t, t.s.credsOf, c.UserID, c.ID)
	return nil
}

func (t *tx) Session(_ context.Context, id UUID) (identity.Session, error) {
	return get(t.s.sessions, id, identity.ErrSessionNotFound)
}

func (t *tx) SessionByToken(_ context.Context, hash [32]byte) (identity.Session, error) {
	id, ok := t.s.byToken[hash]
	if !ok {
		return identity.Session{}, identity.ErrSessionNotFound
	}
	return t.s.sessions[id], nil
}

func (t *tx) Sessions(_ context.Context, user UUID, cursor UUID, limit int) ([]identity.Session, error) {
	return page(t.s.sessOf[user], t.s.sessions, cursor, limit), nil
}

func (t *tx) PutSession(_ context.Context, s identity.Session) error {
	set(t, t.s.sessions, s.ID, s)
	set(t, t.s.byToken, s.TokenHash, s.ID)
	index(t, t.s.sessOf, s.UserID, s.ID)
	return nil
}

func (t *tx) RevokeSessions(ctx context.Context, user, cred UUID, at time.Time) (int, error) {
	n := 0
	for _, id := range t.s.sessOf[user] {
		s := t.s.sessions[id]
		if s.RevokedAt != nil || !at.Before(s.ExpiresAt) || (!cred.IsZero() && s.CredentialID != cred) {
			continue
		}
		s.RevokedAt = &at
		set(t, t.s.sessions, id, s)
		n++
	}
	return n, nil
}

func (t *tx) Ticket(_ context.Context, hash [32]byte) (identity.Ticket, error) {
	tk, ok := t.s.tickets[hash]
	if !ok {
		return tk, identity.ErrInvalidTicket
	}
	return tk, nil
}

func (t *tx) TakeTicket(ctx context.Context, hash [32]byte) (identity.Ticket, error) {
	tk, err := t.Ticket(ctx, hash)
	if err == nil {
		del(t, t.s.tickets, hash)
	}
	return tk, err
}

func (t *tx) PutTicket(_ context.Context, tk identity.Ticket) error {
	// Tickets expired for a while are dropped here, a bounded sample per
	// put (see PutChallenge).
	sweep(t, t.s.tickets, func(old identity.Ticket) bool { return old.ExpiresAt.Before(tk.ExpiresAt.Add(-2 * identity.TicketTTL)) })
	set(t, t.s.tickets, tk.Hash, tk)
	return nil
}

func (t *tx) Policy(_ context.Context, user UUID) (identity.Policy, bool, error) {
	p, ok := t.s.policies[user]
	if !ok {
		return identity.Policy{UserID: user}, false, nil
	}
	return p, true, nil
}

func (t *tx) PutPolicy(_ context.Context, p identity.Policy) error {
	set(t, t.s.policies, p.UserID, p)
	return nil
}

func (t *tx) Tuples() identity.TupleTx { return &t.tup }

// tupleBuffer holds a transaction's tuple writes until commit, when apply
// writes their net effect as one batch: one revision, all or nothing, so no
// reader ever sees half a transaction (a transfer's two owners).
type tupleBuffer struct {
	st  tuples.Store
	ops []bufferedOp
}

// keyLookup is a tuple store that finds a tuple by its key (the memory
// graph does).
type keyLookup interface {
	Lookup(ctx context.Context, k tuples.Key) (tuples.Tuple, error)
}

// bufferedOp is one Write (changes) or one DeleteSubject (subject).
type bufferedOp struct {
	changes []tuples.Change
	subject *tuples.Ref
}

// Write buffers a batch. It returns the tuples the creates and touches
// will be at commit: a key the store holds keeps its tuple (apply writes
// only the net change, and a touch keeps what exists), a key this
// transaction wrote before keeps the id its first write gave it, and a new
// key gets a new id now. Deletes and preconditions come back with only
// their key, an OpMustExist whose tuple exists already with it. A malformed
// batch fails here, as it does in the SQL store; everything else that can
// fail it (preconditions included) fails the transaction at commit.
func (b *tupleBuffer) Write(ctx context.Context, changes []tuples.Change) ([]tuples.Tuple, error) {
	if err := tuples.ValidateBatch(changes); err != nil {
		return nil, err
	}
	changes = slices.Clone(changes)
	out := make([]tuples.Tuple, len(changes))
	for i := range changes {
		c := &changes[i]
		out[i] = tuples.Tuple{ID: c.ID, Key: c.Key, CreatedBy: c.CreatedBy}
		if c.Op.IsPrecondition() {
			if t, ok := b.existing(ctx, c.Key); ok && c.Op == tuples.OpMustExist {
				out[i] = t
			}
			continue
		}
		if c.Op == tuples.OpDelete {
			continue
		}
		if c.ID.IsZero() {
			c.ID = tuples.NewUUID()
		}
		out[i].ID = c.ID
		if t, ok := b.existing(ctx, c.Key); ok {
			out[i] = t
		}
	}
	b.ops = append(b.ops, bufferedOp{changes: changes})
	return out, nil
}

// existing is the tuple a key will be at commit if it is not new: the
// store's, or the one this transaction's first write of it made.
func (b *tupleBuffer) existing(ctx context.Context, k tuples.Key) (tuples.Tuple, bool) {
	if l, ok := b.st.(keyLookup); ok {
		if t, err := l.Lookup(ctx, k); err == nil {
			return t, true
		}
	}
	for _, op := range b.ops {
		for _, c := range op.changes {
			if c.Key == k && !c.Op.IsPrecondition() {
				return tuples.Tuple{ID: c.ID, Key: k, CreatedBy: c.CreatedBy}, c.Op != tuples.OpDelete
			}
		}
	}
	return tuples.Tuple{}, false
}

// DeleteSubject buffers the cascade; the count is known only at commit, so
// it reports 0.
func (b *tupleBuffer) DeleteSubject(_ context.Context, subject tuples.Ref) (int, error) {
	if err := tuples.CheckSubjectType(subject.Type); err != nil {
		return 0, err
	}
	b.ops = append(b.ops, bufferedOp{subject: &subject})
	return 0, nil
}

// apply nets the buffered writes per tuple key, in order, against the
// store as it is (which the identity store's lock keeps still for its own
// writers), and writes the result as one batch. It returns the revision,
// or 0 if nothing changed.
//
// A precondition holds against the transaction as it stood before the
// Write that carried it: on a key an earlier Write changed, the netting
// decides it here; on any other key it depends on the store alone, so it
// goes into the batch, whose own preconditions the store evaluates
// atomically with the write, before the batch's changes.
func (b *tupleBuffer) apply(ctx context.Context, st tuples.Store) (uint64, error) {
	type state struct {
		first   tuples.Change // the key's first change in the transaction
		present bool          // whether the key exists after the changes so far
	}
	net := map[tuples.Key]*state{}
	var order []tuples.Key
	var conds []tuples.Change // preconditions the store decides
	condSeen := map[tuples.Change]bool{}
	precondition := func(c tuples.Change) error {
		s := net[c.Key]
		if s == nil {
			if !condSeen[c] {
				condSeen[c] = true
				conds = append(conds, c)
			}
			return nil
		}
		_, err := tuples.CheckPrecondition(c, tuples.Tuple{Key: c.Key}, s.present)
		return err
	}
	step := func(c tuples.Change) error {
		s := net[c.Key]
		if s == nil {
			net[c.Key] = &state{first: c, present: c.Op != tuples.OpDelete}
			order = append(order, c.Key)
			return nil
		}
		switch {
		case c.Op == tuples.OpDelete && !s.present:
			return tuples.ErrTupleNotFound.With("no tuple %s", c.Key)
		case c.Op == tuples.OpCreate && s.present:
			return tuples.ErrDuplicateTuple.With("tuple %s already exists", c.Key)
		}
		s.present = c.Op != tuples.OpDelete
		return nil
	}
	for _, op := range b.ops {
		if op.subject == nil {
			for _, c := range op.changes {
				if c.Op.IsPrecondition() {
					if err := precondition(c); err != nil {
						return 0, err
					}
				}
			}
			for _, c := range op.changes {
				if c.Op.IsPrecondition() {
					continue
				}
				if c.Op == tuples.OpDelete && !c.ID.IsZero() {
					t, err := st.Get(ctx, c.ID)
					if err != nil {
						return 0, err
					}
					c.Key = t.Key
				}
				if err := step(c); err != nil {
					return 0, err
				}
			}
			continue
		}
		// Every tuple of the subject as the transaction sees it: the
		// store's, and those the transaction created.
		var doomed []tuples.Key
		listed := map[tuples.Key]bool{}
		for cursor := ""; ; {
			p, err := st.ListBySubject(ctx, *op.subject, cursor, tuples.MaxLimit)
			if err != nil {
				return 0, err
			}
			for _, t := range p.Tuples {
				if s := net[t.Key]; s == nil || s.present {
					doomed, listed[t.Key] = append(doomed, t.Key), true
				}
			}
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		for _, k := range order {
			if s := net[k]; k.Subject == *op.subject && s.present && !listed[k] {
				doomed = append(doomed, k)
			}
		}
		for _, k := range doomed {
			if err := step(tuples.Change{Op: tuples.OpDelete, Key: k}); err != nil {
				return 0, err
			}
		}
	}
	batch := conds
	for _, k := range order {
		s := net[k]
		switch {
		case s.first.Op == tuples.OpDelete && !s.present:
			batch = append(batch, tuples.Change{Op: tuples.OpDelete, Key: k})
		case s.first.Op != tuples.OpDelete && s.present:
			batch = append(batch, s.first)
		}
		// Deleted and created again: the tuple stays as it was. Created
		// and deleted again: nothing to write.
	}
	if len(batch) == 0 {
		return 0, nil
	}
	res, err := st.Write(ctx, batch)
	if err != nil || len(batch) == len(conds) {
		return 0, err // preconditions alone change nothing
	}
	return res.Revision, nil
}
