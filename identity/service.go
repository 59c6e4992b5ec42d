package identity

import (
	"context"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/flametrench/server/identity/oidc"
	"github.com/flametrench/server/identity/password"
	"github.com/flametrench/server/tuples"
)

// Config configures a Service. Zero values take the defaults.
type Config struct {
	// Hasher runs Argon2id (required). Its bounded pool is what keeps a
	// flood of logins from exhausting memory (DESIGN §4).
	Hasher *password.Pool
	// MaxSessionTTL caps a session's lifetime. Default 30 days.
	MaxSessionTTL time.Duration
	// Limiter throttles failed verifications. Default: NewLimiter(LimiterConfig{}).
	Limiter *Limiter
	// OIDC verifies the ID tokens of OIDC credential sign-ins; nil turns
	// OIDC sign-in off (ErrOIDCNotConfigured).
	OIDC *oidc.Verifier
	// OnRevokeUser, when set, runs inside RevokeUser's transaction, after
	// the identity cascade and before the user's tuples are deleted: the
	// tenancy module revokes the user's memberships with it (SPEC-MAP
	// §2.12, A36). Its error aborts the revocation.
	OnRevokeUser func(ctx context.Context, tx Tx, user UUID) error
	// Now is the clock; default time.Now. Tests move it.
	Now func() time.Time
}

// Service is the identity module: every lifecycle rule, cascade and security
// check, run against a Store. It is safe for concurrent use.
type Service struct {
	store  Store
	hasher *password.Pool
	maxTTL time.Duration
	limit  *Limiter
	pats   *patCache
	// patVerify shares one Argon2id verification among concurrent first
	// uses of a PAT.
	patVerify singleflight.Group
	oidc      *oidc.Verifier
	hook      func(ctx context.Context, tx Tx, user UUID) error
	now       func() time.Time
}

// NewService returns a Service over store.
func NewService(store Store, cfg Config) *Service {
	if cfg.Hasher == nil {
		panic("identity: Config.Hasher is required")
	}
	if cfg.MaxSessionTTL <= 0 {
		cfg.MaxSessionTTL = DefaultMaxTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Limiter == nil {
		cfg.Limiter = NewLimiter(LimiterConfig{Now: cfg.Now})
	}
	return &Service{store: store, hasher: cfg.Hasher, maxTTL: cfg.MaxSessionTTL, limit: cfg.Limiter,
		pats: newPATCache(10_000), oidc: cfg.OIDC, hook: cfg.OnRevokeUser, now: cfg.Now}
}

// Now is the service's clock (Config.Now), at the precision it stores.
// The transport decides time-bound rules with it too (the sign-up and
// step-up windows), so a test that moves the clock moves every rule.
func (s *Service) Now() time.Time { return s.clock() }

// clock returns the current time at the precision stored and sent (PostgreSQL
// keeps microseconds), so a row reads back exactly as it was returned.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// update runs fn in a store transaction and drops the revision.
func (s *Service) update(ctx context.Context, fn func(Tx) error) error {
	_, err := s.store.Update(ctx, fn)
	return err
}

// view runs fn in a read-only view.
func (s *Service) view(ctx context.Context, fn func(Tx) error) error {
	return s.store.View(ctx, fn)
}

// read runs one read in a view and returns its result.
func read[T any](ctx context.Context, s *Service, fn func(Tx) (T, error)) (T, error) {
	var v T
	err := s.view(ctx, func(tx Tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	return v, err
}

// checkText refuses, as ErrInvalidInput naming the field, a string that
// PostgreSQL text cannot hold (tuples.ValidText: a NUL, or bytes that are
// not UTF-8). Every free-form string the module stores or looks rows up
// by passes it before any store call, so the memory and PostgreSQL stores
// answer alike and neither answers a 500.
func checkText(field, s string) error {
	if !tuples.ValidText(s) {
		return ErrInvalidInput.With("%s must be UTF-8 without NUL", field)
	}
	return nil
}

// Page is one page of a listing; Next is "" on the last page.
type Page[T any] = tuples.PageOf[T]
