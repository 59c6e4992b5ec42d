package identity

import (
	"context"
	"errors"

	"github.com/flametrench/server/tuples"
)

// BootstrapAdmin makes sure a platform administrator signs in with the
// identifier (FLAMETRENCH_ADMIN_IDENTIFIER / FLAMETRENCH_ADMIN_PASSWORD,
// DESIGN §4). It is idempotent: if an active password credential already
// has the identifier, its user is marked admin (and reinstated if
// suspended) and the stored password is left alone, so a password rotated
// since the first start is not reset by a restart. Otherwise it creates the
// user and the credential in one transaction. created reports which.
func (s *Service) BootstrapAdmin(ctx context.Context, identifier, password string) (u User, created bool, err error) {
	if err := checkIdentifier(Password, identifier); err != nil {
		return User{}, false, err
	}
	if err := checkPassword(password); err != nil {
		return User{}, false, err
	}
	var existing Credential
	err = s.view(ctx, func(tx Tx) error {
		var err error
		existing, err = tx.ActiveCredential(ctx, Password, identifier)
		return err
	})
	switch {
	case err == nil:
		u, err = s.grantAdmin(ctx, existing.UserID)
		return u, false, err
	case !isNotFound(err):
		return User{}, false, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return User{}, false, err
	}
	now := s.clock()
	u = User{ID: tuples.NewUUID(), Status: Active, Admin: true, CreatedAt: now, UpdatedAt: now}
	c := Credential{ID: tuples.NewUUID(), UserID: u.ID, Type: Password, Identifier: identifier, Status: Active,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	err = s.update(ctx, func(tx Tx) error {
		if err := tx.PutUser(ctx, u); err != nil {
			return err
		}
		return tx.PutCredential(ctx, c)
	})
	if errors.Is(err, ErrDuplicateCredential) { // another replica bootstrapped first
		return s.BootstrapAdmin(ctx, identifier, password)
	}
	return u, err == nil, err
}

// grantAdmin marks an existing user admin and active.
func (s *Service) grantAdmin(ctx context.Context, id UUID) (User, error) {
	var u User
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if u, err = tx.User(ctx, id); err != nil {
			return err
		}
		if u.Admin && u.Status == Active {
			return nil
		}
		if u.Status == Revoked {
			return ErrAlreadyTerminal.With("usr %s is revoked", tuples.FormatID("usr", id))
		}
		u.Admin, u.Status, u.UpdatedAt = true, Active, s.clock()
		return tx.PutUser(ctx, u)
	})
	return u, err
}
