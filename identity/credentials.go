package identity

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"

	"github.com/flametrench/server/identity/oidc"
	"github.com/flametrench/server/identity/webauthn"
	"github.com/flametrench/server/tuples"
)

// Bounds on credential input, so a hostile body cannot make the module hash
// or store megabytes.
const (
	maxIdentifier = 320 // an e-mail address at most
	maxPassword   = 1024
	maxPublicKey  = 16 << 10
	maxOIDCField  = 1024
)

// NewCredential is the input of createCredential: Type and the fields of
// that type.
type NewCredential struct {
	UserID     UUID
	Type       CredentialType
	Identifier string

	Password string // password

	PublicKey []byte // passkey: COSE key
	SignCount uint32
	RPID      string

	OIDCIssuer  string // oidc
	OIDCSubject string

	// FirstOnly adds the credential only if the user never had one (sign-up's
	// second step, DESIGN §4 A2), decided in the transaction that adds it, so
	// of concurrent first credentials one wins; the others, like any user
	// who had a credential, get ErrUserNotFound.
	FirstOnly bool
}

// CreateCredential adds a credential to an active user (USR-4). A password
// is hashed with Argon2id before the transaction (the hash takes tens of
// milliseconds and must not hold a lock); (type, identifier) must be unique
// among active credentials (CRED-2).
func (s *Service) CreateCredential(ctx context.Context, in NewCredential) (Credential, error) {
	c, err := s.credentialFromInput(ctx, in)
	if err != nil {
		return Credential{}, err
	}
	err = s.update(ctx, func(tx Tx) error {
		if _, err := activeUser(ctx, tx, in.UserID); err != nil { // locks the user
			return err
		}
		if in.FirstOnly {
			cs, err := tx.CredentialsOf(ctx, in.UserID)
			if err != nil {
				return err
			}
			if len(cs) > 0 {
				return ErrUserNotFound
			}
		}
		return tx.PutCredential(ctx, c)
	})
	return c, err
}

// credentialFromInput validates in and builds the row, hashing a password.
func (s *Service) credentialFromInput(ctx context.Context, in NewCredential) (Credential, error) {
	if err := checkIdentifier(in.Type, in.Identifier); err != nil {
		return Credential{}, err
	}
	now := s.clock()
	c := Credential{ID: tuples.NewUUID(), UserID: in.UserID, Type: in.Type, Identifier: in.Identifier,
		Status: Active, CreatedAt: now, UpdatedAt: now}
	if err := s.setSecret(ctx, &c, in); err != nil {
		return Credential{}, err
	}
	return c, nil
}

// setSecret validates and fills the type-specific fields of c from in.
func (s *Service) setSecret(ctx context.Context, c *Credential, in NewCredential) error {
	switch c.Type {
	case Password:
		if err := checkPassword(in.Password); err != nil {
			return err
		}
		h, err := s.hasher.Hash(ctx, in.Password)
		if err != nil {
			return err
		}
		c.PasswordHash = h
	case Passkey:
		if len(in.PublicKey) == 0 || len(in.PublicKey) > maxPublicKey {
			return ErrInvalidInput.With("public_key must be a COSE key of at most %d bytes", maxPublicKey)
		}
		if _, err := webauthn.ParsePublicKey(in.PublicKey); err != nil {
			return ErrInvalidInput.With("public_key: %v", err)
		}
		if err := CheckRPID(in.RPID); err != nil {
			return err
		}
		c.PasskeyPublicKey, c.PasskeySignCount, c.PasskeyRPID = in.PublicKey, in.SignCount, in.RPID
	case OIDC:
		u, err := url.Parse(in.OIDCIssuer)
		if err != nil || u.Scheme == "" || u.Host == "" || len(in.OIDCIssuer) > maxOIDCField || !tuples.ValidText(in.OIDCIssuer) {
			return ErrInvalidInput.With("oidc_issuer must be an absolute URI")
		}
		if in.OIDCSubject == "" || len(in.OIDCSubject) > maxOIDCField || !tuples.ValidText(in.OIDCSubject) {
			return ErrInvalidInput.With("oidc_subject must be 1 to %d bytes of UTF-8 without NUL", maxOIDCField)
		}
		c.OIDCIssuer, c.OIDCSubject = oidc.NormalizeIssuer(in.OIDCIssuer), in.OIDCSubject
	}
	return nil
}

func checkIdentifier(typ CredentialType, id string) error {
	switch typ {
	case Password, OIDC:
	case Passkey:
		if _, err := base64.RawURLEncoding.Strict().DecodeString(id); err != nil {
			return ErrInvalidInput.With("a passkey identifier is the base64url credential ID")
		}
	default:
		return ErrInvalidInput.With("type must be password, passkey or oidc")
	}
	if id == "" || len(id) > maxIdentifier || !tuples.ValidText(id) || strings.TrimSpace(id) != id {
		return ErrInvalidInput.With("identifier must be 1 to %d bytes of UTF-8 without NUL or surrounding spaces", maxIdentifier)
	}
	return nil
}

func checkPassword(p string) error {
	if p == "" || len(p) > maxPassword {
		return ErrPasswordUnacceptable
	}
	return nil
}

// CheckRPID refuses (ErrInvalidInput) what cannot be a WebAuthn RP ID: it
// must be a host name.
func CheckRPID(rp string) error {
	if rp == "" || len(rp) > 253 || strings.ContainsAny(rp, "/: ") || !tuples.ValidText(rp) {
		return ErrInvalidInput.With("rp_id must be a host name")
	}
	return nil
}

// GetCredential returns the credential, or ErrCredentialNotFound.
func (s *Service) GetCredential(ctx context.Context, id UUID) (Credential, error) {
	return read(ctx, s, func(tx Tx) (Credential, error) { return tx.Credential(ctx, id) })
}

// HadCredential reports whether the user has, or ever had, a credential of
// any type and status, or ErrUserNotFound. Sign-up (DESIGN §4, A2) lets
// anyone give a brand-new user its first credential, and a user who ever
// had one is no longer brand-new: revoking every credential does not make
// the account claimable again. Rows are never deleted, so this is a read.
func (s *Service) HadCredential(ctx context.Context, user UUID) (bool, error) {
	return read(ctx, s, func(tx Tx) (bool, error) {
		if _, err := tx.User(ctx, user); err != nil {
			return false, err
		}
		cs, err := tx.CredentialsOf(ctx, user)
		return len(cs) > 0, err
	})
}

// RotateCredential replaces an active credential by revoke-and-re-add
// (CRED-5): the old row is revoked, a new row of the same type and
// identifier with Replaces = old id is added, and the sessions established
// by the old credential end — all in one transaction. The new secret comes
// in the type's fields of in (Type, UserID and Identifier are taken from the
// old row).
func (s *Service) RotateCredential(ctx context.Context, id UUID, in NewCredential) (Credential, error) {
	old, err := s.GetCredential(ctx, id)
	if err != nil {
		return Credential{}, err
	}
	if old.Status != Active {
		return Credential{}, ErrCredentialNotActive.With("cred %s is %s", tuples.FormatID("cred", id), old.Status)
	}
	now := s.clock()
	c := Credential{ID: tuples.NewUUID(), UserID: old.UserID, Type: old.Type, Identifier: old.Identifier,
		Status: Active, Replaces: old.ID, CreatedAt: now, UpdatedAt: now}
	in.Type = old.Type
	if err := s.setSecret(ctx, &c, in); err != nil {
		return Credential{}, err
	}
	err = s.update(ctx, func(tx Tx) error {
		cur, err := tx.Credential(ctx, id)
		if err != nil {
			return err
		}
		if cur.Status != Active { // changed while the new password was hashed
			return ErrCredentialNotActive.With("cred %s is %s", tuples.FormatID("cred", id), cur.Status)
		}
		if _, err := activeUser(ctx, tx, cur.UserID); err != nil {
			return err
		}
		cur.Status, cur.UpdatedAt = Revoked, now
		if err := tx.PutCredential(ctx, cur); err != nil {
			return err
		}
		if _, err := tx.RevokeSessions(ctx, cur.UserID, cur.ID, now); err != nil {
			return err
		}
		return tx.PutCredential(ctx, c)
	})
	return c, err
}

// SuspendCredential suspends an active credential and ends its sessions
// (security.md; A37).
func (s *Service) SuspendCredential(ctx context.Context, id UUID) (Credential, error) {
	return s.transitionCredential(ctx, id, Suspended)
}

// ReinstateCredential returns a suspended credential to active. It fails
// with ErrDuplicateCredential if another credential took its identifier
// meanwhile.
func (s *Service) ReinstateCredential(ctx context.Context, id UUID) (Credential, error) {
	return s.transitionCredential(ctx, id, Active)
}

// RevokeCredential revokes a credential and ends its sessions in the same
// transaction (CRED-5).
func (s *Service) RevokeCredential(ctx context.Context, id UUID) (Credential, error) {
	return s.transitionCredential(ctx, id, Revoked)
}

func (s *Service) transitionCredential(ctx context.Context, id UUID, to Status) (Credential, error) {
	var c Credential
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if c, err = tx.Credential(ctx, id); err != nil {
			return err
		}
		if err := checkTransition("cred", id, c.Status, to); err != nil || c.Status == to {
			return err
		}
		if to == Active {
			if _, err := activeUser(ctx, tx, c.UserID); err != nil {
				return err
			}
		}
		now := s.clock()
		c.Status, c.UpdatedAt = to, now
		if err := tx.PutCredential(ctx, c); err != nil {
			return err
		}
		if to != Active {
			_, err = tx.RevokeSessions(ctx, c.UserID, c.ID, now)
		}
		return err
	})
	return c, err
}
