package identity

import (
	"context"
	"errors"

	"github.com/flametrench/server/tuples"
)

// CreateUser creates an active user, with an optional display name
// (ADR 0014: stored as given, no cap or normalisation; only what no text
// column can hold, a NUL or bytes that are not UTF-8, is refused).
func (s *Service) CreateUser(ctx context.Context, displayName *string) (User, error) {
	if err := checkDisplayName(displayName); err != nil {
		return User{}, err
	}
	now := s.clock()
	u := User{ID: tuples.NewUUID(), Status: Active, DisplayName: displayName, CreatedAt: now, UpdatedAt: now}
	return u, s.update(ctx, func(tx Tx) error { return tx.PutUser(ctx, u) })
}

func checkDisplayName(name *string) error {
	if name == nil {
		return nil
	}
	return checkText("display_name", *name)
}

// GetUser returns the user, or ErrUserNotFound.
func (s *Service) GetUser(ctx context.Context, id UUID) (User, error) {
	return read(ctx, s, func(tx Tx) (User, error) { return tx.User(ctx, id) })
}

// UserPatch is a partial update: a nil field is left as it is.
type UserPatch struct {
	// DisplayName, when not nil, replaces the display name; a nil inner
	// pointer clears it.
	DisplayName **string
}

// UpdateUser applies the patch. Suspended users may be updated; a revoked
// one is terminal (USR-5). An empty patch returns the current row.
func (s *Service) UpdateUser(ctx context.Context, id UUID, p UserPatch) (User, error) {
	if p.DisplayName != nil {
		if err := checkDisplayName(*p.DisplayName); err != nil {
			return User{}, err
		}
	}
	var u User
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if u, err = tx.User(ctx, id); err != nil {
			return err
		}
		if u.Status == Revoked {
			return ErrAlreadyTerminal.With("usr %s is revoked", tuples.FormatID("usr", id))
		}
		if p.DisplayName == nil {
			return nil
		}
		u.DisplayName = *p.DisplayName
		u.UpdatedAt = s.clock()
		return tx.PutUser(ctx, u)
	})
	return u, err
}

// SuspendUser suspends an active user and ends all their sessions (USR-2);
// memberships are untouched. Suspending a suspended user changes nothing.
func (s *Service) SuspendUser(ctx context.Context, id UUID) (User, error) {
	return s.transitionUser(ctx, id, Suspended, func(tx Tx, u User) error {
		_, err := tx.RevokeSessions(ctx, u.ID, UUID{}, s.clock())
		return err
	})
}

// ReinstateUser returns a suspended user to active. Reinstating an active
// user changes nothing.
func (s *Service) ReinstateUser(ctx context.Context, id UUID) (User, error) {
	return s.transitionUser(ctx, id, Active, nil)
}

// RevokeUser ends a user for good, in one transaction (the cascade of
// SPEC-MAP §2.12, decided in docs/CONFORMANCE.md): every session is ended,
// every credential not yet revoked is revoked, every MFA factor is revoked
// (security.md), every personal access token is revoked (ADR 0016), every tuple whose subject is the user is deleted
// (cascadeRevokeSubject). The row is kept.
func (s *Service) RevokeUser(ctx context.Context, id UUID) (User, error) {
	return s.transitionUser(ctx, id, Revoked, func(tx Tx, u User) error {
		now := s.clock()
		if _, err := tx.RevokeSessions(ctx, u.ID, UUID{}, now); err != nil {
			return err
		}
		creds, err := tx.CredentialsOf(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, c := range creds {
			if c.Status != Revoked {
				c.Status, c.UpdatedAt = Revoked, now
				if err := tx.PutCredential(ctx, c); err != nil {
					return err
				}
			}
		}
		if err := revokeFactors(ctx, tx, u.ID, now); err != nil {
			return err
		}
		if _, err := tx.RevokePATs(ctx, u.ID, now); err != nil {
			return err
		}
		if s.hook != nil {
			if err := s.hook(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		_, err = tx.Tuples().DeleteSubject(ctx, tuples.Ref{Type: "usr", ID: u.ID})
		return err
	})
}

// transitionUser moves a user to status to, running cascade in the same
// transaction. The same state again is a no-op (A51); out of revoked is
// ErrAlreadyTerminal; anything else not in USR-1 is ErrInvalidTransition.
func (s *Service) transitionUser(ctx context.Context, id UUID, to Status, cascade func(Tx, User) error) (User, error) {
	var u User
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if u, err = tx.User(ctx, id); err != nil {
			return err
		}
		if err := checkTransition("usr", id, u.Status, to); err != nil || u.Status == to {
			return err
		}
		u.Status, u.UpdatedAt = to, s.clock()
		if err := tx.PutUser(ctx, u); err != nil {
			return err
		}
		if cascade != nil {
			return cascade(tx, u)
		}
		return nil
	})
	return u, err
}

// checkTransition applies the tri-state machine of users and credentials
// (USR-1, CRED-5). Staying in the same state is allowed (a no-op), except
// that revoking twice is: revoked is terminal, and a second revoke reports
// it so a caller learns nothing new was done.
func checkTransition(typ string, id UUID, from, to Status) error {
	switch {
	case from == Revoked:
		return ErrAlreadyTerminal.With("%s is revoked", tuples.FormatID(typ, id))
	case from == to:
		return nil
	case to == Revoked, from == Active && to == Suspended, from == Suspended && to == Active:
		return nil
	}
	return ErrInvalidTransition.With("%s: %s → %s", tuples.FormatID(typ, id), from, to)
}

// ListUsers pages through users in id order (ADR 0015), optionally of one
// status and with an active credential identifier containing query
// case-insensitively.
func (s *Service) ListUsers(ctx context.Context, status Status, query, cursor string, limit int) (Page[User], error) {
	limit, after, err := tuples.PageArgsOf("usr", cursor, limit)
	if err != nil {
		return Page[User]{}, err
	}
	switch status {
	case "", Active, Suspended, Revoked:
	default:
		return Page[User]{}, ErrInvalidInput.With("status must be active, suspended or revoked")
	}
	if len(query) > 256 {
		return Page[User]{}, ErrInvalidInput.With("query is longer than 256 bytes")
	}
	if err := checkText("query", query); err != nil {
		return Page[User]{}, err
	}
	var users []User
	err = s.view(ctx, func(tx Tx) error {
		users, err = tx.Users(ctx, UserQuery{After: after, Limit: limit + 1, Status: status, Query: query})
		return err
	})
	return tuples.CutPage("usr", users, limit, func(u User) UUID { return u.ID }), err
}

// activeUser returns the user if active, else ErrUserNotActive (USR-4) or
// ErrUserNotFound.
func activeUser(ctx context.Context, tx Tx, id UUID) (User, error) {
	u, err := tx.User(ctx, id)
	if err == nil && u.Status != Active {
		err = ErrUserNotActive.With("usr %s is %s", tuples.FormatID("usr", id), u.Status)
	}
	return u, err
}

// isNotFound reports a NotFound-kind error.
func isNotFound(err error) bool {
	return err != nil && tuples.KindOf(err) == tuples.NotFound && !errors.Is(err, context.Canceled)
}
