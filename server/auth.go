package server

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"slices"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
)

// caller is who a request comes from: the principal its bearer token
// proves, and whether that makes it a platform admin.
type caller struct {
	identity.Principal
	// admin is a platform admin (DESIGN §4): the service key, or a session
	// of a user marked admin. A PAT is never an admin: it holds its scopes
	// and no more, whoever made it.
	admin bool
	// service is the service key (FLAMETRENCH_SERVICE_KEY): a backend that
	// owns the deployment, and no user.
	service bool
}

// user is the user the caller acts as: a session's or a PAT's.
func (c caller) user() (tuples.UUID, bool) {
	switch c.Kind {
	case identity.KindSession, identity.KindPAT:
		return c.UserID, true
	}
	return tuples.UUID{}, false
}

// scoped reports whether the caller is a PAT holding the scope.
func (c caller) scoped(scope string) bool {
	return c.Kind == identity.KindPAT && slices.Contains(c.PAT.Scope, scope)
}

// Errors of authentication and authorization.
var (
	errNoToken   = &tuples.Error{Kind: tuples.Unauthenticated, Code: "unauthorized.missing_token", Msg: "this operation needs an Authorization: Bearer token"}
	errForbidden = &tuples.Error{Kind: tuples.Forbidden, Code: "forbidden", Msg: "not allowed"}
)

// authenticate resolves the request's bearer token. The service key is
// compared in constant time; every other token goes to the verifier its
// prefix names (identity.Resolve), and a failure there is the identity
// module's 401 (or 429: made-up PATs are throttled per address).
//
// A share token is not verified here: verifying uses up a single-use
// share, and only verifyShare takes a share bearer (SHR-5), so the caller
// is a share of unknown validity that every other policy refuses (403)
// and verifyShare verifies itself.
func (s *Server) authenticate(ctx context.Context, authorization, addr string) (caller, error) {
	token, ok := identity.BearerToken(authorization)
	if !ok {
		return caller{}, errNoToken
	}
	if s.serviceKey != nil && subtle.ConstantTimeCompare([]byte(token), s.serviceKey) == 1 {
		return caller{admin: true, service: true}, nil
	}
	if identity.Classify(token) == identity.KindShare {
		return caller{Principal: identity.Principal{Kind: identity.KindShare}}, nil
	}
	p, err := s.ids.Resolve(ctx, token, addr)
	if err != nil {
		return caller{}, err
	}
	c := caller{Principal: p}
	if p.Kind == identity.KindSession {
		u, err := s.ids.GetUser(ctx, p.UserID)
		if err != nil {
			return caller{}, err
		}
		c.admin = u.Admin
	}
	return c, nil
}

// clientAddress is the peer's IP address, what per-address throttling
// counts. Forwarded headers are not trusted: a proxy in front is the
// operator's to configure, and a header any client can set would let each
// request claim a fresh address.
func clientAddress(r *http.Request) string { return peerAddress(r.RemoteAddr) }

// peerAddress is the IP of a peer's "host:port"; every peer of a unix
// socket is "unix".
func peerAddress(addr string) string {
	if addr == "" || addr[0] == '@' || addr[0] == '/' {
		return "unix"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return host
}

// A policy is who may call a route: its rule, and the words docs/API.md
// shows for it. Every route names one in the route table; the framework
// runs it after authentication and before the handler, so authorization is
// enforced in one place.
type policy struct {
	who   string
	allow func(s *Server, q *request) error
	// optional: a request without an Authorization header is served as
	// anonymous (a zero caller) rather than refused, and allow decides.
	// One with a header is authenticated as usual: a bad token is a 401,
	// never a fall-back to anonymous.
	optional bool
}

// anonymous reports whether the request came with no token (on an
// optional route).
func (c caller) anonymous() bool { return c.Kind == "" && !c.admin }

// public routes need no token (sign-up, sign-in, session minting).
var public = policy{who: "anyone, no token", allow: nil}

// admin routes are for platform admins only.
var admin = policy{who: "platform admin", allow: func(_ *Server, q *request) error {
	if q.caller.admin {
		return nil
	}
	return errForbidden.With("only a platform admin may do this")
}}

// errSessionOnly refuses a PAT or share on a route that manages a user's
// identity: a PAT holds its scopes and no more, so it can neither mint
// credentials, sessions or PATs nor change factors (DESIGN §4).
var errSessionOnly = &tuples.Error{Kind: tuples.Forbidden, Code: "forbidden",
	Msg: "this operation takes a user's session or a platform admin, not a personal access token or share"}

// selfOrAdmin routes are about the user named by the path parameter
// param: that user's own session, or a platform admin. Another user's
// session is told the user does not exist (404), so ids cannot be probed.
func selfOrAdmin(param string) policy {
	return ownerOrAdmin(identity.ErrUserNotFound, func(_ *Server, q *request) (tuples.UUID, error) {
		return pathID(q, param, "usr")
	})
}

// ownerOrAdmin routes are about something a user owns (a credential, a
// session, a factor, a PAT): owner finds that user (its error, such as a
// 404, is returned as is). Allowed: the owner's session, or a platform
// admin. Anyone else gets hidden, the resource's own not-found error, so
// that what exists cannot be probed.
func ownerOrAdmin(hidden error, owner func(s *Server, q *request) (tuples.UUID, error)) policy {
	return policy{who: "the user themselves (a session), or platform admin", allow: func(s *Server, q *request) error {
		if q.caller.admin {
			return nil
		}
		if q.caller.Kind != identity.KindSession {
			return errSessionOnly
		}
		u, err := owner(s, q)
		if err != nil {
			return err
		}
		if u != q.caller.UserID {
			return hidden
		}
		return nil
	}}
}

// scoped routes are for admins and PATs with the scope.
func scoped(scope string) policy {
	return policy{who: "platform admin, or a PAT with scope `" + scope + "`", allow: func(_ *Server, q *request) error {
		if q.caller.admin || q.caller.scoped(scope) {
			return nil
		}
		return errForbidden.With("this needs a platform admin or a PAT with scope %s", scope)
	}}
}

// selfOrScoped routes are about a subject: a user may ask about
// themselves; about anyone else takes an admin or a PAT with the scope.
// subject finds the request's subject; an error there (malformed input)
// counts as someone else, and the handler reports the input.
func selfOrScoped(scope string, subject func(q *request) (tuples.Ref, error)) policy {
	p := scoped(scope)
	p.who = "the subject user themselves; for other subjects, " + p.who
	inner := p.allow
	p.allow = func(s *Server, q *request) error {
		err := inner(s, q)
		if err == nil { // an admin or a scoped PAT: the body need not be read here
			return nil
		}
		if u, ok := q.caller.user(); ok {
			if subj, serr := subject(q); serr == nil && subj == (tuples.Ref{Type: "usr", ID: u}) {
				return nil
			}
		}
		return err
	}
	return p
}
