package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/identity/webauthn"
	"github.com/flametrench/server/tuples"
)

// userRoutes are the user operations.
var userRoutes = []route{
	// Identity: users (SPEC-MAP §1.3). Sign-up is open by default
	// (DESIGN §4 A2); listing, suspending and reinstating are an admin's.
	{method: "POST", path: "/users", op: "createUser", allow: signupOrAdmin, serve: (*Server).createUser},
	{method: "GET", path: "/users", op: "listUsers", allow: admin, serve: (*Server).listUsers},
	{method: "GET", path: "/users/{usr_id}", op: "getUser", allow: selfOrAdmin("usr_id"), serve: (*Server).getUser},
	{method: "PUT", path: "/users/{usr_id}", op: "updateUser", allow: selfOrAdmin("usr_id"), serve: (*Server).updateUser},
	{method: "POST", path: "/users/{usr_id}/suspend", op: "suspendUser", allow: admin, serve: (*Server).suspendUser},
	{method: "POST", path: "/users/{usr_id}/reinstate", op: "reinstateUser", allow: admin, serve: (*Server).reinstateUser},
	{method: "POST", path: "/users/{usr_id}/revoke", op: "revokeUser", allow: mfaStepUpPolicy(withWho(selfOrAdmin("usr_id"), "the user themselves (a session: closing their own account), or platform admin")), serve: (*Server).revokeUser},
	{method: "GET", path: "/users/{usr_id}/sessions", op: "listUserSessions", allow: selfOrAdmin("usr_id"), serve: (*Server).listUserSessions},
}

// credentialRoutes are the credential operations, sign-in included.
var credentialRoutes = []route{
	{method: "POST", path: "/credentials", op: "createCredential", allow: mfaStepUpPolicy(credentialCreator), serve: (*Server).createCredential},
	{method: "POST", path: "/credentials/verify", op: "verifyCredential", allow: withWho(public, "anyone, no token (failures throttled per identifier and per client address)"), serve: (*Server).verifyCredential},
	// A10, A11: what a passkey assertion or an OIDC nonce answers; the
	// spec has no route for it.
	{method: "POST", path: "/credentials/challenge", op: "createSignInChallenge", extension: true, allow: public, serve: (*Server).createSignInChallenge},
	{method: "GET", path: "/credentials/{cred_id}", op: "getCredential", allow: credentialOwnerOrAdmin, serve: (*Server).getCredential},
	{method: "POST", path: "/credentials/{cred_id}/rotate", op: "rotateCredential", allow: mfaStepUpPolicy(credentialOwnerOrAdmin), serve: (*Server).rotateCredential},
	{method: "POST", path: "/credentials/{cred_id}/suspend", op: "suspendCredential", allow: mfaStepUpPolicy(credentialOwnerOrAdmin), serve: (*Server).suspendCredential},
	// A suspension is a sanction: its owner must not lift it.
	{method: "POST", path: "/credentials/{cred_id}/reinstate", op: "reinstateCredential", allow: admin, serve: (*Server).reinstateCredential},
	{method: "POST", path: "/credentials/{cred_id}/revoke", op: "revokeCredential", allow: mfaStepUpPolicy(credentialOwnerOrAdmin), serve: (*Server).revokeCredential},
}

// sessionRoutes are the session operations.
var sessionRoutes = []route{
	{method: "POST", path: "/sessions", op: "createSession", allow: sessionMinter, serve: (*Server).createSession},
	{method: "GET", path: "/sessions/{ses_id}", op: "getSession", allow: sessionOwnerOrAdmin, serve: (*Server).getSession},
	{method: "POST", path: "/sessions/{ses_id}/refresh", op: "refreshSession", allow: sessionSelfOrAdmin, serve: (*Server).refreshSession},
	{method: "POST", path: "/sessions/{ses_id}/revoke", op: "revokeSession", allow: sessionOwnerOrAdmin, serve: (*Server).revokeSession},
}

// ----- policies

// sessionSelfOrAdmin is refreshSession's policy: a session refreshes
// itself (its token holder), never another session of its user (which
// would hand an unverified session the MFA time of a verified one), or a
// platform admin refreshes any.
var sessionSelfOrAdmin = policy{who: "the session itself (its own token), or platform admin", allow: func(s *Server, q *request) error {
	if q.caller.admin {
		return nil
	}
	if q.caller.Kind != identity.KindSession {
		return errSessionOnly
	}
	id, err := pathID(q, "ses_id", "ses")
	if err != nil {
		return err
	}
	if id != q.caller.Session.ID {
		return identity.ErrSessionNotFound
	}
	return nil
}}

// signupWindow is how long after its creation a user that never had a
// credential may be given its first one by anyone (sign-up, A2). The two
// calls of a sign-up follow each other at once; the window only bounds how
// long an abandoned account stays claimable.
const signupWindow = 10 * time.Minute

// sessionOrAnonymous refuses a PAT or a share on an optional-token route:
// the identity routes take a user's session (or none), never a PAT, which
// holds its scopes and no more (DESIGN §4).
func sessionOrAnonymous(c caller) error {
	if c.admin || c.anonymous() || c.Kind == identity.KindSession {
		return nil
	}
	return errSessionOnly
}

// signupOrAdmin is createUser's policy: anyone while sign-up is open, a
// platform admin always.
var signupOrAdmin = policy{
	who:      "anyone, no token needed, while sign-up is open (`--signup`, the default); otherwise platform admin",
	optional: true,
	allow: func(s *Server, q *request) error {
		if err := sessionOrAnonymous(q.caller); err != nil {
			return err
		}
		if q.caller.admin || s.signup {
			return nil
		}
		return identity.ErrSignupClosed
	},
}

// credentialCreator is createCredential's policy. Allowed: a platform
// admin; the user of the body's usr_id (a session: adding a credential to
// oneself); and, while sign-up is open, anyone for a brand-new user (the
// second step of sign-up, A2). Anyone else is told the user does not
// exist, so ids cannot be probed.
var credentialCreator = policy{
	who: "platform admin; the user themselves (a session of `usr_id`); while sign-up is open, anyone, no token needed, " +
		"for a brand-new user (created under 10 minutes ago, never had a credential, not an admin, in no organization)",
	optional: true,
	allow: func(s *Server, q *request) error {
		if err := sessionOrAnonymous(q.caller); err != nil {
			return err
		}
		if q.caller.admin {
			return nil
		}
		in, err := decodeNewCredential(q)
		if err != nil {
			return err
		}
		if q.caller.Kind == identity.KindSession && q.caller.UserID == in.UserID {
			return nil
		}
		if s.signup {
			ok, err := s.brandNewUser(q, in.UserID)
			if err != nil || ok {
				return err
			}
		}
		return identity.ErrUserNotFound
	},
}

// brandNewUser reports whether anyone may give the user its first
// credential: it exists, was created less than signupWindow ago, is not an
// admin, never had a credential of any status, and holds no organization
// membership or tuple. The last two matter because an invitation accepted without an
// account mints a user (tenancy): its id is visible to the org's members,
// who must not be able to claim it. A missing user is false, not an error.
func (s *Server) brandNewUser(q *request, id tuples.UUID) (bool, error) {
	ctx := q.Context()
	u, err := s.ids.GetUser(ctx, id)
	switch {
	case tuples.KindOf(err) == tuples.NotFound:
		return false, nil
	case err != nil:
		return false, err
	case u.Admin || s.now().Sub(u.CreatedAt) >= signupWindow:
		return false, nil
	}
	had, err := s.ids.HadCredential(ctx, id)
	if err != nil || had {
		return false, err
	}
	orgs, err := s.orgs.ListOrgsOf(ctx, id, "", 1)
	if err != nil || len(orgs.Items) > 0 {
		return false, err
	}
	// Nor a user someone has granted anything (an admin provisioning a
	// user and its grants): its id is in tuples others may list.
	grants, err := s.tuples.ListBySubject(ctx, tuples.Ref{Type: "usr", ID: id}, "", 1)
	return err == nil && len(grants.Tuples) == 0, err
}

// credentialOwnerOrAdmin: the credential's user (a session), or a platform
// admin; anyone else is told it does not exist.
var credentialOwnerOrAdmin = withWho(ownerOrAdmin(identity.ErrCredentialNotFound, func(s *Server, q *request) (tuples.UUID, error) {
	id, err := pathID(q, "cred_id", "cred")
	if err != nil {
		return tuples.UUID{}, err
	}
	c, err := s.ids.GetCredential(q.Context(), id)
	return c.UserID, err
}), "the credential's user (a session), or platform admin")

// sessionOwnerOrAdmin: the session's user (any live session of theirs),
// or a platform admin; anyone else is told it does not exist.
var sessionOwnerOrAdmin = withWho(ownerOrAdmin(identity.ErrSessionNotFound, func(s *Server, q *request) (tuples.UUID, error) {
	id, err := pathID(q, "ses_id", "ses")
	if err != nil {
		return tuples.UUID{}, err
	}
	ses, err := s.ids.GetSession(q.Context(), id)
	return ses.UserID, err
}), "the session's user (a session), or platform admin")

// sessionMinter is createSession's policy: anyone with a verification
// ticket (the handler checks it: A1); a platform admin may mint without
// one (DESIGN §4). A token, when sent, is authenticated, to know an admin.
var sessionMinter = policy{
	who:      "anyone with a `verification_ticket` from `verifyCredential`, no token needed; without a ticket, platform admin",
	optional: true,
	allow:    func(_ *Server, q *request) error { return sessionOrAnonymous(q.caller) },
}

func withWho(p policy, who string) policy {
	p.who = who
	return p
}

// ----- views

// userView is the spec's User.
type userView struct {
	ID          string    `json:"id"`
	Status      string    `json:"status"`
	DisplayName *string   `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func viewUser(u identity.User) userView {
	return userView{ID: tuples.FormatID("usr", u.ID), Status: string(u.Status), DisplayName: u.DisplayName,
		CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
}

// credentialView is the spec's Credential: no password hash, no public
// key, no signature counter (CRED-8).
type credentialView struct {
	ID          string    `json:"id"`
	UserID      string    `json:"usr_id"`
	Type        string    `json:"type"`
	Identifier  string    `json:"identifier"`
	Status      string    `json:"status"`
	Replaces    *string   `json:"replaces"`
	PasskeyRPID *string   `json:"passkey_rp_id"`
	OIDCIssuer  *string   `json:"oidc_issuer"`
	OIDCSubject *string   `json:"oidc_subject"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func viewCredential(c identity.Credential) credentialView {
	v := credentialView{ID: tuples.FormatID("cred", c.ID), UserID: tuples.FormatID("usr", c.UserID), Type: string(c.Type),
		Identifier: c.Identifier, Status: string(c.Status), CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
	if !c.Replaces.IsZero() {
		r := tuples.FormatID("cred", c.Replaces)
		v.Replaces = &r
	}
	switch c.Type {
	case identity.Passkey:
		v.PasskeyRPID = &c.PasskeyRPID
	case identity.OIDC:
		v.OIDCIssuer, v.OIDCSubject = &c.OIDCIssuer, &c.OIDCSubject
	}
	return v
}

// sessionView is the spec's Session. The token is never part of it.
type sessionView struct {
	ID        string     `json:"id"`
	UserID    string     `json:"usr_id"`
	CredID    string     `json:"cred_id"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

func viewSession(s identity.Session) sessionView {
	v := sessionView{ID: tuples.FormatID("ses", s.ID), UserID: tuples.FormatID("usr", s.UserID),
		CredID: tuples.FormatID("cred", s.CredentialID), CreatedAt: s.CreatedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC()}
	if s.RevokedAt != nil {
		r := s.RevokedAt.UTC()
		v.RevokedAt = &r
	}
	return v
}

// sessionTokenView is the spec's CreateSessionResponse: the token is
// returned here, once.
type sessionTokenView struct {
	Session sessionView `json:"session"`
	Token   string      `json:"token"`
}

// verificationView is verifyCredential's answer: the spec's
// VerifyCredentialResponse plus mfa_required (A8) and the ticket a session
// is minted from (A1, DESIGN §7).
type verificationView struct {
	UserID             string    `json:"usr_id"`
	CredID             string    `json:"cred_id"`
	MFARequired        bool      `json:"mfa_required"`
	VerificationTicket string    `json:"verification_ticket"`
	TicketExpiresAt    time.Time `json:"verification_ticket_expires_at"`
}

// signInChallengeView is createSignInChallenge's answer. The challenge's
// id has no registered prefix: it is the hyphenated UUID.
type signInChallengeView struct {
	ChallengeID   string    `json:"challenge_id"`
	ChallengeB64u string    `json:"challenge_b64u"`
	ExpiresAt     time.Time `json:"expires_at"`
}

// ----- body fields

// invalidField is a 400 naming the body field at fault.
func invalidField(name, format string, args ...any) *tuples.Error {
	return tuples.Errorf(tuples.Invalid, "invalid_format."+name, format, args...)
}

// identityBodyID parses a body field holding an id of type typ; a bad
// one is invalid_format.<field>.
func identityBodyID(name, typ, s string) (tuples.UUID, error) {
	u, err := tuples.DecodeIDOf(typ, s)
	if err != nil {
		return tuples.UUID{}, invalidField(name, "%s must be a %s id (%s_<32 hex>)", name, typ, typ)
	}
	return u, nil
}

// credentialType reads a credential type field.
func credentialType(s string) (identity.CredentialType, error) {
	switch t := identity.CredentialType(s); t {
	case identity.Password, identity.Passkey, identity.OIDC:
		return t, nil
	}
	return "", invalidField("type", "type must be password, passkey or oidc")
}

// notOf refuses fields that another credential type takes (the spec's
// request schemas are a oneOf on type, each closed).
func notOf(typ identity.CredentialType, fields ...namedField) error {
	for _, f := range fields {
		if !f.missing {
			return invalidField(f.name, "%s is not a field of a %s credential", f.name, typ)
		}
	}
	return nil
}

// decodeStdBase64 reads a base64 (standard alphabet, padded or not)
// field.
func decodeStdBase64(name, s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		if b, err = base64.RawStdEncoding.Strict().DecodeString(s); err != nil {
			return nil, invalidField(name, "%s must be base64", name)
		}
	}
	return b, nil
}

// signCount reads a passkey's signature counter (0 ≤ n < 2³²).
func signCount(n int64) (uint32, error) {
	if n < 0 || n > math.MaxUint32 {
		return 0, invalidField("sign_count", "sign_count must be an integer from 0 to %d", uint32(math.MaxUint32))
	}
	return uint32(n), nil
}

// ----- users

// userBody is createUser's and updateUser's request.
type userBody struct {
	DisplayName nullable[string] `json:"display_name"`
}

func (s *Server) createUser(q *request) (int, any, error) {
	var b userBody
	if err := q.decode(&b, true); err != nil {
		return 0, nil, err
	}
	u, err := s.ids.CreateUser(q.Context(), b.DisplayName.value)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, viewUser(u), nil
}

func (s *Server) listUsers(q *request) (int, any, error) {
	cursor, limit, err := pageArgs(q)
	if err != nil {
		return 0, nil, err
	}
	v := q.URL.Query()
	status, err := statusQuery(q, identity.Active, identity.Suspended, identity.Revoked)
	if err != nil {
		return 0, nil, err
	}
	p, err := s.ids.ListUsers(q.Context(), status, v.Get("query"), cursor, limit)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewPage(p.Items, p.Next, viewUser), nil
}

func (s *Server) getUser(q *request) (int, any, error) {
	return fetch(q, "usr_id", "usr", s.ids.GetUser, viewUser)
}

// updateUser applies a partial update (ADR 0014): an absent display_name
// is left as it is, null clears it; {} answers the current row.
func (s *Server) updateUser(q *request) (int, any, error) {
	id, err := pathID(q, "usr_id", "usr")
	if err != nil {
		return 0, nil, err
	}
	var b userBody
	if err := q.decode(&b, false); err != nil {
		return 0, nil, err
	}
	u, err := s.ids.UpdateUser(q.Context(), id, identity.UserPatch{DisplayName: b.DisplayName.patch()})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewUser(u), nil
}

func (s *Server) suspendUser(q *request) (int, any, error) {
	return transition(q, "usr_id", "usr", s.ids.SuspendUser, viewUser)
}

func (s *Server) reinstateUser(q *request) (int, any, error) {
	return transition(q, "usr_id", "usr", s.ids.ReinstateUser, viewUser)
}

func (s *Server) revokeUser(q *request) (int, any, error) {
	return transition(q, "usr_id", "usr", s.ids.RevokeUser, viewUser)
}

func (s *Server) listUserSessions(q *request) (int, any, error) {
	id, err := pathID(q, "usr_id", "usr")
	if err != nil {
		return 0, nil, err
	}
	cursor, limit, err := pageArgs(q)
	if err != nil {
		return 0, nil, err
	}
	p, err := s.ids.ListSessions(q.Context(), id, cursor, limit)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewPage(p.Items, p.Next, viewSession), nil
}

// ----- credentials

// credentialSecretBody is the part of a credential request that depends
// on the type: createCredential's (the spec's oneOf of three closed
// schemas) and rotateCredential's. Exactly the fields of the type are
// taken; another type's field is invalid_format.<field>.
type credentialSecretBody struct {
	Password *string `json:"password"`

	PublicKey *string `json:"public_key"`
	SignCount *int64  `json:"sign_count"`
	RPID      *string `json:"rp_id"`

	OIDCIssuer  *string `json:"oidc_issuer"`
	OIDCSubject *string `json:"oidc_subject"`
}

// fill checks the fields against the type and sets them on in.
func (b credentialSecretBody) fill(typ identity.CredentialType, in *identity.NewCredential) error {
	byType := []struct {
		typ    identity.CredentialType
		fields []namedField
	}{
		{identity.Password, []namedField{field("password", b.Password)}},
		{identity.Passkey, []namedField{field("public_key", b.PublicKey), field("sign_count", b.SignCount), field("rp_id", b.RPID)}},
		{identity.OIDC, []namedField{field("oidc_issuer", b.OIDCIssuer), field("oidc_subject", b.OIDCSubject)}},
	}
	for _, t := range byType {
		if t.typ == typ {
			if err := required(t.fields...); err != nil {
				return err
			}
		}
	}
	for _, t := range byType {
		if t.typ != typ {
			if err := notOf(typ, t.fields...); err != nil {
				return err
			}
		}
	}
	var err error
	switch typ {
	case identity.Password:
		in.Password = *b.Password
	case identity.Passkey:
		if in.PublicKey, err = decodeStdBase64("public_key", *b.PublicKey); err != nil {
			return err
		}
		if in.SignCount, err = signCount(*b.SignCount); err != nil {
			return err
		}
		in.RPID = *b.RPID
	case identity.OIDC:
		in.OIDCIssuer, in.OIDCSubject = *b.OIDCIssuer, *b.OIDCSubject
	}
	return nil
}

// newCredentialBody is createCredential's request. (Not embedding
// credentialSecretBody: encoding/json would name its fields
// credentialSecretBody.<field> in errors.)
type newCredentialBody struct {
	UserID     *string `json:"usr_id"`
	Type       *string `json:"type"`
	Identifier *string `json:"identifier"`

	Password    *string `json:"password"`
	PublicKey   *string `json:"public_key"`
	SignCount   *int64  `json:"sign_count"`
	RPID        *string `json:"rp_id"`
	OIDCIssuer  *string `json:"oidc_issuer"`
	OIDCSubject *string `json:"oidc_subject"`
}

// decodeNewCredential reads and checks createCredential's body: common
// fields, then exactly the fields of its type.
func decodeNewCredential(q *request) (identity.NewCredential, error) {
	var b newCredentialBody
	if err := q.decode(&b, false); err != nil {
		return identity.NewCredential{}, err
	}
	if err := required(field("usr_id", b.UserID), field("type", b.Type), field("identifier", b.Identifier)); err != nil {
		return identity.NewCredential{}, err
	}
	user, err := identityBodyID("usr_id", "usr", *b.UserID)
	if err != nil {
		return identity.NewCredential{}, err
	}
	typ, err := credentialType(*b.Type)
	if err != nil {
		return identity.NewCredential{}, err
	}
	in := identity.NewCredential{UserID: user, Type: typ, Identifier: *b.Identifier}
	secret := credentialSecretBody{Password: b.Password, PublicKey: b.PublicKey, SignCount: b.SignCount, RPID: b.RPID,
		OIDCIssuer: b.OIDCIssuer, OIDCSubject: b.OIDCSubject}
	return in, secret.fill(typ, &in)
}

func (s *Server) createCredential(q *request) (int, any, error) {
	in, err := decodeNewCredential(q)
	if err != nil {
		return 0, nil, err
	}
	// Admitted as sign-up (neither an admin nor the user's own session):
	// the store decides "first" again, atomically with the write.
	in.FirstOnly = !q.caller.admin && !(q.caller.Kind == identity.KindSession && q.caller.UserID == in.UserID)
	c, err := s.ids.CreateCredential(q.Context(), in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, viewCredential(c), nil
}

// verifyBody is verifyCredential's request. The proof's shape depends on
// the type, so it is decoded once the type is known.
type verifyBody struct {
	Type       *string         `json:"type"`
	Identifier *string         `json:"identifier"`
	Proof      json.RawMessage `json:"proof"`
}

// passwordProof, passkeyProof and oidcProof are the proofs each type
// takes (identity.VerifyInput). A passkey's assertion uses verifyMfa's
// field names (v0.2 WebAuthnAssertion); the credential is named by the
// identifier, so credential_id_b64u may be left out, and if sent must
// equal it.
type passwordProof struct {
	Password *string `json:"password"`
}

type passkeyProof struct {
	ChallengeID *string           `json:"challenge_id"`
	Assertion   *passkeyAssertion `json:"assertion"`
}

type passkeyAssertion struct {
	ClientDataJSON    *string `json:"client_data_json_b64u"`
	AuthenticatorData *string `json:"authenticator_data_b64u"`
	Signature         *string `json:"signature_b64u"`
	CredentialID      *string `json:"credential_id_b64u"`
	UserHandle        *string `json:"user_handle_b64u"`
}

type oidcProof struct {
	ChallengeID *string `json:"challenge_id"`
	IDToken     *string `json:"id_token"`
}

// proofError words a problem with the proof as invalid_format.proof.
func proofError(err error) error {
	msg := err.Error()
	var te *tuples.Error
	if errors.As(err, &te) {
		msg = te.Msg
	}
	return invalidField("proof", "proof: %s", msg)
}

// challengeID reads a sign-in challenge's id (a UUID).
func challengeID(s string) (tuples.UUID, error) {
	u, err := uuid.Parse(s)
	if err != nil || u == uuid.Nil || len(s) > 45 {
		return tuples.UUID{}, invalidField("proof", "proof: challenge_id must be the challenge_id of POST /v1/credentials/challenge")
	}
	return tuples.UUID(u), nil
}

// b64u reads an unpadded base64url field of a passkey assertion.
func b64u(name string, s *string) ([]byte, error) {
	if s == nil {
		return nil, invalidField("proof", "proof: assertion.%s is required", name)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(*s)
	if err != nil {
		return nil, invalidField("proof", "proof: assertion.%s must be unpadded base64url", name)
	}
	return b, nil
}

// decodeVerify reads verifyCredential's body into the service's input.
func (s *Server) decodeVerify(q *request) (identity.VerifyInput, error) {
	var b verifyBody
	if err := q.decode(&b, false); err != nil {
		return identity.VerifyInput{}, err
	}
	if err := required(field("type", b.Type), field("identifier", b.Identifier)); err != nil {
		return identity.VerifyInput{}, err
	}
	if len(b.Proof) == 0 || string(b.Proof) == "null" {
		return identity.VerifyInput{}, invalidField("proof", "proof is required")
	}
	typ, err := credentialType(*b.Type)
	if err != nil {
		return identity.VerifyInput{}, err
	}
	in := identity.VerifyInput{Type: typ, Identifier: *b.Identifier, Address: clientAddress(q.Request)}
	switch typ {
	case identity.Password:
		var p passwordProof
		if err := decodeJSON(b.Proof, &p, false); err != nil {
			return in, proofError(err)
		}
		if p.Password == nil {
			return in, invalidField("proof", "proof: password is required")
		}
		in.Password = *p.Password
	case identity.Passkey:
		var p passkeyProof
		if err := decodeJSON(b.Proof, &p, false); err != nil {
			return in, proofError(err)
		}
		if p.ChallengeID == nil || p.Assertion == nil {
			return in, invalidField("proof", "proof: challenge_id and assertion are required")
		}
		if in.ChallengeID, err = challengeID(*p.ChallengeID); err != nil {
			return in, err
		}
		a := p.Assertion
		if a.CredentialID != nil && *a.CredentialID != in.Identifier {
			return in, invalidField("proof", "proof: assertion.credential_id_b64u must equal identifier")
		}
		var as webauthn.Assertion
		if as.ClientDataJSON, err = b64u("client_data_json_b64u", a.ClientDataJSON); err != nil {
			return in, err
		}
		if as.AuthenticatorData, err = b64u("authenticator_data_b64u", a.AuthenticatorData); err != nil {
			return in, err
		}
		if as.Signature, err = b64u("signature_b64u", a.Signature); err != nil {
			return in, err
		}
		in.Assertion, in.Origin = as, s.origin
	case identity.OIDC:
		var p oidcProof
		if err := decodeJSON(b.Proof, &p, false); err != nil {
			return in, proofError(err)
		}
		if p.ChallengeID == nil || p.IDToken == nil {
			return in, invalidField("proof", "proof: challenge_id and id_token are required")
		}
		if in.ChallengeID, err = challengeID(*p.ChallengeID); err != nil {
			return in, err
		}
		in.IDToken = *p.IDToken
	}
	return in, nil
}

// verifyCredential checks a proof and answers a verification ticket.
// Every failure of the proof is the same 401; a throttled caller gets 429
// with Retry-After.
func (s *Server) verifyCredential(q *request) (int, any, error) {
	in, err := s.decodeVerify(q)
	if err != nil {
		return 0, nil, err
	}
	v, err := s.ids.VerifyCredential(q.Context(), in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, verificationView{UserID: tuples.FormatID("usr", v.UserID), CredID: tuples.FormatID("cred", v.CredentialID),
		MFARequired: v.MFARequired, VerificationTicket: v.Ticket, TicketExpiresAt: v.ExpiresAt.UTC()}, nil
}

// challengeBody is createSignInChallenge's optional request.
type challengeBody struct {
	RPID *string `json:"rp_id"`
}

func (s *Server) createSignInChallenge(q *request) (int, any, error) {
	var b challengeBody
	if err := q.decode(&b, true); err != nil {
		return 0, nil, err
	}
	rp := ""
	if b.RPID != nil {
		rp = *b.RPID
	}
	c, err := s.ids.NewSignInChallenge(q.Context(), rp)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, signInChallengeView{ChallengeID: c.ID.String(),
		ChallengeB64u: base64.RawURLEncoding.EncodeToString(c.Bytes), ExpiresAt: c.ExpiresAt.UTC()}, nil
}

func (s *Server) getCredential(q *request) (int, any, error) {
	return fetch(q, "cred_id", "cred", s.ids.GetCredential, viewCredential)
}

// rotateCredential replaces a credential by revoke-and-re-add (CRED-5):
// the new secret comes in the fields of the credential's type
// (RotateCredentialRequest).
func (s *Server) rotateCredential(q *request) (int, any, error) {
	id, err := pathID(q, "cred_id", "cred")
	if err != nil {
		return 0, nil, err
	}
	var b credentialSecretBody
	if err := q.decode(&b, false); err != nil {
		return 0, nil, err
	}
	old, err := s.ids.GetCredential(q.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	var in identity.NewCredential
	if err := b.fill(old.Type, &in); err != nil {
		return 0, nil, err
	}
	c, err := s.ids.RotateCredential(q.Context(), id, in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewCredential(c), nil
}

func (s *Server) suspendCredential(q *request) (int, any, error) {
	return transition(q, "cred_id", "cred", s.ids.SuspendCredential, viewCredential)
}

func (s *Server) reinstateCredential(q *request) (int, any, error) {
	return transition(q, "cred_id", "cred", s.ids.ReinstateCredential, viewCredential)
}

func (s *Server) revokeCredential(q *request) (int, any, error) {
	return transition(q, "cred_id", "cred", s.ids.RevokeCredential, viewCredential)
}

// ----- sessions

// sessionBody is createSession's request: the spec's CreateSessionRequest
// plus the verification ticket (A1, DESIGN §7).
type sessionBody struct {
	UserID             *string `json:"usr_id"`
	CredID             *string `json:"cred_id"`
	TTLSeconds         *int64  `json:"ttl_seconds"`
	VerificationTicket *string `json:"verification_ticket"`
}

// maxTTLSeconds bounds ttl_seconds before it becomes a time.Duration (the
// service caps a session's life far below it).
const maxTTLSeconds = 100 * 365 * 24 * 3600

// errTicketRequired: a session is never minted from two ids alone (A1).
var errTicketRequired = identity.ErrInvalidTicket.With("a verification_ticket from POST /v1/credentials/verify is required")

// createSession mints a session from a verification ticket, or, for a
// platform admin, without one.
func (s *Server) createSession(q *request) (int, any, error) {
	var b sessionBody
	if err := q.decode(&b, false); err != nil {
		return 0, nil, err
	}
	if err := required(field("usr_id", b.UserID), field("cred_id", b.CredID), field("ttl_seconds", b.TTLSeconds)); err != nil {
		return 0, nil, err
	}
	user, err := identityBodyID("usr_id", "usr", *b.UserID)
	if err != nil {
		return 0, nil, err
	}
	cred, err := identityBodyID("cred_id", "cred", *b.CredID)
	if err != nil {
		return 0, nil, err
	}
	ttl := time.Duration(min(max(*b.TTLSeconds, -1), maxTTLSeconds)) * time.Second
	var ses identity.Session
	var token string
	switch {
	case b.VerificationTicket != nil:
		ses, token, err = s.ids.CreateSession(q.Context(), identity.Verification{UserID: user, CredentialID: cred,
			Ticket: *b.VerificationTicket}, ttl)
	case q.caller.admin:
		ses, token, err = s.ids.CreateSessionFor(q.Context(), user, cred, ttl)
	default:
		if ttl < identity.MinSessionTTL {
			return 0, nil, identity.ErrInvalidTTL
		}
		return 0, nil, errTicketRequired
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, sessionTokenView{Session: viewSession(ses), Token: token}, nil
}

func (s *Server) getSession(q *request) (int, any, error) {
	return fetch(q, "ses_id", "ses", s.ids.GetSession, viewSession)
}

// refreshSession rotates a session (SES-4): a new id and token, the old
// session revoked at once. 201, as the spec says.
func (s *Server) refreshSession(q *request) (int, any, error) {
	id, err := pathID(q, "ses_id", "ses")
	if err != nil {
		return 0, nil, err
	}
	if err := q.noBody(); err != nil {
		return 0, nil, err
	}
	ses, token, err := s.ids.RefreshSession(q.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, sessionTokenView{Session: viewSession(ses), Token: token}, nil
}

// revokeSession ends a session; revoking an ended one returns it as it is
// (A51).
func (s *Server) revokeSession(q *request) (int, any, error) {
	return transition(q, "ses_id", "ses", s.ids.RevokeSession, viewSession)
}
