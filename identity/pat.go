package identity

import (
	"context"
	"crypto/sha256"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/flametrench/server/tuples"
)

// PAT errors (ADR 0016; SPEC-MAP §1.4 names the codes).
var (
	ErrPATRevoked     = e(tuples.Unauthenticated, "pat.revoked", "personal access token revoked")    // PatRevokedError
	ErrPATExpired     = e(tuples.Unauthenticated, "pat.expired", "personal access token expired")    // PatExpiredError
	ErrPATExpiresPast = e(tuples.Invalid, "pat.expires_in_past", "expires_at must be in the future") // 400 per the v0.3 OpenAPI
	ErrPATLifetime    = e(tuples.Invalid, "invalid_format.expires_at", "expires_at must be at most 365 days ahead")
	ErrPATName        = e(tuples.Invalid, "invalid_format.name", "name must be 1 to 120 UTF-16 code units")
	ErrPATScope       = e(tuples.Invalid, "invalid_format.scope", "scope entries must be 1 to 128 bytes, at most 64 of them")
)

// patTouchEvery coalesces last_used_at writes (ADR 0016 step 8: MAY, 60 s).
const patTouchEvery = 60 * time.Second

// NewPAT is a createPat request.
type NewPAT struct {
	UserID    UUID
	Name      string
	Scope     []string
	ExpiresAt *time.Time
}

// CreatePAT issues a token for an active user. The returned string
// (pat_<32 hex id>_<43 base64url>) is shown once; only an Argon2id hash of
// its secret part is stored (PAT-1).
func (s *Service) CreatePAT(ctx context.Context, in NewPAT) (PAT, string, error) {
	now := s.clock()
	if err := checkPATInput(in, now); err != nil {
		return PAT{}, "", err
	}
	secret, _ := newSecret()
	hash, err := s.hasher.Hash(ctx, secret)
	if err != nil {
		return PAT{}, "", err
	}
	p := PAT{ID: tuples.NewUUID(), UserID: in.UserID, Name: in.Name, Scope: append([]string{}, in.Scope...),
		ExpiresAt: in.ExpiresAt, CreatedAt: now, UpdatedAt: now, SecretHash: hash}
	if p.ExpiresAt != nil {
		at := p.ExpiresAt.UTC().Truncate(time.Microsecond)
		p.ExpiresAt = &at
	}
	err = s.update(ctx, func(tx Tx) error {
		u, err := tx.User(ctx, in.UserID)
		if err != nil {
			return err
		}
		if u.Status == Revoked { // PAT-5; the v0.3 OpenAPI's example
			return ErrAlreadyTerminal.With("usr %s is revoked", tuples.FormatID("usr", u.ID))
		}
		if u.Status != Active {
			return ErrUserNotActive.With("usr %s is %s", tuples.FormatID("usr", u.ID), u.Status)
		}
		return tx.PutPAT(ctx, p)
	})
	if err != nil {
		return PAT{}, "", err
	}
	return p, "pat_" + p.ID.Hex() + "_" + secret, nil
}

func checkPATInput(in NewPAT, now time.Time) error {
	if in.Name == "" || !tuples.ValidText(in.Name) || len(utf16.Encode([]rune(in.Name))) > MaxPATNameUnits {
		return ErrPATName // H4: code units, not bytes
	}
	if len(in.Scope) > 64 {
		return ErrPATScope
	}
	for _, sc := range in.Scope {
		if sc == "" || len(sc) > 128 || !tuples.ValidText(sc) {
			return ErrPATScope
		}
	}
	if in.ExpiresAt != nil {
		if !in.ExpiresAt.After(now) {
			return ErrPATExpiresPast
		}
		if in.ExpiresAt.Sub(now) > MaxPATLifetime {
			return ErrPATLifetime // H1
		}
	}
	return nil
}

// GetPAT returns the token's row, or ErrPATNotFound.
func (s *Service) GetPAT(ctx context.Context, id UUID) (PAT, error) {
	return read(ctx, s, func(tx Tx) (PAT, error) { return tx.PAT(ctx, id) })
}

// ListPATs pages through a user's tokens in id order, optionally of one
// status (evaluated now).
func (s *Service) ListPATs(ctx context.Context, user UUID, status PATStatus, cursor string, limit int) (Page[PAT], error) {
	limit, after, err := tuples.PageArgsOf("pat", cursor, limit)
	if err != nil {
		return Page[PAT]{}, err
	}
	switch status {
	case "", PATActive, PATExpired, PATRevoked:
	default:
		return Page[PAT]{}, ErrInvalidInput.With("status must be active, expired or revoked")
	}
	var out []PAT
	err = s.view(ctx, func(tx Tx) error {
		if _, err := tx.User(ctx, user); err != nil {
			return err
		}
		out, err = tx.PATs(ctx, PATQuery{User: user, After: after, Limit: limit + 1, Status: status, Now: s.clock()})
		return err
	})
	return tuples.CutPage("pat", out, limit, func(p PAT) UUID { return p.ID }), err
}

// RevokePAT revokes a token. Revoking again returns the row as it is
// (idempotent, X-4). A revoked token stops authenticating at once on every
// replica: the verified-token cache re-reads the row on every use.
func (s *Service) RevokePAT(ctx context.Context, id UUID) (PAT, error) {
	var p PAT
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if p, err = tx.PAT(ctx, id); err != nil || p.RevokedAt != nil {
			return err
		}
		now := s.clock()
		p.RevokedAt, p.UpdatedAt = &now, now
		return tx.PutPAT(ctx, p)
	})
	if err == nil {
		s.pats.forget(id)
	}
	return p, err
}

// ParsePAT splits a token of the form pat_<32 lowercase hex>_<secret> (the
// v0.3 structural rule: a secret of one or more base64url characters). It
// rejects anything else without touching storage (PAT-2 step 1).
func ParsePAT(token string) (UUID, string, bool) {
	const idEnd = len("pat_") + 32
	if len(token) < idEnd+2 || !strings.HasPrefix(token, "pat_") || token[idEnd] != '_' {
		return UUID{}, "", false
	}
	id, err := tuples.DecodeIDOf("pat", token[:idEnd])
	if err != nil {
		return UUID{}, "", false
	}
	secret := token[idEnd+1:]
	for i := 0; i < len(secret); i++ {
		c := secret[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return UUID{}, "", false
		}
	}
	return id, secret, true
}

// VerifyPAT authenticates a PAT in the normative order of ADR 0016 with the
// audit's hardening: structure (no lookup on failure) → secret length cap
// (H6) → row by id, where a missing row still pays one Argon2id
// verification (H2) and fails exactly like a wrong secret → revoked →
// expired → the secret, in constant time → last_used_at, coalesced and never
// on a revoked row (H3). A token verified before is recognised from a
// bounded cache by its SHA-256, which skips the Argon2id step but not the
// row checks, so revocation and expiry apply at once.
func (s *Service) VerifyPAT(ctx context.Context, token string) (PAT, error) {
	return s.verifyPAT(ctx, token, nil)
}

// verifyPAT is VerifyPAT with beforeHash, when not nil, called before each
// Argon2id run it would make (a cache miss, or the dummy for a missing
// row); its error is returned instead of running it. Resolve charges the
// client's address there, before the work.
func (s *Service) verifyPAT(ctx context.Context, token string, beforeHash func() error) (PAT, error) {
	id, secret, ok := ParsePAT(token)
	if !ok {
		return PAT{}, ErrTokenFormat
	}
	if len(secret) > MaxPATSecret {
		return PAT{}, ErrInvalidToken
	}
	// The row and its owner's status in one read: a PAT-authenticated
	// request costs one view, not two.
	var p PAT
	var owner Status
	err := s.view(ctx, func(tx Tx) error {
		var err error
		if p, err = tx.PAT(ctx, id); err != nil {
			return err
		}
		u, err := tx.User(ctx, p.UserID)
		owner = u.Status
		return err
	})
	if isNotFound(err) {
		if beforeHash != nil {
			if err := beforeHash(); err != nil {
				return PAT{}, err
			}
		}
		if err := s.hasher.DummyVerify(ctx); err != nil {
			return PAT{}, err
		}
		return PAT{}, ErrInvalidToken
	}
	if err != nil {
		return PAT{}, err
	}
	now := s.clock()
	switch p.StatusAt(now) {
	case PATRevoked:
		return PAT{}, ErrPATRevoked
	case PATExpired:
		return PAT{}, ErrPATExpired
	}
	key := sha256.Sum256([]byte(token))
	if !s.pats.has(key, p) {
		// Concurrent first uses of one token (a fleet of sidecars starting
		// together) share one Argon2id verification, which no one caller's
		// cancellation may end for the others.
		v, err, _ := s.patVerify.Do(string(key[:])+p.SecretHash, func() (any, error) {
			if s.pats.has(key, p) { // a flight that just ended verified it
				return true, nil
			}
			if beforeHash != nil {
				if err := beforeHash(); err != nil {
					return false, err
				}
			}
			ok, err := s.hasher.Verify(context.WithoutCancel(ctx), p.SecretHash, secret)
			if ok && err == nil {
				s.pats.add(key, p)
			}
			return ok, err
		})
		if err != nil {
			return PAT{}, err
		}
		if !v.(bool) {
			return PAT{}, ErrInvalidToken
		}
	}
	if owner != Active { // suspension stops a user's tokens without revoking them
		return PAT{}, ErrInvalidToken
	}
	if p.LastUsedAt == nil || now.Sub(*p.LastUsedAt) >= patTouchEvery {
		// Best effort (ADR 0016): a failed touch does not fail the request.
		_ = s.update(ctx, func(tx Tx) error { return tx.TouchPAT(ctx, p.ID, now, patTouchEvery) })
		p.LastUsedAt = &now
	}
	return p, nil
}

// patCache remembers tokens whose secret has been verified, by the token's
// SHA-256, so a PAT-authenticated request pays an Argon2id verification
// once, not on every call. An entry is trusted only while the row it was
// verified against still has the same secret hash; the row itself is read on
// every use, so revocation and expiry are never served from the cache.
type patCache struct {
	mu      sync.Mutex
	entries map[[32]byte]patEntry // guarded by mu
	max     int
}

type patEntry struct {
	id         UUID
	secretHash string
}

func newPATCache(max int) *patCache {
	return &patCache{entries: map[[32]byte]patEntry{}, max: max}
}

func (c *patCache) has(key [32]byte, p PAT) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return ok && e.id == p.ID && e.secretHash == p.SecretHash
}

func (c *patCache) add(key [32]byte, p PAT) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k := range c.entries { // evict an arbitrary eighth
			delete(c.entries, k)
			if len(c.entries) < c.max-c.max/8 {
				break
			}
		}
	}
	c.entries[key] = patEntry{id: p.ID, secretHash: p.SecretHash}
}

func (c *patCache) forget(id UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.id == id {
			delete(c.entries, k)
		}
	}
}
