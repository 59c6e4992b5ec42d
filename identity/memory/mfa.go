package memory

import (
	"context"
	"slices"

	"github.com/flametrench/server/identity"
)

// Factors and challenges are copied in and out: their slices must not be
// shared with the caller, or a caller's change would bypass the undo log.

func cloneFactor(f identity.Factor) identity.Factor {
	f.TOTPSecret = slices.Clone(f.TOTPSecret)
	f.PublicKey = slices.Clone(f.PublicKey)
	f.Transports = slices.Clone(f.Transports)
	f.RecoveryCodes = slices.Clone(f.RecoveryCodes)
	if f.AAGUID != nil {
		a := *f.AAGUID
		f.AAGUID = &a
	}
	return f
}

// sweepSample is how many rows a sweep looks at.
const sweepSample = 32

// sweep deletes the expired among a bounded sample of m's rows. A map's
// iteration order is random, so repeated sweeps reach every row.
func sweep[K comparable, V any](t *tx, m map[K]V, expired func(V) bool) {
	seen := 0
	for k, v := range m {
		if expired(v) {
			del(t, m, k)
		}
		if seen++; seen == sweepSample {
			return
		}
	}
}

func cloneChallenge(c identity.Challenge) identity.Challenge {
	c.Bytes = slices.Clone(c.Bytes)
	return c
}

func (t *tx) Factor(_ context.Context, id UUID) (identity.Factor, error) {
	f, ok := t.s.factors[id]
	if !ok {
		return identity.Factor{}, identity.ErrFactorNotFound
	}
	return cloneFactor(f), nil
}

func (t *tx) FactorsOf(_ context.Context, user UUID) ([]identity.Factor, error) {
	ids := t.s.factorsOf[user]
	out := make([]identity.Factor, len(ids))
	for i, id := range ids {
		out[i] = cloneFactor(t.s.factors[id])
	}
	return out, nil
}

// PutFactor refuses what PostgreSQL's unique indexes refuse: a second
// active TOTP or recovery factor of a user (ErrFactorSingleton), and an
// active WebAuthn factor whose credential ID another active factor has
// (ErrDuplicateWebAuthnCredential). Like PostgreSQL's, it never un-consumes
// a recovery slot.
func (t *tx) PutFactor(_ context.Context, f identity.Factor) error {
	f = cloneFactor(f)
	if old, ok := t.s.factors[f.ID]; ok {
		for i := range min(len(old.RecoveryCodes), len(f.RecoveryCodes)) {
			if old.RecoveryCodes[i].ConsumedAt != nil {
				f.RecoveryCodes[i] = old.RecoveryCodes[i]
			}
		}
	}
	if f.Status == identity.FactorActive {
		switch f.Type {
		case identity.TOTP, identity.Recovery:
			for _, id := range t.s.factorsOf[f.UserID] {
				if g := t.s.factors[id]; id != f.ID && g.Type == f.Type && g.Status == identity.FactorActive {
					return identity.ErrFactorSingleton
				}
			}
		case identity.WebAuthn:
			// A scan of every factor: confirming a WebAuthn factor is rare,
			// and the store keeps no index by credential ID.
			for id, g := range t.s.factors {
				if id != f.ID && g.Type == identity.WebAuthn && g.Status == identity.FactorActive && g.Identifier == f.Identifier {
					return identity.ErrDuplicateWebAuthnCredential
				}
			}
		}
	}
	set(t, t.s.factors, f.ID, f)
	index(t, t.s.factorsOf, f.UserID, f.ID)
	return nil
}

func (t *tx) PutChallenge(_ context.Context, c identity.Challenge) error {
	// Challenges expired for a while are dropped here, a few at a time as
	// PostgreSQL's sweep does: a map's iteration order is random, so
	// looking at a bounded sample keeps every put cheap however many
	// challenges a flood of sign-in attempts left behind, and the map
	// shrinks back once the flood ends.
	sweep(t, t.s.challenges, func(old identity.Challenge) bool {
		return old.ExpiresAt.Before(c.ExpiresAt.Add(-2 * identity.ChallengeTTL))
	})
	set(t, t.s.challenges, c.ID, cloneChallenge(c))
	return nil
}

func (t *tx) TakeChallenge(_ context.Context, id UUID) (identity.Challenge, error) {
	c, ok := t.s.challenges[id]
	if !ok {
		return identity.Challenge{}, identity.ErrChallengeNotFound
	}
	del(t, t.s.challenges, id)
	return cloneChallenge(c), nil
}
