package server

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/identity/totp"
	"github.com/flametrench/server/identity/webauthn"
	"github.com/flametrench/server/tuples"
)

// mfaRoutes are the MFA factor and policy operations (SPEC-MAP §1.3,
// ADR 0008), with the extension that issues WebAuthn verification
// challenges (A10).
var mfaRoutes = []route{
	{method: "GET", path: "/users/{usr_id}/mfa-factors", op: "listMfaFactors", allow: selfOrAdmin("usr_id"), serve: (*Server).listMfaFactors},
	{method: "POST", path: "/users/{usr_id}/mfa-factors", op: "enrollMfaFactor", allow: mfaStepUpPolicy(selfOrAdmin("usr_id")), serve: (*Server).enrollMfaFactor},
	{method: "POST", path: "/mfa-factors/{mfa_id}/confirm", op: "confirmMfaEnrollment", allow: mfaStepUpPolicy(mfaFactorOwnerOrAdmin), serve: (*Server).confirmMfaFactor},
	{method: "POST", path: "/mfa-factors/{mfa_id}/revoke", op: "revokeMfaFactor", allow: mfaRevokePolicy, serve: (*Server).revokeMfaFactor},
	{method: "POST", path: "/users/{usr_id}/mfa/verify", op: "verifyMfa", allow: mfaSelfOrTicket, serve: (*Server).verifyMfa},
	{method: "POST", path: "/users/{usr_id}/mfa/challenge", op: "createMfaChallenge", extension: true, allow: mfaSelfOrTicket, serve: (*Server).createMfaChallenge},
	{method: "GET", path: "/users/{usr_id}/mfa-policy", op: "getMfaPolicy", allow: selfOrAdmin("usr_id"), serve: (*Server).getMfaPolicy},
	{method: "PUT", path: "/users/{usr_id}/mfa-policy", op: "setMfaPolicy", allow: mfaPolicyPolicy, serve: (*Server).setMfaPolicy},
}

// Errors of the MFA routes.
var (
	// errMFAStepUp: a change that could strip or swap a user's factors,
	// from a session that has not passed MFA while the user's MFA policy
	// is in force. A stolen password-only session must not be able to
	// remove the second factor, nor enrol one of the thief's.
	errMFAStepUp = &tuples.Error{Kind: tuples.Forbidden, Code: "forbidden.mfa_required",
		Msg: "the user's MFA policy is in force: this takes a session verified with MFA (POST /users/{usr_id}/mfa/verify) or a platform admin"}
	// errMFANoFactor: a user turning their own MFA policy on with no
	// active factor, which would lock them out of every new session.
	errMFANoFactor = &tuples.Error{Kind: tuples.Precondition, Code: "precondition.no_active_factor",
		Msg: "enrol and confirm an MFA factor before requiring MFA"}
	// errWebAuthnOff: a WebAuthn operation on a server without
	// --webauthn-origin.
	errWebAuthnOff = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.type",
		Msg: "WebAuthn is not configured on this server (no --webauthn-origin)"}
)

// mfaWebAuthnTimeout is the ceremony timeout suggested to the browser
// (the spec's default); the challenge itself lives identity.ChallengeTTL.
const mfaWebAuthnTimeout = 60_000

// mfaFactorOwner finds the user a path's factor belongs to.
func mfaFactorOwner(s *Server, q *request) (tuples.UUID, error) {
	id, err := pathID(q, "mfa_id", "mfa")
	if err != nil {
		return tuples.UUID{}, err
	}
	f, err := s.ids.GetFactor(q.Context(), id)
	return f.UserID, err
}

var mfaFactorOwnerOrAdmin = ownerOrAdmin(identity.ErrFactorNotFound, mfaFactorOwner)

// mfaStepUpPolicy is inner, then the step-up rule for enrolling and
// confirming factors: while the user's MFA policy is in force and the
// user has an active factor, the session must have passed MFA
// (errMFAStepUp). A user with no active factor can still enrol one, or the
// policy would lock them out for good.
func mfaStepUpPolicy(inner policy) policy {
	p := inner
	p.who = inner.who + "; while the user's MFA policy is in force and they have an active factor, a session verified with MFA"
	p.optional = inner.optional
	p.allow = func(s *Server, q *request) error {
		if err := inner.allow(s, q); err != nil || q.caller.admin || q.caller.Kind != identity.KindSession {
			return err // an anonymous caller here is sign-up's: a brand-new user has no policy
		}
		return s.mfaStepUp(q, q.caller.UserID, true)
	}
	return p
}

// stepUpWindow is how recent a session's MFA verification must be for a
// change that needs one: a session verified once is not verified forever.
const stepUpWindow = 15 * time.Minute

// mfaStepUp refuses (errMFAStepUp) a session that has not passed MFA (in
// the last stepUpWindow) while the user's MFA policy is in force (and, with needFactor, the user
// has an active factor to pass it with).
func (s *Server) mfaStepUp(q *request, user tuples.UUID, needFactor bool) error {
	now := s.now()
	if at := q.caller.Session.MFAVerifiedAt; at != nil && now.Sub(*at) < stepUpWindow {
		return nil
	}
	p, err := s.ids.GetPolicy(q.Context(), user)
	if err != nil || !p.InForce(now) {
		return err
	}
	if needFactor {
		has, err := s.mfaHasActiveFactor(q, user)
		if err != nil || !has {
			return err
		}
	}
	return errMFAStepUp
}

func (s *Server) mfaHasActiveFactor(q *request, user tuples.UUID) (bool, error) {
	fs, err := s.ids.ListFactors(q.Context(), user)
	if err != nil {
		return false, err
	}
	for _, f := range fs {
		if f.Status == identity.FactorActive {
			return true, nil
		}
	}
	return false, nil
}

// mfaRevokePolicy: the factor's owner or an admin; revoking an active
// factor while the owner's MFA policy is in force takes a session that
// passed MFA.
var mfaRevokePolicy = policy{
	who: mfaFactorOwnerOrAdmin.who + "; an active factor, while the user's MFA policy is in force, a session verified with MFA",
	allow: func(s *Server, q *request) error {
		if err := mfaFactorOwnerOrAdmin.allow(s, q); err != nil || q.caller.admin {
			return err
		}
		id, err := pathID(q, "mfa_id", "mfa")
		if err != nil {
			return err
		}
		f, err := s.ids.GetFactor(q.Context(), id)
		if err != nil || f.Status != identity.FactorActive {
			return err
		}
		return s.mfaStepUp(q, f.UserID, false)
	},
}

// mfaPolicyPolicy: the user may turn their own MFA policy on; turning it
// off or setting a grace period takes a platform admin (the handler
// checks the body).
var mfaPolicyPolicy = func() policy {
	p := selfOrAdmin("usr_id")
	p.who += " (the user may only turn MFA on: `required: true` without `grace_until`)"
	return p
}()

// ----- views

// mfaTotpView, mfaWebAuthnView and mfaRecoveryView are the spec's
// MfaFactor, one per type (oneOf on type).
type mfaTotpView struct {
	ID         string                `json:"id"`
	Type       identity.FactorType   `json:"type"`
	Status     identity.FactorStatus `json:"status"`
	Identifier string                `json:"identifier"`
	Replaces   *string               `json:"replaces"`
	CreatedAt  time.Time             `json:"created_at"`
	UpdatedAt  time.Time             `json:"updated_at"`
}

type mfaWebAuthnView struct {
	ID         string                `json:"id"`
	Type       identity.FactorType   `json:"type"`
	Status     identity.FactorStatus `json:"status"`
	Identifier string                `json:"identifier"`
	RPID       string                `json:"rp_id"`
	SignCount  uint32                `json:"sign_count"`
	AAGUID     *string               `json:"aaguid"`
	Transports []string              `json:"transports"`
	Replaces   *string               `json:"replaces"`
	CreatedAt  time.Time             `json:"created_at"`
	UpdatedAt  time.Time             `json:"updated_at"`
}

type mfaRecoveryView struct {
	ID        string                `json:"id"`
	Type      identity.FactorType   `json:"type"`
	Status    identity.FactorStatus `json:"status"`
	Remaining int                   `json:"remaining"`
	Replaces  *string               `json:"replaces"`
	CreatedAt time.Time             `json:"created_at"`
	UpdatedAt time.Time             `json:"updated_at"`
}

func viewMfaFactor(f identity.Factor) any {
	id := tuples.FormatID("mfa", f.ID)
	var replaces *string
	if !f.Replaces.IsZero() {
		r := tuples.FormatID("mfa", f.Replaces)
		replaces = &r
	}
	switch f.Type {
	case identity.WebAuthn:
		v := mfaWebAuthnView{ID: id, Type: f.Type, Status: f.Status, Identifier: f.Identifier, RPID: f.RPID,
			SignCount: f.SignCount, Transports: f.Transports, Replaces: replaces, CreatedAt: f.CreatedAt.UTC(), UpdatedAt: f.UpdatedAt.UTC()}
		if v.Transports == nil {
			v.Transports = []string{}
		}
		if f.AAGUID != nil {
			a := f.AAGUID.String()
			v.AAGUID = &a
		}
		return v
	case identity.Recovery:
		return mfaRecoveryView{ID: id, Type: f.Type, Status: f.Status, Remaining: f.Remaining(), Replaces: replaces,
			CreatedAt: f.CreatedAt.UTC(), UpdatedAt: f.UpdatedAt.UTC()}
	}
	return mfaTotpView{ID: id, Type: f.Type, Status: f.Status, Identifier: f.Identifier, Replaces: replaces,
		CreatedAt: f.CreatedAt.UTC(), UpdatedAt: f.UpdatedAt.UTC()}
}

type mfaFactorList struct {
	Factors []any `json:"factors"`
}

func (s *Server) listMfaFactors(q *request) (int, any, error) {
	user, err := pathID(q, "usr_id", "usr")
	if err != nil {
		return 0, nil, err
	}
	fs, err := s.ids.ListFactors(q.Context(), user)
	if err != nil {
		return 0, nil, err
	}
	out := mfaFactorList{Factors: make([]any, len(fs))}
	for i, f := range fs {
		out.Factors[i] = viewMfaFactor(f)
	}
	return http.StatusOK, out, nil
}

// ----- enrolment

type mfaEnrollBody struct {
	Type       *string `json:"type"`
	Identifier *string `json:"identifier"`
	RPID       *string `json:"rp_id"`
}

type mfaTotpEnrollment struct {
	SecretB32  string `json:"secret_b32"`
	OTPAuthURI string `json:"otpauth_uri"`
	Period     int    `json:"period"`
	Digits     int    `json:"digits"`
	Algorithm  string `json:"algorithm"`
}

type mfaKeyParam struct {
	Type string `json:"type"`
	Alg  int64  `json:"alg"`
}

type mfaWebAuthnEnrollment struct {
	ChallengeB64u    string        `json:"challenge_b64u"`
	RPID             string        `json:"rp_id"`
	UserIDB64u       string        `json:"user_id_b64u"`
	PubKeyCredParams []mfaKeyParam `json:"pub_key_cred_params"`
	TimeoutMS        int           `json:"timeout_ms"`
}

// mfaKeyParams are the algorithms identity/webauthn verifies (ADR 0010),
// in the order a browser should prefer them.
var mfaKeyParams = []mfaKeyParam{{"public-key", webauthn.AlgES256}, {"public-key", webauthn.AlgEdDSA}, {"public-key", webauthn.AlgRS256}}

type mfaEnrollView struct {
	Factor             any                    `json:"factor"`
	TOTPEnrollment     *mfaTotpEnrollment     `json:"totp_enrollment"`
	WebAuthnEnrollment *mfaWebAuthnEnrollment `json:"webauthn_enrollment"`
	RecoveryCodes      []string               `json:"recovery_codes"`
}

// mfaOnlyFields refuses the fields of a oneOf body that the chosen type's
// schema does not have (each is additionalProperties: false).
func mfaOnlyFields(typ string, fields map[string]bool) error {
	for name, present := range fields {
		if present {
			return errBody.With("%s is not a field of a %s request", name, tuples.Truncate(typ))
		}
	}
	return nil
}

func (s *Server) enrollMfaFactor(q *request) (int, any, error) {
	user, err := pathID(q, "usr_id", "usr")
	if err != nil {
		return 0, nil, err
	}
	var b mfaEnrollBody
	if err := q.decode(&b, false); err != nil {
		return 0, nil, err
	}
	if err := required(field("type", b.Type)); err != nil {
		return 0, nil, err
	}
	in := identity.EnrollInput{Type: identity.FactorType(*b.Type), Origin: s.origin}
	switch in.Type {
	case identity.TOTP:
		if err := required(field("identifier", b.Identifier)); err != nil {
			return 0, nil, err
		}
		if err := mfaOnlyFields(*b.Type, map[string]bool{"rp_id": b.RPID != nil}); err != nil {
			return 0, nil, err
		}
		in.Identifier = *b.Identifier
	case identity.WebAuthn:
		if err := mfaOnlyFields(*b.Type, map[string]bool{"identifier": b.Identifier != nil}); err != nil {
			return 0, nil, err
		}
		if s.origin == "" {
			return 0, nil, errWebAuthnOff
		}
		if b.RPID != nil {
			in.RPID = *b.RPID
		}
	case identity.Recovery:
		if err := mfaOnlyFields(*b.Type, map[string]bool{"identifier": b.Identifier != nil, "rp_id": b.RPID != nil}); err != nil {
			return 0, nil, err
		}
	default:
		return 0, nil, &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.type", Msg: "type must be totp, webauthn or recovery"}
	}
	en, err := s.ids.EnrollFactor(q.Context(), user, in)
	if err != nil {
		return 0, nil, err
	}
	v := mfaEnrollView{Factor: viewMfaFactor(en.Factor), RecoveryCodes: en.RecoveryCodes}
	switch en.Factor.Type {
	case identity.TOTP:
		v.TOTPEnrollment = &mfaTotpEnrollment{SecretB32: en.TOTPSecret, OTPAuthURI: en.TOTPURI, Period: totp.Period,
			Digits: en.Factor.TOTPDigits, Algorithm: en.Factor.TOTPAlgorithm}
	case identity.WebAuthn:
		v.WebAuthnEnrollment = &mfaWebAuthnEnrollment{ChallengeB64u: base64.RawURLEncoding.EncodeToString(en.Challenge.Bytes),
			RPID: en.Challenge.RPID, UserIDB64u: base64.RawURLEncoding.EncodeToString(user[:]),
			PubKeyCredParams: mfaKeyParams, TimeoutMS: mfaWebAuthnTimeout}
	}
	return http.StatusCreated, v, nil
}

// ----- confirmation and revocation

type mfaAttestationBody struct {
	ClientDataJSON    *string  `json:"client_data_json_b64u"`
	AttestationObject *string  `json:"attestation_object_b64u"`
	CredentialID      *string  `json:"credential_id_b64u"`
	Transports        []string `json:"transports"`
}

type mfaConfirmBody struct {
	Type        *string             `json:"type"`
	Code        *string             `json:"code"`
	Attestation *mfaAttestationBody `json:"attestation"`
}

// mfaB64u decodes a base64url field (padding tolerated).
func mfaB64u(name, s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format." + name, Msg: name + " must be base64url"}
	}
	return b, nil
}

func (s *Server) confirmMfaFactor(q *request) (int, any, error) {
	id, err := pathID(q, "mfa_id", "mfa")
	if err != nil {
		return 0, nil, err
	}
	var b mfaConfirmBody
	if err := q.decode(&b, false); err != nil {
		return 0, nil, err
	}
	if err := required(field("type", b.Type)); err != nil {
		return 0, nil, err
	}
	in := identity.ConfirmInput{Type: identity.FactorType(*b.Type), Origin: s.origin}
	switch in.Type {
	case identity.TOTP:
		if err := required(field("code", b.Code)); err != nil {
			return 0, nil, err
		}
		if err := mfaOnlyFields(*b.Type, map[string]bool{"attestation": b.Attestation != nil}); err != nil {
			return 0, nil, err
		}
		in.Code = *b.Code
	case identity.WebAuthn:
		if err := required(field("attestation", b.Attestation)); err != nil {
			return 0, nil, err
		}
		if err := mfaOnlyFields(*b.Type, map[string]bool{"code": b.Code != nil}); err != nil {
			return 0, nil, err
		}
		if s.origin == "" {
			return 0, nil, errWebAuthnOff
		}
		a := b.Attestation
		if err := required(field("client_data_json_b64u", a.ClientDataJSON), field("attestation_object_b64u", a.AttestationObject),
			field("credential_id_b64u", a.CredentialID)); err != nil {
			return 0, nil, err
		}
		if in.ClientDataJSON, err = mfaB64u("client_data_json_b64u", *a.ClientDataJSON); err != nil {
			return 0, nil, err
		}
		if in.AttestationObject, err = mfaB64u("attestation_object_b64u", *a.AttestationObject); err != nil {
			return 0, nil, err
		}
		// The credential ID is taken from the signed authenticator data;
		// the client's copy need only be well formed.
		if _, err := mfaB64u("credential_id_b64u", *a.CredentialID); err != nil {
			return 0, nil, err
		}
		in.Transports = a.Transports
	default:
		return 0, nil, &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.type", Msg: "type must be totp or webauthn"}
	}
	f, err := s.ids.ConfirmFactor(q.Context(), id, in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewMfaFactor(f), nil
}

func (s *Server) revokeMfaFactor(q *request) (int, any, error) {
	return transition(q, "mfa_id", "mfa", s.ids.RevokeFactor, viewMfaFactor)
}

// ----- the MFA policy

type mfaPolicyView struct {
	UsrID      string     `json:"usr_id"`
	Required   bool       `json:"required"`
	GraceUntil *time.Time `json:"grace_until"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

func viewMfaPolicy(p identity.Policy) mfaPolicyView {
	return mfaPolicyView{UsrID: tuples.FormatID("usr", p.UserID), Required: p.Required, GraceUntil: utcPtr(p.GraceUntil), UpdatedAt: p.UpdatedAt.UTC()}
}

func (s *Server) getMfaPolicy(q *request) (int, any, error) {
	user, err := pathID(q, "usr_id", "usr")
	if err != nil {
		return 0, nil, err
	}
	p, err := s.ids.GetPolicy(q.Context(), user)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewMfaPolicy(p), nil
}

type mfaPolicyBody struct {
	Required   *bool            `json:"required"`
	GraceUntil nullable[string] `json:"grace_until"`
}

func (s *Server) setMfaPolicy(q *request) (int, any, error) {
	user, err := pathID(q, "usr_id", "usr")
	if err != nil {
		return 0, nil, err
	}
	var b mfaPolicyBody
	if err := q.decode(&b, false); err != nil {
		return 0, nil, err
	}
	if err := required(field("required", b.Required)); err != nil {
		return 0, nil, err
	}
	var grace *time.Time
	if b.GraceUntil.value != nil {
		g, err := parseTime("grace_until", *b.GraceUntil.value)
		if err != nil {
			return 0, nil, err
		}
		grace = &g
	}
	if !q.caller.admin {
		// A user may make their sign-in stricter, never looser: turning
		// MFA off or deferring it is an admin's call.
		if !*b.Required || grace != nil {
			return 0, nil, errForbidden.With("only a platform admin may turn MFA off or set grace_until")
		}
		has, err := s.mfaHasActiveFactor(q, user)
		if err != nil {
			return 0, nil, err
		}
		if !has {
			return 0, nil, errMFANoFactor
		}
	}
	p, err := s.ids.SetPolicy(q.Context(), user, *b.Required, grace)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewMfaPolicy(p), nil
}
