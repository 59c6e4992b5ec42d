package identity

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/flametrench/server/identity/recovery"
	"github.com/flametrench/server/identity/totp"
	"github.com/flametrench/server/identity/webauthn"
	"github.com/flametrench/server/tuples"
)

// Limits of MFA enrolment and verification.
const (
	// PendingFactorTTL is how long a TOTP or WebAuthn factor may wait for
	// its confirmation (MFA-2). After it, the factor is neither listed nor
	// confirmable; its row stays pending, ignored.
	PendingFactorTTL = 10 * time.Minute
	// MaxPendingFactors bounds a user's queue of unexpired pending
	// enrolments (MFA-2: the queue MUST be bounded).
	MaxPendingFactors = 5
	// ChallengeTTL is the life of a WebAuthn challenge, for an enrolment or
	// a verification (A10).
	ChallengeTTL = 5 * time.Minute
)

// Bounds on MFA input, checked before any work.
const (
	maxFactorLabel  = 256  // a TOTP factor's label, in bytes
	maxCredentialID = 1400 // base64url of WebAuthn's largest credential ID (1023 bytes)
	maxMFACode      = 64   // a TOTP or recovery code as typed, before normalising
	maxTransports   = 8
	totpIssuer      = "Flametrench" // the issuer of otpauth:// URIs
)

// Errors of MFA. Confirmation failures are Precondition (409: the spec's
// confirmMfaEnrollment documents 409 for "the proof failed"); verification
// failures are Unauthenticated (401, verifyMfa). WebAuthn failures carry the
// spec's code "webauthn.<reason>" with the same split: Precondition from
// ConfirmFactor, Unauthenticated from VerifyMFA.
var (
	// ErrMFACodeInvalid: a verification's TOTP or recovery code is wrong,
	// consumed, malformed, or the user has no factor it could match.
	ErrMFACodeInvalid = e(tuples.Unauthenticated, "mfa.code_invalid", "MFA code is invalid")
	// ErrMFACodeReplayed: a TOTP code of a time step at or before the last
	// one accepted (ADR 0008's ReplayedTotpError, A12).
	ErrMFACodeReplayed = e(tuples.Unauthenticated, "mfa.code_replayed", "TOTP code was already used")
	// ErrConfirmCodeInvalid: the code does not confirm the pending TOTP
	// factor.
	ErrConfirmCodeInvalid = e(tuples.Precondition, "mfa.code_invalid", "the code does not confirm the factor")
	// ErrFactorNotPending: only a pending factor can be confirmed.
	ErrFactorNotPending = e(tuples.Precondition, "mfa.factor_not_pending", "factor is not pending")
	// ErrPendingFactorExpired: the factor waited more than PendingFactorTTL.
	ErrPendingFactorExpired = e(tuples.Precondition, "precondition.pending_factor_expired", "pending factor expired; enrol again")
	// ErrTooManyPendingFactors: the user already has MaxPendingFactors
	// unexpired pending enrolments.
	ErrTooManyPendingFactors = e(tuples.Precondition, "precondition.too_many_pending_factors", "too many pending MFA enrolments")
	// ErrDuplicateWebAuthnCredential: an active WebAuthn factor, of any
	// user, already has this credential ID. Stores return it from PutFactor.
	ErrDuplicateWebAuthnCredential = e(tuples.Precondition, "precondition.duplicate_webauthn_credential", "this WebAuthn credential is already enrolled")
	// ErrFactorSingleton: a second active TOTP or recovery factor for a
	// user (MFA-3): reinstating a factor beside an active one of its type.
	// Stores also return it from PutFactor as a backstop.
	ErrFactorSingleton = e(tuples.Conflict, "conflict.active_singleton_exists", "the user already has an active factor of this type")
)

// webauthnError turns a *webauthn.Failure into the module's error with the
// spec's code, of kind Unauthenticated (verification) or Precondition
// (confirmation).
func webauthnError(err error, kind tuples.Kind) error {
	var f *webauthn.Failure
	if !errors.As(err, &f) {
		return err
	}
	msg := f.Detail
	if msg == "" {
		msg = string(f.Reason)
	}
	return &tuples.Error{Kind: kind, Code: f.Code(), Msg: msg}
}

// errConfirmChallenge is an enrolment confirmed against an unknown, used,
// expired or foreign challenge: ErrChallengeNotFound's code, as a
// confirmation failure (409).
var errConfirmChallenge = &tuples.Error{Kind: tuples.Precondition, Code: ErrChallengeNotFound.Code, Msg: ErrChallengeNotFound.Msg}

// EnrollInput is an enrolMfaFactor request.
type EnrollInput struct {
	Type       FactorType
	Identifier string // totp: the label (required)
	Algorithm  string // totp: sha1 (default), sha256 or sha512
	Digits     int    // totp: 6 (default) to 10
	// RPID binds a WebAuthn factor; "" takes Origin's host name.
	RPID, Origin string
}

// Enrollment is a new factor and what the user needs to set it up, each
// returned only this once.
type Enrollment struct {
	Factor        Factor
	TOTPSecret    string // totp: base32, no padding
	TOTPURI       string // totp: otpauth:// URI
	RecoveryCodes []string
	Challenge     *Challenge // webauthn: the registration challenge
}

// EnrollFactor starts an enrolment for an active user (USR-4). TOTP and
// WebAuthn factors start pending and must be confirmed within
// PendingFactorTTL (MFA-2); at most MaxPendingFactors may wait at once. A
// recovery factor is active at once: ten codes, returned here in plaintext
// and stored only as Argon2id hashes (MFA-7); it replaces (revokes) the
// user's previous recovery factor in the same transaction (MFA-2, A13).
//
// A TOTP factor may be enrolled while another is active: confirming it
// revokes the old one (re-enrolment by revoke-and-re-add, A13).
func (s *Service) EnrollFactor(ctx context.Context, user UUID, in EnrollInput) (Enrollment, error) {
	switch in.Type {
	case TOTP:
		return s.enrollTOTP(ctx, user, in)
	case WebAuthn:
		return s.enrollWebAuthn(ctx, user, in)
	case Recovery:
		return s.enrollRecovery(ctx, user)
	}
	return Enrollment{}, ErrInvalidInput.With("type must be totp, webauthn or recovery")
}

func (s *Service) enrollTOTP(ctx context.Context, user UUID, in EnrollInput) (Enrollment, error) {
	label := in.Identifier
	if label == "" || len(label) > maxFactorLabel || !tuples.ValidText(label) || strings.TrimSpace(label) != label {
		return Enrollment{}, ErrInvalidInput.With("identifier must be a label of 1 to %d bytes of UTF-8 without NUL or surrounding spaces", maxFactorLabel)
	}
	alg := totp.Algorithm(strings.ToLower(in.Algorithm))
	if alg == "" {
		alg = totp.SHA1
	}
	if !alg.Valid() {
		return Enrollment{}, ErrInvalidInput.With("algorithm must be sha1, sha256 or sha512")
	}
	digits := in.Digits
	if digits == 0 {
		digits = totp.DefaultDigits
	}
	if digits < totp.MinDigits || digits > totp.MaxDigits {
		return Enrollment{}, ErrInvalidInput.With("digits must be %d to %d", totp.MinDigits, totp.MaxDigits)
	}
	secret := totp.NewSecret()
	now := s.clock()
	f := Factor{ID: tuples.NewUUID(), UserID: user, Type: TOTP, Status: FactorPending, Identifier: label,
		CreatedAt: now, UpdatedAt: now, TOTPSecret: secret, TOTPAlgorithm: string(alg), TOTPDigits: digits}
	err := s.update(ctx, func(tx Tx) error {
		if err := s.checkPendingQueue(ctx, tx, user, now); err != nil {
			return err
		}
		return tx.PutFactor(ctx, f)
	})
	if err != nil {
		return Enrollment{}, err
	}
	return Enrollment{Factor: f.redacted(), TOTPSecret: totp.EncodeSecret(secret),
		TOTPURI: totp.URI(totpIssuer, label, secret, digits, alg)}, nil
}

func (s *Service) enrollWebAuthn(ctx context.Context, user UUID, in EnrollInput) (Enrollment, error) {
	rp := in.RPID
	if rp == "" && in.Origin != "" {
		// The spec's default: the request origin's host name.
		if u, err := url.Parse(in.Origin); err == nil {
			rp = u.Hostname()
		}
	}
	if err := CheckRPID(rp); err != nil {
		return Enrollment{}, err
	}
	now := s.clock()
	f := Factor{ID: tuples.NewUUID(), UserID: user, Type: WebAuthn, Status: FactorPending,
		CreatedAt: now, UpdatedAt: now, RPID: rp}
	// The enrolment's challenge has the factor's id, so confirming finds
	// it without the client naming it, and it is used at most once.
	c := Challenge{ID: f.ID, UserID: user, FactorID: f.ID, Bytes: webauthn.NewChallenge(), RPID: rp,
		ExpiresAt: now.Add(ChallengeTTL)}
	err := s.update(ctx, func(tx Tx) error {
		if err := s.checkPendingQueue(ctx, tx, user, now); err != nil {
			return err
		}
		if err := tx.PutFactor(ctx, f); err != nil {
			return err
		}
		return tx.PutChallenge(ctx, c)
	})
	if err != nil {
		return Enrollment{}, err
	}
	return Enrollment{Factor: f.redacted(), Challenge: &c}, nil
}

// checkPendingQueue checks that the user is active and may start another
// pending enrolment (MFA-2). Expired pending rows do not count.
func (s *Service) checkPendingQueue(ctx context.Context, tx Tx, user UUID, now time.Time) error {
	if _, err := activeUser(ctx, tx, user); err != nil {
		return err
	}
	fs, err := tx.FactorsOf(ctx, user)
	if err != nil {
		return err
	}
	n := 0
	for _, f := range fs {
		if f.Status == FactorPending && !f.pendingExpired(now) {
			n++
		}
	}
	if n >= MaxPendingFactors {
		return ErrTooManyPendingFactors.With("usr %s has %d pending enrolments; confirm or revoke one, or wait %v",
			tuples.FormatID("usr", user), n, PendingFactorTTL)
	}
	return nil
}

func (s *Service) enrollRecovery(ctx context.Context, user UUID) (Enrollment, error) {
	// Fail fast before ten Argon2id hashes; the transaction checks again.
	if err := s.view(ctx, func(tx Tx) error { _, err := activeUser(ctx, tx, user); return err }); err != nil {
		return Enrollment{}, err
	}
	codes, err := recovery.Generate()
	if err != nil {
		return Enrollment{}, err
	}
	// Hashed one after another, outside the transaction: one enrolment
	// holds at most one worker of the pool (MFA-7: each code its own hash).
	slots := make([]RecoveryCode, len(codes))
	for i, c := range codes {
		h, err := s.hasher.Hash(ctx, c)
		if err != nil {
			return Enrollment{}, err
		}
		slots[i].Hash = h
	}
	now := s.clock()
	f := Factor{ID: tuples.NewUUID(), UserID: user, Type: Recovery, Status: FactorActive,
		CreatedAt: now, UpdatedAt: now, RecoveryCodes: slots}
	err = s.update(ctx, func(tx Tx) error {
		f.Replaces = UUID{}
		if _, err := activeUser(ctx, tx, user); err != nil {
			return err
		}
		// Regenerating revokes the previous set (MFA-2, ADR 0008).
		old, err := s.revokeActive(ctx, tx, user, Recovery, f.ID, now)
		if err != nil {
			return err
		}
		f.Replaces = old
		return tx.PutFactor(ctx, f)
	})
	if err != nil {
		return Enrollment{}, err
	}
	return Enrollment{Factor: f.redacted(), RecoveryCodes: codes}, nil
}

// revokeActive revokes the user's active factors of the type other than
// keep, and returns the id of the last one (the one a new factor replaces),
// or zero.
func (s *Service) revokeActive(ctx context.Context, tx Tx, user UUID, typ FactorType, keep UUID, now time.Time) (UUID, error) {
	fs, err := tx.FactorsOf(ctx, user)
	if err != nil {
		return UUID{}, err
	}
	var last UUID
	for _, f := range fs {
		if f.Type != typ || f.Status != FactorActive || f.ID == keep {
			continue
		}
		f.Status, f.UpdatedAt = FactorRevoked, now
		if err := tx.PutFactor(ctx, f); err != nil {
			return UUID{}, err
		}
		last = f.ID
	}
	return last, nil
}

// revokeFactors revokes every factor of the user not yet revoked: the MFA
// part of RevokeUser's cascade (security.md: "revokes all MFA factors
// atomically", SPEC-MAP §2.12).
func revokeFactors(ctx context.Context, tx Tx, user UUID, now time.Time) error {
	fs, err := tx.FactorsOf(ctx, user)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.Status != FactorRevoked {
			f.Status, f.UpdatedAt = FactorRevoked, now
			if err := tx.PutFactor(ctx, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// ConfirmInput is a confirmMfaEnrollment request: a TOTP code, or the
// WebAuthn attestation from navigator.credentials.create().
type ConfirmInput struct {
	Type FactorType
	Code string // totp

	Origin            string // webauthn: the exact origin the client data must name
	ClientDataJSON    []byte
	AttestationObject []byte
	Transports        []string
}

// ConfirmFactor turns a pending TOTP or WebAuthn factor active once the
// user proves possession (MFA-2): a TOTP code within the ±1 step window, or
// a WebAuthn registration for the enrolment's challenge (single use, UV
// required, ADR 0008). Confirming a TOTP factor revokes the user's active
// one and records it in Replaces, in the same transaction (A13).
//
// Failures are Precondition (409, as the spec documents): ErrFactorNotPending,
// ErrPendingFactorExpired, ErrConfirmCodeInvalid, "webauthn.<reason>", and
// ErrDuplicateWebAuthnCredential for a credential enrolled already. A
// WebAuthn attempt uses up the challenge even when it fails; enrol again.
func (s *Service) ConfirmFactor(ctx context.Context, id UUID, in ConfirmInput) (Factor, error) {
	// Read once to learn the user, so the transaction locks the user before
	// the factor, in the order RevokeUser does.
	pre, err := s.getFactor(ctx, id)
	if err != nil {
		return Factor{}, err
	}
	if in.Type != "" && in.Type != pre.Type {
		return Factor{}, ErrInvalidInput.With("%s is a %s factor", tuples.FormatID("mfa", id), pre.Type)
	}
	switch pre.Type {
	case TOTP:
		if len(in.Code) > maxMFACode {
			return Factor{}, ErrConfirmCodeInvalid
		}
	case WebAuthn:
		if in.Origin == "" {
			return Factor{}, ErrInvalidInput.With("origin is required to confirm a WebAuthn factor")
		}
	}
	var f Factor
	var fail error
	err = s.update(ctx, func(tx Tx) error {
		fail = nil
		now := s.clock()
		if _, err := activeUser(ctx, tx, pre.UserID); err != nil {
			return err
		}
		var err error
		if f, err = tx.Factor(ctx, id); err != nil {
			return err
		}
		switch {
		case f.Status != FactorPending:
			return ErrFactorNotPending.With("%s is %s", tuples.FormatID("mfa", id), f.Status)
		case f.pendingExpired(now):
			return ErrPendingFactorExpired.With("%s was enrolled more than %v ago", tuples.FormatID("mfa", id), PendingFactorTTL)
		}
		if f.Type == TOTP {
			return s.confirmTOTP(ctx, tx, &f, in.Code, now)
		}
		fail, err = s.confirmWebAuthn(ctx, tx, &f, in, now)
		return err
	})
	if err == nil {
		err = fail
	}
	if err != nil {
		return Factor{}, err
	}
	return f.redacted(), nil
}

func (s *Service) confirmTOTP(ctx context.Context, tx Tx, f *Factor, code string, now time.Time) error {
	step, ok := totp.Verify(f.TOTPSecret, code, now, f.TOTPDigits, totp.Algorithm(f.TOTPAlgorithm))
	if !ok {
		return ErrConfirmCodeInvalid
	}
	// At most one active TOTP per user (MFA-3): the old one is revoked
	// before the new one is activated, and the new row records it (A13).
	old, err := s.revokeActive(ctx, tx, f.UserID, TOTP, f.ID, now)
	if err != nil {
		return err
	}
	f.Status, f.Replaces, f.TOTPLastStep, f.UpdatedAt = FactorActive, old, step, now
	return tx.PutFactor(ctx, *f)
}

// confirmWebAuthn verifies the registration. A failed verification is
// returned as fail with err nil, so the transaction commits the challenge's
// consumption and nothing else.
func (s *Service) confirmWebAuthn(ctx context.Context, tx Tx, f *Factor, in ConfirmInput, now time.Time) (fail, err error) {
	c, err := tx.TakeChallenge(ctx, f.ID)
	switch {
	case errors.Is(err, ErrChallengeNotFound):
		return errConfirmChallenge, nil
	case err != nil:
		return nil, err
	case c.UserID != f.UserID || c.FactorID != f.ID || !now.Before(c.ExpiresAt):
		return errConfirmChallenge, nil
	}
	cred, err := webauthn.VerifyRegistration(
		webauthn.Attestation{ClientDataJSON: in.ClientDataJSON, AttestationObject: in.AttestationObject},
		webauthn.RegistrationOptions{RPID: f.RPID, Origin: in.Origin, Challenge: c.Bytes})
	if err != nil {
		return webauthnError(err, tuples.Precondition), nil
	}
	f.Identifier = base64.RawURLEncoding.EncodeToString(cred.ID)
	f.PublicKey, f.SignCount = cred.PublicKey, cred.SignCount
	f.AAGUID = nil
	if cred.AAGUID != [16]byte{} {
		a := UUID(cred.AAGUID)
		f.AAGUID = &a
	}
	f.Transports = cleanTransports(in.Transports)
	f.Status, f.UpdatedAt = FactorActive, now
	// PutFactor refuses a credential ID active on another factor
	// (ErrDuplicateWebAuthnCredential).
	return nil, tx.PutFactor(ctx, *f)
}

// cleanTransports keeps the transports the spec names, once each, in the
// order given; unknown ones are dropped as WebAuthn tells relying parties to.
func cleanTransports(in []string) []string {
	var out []string
	for _, t := range in {
		switch t {
		case "usb", "nfc", "ble", "hybrid", "internal":
			if !slices.Contains(out, t) && len(out) < maxTransports {
				out = append(out, t)
			}
		}
	}
	return out
}

// RevokeFactor revokes a factor (terminal, ADR 0005). Revoking a revoked
// factor changes nothing and returns it as it is.
func (s *Service) RevokeFactor(ctx context.Context, id UUID) (Factor, error) {
	var f Factor
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if f, err = tx.Factor(ctx, id); err != nil || f.Status == FactorRevoked {
			return err
		}
		f.Status, f.UpdatedAt = FactorRevoked, s.clock()
		return tx.PutFactor(ctx, f)
	})
	if err != nil {
		return Factor{}, err
	}
	return f.redacted(), nil
}

// SuspendFactor takes an active factor out of use until ReinstateFactor:
// verifications no longer match it. Suspending a suspended factor changes
// nothing; a pending factor cannot be suspended (ErrInvalidTransition) and
// a revoked one is ErrAlreadyTerminal (A51, as for users).
func (s *Service) SuspendFactor(ctx context.Context, id UUID) (Factor, error) {
	return s.transitionFactor(ctx, id, FactorSuspended)
}

// ReinstateFactor returns a suspended factor to use. Reinstating an active
// factor changes nothing. A TOTP or recovery factor cannot be reinstated
// while the user has another active one of its type (ErrFactorSingleton:
// one was enrolled meanwhile), nor a WebAuthn factor whose credential ID is
// active elsewhere (ErrDuplicateWebAuthnCredential).
func (s *Service) ReinstateFactor(ctx context.Context, id UUID) (Factor, error) {
	return s.transitionFactor(ctx, id, FactorActive)
}

func (s *Service) transitionFactor(ctx context.Context, id UUID, to FactorStatus) (Factor, error) {
	var f Factor
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if f, err = tx.Factor(ctx, id); err != nil {
			return err
		}
		switch {
		case f.Status == FactorRevoked:
			return ErrAlreadyTerminal.With("%s is revoked", tuples.FormatID("mfa", id))
		case f.Status == to:
			return nil
		case f.Status == FactorPending:
			return ErrInvalidTransition.With("%s is pending: confirm or revoke it", tuples.FormatID("mfa", id))
		}
		if to == FactorActive && (f.Type == TOTP || f.Type == Recovery) {
			fs, err := tx.FactorsOf(ctx, f.UserID)
			if err != nil {
				return err
			}
			if slices.ContainsFunc(fs, func(g Factor) bool { return g.Type == f.Type && g.Status == FactorActive }) {
				return ErrFactorSingleton.With("the user has another active %s factor", f.Type)
			}
		}
		f.Status, f.UpdatedAt = to, s.clock()
		return tx.PutFactor(ctx, f)
	})
	if err != nil {
		return Factor{}, err
	}
	return f.redacted(), nil
}

// GetFactor returns a factor in any state, without its secrets, or
// ErrFactorNotFound.
func (s *Service) GetFactor(ctx context.Context, id UUID) (Factor, error) {
	f, err := s.getFactor(ctx, id)
	return f.redacted(), err
}

func (s *Service) getFactor(ctx context.Context, id UUID) (Factor, error) {
	return read(ctx, s, func(tx Tx) (Factor, error) { return tx.Factor(ctx, id) })
}

// ListFactors lists a user's active and unexpired pending factors in id
// order, without secrets (listMfaFactors, A15).
func (s *Service) ListFactors(ctx context.Context, user UUID) ([]Factor, error) {
	var fs []Factor
	err := s.view(ctx, func(tx Tx) error {
		if _, err := tx.User(ctx, user); err != nil {
			return err
		}
		var err error
		fs, err = tx.FactorsOf(ctx, user)
		return err
	})
	if err != nil {
		return nil, err
	}
	now := s.clock()
	out := []Factor{}
	for _, f := range fs {
		if f.Status == FactorActive || (f.Status == FactorPending && !f.pendingExpired(now)) {
			out = append(out, f.redacted())
		}
	}
	return out, nil
}

// pendingExpired reports whether a pending factor has waited too long.
func (f Factor) pendingExpired(now time.Time) bool {
	return !now.Before(f.CreatedAt.Add(PendingFactorTTL))
}

// redacted returns f without its secrets (the TOTP secret, the recovery
// codes' hashes): what may leave the module. Recovery slots keep their
// ConsumedAt, from which the wire's remaining count comes.
func (f Factor) redacted() Factor {
	f.TOTPSecret = nil
	if f.RecoveryCodes != nil {
		codes := make([]RecoveryCode, len(f.RecoveryCodes))
		for i, c := range f.RecoveryCodes {
			codes[i] = RecoveryCode{ConsumedAt: c.ConsumedAt}
		}
		f.RecoveryCodes = codes
	}
	return f
}

// Remaining is how many recovery codes of a recovery factor are unused.
func (f Factor) Remaining() int {
	n := 0
	for _, c := range f.RecoveryCodes {
		if c.ConsumedAt == nil {
			n++
		}
	}
	return n
}
