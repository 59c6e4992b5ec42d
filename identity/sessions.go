package identity

import (
	"context"
	"time"

	"github.com/flametrench/server/tuples"
)

// CreateSession mints a session from a verification ticket (DESIGN §4, A1):
// v.Ticket, claimed for v.UserID and v.CredentialID (createSession's
// usr_id and cred_id), which must be the ones it was issued for. The ticket
// is used up; it must be unexpired and, when the user's MFA policy was in
// force at verification, upgraded by an MFA verification. A refused mint
// leaves it unused. ttl is at least a minute and is capped at the
// configured maximum.
func (s *Service) CreateSession(ctx context.Context, v Verification, ttl time.Duration) (Session, string, error) {
	if ttl < MinSessionTTL {
		return Session{}, "", ErrInvalidTTL
	}
	ticket := v.Ticket
	if ticket == "" || len(ticket) > maxTokenLen {
		return Session{}, "", ErrInvalidTicket
	}
	var ses Session
	var token string
	err := s.update(ctx, func(tx Tx) error {
		t, err := tx.TakeTicket(ctx, hashToken(ticket))
		if err != nil {
			return ErrInvalidTicket
		}
		now := s.clock()
		switch {
		case !sameHash(t.Hash, hashToken(ticket)) || !now.Before(t.ExpiresAt),
			t.UserID != v.UserID || t.CredentialID != v.CredentialID:
			return ErrInvalidTicket
		case t.MFARequired && t.MFAVerified == nil:
			return ErrMFARequired
		}
		ses, token, err = s.mint(ctx, tx, t.UserID, t.CredentialID, ttl, t.MFAVerified)
		return err
	})
	return ses, token, err
}

// CreateSessionFor mints a session without a ticket, for a platform admin
// (DESIGN §4: a backend-for-frontend that verified the user itself).
func (s *Service) CreateSessionFor(ctx context.Context, user, cred UUID, ttl time.Duration) (Session, string, error) {
	if ttl < MinSessionTTL {
		return Session{}, "", ErrInvalidTTL
	}
	var ses Session
	var token string
	err := s.update(ctx, func(tx Tx) error {
		var err error
		ses, token, err = s.mint(ctx, tx, user, cred, ttl, nil)
		return err
	})
	return ses, token, err
}

// mint creates a session of an active user through an active credential of
// theirs.
func (s *Service) mint(ctx context.Context, tx Tx, user, cred UUID, ttl time.Duration, mfaAt *time.Time) (Session, string, error) {
	if _, err := activeUser(ctx, tx, user); err != nil {
		return Session{}, "", err
	}
	c, err := tx.Credential(ctx, cred)
	switch {
	case err != nil:
		return Session{}, "", err
	case c.UserID != user:
		return Session{}, "", ErrCredentialUser.With("cred %s is not a credential of usr %s", tuples.FormatID("cred", cred), tuples.FormatID("usr", user))
	case c.Status != Active:
		return Session{}, "", ErrCredentialNotActive.With("cred %s is %s", tuples.FormatID("cred", cred), c.Status)
	}
	token, hash := newSecret()
	now := s.clock()
	ses := Session{ID: tuples.NewUUID(), UserID: user, CredentialID: cred, CreatedAt: now,
		ExpiresAt: now.Add(min(ttl, s.maxTTL)), MFAVerifiedAt: mfaAt, TokenHash: hash}
	return ses, token, tx.PutSession(ctx, ses)
}

// Authenticate resolves a session token to its session: ErrInvalidToken if
// no session has it, ErrSessionExpired if the session has ended.
func (s *Service) Authenticate(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > maxTokenLen {
		return Session{}, ErrInvalidToken
	}
	hash := hashToken(token)
	var ses Session
	err := s.view(ctx, func(tx Tx) error {
		var err error
		ses, err = tx.SessionByToken(ctx, hash)
		return err
	})
	switch {
	case isNotFound(err):
		return Session{}, ErrInvalidToken
	case err != nil:
		return Session{}, err
	case !sameHash(ses.TokenHash, hash):
		return Session{}, ErrInvalidToken
	case !ses.ActiveAt(s.now()):
		return Session{}, ErrSessionExpired
	}
	return ses, nil
}

// GetSession returns the session, or ErrSessionNotFound.
func (s *Service) GetSession(ctx context.Context, id UUID) (Session, error) {
	return read(ctx, s, func(tx Tx) (Session, error) { return tx.Session(ctx, id) })
}

// RefreshSession rotates a live session (SES-4): a new session with a new id
// and token, the same user, credential and lifetime, and the old one revoked
// at once, in one transaction. The MFA verification time is carried over;
// while the user's MFA policy is in force, a session never verified with
// MFA cannot be refreshed (ErrMFARequired), so it ends with its lifetime.
func (s *Service) RefreshSession(ctx context.Context, id UUID) (Session, string, error) {
	var ses Session
	var token string
	err := s.update(ctx, func(tx Tx) error {
		old, err := tx.Session(ctx, id)
		if err != nil {
			return err
		}
		now := s.clock()
		if !old.ActiveAt(now) {
			return ErrSessionExpired.With("ses %s has ended", tuples.FormatID("ses", id))
		}
		// A session without MFA cannot outlive, by refreshes, the policy
		// that now requires MFA of its user; an MFA-verified one keeps
		// its verification time.
		p, _, err := tx.Policy(ctx, old.UserID)
		if err != nil {
			return err
		}
		if p.InForce(now) && old.MFAVerifiedAt == nil {
			return ErrMFARequired.With("ses %s was not verified with MFA, which usr %s now requires",
				tuples.FormatID("ses", id), tuples.FormatID("usr", old.UserID))
		}
		old.RevokedAt = &now
		if err := tx.PutSession(ctx, old); err != nil {
			return err
		}
		ses, token, err = s.mint(ctx, tx, old.UserID, old.CredentialID, old.ExpiresAt.Sub(old.CreatedAt), old.MFAVerifiedAt)
		return err
	})
	return ses, token, err
}

// RevokeSession ends a session. Revoking an ended session changes nothing
// and returns it as it is (A51).
func (s *Service) RevokeSession(ctx context.Context, id UUID) (Session, error) {
	var ses Session
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if ses, err = tx.Session(ctx, id); err != nil || ses.RevokedAt != nil {
			return err
		}
		now := s.clock()
		ses.RevokedAt = &now
		return tx.PutSession(ctx, ses)
	})
	return ses, err
}

// ListSessions pages through a user's sessions, all states, in id order.
func (s *Service) ListSessions(ctx context.Context, user UUID, cursor string, limit int) (Page[Session], error) {
	limit, after, err := tuples.PageArgsOf("ses", cursor, limit)
	if err != nil {
		return Page[Session]{}, err
	}
	var out []Session
	err = s.view(ctx, func(tx Tx) error {
		if _, err := tx.User(ctx, user); err != nil {
			return err
		}
		out, err = tx.Sessions(ctx, user, after, limit+1)
		return err
	})
	return tuples.CutPage("ses", out, limit, func(s Session) UUID { return s.ID }), err
}
