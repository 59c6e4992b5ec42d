package tenancy

import (
	"context"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
)

// Config configures a Service. Zero values take the defaults.
type Config struct {
	// CanGrant reports whether the inviter may grant a pre-tuple: serve
	// answers it with the engine, check(inviter, relation, object), so an
	// invitation hands out only what its inviter holds. Nil allows every
	// pre-tuple that is not a membership role on an org (the spec's
	// behaviour, for the SDK-level fixtures).
	CanGrant func(ctx context.Context, inviter UUID, pt PreTuple) (bool, error)
	// Now is the clock; default time.Now. Tests move it.
	Now func() time.Time
	// MaxPendingInvitations bounds an organization's pending invitations;
	// default DefaultMaxPendingInvitations.
	MaxPendingInvitations int
}

// Service is the tenancy module: every lifecycle rule, the sole-owner
// invariant and the membership ⇄ tuple duality, run against a Store. It
// is safe for concurrent use.
type Service struct {
	store      Store
	canGrant   func(ctx context.Context, inviter UUID, pt PreTuple) (bool, error)
	now        func() time.Time
	maxInvites int
	committed  func(rev uint64) // OnCommit's
}

// NewService returns a Service over store.
func NewService(store Store, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxPendingInvitations <= 0 {
		cfg.MaxPendingInvitations = DefaultMaxPendingInvitations
	}
	return &Service{store: store, canGrant: cfg.CanGrant, now: cfg.Now, maxInvites: cfg.MaxPendingInvitations}
}

// clock returns the current time at the precision stored and sent.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// OnCommit returns a copy of s, sharing its store, that calls fn with the
// tuple revision each of its writes committed at (0 when the write changed
// no tuple), once it has committed and before the method returns. The
// transport answers a write with a consistency token of that revision
// (DESIGN §7), so that a check sent with the token sees the membership
// change. Make one per request: fn is called from the goroutine that
// calls the method.
func (s *Service) OnCommit(fn func(rev uint64)) *Service {
	c := *s
	c.committed = fn
	return &c
}

func (s *Service) update(ctx context.Context, fn func(Tx) error) error {
	rev, err := s.store.Update(ctx, fn)
	if err == nil && s.committed != nil {
		s.committed(rev)
	}
	return err
}

// read runs one read in a view and returns its result.
func read[T any](ctx context.Context, s *Service, fn func(Tx) (T, error)) (T, error) {
	var v T
	err := s.store.View(ctx, func(tx Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v, err
}

// Page is one page of a listing; Next is "" on the last page.
type Page[T any] = tuples.PageOf[T]

// grant writes the membership tuple of m; revokeTuple deletes it.
func grant(ctx context.Context, tx Tx, m Membership) error {
	return writeTuples(ctx, tx, []tuples.Change{m.tupleChange(tuples.OpCreate)})
}

func revokeTuple(ctx context.Context, tx Tx, m Membership) error {
	return writeTuples(ctx, tx, []tuples.Change{m.tupleChange(tuples.OpDelete)})
}

// writeTuples writes a batch of tuple changes in the transaction; an
// empty batch writes nothing.
func writeTuples(ctx context.Context, tx Tx, changes []tuples.Change) error {
	if len(changes) == 0 {
		return nil
	}
	_, err := tx.Identity().Tuples().Write(ctx, changes)
	return err
}

// activeOrg reads the org, locking it, and requires it active.
func activeOrg(ctx context.Context, tx Tx, id UUID) (Org, error) {
	o, err := tx.Org(ctx, id)
	if err == nil && o.Status != Active {
		err = ErrOrgNotActive.With("%s is %s", tuples.FormatID("org", id), o.Status)
	}
	return o, err
}

// activeUser reads a user and requires it active.
func activeUser(ctx context.Context, tx Tx, id UUID) (identity.User, error) {
	u, err := tx.Identity().User(ctx, id)
	if err == nil && u.Status != Active {
		err = identity.ErrUserNotActive.With("%s is %s", tuples.FormatID("usr", id), u.Status)
	}
	return u, err
}
