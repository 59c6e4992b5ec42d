package identity

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"time"

	"github.com/flametrench/server/identity/oidc"
	"github.com/flametrench/server/identity/webauthn"
	"github.com/flametrench/server/tuples"
)

// VerifyInput is a verifyCredential request. Which proof fields count
// depends on Type.
type VerifyInput struct {
	Type       CredentialType
	Identifier string

	// Password is a password credential's proof.
	Password string

	// ChallengeID names the sign-in challenge (NewSignInChallenge) that a
	// passkey assertion or an OIDC token's nonce answers.
	ChallengeID UUID

	// A passkey's proof is an assertion answering the challenge. Origin is
	// the exact origin clientDataJSON must name: the server's configured
	// origin, never the client's say.
	Origin    string
	Assertion webauthn.Assertion

	// IDToken is an OIDC credential's proof: an ID token from a provider
	// the service is configured to trust, whose nonce claim is the
	// base64url bytes of a NewSignInChallenge challenge (ChallengeID): the
	// challenge makes the token single-use and bound to this server.
	IDToken string

	// Address is the client's address, for throttling ("" if unknown).
	Address string
}

// Verification is a successful verifyCredential: who, with what, whether the
// user's MFA policy is in force (A8), and the single-use ticket that a
// session is minted from (A1).
type Verification struct {
	UserID       UUID
	CredentialID UUID
	MFARequired  bool
	Ticket       string
	ExpiresAt    time.Time
}

// VerifyCredential checks a proof against the active credential of the type
// with the identifier, and on success returns a verification ticket. Every
// failure is ErrInvalidCredential, whatever went wrong (no such identifier,
// wrong proof, user not active: CRED-6). Failures are throttled per
// identifier and per address; a throttled caller gets a *RateLimitError.
//
//   - password: a missing credential still pays one Argon2id verification,
//     so it takes about as long as a wrong password.
//   - passkey: the challenge is used up whatever the outcome; the assertion
//     must carry UP and UV (a passkey is the whole sign-in, ADR 0008's
//     default) and must not regress the signature counter, and the new
//     counter is stored with the ticket.
//   - oidc: the ID token must verify against its issuer's keys (signature,
//     audience, expiry: identity/oidc), name the credential's issuer and
//     subject, and carry the challenge as its nonce (the challenge is used
//     up whatever the outcome, as for a passkey). A provider whose keys
//     cannot be fetched is oidc.ErrUnavailable (503); without a configured
//     verifier it is ErrOIDCNotConfigured.
//
// The user's MFA policy applies whatever the credential's type.
func (s *Service) VerifyCredential(ctx context.Context, in VerifyInput) (Verification, error) {
	switch in.Type {
	case Password, Passkey, OIDC:
	default:
		return Verification{}, ErrInvalidInput.With("type must be password, passkey or oidc")
	}
	if len(in.Identifier) > maxCredentialID { // no identifier is longer; not worth a throttle key
		return Verification{}, ErrInvalidCredential
	}
	if err := checkText("identifier", in.Identifier); err != nil { // no credential has it: a format error, not worth a key either
		return Verification{}, err
	}
	at, err := s.limit.Begin(throttleKey(string(in.Type), in.Identifier), addressKey(in.Address))
	if err != nil {
		return Verification{}, err
	}
	var v Verification
	switch in.Type {
	case Password:
		v, err = s.verifyPassword(ctx, in)
	case Passkey:
		v, err = s.verifyPasskey(ctx, in)
	case OIDC:
		v, err = s.verifyOIDC(ctx, in)
	}
	switch {
	case err == nil:
		at.Succeed()
	case tuples.KindOf(err) == tuples.Unauthenticated:
		at.Fail(true)
	default:
		at.Refund() // busy, unavailable, cancelled: nothing was proved either way
	}
	return v, err
}

func (s *Service) verifyPassword(ctx context.Context, in VerifyInput) (Verification, error) {
	if checkPassword(in.Password) != nil || len(in.Identifier) > maxIdentifier {
		return Verification{}, ErrInvalidCredential
	}
	c, err := read(ctx, s, func(tx Tx) (Credential, error) { return tx.ActiveCredential(ctx, Password, in.Identifier) })
	switch {
	case isNotFound(err):
		if err := s.hasher.DummyVerify(ctx); err != nil {
			return Verification{}, err
		}
		return Verification{}, ErrInvalidCredential
	case err != nil:
		return Verification{}, err
	}
	ok, err := s.hasher.Verify(ctx, c.PasswordHash, in.Password)
	if err != nil {
		return Verification{}, err
	}
	if !ok {
		return Verification{}, ErrInvalidCredential
	}
	// Re-check in the ticket's transaction that the credential and its
	// user are still active: they may have changed during the hash.
	return s.ticketFor(ctx, func(ctx context.Context, tx Tx) (Credential, error) {
		cur, err := tx.Credential(ctx, c.ID)
		if err != nil || cur.Status != Active || cur.PasswordHash != c.PasswordHash {
			return Credential{}, ErrInvalidCredential
		}
		return cur, nil
	})
}

// NewSignInChallenge issues a single-use challenge, valid ChallengeTTL, for
// a passkey or OIDC sign-in: it belongs to no user, since nobody is known
// yet (A10, A11: the spec has no route for it). A passkey signs it; an OIDC
// client sends it, base64url, as the nonce of its authentication request.
// rpID, when not "", must be the RP ID of the passkey that answers it.
func (s *Service) NewSignInChallenge(ctx context.Context, rpID string) (Challenge, error) {
	if rpID != "" {
		if err := CheckRPID(rpID); err != nil {
			return Challenge{}, err
		}
	}
	c := Challenge{ID: tuples.NewUUID(), Bytes: webauthn.NewChallenge(), RPID: rpID, ExpiresAt: s.clock().Add(ChallengeTTL)}
	if err := s.update(ctx, func(tx Tx) error { return tx.PutChallenge(ctx, c) }); err != nil {
		return Challenge{}, err
	}
	return c, nil
}

func (s *Service) verifyPasskey(ctx context.Context, in VerifyInput) (Verification, error) {
	if in.Origin == "" {
		return Verification{}, ErrInvalidInput.With("origin is required to verify a passkey")
	}
	return s.ticketFor(ctx, func(ctx context.Context, tx Tx) (Credential, error) {
		ch, err := s.takeSignInChallenge(ctx, tx, in.ChallengeID)
		if err != nil {
			return Credential{}, err
		}
		if in.Identifier == "" {
			return Credential{}, ErrInvalidCredential
		}
		c, err := tx.ActiveCredential(ctx, Passkey, in.Identifier)
		if err != nil {
			return Credential{}, err
		}
		if ch.RPID != "" && ch.RPID != c.PasskeyRPID {
			return Credential{}, ErrInvalidCredential
		}
		n, err := webauthn.VerifyAssertion(in.Assertion, webauthn.AssertionOptions{
			PublicKey: c.PasskeyPublicKey, RPID: c.PasskeyRPID, Origin: in.Origin, Challenge: ch.Bytes,
			StoredSignCount: c.PasskeySignCount,
		})
		if err != nil {
			return Credential{}, ErrInvalidCredential
		}
		c.PasskeySignCount, c.UpdatedAt = n, s.clock()
		return c, tx.PutCredential(ctx, c)
	})
}

// takeSignInChallenge uses up a sign-in challenge: one that exists, belongs
// to no user and has not expired, or ErrInvalidCredential.
func (s *Service) takeSignInChallenge(ctx context.Context, tx Tx, id UUID) (Challenge, error) {
	ch, err := tx.TakeChallenge(ctx, id)
	switch {
	case errors.Is(err, ErrChallengeNotFound):
		return Challenge{}, ErrInvalidCredential
	case err != nil:
		return Challenge{}, err
	case !ch.UserID.IsZero() || !ch.FactorID.IsZero() || !s.clock().Before(ch.ExpiresAt):
		return Challenge{}, ErrInvalidCredential
	}
	return ch, nil
}

// ticketFor runs check in a transaction and, if it returns a credential
// whose user is active, mints a verification ticket for it in the same
// transaction. A failure of check or of the user's state is
// ErrInvalidCredential, and it still commits what check wrote (a passkey
// challenge is answered once, rightly or not); any other error rolls back.
func (s *Service) ticketFor(ctx context.Context, check func(context.Context, Tx) (Credential, error)) (Verification, error) {
	var v Verification
	var fail error
	err := s.update(ctx, func(tx Tx) error {
		v, fail = Verification{}, nil
		c, err := check(ctx, tx)
		if err == nil {
			_, err = activeUser(ctx, tx, c.UserID)
		}
		switch {
		case errors.Is(err, ErrInvalidCredential) || isNotFound(err) || errors.Is(err, ErrUserNotActive):
			fail = ErrInvalidCredential
			return nil
		case err != nil:
			return err
		}
		v, err = s.putTicket(ctx, tx, c)
		return err
	})
	if err == nil {
		err = fail
	}
	if err != nil {
		return Verification{}, err
	}
	return v, nil
}

// putTicket stores a verification ticket for a credential just verified,
// noting whether the user's MFA policy is in force, and returns it with its
// secret.
func (s *Service) putTicket(ctx context.Context, tx Tx, c Credential) (Verification, error) {
	now := s.clock()
	p, _, err := tx.Policy(ctx, c.UserID)
	if err != nil {
		return Verification{}, err
	}
	secret, hash := newSecret()
	t := Ticket{Hash: hash, UserID: c.UserID, CredentialID: c.ID, ExpiresAt: now.Add(TicketTTL), MFARequired: p.InForce(now)}
	if err := tx.PutTicket(ctx, t); err != nil {
		return Verification{}, err
	}
	return Verification{UserID: t.UserID, CredentialID: t.CredentialID, MFARequired: t.MFARequired,
		Ticket: secret, ExpiresAt: t.ExpiresAt}, nil
}

func (s *Service) verifyOIDC(ctx context.Context, in VerifyInput) (Verification, error) {
	if s.oidc == nil {
		return Verification{}, ErrOIDCNotConfigured
	}
	if in.Identifier == "" || len(in.Identifier) > maxIdentifier {
		return Verification{}, ErrInvalidCredential
	}
	claims, err := s.oidc.Verify(ctx, in.IDToken)
	switch {
	case errors.Is(err, oidc.ErrInvalidToken):
		return Verification{}, ErrInvalidCredential
	case err != nil:
		return Verification{}, err // the provider's keys are out of reach, or ctx ended
	}
	return s.ticketFor(ctx, func(ctx context.Context, tx Tx) (Credential, error) {
		ch, err := s.takeSignInChallenge(ctx, tx, in.ChallengeID)
		if err != nil {
			return Credential{}, err
		}
		nonce := base64.RawURLEncoding.EncodeToString(ch.Bytes)
		if subtle.ConstantTimeCompare([]byte(claims.Nonce), []byte(nonce)) != 1 {
			return Credential{}, ErrInvalidCredential
		}
		c, err := tx.ActiveCredential(ctx, OIDC, in.Identifier)
		if err != nil {
			return Credential{}, err
		}
		// Both stored and verified issuers are in oidc.NormalizeIssuer's form.
		if c.OIDCIssuer != claims.Issuer || c.OIDCSubject != claims.Subject {
			return Credential{}, ErrInvalidCredential
		}
		return c, nil
	})
}
