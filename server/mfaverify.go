package server

import (
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/identity/webauthn"
	"github.com/flametrench/server/tuples"
)

// mfaSelfOrTicket is for verifyMfa and createMfaChallenge, which run
// before a session exists (A9, DESIGN §7): the user's own session, or
// no token (or an admin's) and a verification ticket of the user in the
// body. identity checks the ticket belongs to the user; the handler
// requires one when the caller is not the user's session.
var mfaSelfOrTicket = policy{
	who:      "the user themselves (a session), or anyone presenting a verification ticket of the user in the body",
	optional: true,
	allow: func(_ *Server, q *request) error {
		switch {
		case q.caller.admin || q.caller.anonymous():
			return nil
		case q.caller.Kind != identity.KindSession:
			return errSessionOnly
		}
		u, err := pathID(q, "usr_id", "usr")
		if err != nil {
			return err
		}
		if u != q.caller.UserID {
			return identity.ErrUserNotFound
		}
		return nil
	},
}

// mfaProofTargets returns what a verification stamps: the caller's
// session when it is the user's, and the body's ticket. Without either, an
// anonymous caller is 401 and anyone else is told the ticket is required.
func mfaProofTargets(q *request, user tuples.UUID, ticket *string) (tuples.UUID, string, error) {
	var ses tuples.UUID
	if q.caller.Kind == identity.KindSession && q.caller.UserID == user {
		ses = q.caller.Session.ID
	}
	var t string
	if ticket != nil {
		t = *ticket
	}
	switch {
	case !ses.IsZero() || t != "":
		return ses, t, nil
	case q.caller.anonymous():
		return ses, t, errNoToken.With("this operation takes the user's session as the bearer, or a verification_ticket in the body")
	}
	return ses, t, required(field("verification_ticket", (*string)(nil)))
}

// ----- verification

type mfaAssertionBody struct {
	ClientDataJSON    *string `json:"client_data_json_b64u"`
	AuthenticatorData *string `json:"authenticator_data_b64u"`
	Signature         *string `json:"signature_b64u"`
	CredentialID      *string `json:"credential_id_b64u"`
	// UserHandle is accepted and not used: the credential ID finds the
	// factor, and the factor's user must be the path's.
	UserHandle *string `json:"user_handle_b64u"`
	// ChallengeID names the challenge from createMfaChallenge that the
	// assertion answers (our extension: the spec has no challenge route,
	// A10).
	ChallengeID *string `json:"challenge_id"`
}

type mfaVerifyBody struct {
	Type               *string           `json:"type"`
	Code               *string           `json:"code"`
	Assertion          *mfaAssertionBody `json:"assertion"`
	VerificationTicket *string           `json:"verification_ticket"`
}

type mfaVerifyView struct {
	OK            bool                `json:"ok"`
	MfaID         string              `json:"mfa_id"`
	Type          identity.FactorType `json:"type"`
	MfaVerifiedAt time.Time           `json:"mfa_verified_at"`
	NewSignCount  *uint32             `json:"new_sign_count"`
}

// mfaChallengeID parses a challenge id: the hyphenated UUID
// createMfaChallenge returns (32 hex digits also do).
func mfaChallengeID(s string) (tuples.UUID, error) {
	u, ok := tuples.ParseRefID("chl", s)
	if !ok {
		return tuples.UUID{}, &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.challenge_id",
			Msg: "challenge_id must be the id createMfaChallenge returned"}
	}
	return u, nil
}

func (s *Server) verifyMfa(q *request) (int, any, error) {
	user, err := pathID(q, "usr_id", "usr")
	if err != nil {
		return 0, nil, err
	}
	var b mfaVerifyBody
	if err := q.decode(&b, false); err != nil {
		return 0, nil, err
	}
	ses, ticket, err := mfaProofTargets(q, user, b.VerificationTicket)
	if err != nil {
		return 0, nil, err
	}
	if err := required(field("type", b.Type)); err != nil {
		return 0, nil, err
	}
	proof := identity.MFAProof{Type: identity.FactorType(*b.Type), Address: clientAddress(q.Request)}
	switch proof.Type {
	case identity.TOTP, identity.Recovery:
		if err := required(field("code", b.Code)); err != nil {
			return 0, nil, err
		}
		if err := mfaOnlyFields(*b.Type, map[string]bool{"assertion": b.Assertion != nil}); err != nil {
			return 0, nil, err
		}
		proof.Code = *b.Code
	case identity.WebAuthn:
		if err := required(field("assertion", b.Assertion)); err != nil {
			return 0, nil, err
		}
		if err := mfaOnlyFields(*b.Type, map[string]bool{"code": b.Code != nil}); err != nil {
			return 0, nil, err
		}
		if s.origin == "" {
			return 0, nil, errWebAuthnOff
		}
		if err := mfaAssertion(b.Assertion, &proof); err != nil {
			return 0, nil, err
		}
		proof.Origin = s.origin
	default:
		return 0, nil, &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.type", Msg: "type must be totp, webauthn or recovery"}
	}
	res, err := s.ids.VerifyMFA(q.Context(), user, proof, ses, ticket)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, mfaVerifyView{OK: true, MfaID: tuples.FormatID("mfa", res.FactorID), Type: res.Type,
		MfaVerifiedAt: res.VerifiedAt.UTC(), NewSignCount: res.NewSignCount}, nil
}

// mfaAssertion decodes a WebAuthn assertion body into proof.
func mfaAssertion(a *mfaAssertionBody, proof *identity.MFAProof) error {
	if err := required(field("client_data_json_b64u", a.ClientDataJSON), field("authenticator_data_b64u", a.AuthenticatorData),
		field("signature_b64u", a.Signature), field("credential_id_b64u", a.CredentialID), field("challenge_id", a.ChallengeID)); err != nil {
		return err
	}
	var err error
	if proof.Assertion.ClientDataJSON, err = mfaB64u("client_data_json_b64u", *a.ClientDataJSON); err != nil {
		return err
	}
	if proof.Assertion.AuthenticatorData, err = mfaB64u("authenticator_data_b64u", *a.AuthenticatorData); err != nil {
		return err
	}
	if proof.Assertion.Signature, err = mfaB64u("signature_b64u", *a.Signature); err != nil {
		return err
	}
	if a.UserHandle != nil {
		if _, err := mfaB64u("user_handle_b64u", *a.UserHandle); err != nil {
			return err
		}
	}
	// Factors are stored under the unpadded base64url credential ID.
	proof.CredentialID = strings.TrimRight(*a.CredentialID, "=")
	proof.ChallengeID, err = mfaChallengeID(*a.ChallengeID)
	return err
}

// ----- WebAuthn challenges (extension)

type mfaChallengeBody struct {
	VerificationTicket *string `json:"verification_ticket"`
	RPID               *string `json:"rp_id"`
}

type mfaAllowCredential struct {
	Type       string   `json:"type"`
	ID         string   `json:"id"`
	Transports []string `json:"transports"`
}

type mfaChallengeView struct {
	ChallengeID   string    `json:"challenge_id"`
	ChallengeB64u string    `json:"challenge_b64u"`
	RPID          *string   `json:"rp_id"`
	TimeoutMS     int       `json:"timeout_ms"`
	ExpiresAt     time.Time `json:"expires_at"`
	// AllowCredentials lists the user's active WebAuthn factors, for
	// navigator.credentials.get(), to the user's session, an admin and the
	// holder of a live ticket of the user; null for any other ticket.
	AllowCredentials []mfaAllowCredential `json:"allow_credentials"`
}

func (s *Server) createMfaChallenge(q *request) (int, any, error) {
	user, err := pathID(q, "usr_id", "usr")
	if err != nil {
		return 0, nil, err
	}
	var b mfaChallengeBody
	if err := q.decode(&b, true); err != nil {
		return 0, nil, err
	}
	ses, ticket, err := mfaProofTargets(q, user, b.VerificationTicket)
	if err != nil {
		return 0, nil, err
	}
	if s.origin == "" {
		return 0, nil, errWebAuthnOff
	}
	var rp string
	if b.RPID != nil {
		rp = *b.RPID
	}
	if rp != "" { // "" is no RP ID, as in NewWebAuthnChallenge
		if err := identity.CheckRPID(rp); err != nil {
			return 0, nil, err
		}
	}
	// Only the user's session, an admin or the holder of a live ticket of
	// the user may learn the user's state and credential IDs here. The
	// ticket is read, not used up: verifyMfa upgrades it next.
	trusted := !ses.IsZero() || q.caller.admin
	if !trusted {
		t, err := s.ids.PeekTicket(q.Context(), ticket)
		switch {
		case err == nil:
			trusted = t.UserID == user
		case tuples.KindOf(err) != tuples.Unauthenticated:
			return 0, nil, err // the store failed, not the ticket
		}
	}
	var c identity.Challenge
	if trusted {
		if c, err = s.ids.NewWebAuthnChallenge(q.Context(), user, rp); err != nil {
			return 0, nil, err
		}
	} else {
		// Any other ticket (unknown, used, expired, another user's) gets
		// what a missing user's would: a challenge, never stored, that no
		// assertion can answer (the ticket fails at verifyMfa). The user
		// is not looked up, so neither the answer nor its timing tells
		// whether the user exists.
		c = identity.Challenge{ID: tuples.NewUUID(), Bytes: webauthn.NewChallenge(), RPID: rp,
			ExpiresAt: s.now().Add(identity.ChallengeTTL)}
	}
	v := mfaChallengeView{ChallengeID: c.ID.String(), ChallengeB64u: base64.RawURLEncoding.EncodeToString(c.Bytes),
		TimeoutMS: mfaWebAuthnTimeout, ExpiresAt: c.ExpiresAt.UTC()}
	if c.RPID != "" {
		v.RPID = &c.RPID
	}
	if trusted {
		fs, err := s.ids.ListFactors(q.Context(), user)
		if err != nil {
			return 0, nil, err
		}
		v.AllowCredentials = []mfaAllowCredential{}
		for _, f := range fs {
			if f.Type == identity.WebAuthn && f.Status == identity.FactorActive && (rp == "" || f.RPID == rp) {
				ts := f.Transports
				if ts == nil {
					ts = []string{}
				}
				v.AllowCredentials = append(v.AllowCredentials, mfaAllowCredential{Type: "public-key", ID: f.Identifier, Transports: ts})
			}
		}
	}
	return http.StatusCreated, v, nil
}
