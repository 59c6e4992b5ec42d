package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
)

// request is what a policy and a handler see of one API request: the
// HTTP request, its caller, and its body, read once and bounded.
type request struct {
	*http.Request
	w      http.ResponseWriter
	caller caller
	body   []byte
}

// decode decodes the request body into v (see decodeJSON).
func (q *request) decode(v any, optional bool) error { return decodeJSON(q.body, v, optional) }

// A route is one operation of the API: its method and path (under /v1),
// its operation id (the spec's, or ours for an extension), who may call it,
// and its handler. A handler returns the status and the value to encode
// (nil: no body), or an error for writeError.
type route struct {
	method, path string
	op           string
	extension    bool
	allow        policy
	serve        func(s *Server, q *request) (int, any, error)
}

// pattern is the route's http.ServeMux pattern.
func (rt route) pattern() string { return rt.method + " /v1" + rt.path }

// serveRoute runs a route: authenticate (unless public), read the body,
// authorize, serve, answer. Every failure goes through writeError.
func (s *Server) serveRoute(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, v, err := s.run(rt, w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if v == nil {
			w.WriteHeader(status)
			return
		}
		if err := writeJSON(w, status, v); err != nil {
			s.writeError(w, r, fmt.Errorf("encoding the answer: %w", err))
		}
	})
}

func (s *Server) run(rt route, w http.ResponseWriter, r *http.Request) (int, any, error) {
	q := &request{Request: r, w: w}
	authed := rt.allow.allow != nil && !(rt.allow.optional && r.Header.Get("Authorization") == "")
	if authed {
		c, err := s.authenticate(r.Context(), r.Header.Get("Authorization"), clientAddress(r))
		if err != nil {
			return 0, nil, err
		}
		q.caller = c
	}
	// A request without a token pays its address's anonymous bucket, and
	// so does one whose bearer is a share token: authenticate leaves a
	// share unverified, so it proves nothing yet, and verifyShare, the one
	// route that takes it, is a guess at a secret like the token in a body.
	if (!authed && rt.op != "unmatched") || q.caller.Kind == identity.KindShare {
		if err := s.anonymous.take(clientAddress(r)); err != nil {
			return 0, nil, err
		}
	}
	if err := checkQuery(q); err != nil {
		return 0, nil, err
	}
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return 0, nil, errTooLarge.With("the request body is over %d bytes", tooBig.Limit)
		case err != nil:
			return 0, nil, err // the client went away mid-body
		}
		q.body = body
	}
	if rt.allow.allow != nil {
		if err := rt.allow.allow(s, q); err != nil {
			return 0, nil, err
		}
	}
	return rt.serve(s, q)
}

// ----- middleware: request ids, one log line, metrics, the last-resort recover

type ctxKey int

const requestIDKey ctxKey = iota

// requestID is the request's id ("" outside a request).
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// maxRequestID bounds a request id a client sends; a longer or odd one is
// replaced, since it goes into every log line.
const maxRequestID = 64

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for _, c := range []byte(id) {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

func newRequestID() string {
	n := requestCounter.Add(1)
	b := make([]byte, 0, len(requestPrefix)+17)
	b = append(b, requestPrefix...)
	b = append(b, '-')
	return string(strconv.AppendUint(b, n, 16))
}

// requestPrefix and requestCounter make request ids: unique in this
// process by the counter, across processes and restarts by the random
// prefix. An id is not a secret, so one random draw a process is enough.
var (
	requestPrefix  = func() string { var b [8]byte; _, _ = rand.Read(b[:]); return hex.EncodeToString(b[:]) }()
	requestCounter atomic.Uint64
)

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush lets streams through (Connect's server streams need it).
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// httpMetrics are the per-route request metrics.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	rpcs     *prometheus.CounterVec // Connect calls by procedure and Connect code
	routes   sync.Map               // route pattern → *routeMetrics
}

// routeMetrics are one route's series, looked up once, so that a request
// does not hash its labels (routes and codes are few, so this stays small).
type routeMetrics struct {
	duration prometheus.Observer
	codes    sync.Map // status → prometheus.Counter
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flametrench_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flametrench_http_request_duration_seconds",
			Help:    "Time from a request's arrival to its answer, by route pattern.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		rpcs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flametrench_rpc_requests_total",
			Help: "Connect calls answered, by procedure and Connect code (\"ok\" for success); a gRPC error travels with HTTP status 200.",
		}, []string{"procedure", "code"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration, m.rpcs)
	}
	return m
}

// observe counts and times one request of route answered with status.
func (m *httpMetrics) observe(route string, status int, took time.Duration) {
	v, ok := m.routes.Load(route)
	if !ok {
		v, _ = m.routes.LoadOrStore(route, &routeMetrics{duration: m.duration.WithLabelValues(route)})
	}
	rm := v.(*routeMetrics)
	rm.duration.Observe(took.Seconds())
	c, ok := rm.codes.Load(status)
	if !ok {
		c, _ = rm.codes.LoadOrStore(status, m.requests.WithLabelValues(route, strconv.Itoa(status)))
	}
	c.(prometheus.Counter).Inc()
}

// observe wraps the mux: it gives each request an id (the client's
// X-Request-Id if sane, else a new one, echoed back), recovers a panic as
// a 500 (a bug: logged with its stack), counts and times the request by
// the pattern that matched, and logs one line for it. Nothing secret is
// logged: no headers, no bodies, no query strings (tokens never travel in
// them, but a client's mistake might put one there).
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.LogAttrs(r.Context(), slog.LevelError, "panic serving request", slog.String("request_id", id),
					slog.String("method", r.Method), slog.String("path", r.URL.Path),
					slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
				if sw.status == 0 {
					s.writeError(sw, r, errInternal)
				}
			}
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			took := time.Since(start)
			s.metrics.observe(route, sw.status, took)
			if s.logRequests {
				s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("request_id", id),
					slog.String("method", r.Method), slog.String("route", route), slog.String("path", r.URL.Path),
					slog.Int("status", sw.status), slog.Duration("took", took), slog.String("client", clientAddress(r)))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// consistencyHeader is the header that carries consistency tokens both
// ways (DESIGN §7).
const consistencyHeader = "Flametrench-Consistency-Token"

// setToken puts the consistency token of revision rev on the response.
func (s *Server) setToken(q *request, rev uint64) {
	if rev == 0 {
		rev = s.tuples.Revision()
	}
	q.w.Header().Set(consistencyHeader, tuples.Token{Epoch: s.epoch(), Revision: rev}.String())
}

// atLeast is the revision the request's consistency token names, 0 without
// one.
func (s *Server) atLeast(q *request) (uint64, error) {
	h := q.Header.Get(consistencyHeader)
	if h == "" {
		return 0, nil
	}
	t, err := tuples.ParseToken(h, s.epoch())
	return t.Revision, err
}

// noBody refuses a body other than empty or {} on an operation that
// takes none.
func (q *request) noBody() error { return q.decode(&struct{}{}, true) }

// fetch serves a GET of the resource the path parameter param names (an id
// of type typ): get reads it, view is its wire form.
func fetch[T, V any](q *request, param, typ string, get func(context.Context, tuples.UUID) (T, error), view func(T) V) (int, any, error) {
	return byID(q, param, typ, false, get, view)
}

// transition serves a bodiless POST on the resource the path parameter
// names: op is the domain's transition (suspend, reinstate, revoke…),
// view its answer's wire form.
func transition[T, V any](q *request, param, typ string, op func(context.Context, tuples.UUID) (T, error), view func(T) V) (int, any, error) {
	return byID(q, param, typ, true, op, view)
}

func byID[T, V any](q *request, param, typ string, bodiless bool, op func(context.Context, tuples.UUID) (T, error), view func(T) V) (int, any, error) {
	id, err := pathID(q, param, typ)
	if err != nil {
		return 0, nil, err
	}
	if bodiless {
		if err := q.noBody(); err != nil {
			return 0, nil, err
		}
	}
	v, err := op(q.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, view(v), nil
}

// listOf serves a GET of the things the path parameter param (an id of
// type typ) owns, filtered by an optional status among valid, a page at
// a time: list reads the page, view is an item's wire form.
func listOf[S ~string, T, V any](q *request, param, typ string, valid []S,
	list func(ctx context.Context, owner tuples.UUID, status S, cursor string, limit int) (tuples.PageOf[T], error), view func(T) V) (int, any, error) {
	owner, err := pathID(q, param, typ)
	if err != nil {
		return 0, nil, err
	}
	status, err := statusQuery(q, valid...)
	if err != nil {
		return 0, nil, err
	}
	cursor, limit, err := pageArgs(q)
	if err != nil {
		return 0, nil, err
	}
	p, err := list(q.Context(), owner, status, cursor, limit)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, viewPage(p.Items, p.Next, view), nil
}
