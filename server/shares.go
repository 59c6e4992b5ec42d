package server

import (
	"net/http"
	"slices"
	"time"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
)

// shareRoutes are the share-token extension (ADR 0012's sketch: the spec
// defers the HTTP shape). A share grants whoever holds its token one
// relation on one object, read-only, and never makes them a user (SHR-5):
// a share bearer is accepted by verifyShare alone.
var shareRoutes = []route{
	{method: "POST", path: "/shares", op: "createShare", extension: true, allow: shareCreatePolicy, serve: (*Server).createShare},
	{method: "GET", path: "/shares", op: "listShares", extension: true, allow: scoped(scopeSharesRead), serve: (*Server).listShares},
	{method: "POST", path: "/shares/verify", op: "verifyShare", extension: true, allow: shareVerifyPolicy, serve: (*Server).verifyShare},
	{method: "GET", path: "/shares/{shr_id}", op: "getShare", extension: true, allow: shareCreatorOrAdmin(scopeSharesRead, scopeSharesWrite), serve: (*Server).getShare},
	{method: "POST", path: "/shares/{shr_id}/revoke", op: "revokeShare", extension: true, allow: shareCreatorOrAdmin(scopeSharesWrite), serve: (*Server).revokeShare},
}

// PAT scopes of the share routes.
const (
	scopeSharesWrite = "shares:write"
	scopeSharesRead  = "shares:read"
)

// errShareNoUser: a share records the user who made it (created_by), and
// the service key is no user.
var errShareNoUser = &tuples.Error{Kind: tuples.Forbidden, Code: "forbidden",
	Msg: "a share is made by a user: use a user's session or PAT, not the service key"}

// shareView is a share as identity.Share has it (ADR 0012's entity),
// object ids hyphenated as in tuples; never the token or its hash.
type shareView struct {
	ID         string     `json:"id"`
	ObjectType string     `json:"object_type"`
	ObjectID   string     `json:"object_id"`
	Relation   string     `json:"relation"`
	CreatedBy  string     `json:"created_by"`
	ExpiresAt  time.Time  `json:"expires_at"`
	SingleUse  bool       `json:"single_use"`
	ConsumedAt *time.Time `json:"consumed_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

func viewShare(sh identity.Share) shareView {
	return shareView{ID: tuples.FormatID("shr", sh.ID), ObjectType: sh.Object.Type, ObjectID: sh.Object.ID.String(),
		Relation: sh.Relation, CreatedBy: tuples.FormatID("usr", sh.CreatedBy), ExpiresAt: sh.ExpiresAt.UTC(),
		SingleUse: sh.SingleUse, ConsumedAt: utcPtr(sh.ConsumedAt), RevokedAt: utcPtr(sh.RevokedAt), CreatedAt: sh.CreatedAt.UTC()}
}

// shareBody is createShare's request.
type shareBody struct {
	ObjectType       *string `json:"object_type"`
	ObjectID         *string `json:"object_id"`
	Relation         *string `json:"relation"`
	ExpiresInSeconds *int64  `json:"expires_in_seconds"`
	SingleUse        *bool   `json:"single_use"`
}

// parse validates the body: the object, the relation, the lifetime.
func (b shareBody) parse() (tuples.Ref, string, time.Duration, error) {
	if err := required(field("object_type", b.ObjectType), field("object_id", b.ObjectID), field("relation", b.Relation),
		field("expires_in_seconds", b.ExpiresInSeconds)); err != nil {
		return tuples.Ref{}, "", 0, err
	}
	obj, err := tuples.ParseObject(*b.ObjectType, *b.ObjectID)
	if err != nil {
		return tuples.Ref{}, "", 0, err
	}
	if err := tuples.CheckRelation(*b.Relation); err != nil {
		return tuples.Ref{}, "", 0, err
	}
	secs := *b.ExpiresInSeconds
	if secs < 1 || secs > int64(identity.MaxShareLifetime/time.Second) {
		return tuples.Ref{}, "", 0, identity.ErrShareLifetime
	}
	return obj, *b.Relation, time.Duration(secs) * time.Second, nil
}

// shareCreatePolicy: a platform admin (a user: the service key cannot
// make shares), or a user who holds the relation on the object — through
// a session, or a PAT with scope shares:write. A user can share only what
// they have.
var shareCreatePolicy = policy{
	who: "platform admin (a user's session, not the service key), or a user holding the relation on the object: " +
		"their session, or their PAT with scope `" + scopeSharesWrite + "`",
	allow: func(s *Server, q *request) error {
		switch {
		case q.caller.service:
			return errShareNoUser
		case q.caller.admin:
			return nil
		case q.caller.Kind == identity.KindSession, q.caller.scoped(scopeSharesWrite):
		default:
			return errForbidden.With("sharing takes a user's session, or a PAT with scope %s", scopeSharesWrite)
		}
		var b shareBody
		if err := q.decode(&b, false); err != nil {
			return err
		}
		obj, rel, _, err := b.parse()
		if err != nil {
			return err
		}
		rev, err := s.atLeast(q) // a grant just written elsewhere: the client's consistency token
		if err != nil {
			return err
		}
		res, err := s.engine.Check(q.Context(), check.Request{Subject: tuples.Ref{Type: "usr", ID: q.caller.UserID}, Relation: rel,
			Object: obj, AtLeast: rev})
		if err != nil {
			return err
		}
		if !res.Allowed {
			return errForbidden.With("you may share only a relation you hold on the object")
		}
		return nil
	},
}

// shareCreatorOrAdmin: the share's creator — a session, or a PAT holding
// one of scopes — or a platform admin. Anyone else is told the share does
// not exist; the creator's PAT without the scope is refused (403).
func shareCreatorOrAdmin(scopes ...string) policy {
	who := "the share's creator (a session, or their PAT with scope `" + scopes[0] + "`"
	for _, sc := range scopes[1:] {
		who += " or `" + sc + "`"
	}
	return policy{who: who + "), or platform admin", allow: func(s *Server, q *request) error {
		if q.caller.admin {
			return nil
		}
		user, ok := q.caller.user()
		if !ok {
			return errForbidden.With("this takes the share's creator or a platform admin")
		}
		id, err := pathID(q, "shr_id", "shr")
		if err != nil {
			return err
		}
		sh, err := s.ids.GetShare(q.Context(), id)
		if err != nil {
			return err
		}
		if sh.CreatedBy != user {
			return identity.ErrShareNotFound
		}
		if q.caller.Kind == identity.KindPAT && !slices.ContainsFunc(scopes, q.caller.scoped) {
			return errForbidden.With("this needs a PAT with scope %s", scopes[0])
		}
		return nil
	}}
}

// shareVerifyPolicy: anyone. The share token comes in the body, or as the
// bearer itself (the one route a share bearer is accepted on).
var shareVerifyPolicy = policy{
	who:      "anyone, no token (the share token in the body), or the share token as the bearer",
	optional: true,
	allow:    func(*Server, *request) error { return nil },
}

type shareCreated struct {
	Share shareView `json:"share"`
	Token string    `json:"token"`
}

func (s *Server) createShare(q *request) (int, any, error) {
	var b shareBody
	if err := q.decode(&b, false); err != nil {
		return 0, nil, err
	}
	obj, rel, ttl, err := b.parse()
	if err != nil {
		return 0, nil, err
	}
	user, ok := q.caller.user()
	if !ok {
		return 0, nil, errShareNoUser
	}
	in := identity.NewShare{Object: obj, Relation: rel, CreatedBy: user, ExpiresIn: ttl, SingleUse: b.SingleUse != nil && *b.SingleUse}
	sh, token, err := s.ids.CreateShare(q.Context(), in)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, shareCreated{Share: viewShare(sh), Token: token}, nil
}

func (s *Server) getShare(q *request) (int, any, error) {
	return fetch(q, "shr_id", "shr", s.ids.GetShare, viewShare)
}

func (s *Server) listShares(q *request) (int, any, error) {
	v := q.URL.Query()
	obj, err := tuples.ParseObject(v.Get("object_type"), v.Get("object_id"))
	if err != nil {
		return 0, nil, err
	}
	cursor, limit, err := pageArgs(q)
	if err != nil {
		return 0, nil, err
	}
	p, err := s.ids.ListShares(q.Context(), obj, cursor, limit)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewPage(p.Items, p.Next, viewShare), nil
}

func (s *Server) revokeShare(q *request) (int, any, error) {
	return transition(q, "shr_id", "shr", s.ids.RevokeShare, viewShare)
}

type shareVerifyBody struct {
	Token *string `json:"token"`
}

// verifyShare verifies a share token (SHR-3; a single-use share is used up
// here) and answers the share it grants, or identity's 401.
func (s *Server) verifyShare(q *request) (int, any, error) {
	var b shareVerifyBody
	if err := q.decode(&b, true); err != nil {
		return 0, nil, err
	}
	var token string
	if q.caller.Kind == identity.KindShare {
		// authenticate left the share unverified: it is verified once, here.
		if b.Token != nil {
			return 0, nil, errBody.With("send the share token once: as the bearer with an empty body, or in the body")
		}
		token, _ = identity.BearerToken(q.Header.Get("Authorization"))
	} else {
		if err := required(field("token", b.Token)); err != nil {
			return 0, nil, err
		}
		token = *b.Token
	}
	sh, err := s.ids.VerifyShare(q.Context(), token)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewShare(sh), nil
}
