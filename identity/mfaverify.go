package identity

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/flametrench/server/identity/recovery"
	"github.com/flametrench/server/identity/totp"
	"github.com/flametrench/server/identity/webauthn"
	"github.com/flametrench/server/tuples"
)

// NewWebAuthnChallenge issues a single-use challenge, valid ChallengeTTL,
// for a WebAuthn verification of the user (A10: the spec has no route for
// it). rpID, when not "", must be the RP ID of the factor that answers it.
func (s *Service) NewWebAuthnChallenge(ctx context.Context, user UUID, rpID string) (Challenge, error) {
	if rpID != "" {
		if err := CheckRPID(rpID); err != nil {
			return Challenge{}, err
		}
	}
	c := Challenge{ID: tuples.NewUUID(), UserID: user, Bytes: webauthn.NewChallenge(), RPID: rpID,
		ExpiresAt: s.clock().Add(ChallengeTTL)}
	err := s.update(ctx, func(tx Tx) error {
		if _, err := activeUser(ctx, tx, user); err != nil {
			return err
		}
		return tx.PutChallenge(ctx, c)
	})
	if err != nil {
		return Challenge{}, err
	}
	return c, nil
}

// MFAProof is a verifyMfa request: a TOTP or recovery code, or a WebAuthn
// assertion answering a challenge from NewWebAuthnChallenge.
type MFAProof struct {
	Type FactorType
	Code string // totp, recovery
	// Address is the client's address, for throttling ("" if unknown).
	Address string

	Origin       string // webauthn: the exact origin the client data must name
	ChallengeID  UUID
	Assertion    webauthn.Assertion
	CredentialID string // base64url
}

// MFAResult is a successful verification.
type MFAResult struct {
	FactorID     UUID
	Type         FactorType
	VerifiedAt   time.Time
	NewSignCount *uint32 // webauthn
}

// VerifyMFA checks a proof against the user's active factors (ADR 0008).
// It never mints a session (MFA-4). It needs a session or a ticket (or
// both) to stamp, else ErrInvalidInput. With sessionID not zero it stamps that
// session's MFAVerifiedAt (the session must be the user's and live); with
// ticket not "" it upgrades that verification ticket (unexpired, the
// user's) so CreateSession can mint from it (DESIGN §7). Stamping and the
// factor's update commit together, or neither does.
//
//   - TOTP (MFA-5): a code of the ±1 step window; a step at or before the
//     last one accepted is ErrMFACodeReplayed (A12). The accepted step is
//     stored in the same transaction, under the factor's lock, so of two
//     concurrent uses of one code exactly one succeeds.
//   - Recovery (MFA-7): the code is normalised, then checked against every
//     unused slot (no early exit); the matched slot is consumed under the
//     factor's lock, so one code succeeds once however many try it at once.
//   - WebAuthn (MFA-6): the challenge is used up whatever the outcome; the
//     assertion must come from an active factor of the user with UV and UP;
//     the new signature counter is stored with the verification.
//
// Failures are ErrMFACodeInvalid, ErrMFACodeReplayed, "webauthn.<reason>"
// (all Unauthenticated; an unknown credential ID is signature_invalid, an
// unknown, used, expired or foreign challenge ErrChallengeNotFound),
// ErrInvalidTicket, ErrSessionExpired, ErrSessionNotFound, ErrForbidden (a
// session of another user), ErrUserNotFound and ErrUserNotActive.
// A wrong proof counts against the user's throttle and the address's
// (DESIGN §4); other Unauthenticated failures (a bad ticket, session or
// challenge) against the address's only. A throttled caller gets a
// *RateLimitError.
func (s *Service) VerifyMFA(ctx context.Context, user UUID, proof MFAProof, sessionID UUID, ticket string) (MFAResult, error) {
	if sessionID.IsZero() && ticket == "" {
		return MFAResult{}, ErrInvalidInput.With("a session or a verification ticket is required")
	}
	at, err := s.limit.Begin(throttleKey("mfa", user.Hex()), addressKey(proof.Address))
	if err != nil {
		return MFAResult{}, err
	}
	var res MFAResult
	switch proof.Type {
	case TOTP:
		res, err = s.verifyTOTP(ctx, user, proof, sessionID, ticket)
	case Recovery:
		res, err = s.verifyRecovery(ctx, user, proof, sessionID, ticket)
	case WebAuthn:
		res, err = s.verifyWebAuthn(ctx, user, proof, sessionID, ticket)
	default:
		err = ErrInvalidInput.With("type must be totp, webauthn or recovery")
	}
	switch {
	case err == nil:
		at.Succeed()
	case tuples.KindOf(err) == tuples.Unauthenticated:
		// A bad ticket, session or challenge says nothing about the user's
		// factors: only the address pays, so a stranger who knows a user's
		// id cannot lock that user out.
		at.Fail(wrongProof(err))
	default:
		at.Refund()
	}
	return res, err
}

// wrongProof reports a failure of the proof itself: a wrong, replayed or
// malformed code, or a WebAuthn assertion that does not verify.
func wrongProof(err error) bool {
	var te *tuples.Error
	return errors.As(err, &te) && (strings.HasPrefix(te.Code, "mfa.code_") || strings.HasPrefix(te.Code, "webauthn."))
}

// PeekTicket returns the verification ticket without using it up: the
// user and credential it was issued for, whether MFA was required and
// whether it has been upgraded. A ticket that is unknown, used, expired
// or malformed is ErrInvalidTicket. It takes no lock, so the ticket may
// be used or expire right after; whatever the caller does with the answer
// must be checked again where the ticket is used (VerifyMFA,
// CreateSession).
func (s *Service) PeekTicket(ctx context.Context, ticket string) (Ticket, error) {
	return read(ctx, s, func(tx Tx) (Ticket, error) { return liveTicket(ctx, tx, ticket, s.clock()) })
}

// liveTicket reads an unexpired ticket by its secret; anything else is
// ErrInvalidTicket.
func liveTicket(ctx context.Context, tx Tx, ticket string, now time.Time) (Ticket, error) {
	if ticket == "" || len(ticket) > maxTokenLen {
		return Ticket{}, ErrInvalidTicket
	}
	hash := hashToken(ticket)
	t, err := tx.Ticket(ctx, hash)
	switch {
	case isNotFound(err) || errors.Is(err, ErrInvalidTicket):
		return Ticket{}, ErrInvalidTicket
	case err != nil:
		return Ticket{}, err
	case !sameHash(t.Hash, hash) || !now.Before(t.ExpiresAt):
		return Ticket{}, ErrInvalidTicket
	}
	return t, nil
}

// mfaTargets are what a verification stamps: a session, a ticket, or both.
type mfaTargets struct {
	session *Session
	ticket  *Ticket
}

// loadActiveTargets is loadTargets for an active user.
func loadActiveTargets(ctx context.Context, tx Tx, user, sessionID UUID, ticket string, now time.Time) (mfaTargets, error) {
	tg, err := loadTargets(ctx, tx, user, sessionID, ticket, now)
	if err != nil {
		return tg, err
	}
	_, err = activeUser(ctx, tx, user)
	return tg, err
}

// loadTargets reads and checks the session and ticket a verification will
// stamp. It runs first in the transaction, before any proof is used, so a
// bad ticket leaves the proof unused.
func loadTargets(ctx context.Context, tx Tx, user, sessionID UUID, ticket string, now time.Time) (mfaTargets, error) {
	var tg mfaTargets
	if ticket != "" {
		t, err := liveTicket(ctx, tx, ticket, now)
		if err != nil {
			return tg, err
		}
		if t.UserID != user {
			return tg, ErrInvalidTicket
		}
		tg.ticket = &t
	}
	if !sessionID.IsZero() {
		ses, err := tx.Session(ctx, sessionID)
		switch {
		case err != nil:
			return tg, err
		case ses.UserID != user:
			return tg, ErrForbidden.With("%s is not a session of %s", tuples.FormatID("ses", sessionID), tuples.FormatID("usr", user))
		case !ses.ActiveAt(now):
			return tg, ErrSessionExpired.With("%s has ended", tuples.FormatID("ses", sessionID))
		}
		tg.session = &ses
	}
	return tg, nil
}

// stamp records the verification on the session and the ticket.
func (tg mfaTargets) stamp(ctx context.Context, tx Tx, now time.Time) error {
	if tg.ticket != nil {
		t := *tg.ticket
		t.MFAVerified = &now
		if err := tx.PutTicket(ctx, t); err != nil {
			return err
		}
	}
	if tg.session != nil {
		ses := *tg.session
		ses.MFAVerifiedAt = &now
		if err := tx.PutSession(ctx, ses); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) verifyTOTP(ctx context.Context, user UUID, proof MFAProof, sessionID UUID, ticket string) (MFAResult, error) {
	if proof.Code == "" || len(proof.Code) > maxMFACode {
		return MFAResult{}, ErrMFACodeInvalid
	}
	var res MFAResult
	err := s.update(ctx, func(tx Tx) error {
		now := s.clock()
		tg, err := loadActiveTargets(ctx, tx, user, sessionID, ticket, now)
		if err != nil {
			return err
		}
		fs, err := tx.FactorsOf(ctx, user) // in an Update: locked until commit
		if err != nil {
			return err
		}
		verr := ErrMFACodeInvalid
		for _, f := range fs {
			if f.Type != TOTP || f.Status != FactorActive {
				continue
			}
			step, ok := totp.Verify(f.TOTPSecret, proof.Code, now, f.TOTPDigits, totp.Algorithm(f.TOTPAlgorithm))
			if !ok {
				continue
			}
			if step <= f.TOTPLastStep { // A12: a code is good once, and never after a later one
				verr = ErrMFACodeReplayed
				continue
			}
			f.TOTPLastStep, f.UpdatedAt = step, now
			if err := tx.PutFactor(ctx, f); err != nil {
				return err
			}
			res = MFAResult{FactorID: f.ID, Type: TOTP, VerifiedAt: now}
			return tg.stamp(ctx, tx, now)
		}
		return verr
	})
	return res, err
}

func (s *Service) verifyRecovery(ctx context.Context, user UUID, proof MFAProof, sessionID UUID, ticket string) (MFAResult, error) {
	if len(proof.Code) > maxMFACode {
		return MFAResult{}, ErrMFACodeInvalid
	}
	code, ok := recovery.Normalize(proof.Code)
	if !ok {
		return MFAResult{}, ErrMFACodeInvalid // no hashing for what cannot be a code
	}
	// Check the ticket and session first, cheaply, so a bad one costs no
	// Argon2id; the transaction checks them again.
	var f Factor
	err := s.view(ctx, func(tx Tx) error {
		if _, err := loadTargets(ctx, tx, user, sessionID, ticket, s.clock()); err != nil {
			return err
		}
		if _, err := activeUser(ctx, tx, user); err != nil {
			return err
		}
		fs, err := tx.FactorsOf(ctx, user)
		if err != nil {
			return err
		}
		for _, g := range fs {
			if g.Type == Recovery && g.Status == FactorActive {
				f = g
			}
		}
		return nil
	})
	if err != nil {
		return MFAResult{}, err
	}
	// Each of the recovery.Count slots costs one Argon2id verification
	// whatever matches, whether the slot is used up and whether the user
	// has recovery codes at all, so the time taken tells none of it (MFA-7,
	// ADR 0008).
	match := -1
	for i := range recovery.Count {
		if i >= len(f.RecoveryCodes) || f.RecoveryCodes[i].ConsumedAt != nil {
			if err := s.hasher.DummyVerify(ctx); err != nil {
				return MFAResult{}, err
			}
			continue
		}
		ok, err := s.hasher.Verify(ctx, f.RecoveryCodes[i].Hash, code)
		if err != nil {
			return MFAResult{}, err
		}
		if ok {
			match = i
		}
	}
	if match < 0 {
		return MFAResult{}, ErrMFACodeInvalid
	}
	var res MFAResult
	err = s.update(ctx, func(tx Tx) error {
		now := s.clock()
		tg, err := loadActiveTargets(ctx, tx, user, sessionID, ticket, now)
		if err != nil {
			return err
		}
		// Re-read under the lock: of concurrent uses of one code, the first
		// to get here consumes the slot and the rest find it consumed.
		cur, err := tx.Factor(ctx, f.ID)
		if err != nil {
			return err
		}
		if cur.Status != FactorActive || cur.UserID != user || match >= len(cur.RecoveryCodes) ||
			cur.RecoveryCodes[match].ConsumedAt != nil || cur.RecoveryCodes[match].Hash != f.RecoveryCodes[match].Hash {
			return ErrMFACodeInvalid
		}
		cur.RecoveryCodes = slices.Clone(cur.RecoveryCodes)
		cur.RecoveryCodes[match].ConsumedAt = &now
		cur.UpdatedAt = now
		if err := tx.PutFactor(ctx, cur); err != nil {
			return err
		}
		res = MFAResult{FactorID: cur.ID, Type: Recovery, VerifiedAt: now}
		return tg.stamp(ctx, tx, now)
	})
	return res, err
}

func (s *Service) verifyWebAuthn(ctx context.Context, user UUID, proof MFAProof, sessionID UUID, ticket string) (MFAResult, error) {
	if proof.Origin == "" {
		return MFAResult{}, ErrInvalidInput.With("origin is required to verify a WebAuthn assertion")
	}
	if proof.CredentialID == "" || len(proof.CredentialID) > maxCredentialID {
		return MFAResult{}, webauthnError(&webauthn.Failure{Reason: webauthn.Malformed, Detail: "credential ID missing or too long"}, tuples.Unauthenticated)
	}
	var res MFAResult
	var fail error
	err := s.update(ctx, func(tx Tx) error {
		res, fail = MFAResult{}, nil
		now := s.clock()
		tg, err := loadActiveTargets(ctx, tx, user, sessionID, ticket, now)
		if err != nil {
			return err
		}
		// From here a failure commits the challenge's consumption alone:
		// a challenge is answered once, rightly or not.
		c, err := tx.TakeChallenge(ctx, proof.ChallengeID)
		switch {
		case errors.Is(err, ErrChallengeNotFound):
			fail = ErrChallengeNotFound
			return nil
		case err != nil:
			return err
		case c.UserID != user || !c.FactorID.IsZero() || !now.Before(c.ExpiresAt):
			fail = ErrChallengeNotFound
			return nil
		}
		fs, err := tx.FactorsOf(ctx, user)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(fs, func(f Factor) bool {
			return f.Type == WebAuthn && f.Status == FactorActive && f.Identifier == proof.CredentialID
		})
		if i < 0 {
			fail = webauthnError(&webauthn.Failure{Reason: webauthn.SignatureInvalid, Detail: "no active WebAuthn factor of the user has this credential ID"}, tuples.Unauthenticated)
			return nil
		}
		f := fs[i]
		if c.RPID != "" && c.RPID != f.RPID {
			fail = webauthnError(&webauthn.Failure{Reason: webauthn.RPIDMismatch, Detail: "the challenge was issued for another RP ID"}, tuples.Unauthenticated)
			return nil
		}
		n, err := webauthn.VerifyAssertion(proof.Assertion, webauthn.AssertionOptions{
			PublicKey: f.PublicKey, RPID: f.RPID, Origin: proof.Origin, Challenge: c.Bytes,
			StoredSignCount: f.SignCount, // UP and UV required (ADR 0008)
		})
		if err != nil {
			fail = webauthnError(err, tuples.Unauthenticated)
			return nil
		}
		f.SignCount, f.UpdatedAt = n, now
		if err := tx.PutFactor(ctx, f); err != nil {
			return err
		}
		res = MFAResult{FactorID: f.ID, Type: WebAuthn, VerifiedAt: now, NewSignCount: &n}
		return tg.stamp(ctx, tx, now)
	})
	if err == nil {
		err = fail
	}
	if err != nil {
		return MFAResult{}, err
	}
	return res, nil
}
