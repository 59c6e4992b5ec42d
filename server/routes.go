package server

import (
	"log/slog"
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flametrench/server/tuples"
)

// routes registers every path the server answers, here and nowhere else,
// with Go 1.22 method patterns, so a wrong method is a 405 from the mux
// rather than a handler's concern.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.HandleFunc("GET /openapi.json", s.handleOpenAPI)
	if s.cfg.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Metrics, promhttp.HandlerOpts{
			ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
			ErrorHandling: promhttp.ContinueOnError,
		}))
	}
	if s.engine == nil || s.tuples == nil || s.ids == nil || s.orgs == nil {
		return
	}
	known := http.NewServeMux() // the API's patterns alone, to tell 404 from 405
	for _, rt := range apiRoutes {
		mux.Handle(rt.pattern(), s.serveRoute(rt))
		known.Handle(rt.pattern(), http.NotFoundHandler())
	}
	mux.Handle("/v1/", s.serveRoute(unmatched(known)))
	s.connectRoutes(mux)
}

// apiRoutes is the API: every operation, who may call it, and its handler,
// in the spec's order (extensions after the operations they extend).
// docs/API.md is this table in prose; a test keeps the two equal.
var apiRoutes = slices.Concat(userRoutes, credentialRoutes, sessionRoutes, mfaRoutes, patRoutes, shareRoutes,
	orgRoutes, memberRoutes, invitationRoutes, tupleRoutes)

// tupleRoutes are the tuple and check operations.
var tupleRoutes = []route{
	// Authorization: tuples and checks (SPEC-MAP §1.3). Membership tuples
	// are tenancy's and cannot be written here (DESIGN §4).
	{method: "POST", path: "/tuples", op: "createTuple", allow: scoped(scopeWrite), serve: (*Server).createTuple},
	{method: "DELETE", path: "/tuples/{tup_id}", op: "deleteTuple", allow: scoped(scopeWrite), serve: (*Server).deleteTuple},
	{method: "POST", path: "/tuples/check", op: "check", allow: selfOrScoped(scopeCheck, checkSubject), serve: (*Server).check},
	{method: "GET", path: "/tuples/by-subject", op: "listTuplesBySubject", allow: selfOrScoped(scopeRead, querySubject), serve: (*Server).listBySubject},
	{method: "GET", path: "/tuples/by-object", op: "listTuplesByObject", allow: scoped(scopeRead), serve: (*Server).listByObject},
	{method: "POST", path: "/tuples/expand", op: "expand", extension: true, allow: scoped(scopeRead), serve: (*Server).expand},
	{method: "GET", path: "/rules", op: "getRules", extension: true, allow: scoped(scopeRead), serve: (*Server).rules},
}

// PAT scopes the tuple routes take (DESIGN §4).
const (
	scopeWrite = "tuples:write"
	scopeRead  = "tuples:read"
	scopeCheck = "check"
)

// errNoRoute is a request under /v1 that no route takes.
var errNoRoute = &tuples.Error{Kind: tuples.NotFound, Code: "not_found", Msg: "no such operation"}

// unmatched answers a request under /v1 that no route takes, in the
// spec's envelope rather than the mux's plain text: 405 with Allow when
// the path has operations under other methods, else 404.
func unmatched(known *http.ServeMux) route {
	return route{op: "unmatched", allow: public, serve: func(_ *Server, q *request) (int, any, error) {
		h, _ := known.Handler(q.Request)
		probe := &probeWriter{header: http.Header{}}
		h.ServeHTTP(probe, q.Request)
		if probe.status == http.StatusMethodNotAllowed {
			allow := probe.header.Get("Allow")
			q.w.Header().Set("Allow", allow)
			return http.StatusMethodNotAllowed, errorBody{"method_not_allowed",
				q.Method + " is not allowed on " + q.URL.Path + " (allowed: " + allow + ")"}, nil
		}
		return 0, nil, errNoRoute.With("no operation at %s %s", q.Method, q.URL.Path)
	}}
}

// probeWriter records what the mux would answer, and discards the body.
type probeWriter struct {
	header http.Header
	status int
}

func (p *probeWriter) Header() http.Header         { return p.header }
func (p *probeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (p *probeWriter) WriteHeader(status int)      { p.status = status }
