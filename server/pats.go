package server

import (
	"net/http"
	"slices"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
)

// patRoutes are the personal access token operations (ADR 0016). PAT-8:
// every one is gated to the token's owner or a platform admin; a PAT
// cannot manage PATs (ownerOrAdmin takes sessions only).
var patRoutes = []route{
	{method: "POST", path: "/users/{usr_id}/pats", op: "createPat", allow: mfaStepUpPolicy(withWho(selfOrAdmin("usr_id"),
		"the user themselves (a session), or platform admin; the scopes `tuples:write`, `tuples:read`, `check` and `shares:read` only a platform admin may grant")), serve: (*Server).createPat},
	{method: "GET", path: "/users/{usr_id}/pats", op: "listPatsForUser", allow: selfOrAdmin("usr_id"), serve: (*Server).listPats},
	{method: "GET", path: "/pats/{pat_id}", op: "getPat", allow: patOwnerOrAdmin, serve: (*Server).getPat},
	{method: "POST", path: "/pats/{pat_id}/revoke", op: "revokePat", allow: patOwnerOrAdmin, serve: (*Server).revokePat},
}

// privilegedScopes reach beyond what their user may see or do: writing
// any tuple, reading any subject's or object's tuples, checking for anyone,
// listing anyone's shares. They are for backends, granted by a platform
// admin; a user's own PATs take the other scopes (orgs:*, shares:write),
// which act with the user's own rights.
var privilegedScopes = []string{scopeWrite, scopeRead, scopeCheck, scopeSharesRead}

var errPrivilegedScope = &tuples.Error{Kind: tuples.Forbidden, Code: "forbidden.scope", Msg: "a scope only a platform admin may grant"}

// patOwnerOrAdmin: the PAT's user (a session) or a platform admin; anyone
// else is told the PAT does not exist.
var patOwnerOrAdmin = ownerOrAdmin(identity.ErrPATNotFound, func(s *Server, q *request) (tuples.UUID, error) {
	id, err := pathID(q, "pat_id", "pat")
	if err != nil {
		return tuples.UUID{}, err
	}
	p, err := s.ids.GetPAT(q.Context(), id)
	return p.UserID, err
})

// patView is the spec's PersonalAccessToken: never the secret's hash.
// status is evaluated at the time of the answer, on the API's clock.
type patView struct {
	ID         string             `json:"id"`
	UsrID      string             `json:"usr_id"`
	Name       string             `json:"name"`
	Scope      []string           `json:"scope"`
	Status     identity.PATStatus `json:"status"`
	ExpiresAt  *time.Time         `json:"expires_at"`
	LastUsedAt *time.Time         `json:"last_used_at"`
	RevokedAt  *time.Time         `json:"revoked_at"`
	CreatedAt  time.Time          `json:"created_at"`
	UpdatedAt  time.Time          `json:"updated_at"`
}

func (s *Server) viewPat(p identity.PAT) patView {
	scope := p.Scope
	if scope == nil {
		scope = []string{}
	}
	return patView{ID: tuples.FormatID("pat", p.ID), UsrID: tuples.FormatID("usr", p.UserID), Name: p.Name, Scope: scope,
		Status: p.StatusAt(s.now()), ExpiresAt: utcPtr(p.ExpiresAt), LastUsedAt: utcPtr(p.LastUsedAt), RevokedAt: utcPtr(p.RevokedAt),
		CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
}

type patBody struct {
	Name      *string          `json:"name"`
	Scope     *[]string        `json:"scope"`
	ExpiresAt nullable[string] `json:"expires_at"`
}

type patCreated struct {
	PAT   patView `json:"pat"`
	Token string  `json:"token"`
}

func (s *Server) createPat(q *request) (int, any, error) {
	user, err := pathID(q, "usr_id", "usr")
	if err != nil {
		return 0, nil, err
	}
	var b patBody
	if err := q.decode(&b, false); err != nil {
		return 0, nil, err
	}
	if err := required(field("name", b.Name), field("scope", b.Scope)); err != nil {
		return 0, nil, err
	}
	if !q.caller.admin {
		for _, sc := range *b.Scope {
			if slices.Contains(privilegedScopes, sc) {
				return 0, nil, errPrivilegedScope.With("only a platform admin may grant the scope %s", tuples.Truncate(sc))
			}
		}
	}
	in := identity.NewPAT{UserID: user, Name: *b.Name, Scope: *b.Scope}
	if b.ExpiresAt.value != nil {
		at, err := parseTime("expires_at", *b.ExpiresAt.value)
		if err != nil {
			return 0, nil, err
		}
		in.ExpiresAt = &at
	}
	p, token, err := s.ids.CreatePAT(q.Context(), in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, patCreated{PAT: s.viewPat(p), Token: token}, nil
}

func (s *Server) listPats(q *request) (int, any, error) {
	return listOf(q, "usr_id", "usr", []identity.PATStatus{identity.PATActive, identity.PATExpired, identity.PATRevoked}, s.ids.ListPATs, s.viewPat)
}

func (s *Server) getPat(q *request) (int, any, error) {
	return fetch(q, "pat_id", "pat", s.ids.GetPAT, s.viewPat)
}

func (s *Server) revokePat(q *request) (int, any, error) {
	return transition(q, "pat_id", "pat", s.ids.RevokePAT, s.viewPat)
}
