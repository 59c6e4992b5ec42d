package identity

import (
	"context"
	"errors"

	"github.com/flametrench/server/tuples"
)

// BootstrapAdmin makes sure a platform administrator signs in with the
// identifier (FLAMETRENCH_ADMIN_IDENTIFIER / FLAMETRENCH_ADMIN_PASSWORD,
// DESIGN §4). It is idempotent and grants nothing to whoever merely holds
// the identifier:
//
//   - no active password credential has the identifier: it creates the
//     admin user and the credential in one transaction (created is true);
//   - one has, and its user is an admin: nothing changes, whatever the
//     password (it may have been rotated since) or the user's status (a
//     suspended admin stays suspended);
//   - one has, its user is not an admin, and the configured password
//     verifies against it: the user is made admin (its status unchanged);
//   - one has, of a user who is not an admin, with another password:
//     ErrAdminIdentifierTaken. Anyone may sign up with the identifier
//     before the operator's first start, so holding it proves nothing.
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
		u, err = s.grantAdmin(ctx, existing, password)
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

// grantAdmin makes the owner of an existing password credential admin, if
// it is not already and the password verifies.
func (s *Service) grantAdmin(ctx context.Context, c Credential, password string) (User, error) {
	u, err := read(ctx, s, func(tx Tx) (User, error) { return tx.User(ctx, c.UserID) })
	if err != nil || u.Admin {
		return u, err
	}
	ok, err := s.hasher.Verify(ctx, c.PasswordHash, password)
	if err != nil {
		return User{}, err
	}
	if !ok {
		return User{}, ErrAdminIdentifierTaken.With("the admin identifier belongs to %s, who is not an admin, and the admin password does not match theirs",
			tuples.FormatID("usr", u.ID))
	}
	err = s.update(ctx, func(tx Tx) error {
		cur, err := tx.Credential(ctx, c.ID)
		if err != nil || cur.Status != Active || cur.PasswordHash != c.PasswordHash {
			return ErrAdminIdentifierTaken.With("the admin credential changed during the bootstrap; start again")
		}
		if u, err = tx.User(ctx, c.UserID); err != nil || u.Admin {
			return err
		}
		u.Admin, u.UpdatedAt = true, s.clock()
		return tx.PutUser(ctx, u)
	})
	return u, err
}
