package server

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
)

// Timeouts of the http.Server that Serve runs. They bound what one slow or
// idle client can hold: a header must arrive within ReadHeaderTimeout, the
// whole request within ReadTimeout, and the response be written within
// WriteTimeout.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second

	// DefaultShutdownTimeout is how long Serve lets requests in flight finish
	// once its context ends, when Config.ShutdownTimeout is zero.
	DefaultShutdownTimeout = 10 * time.Second
)

// Config is what a Server is built from. Its zero value serves a server that is
// always ready and has no metrics.
type Config struct {
	// Metrics is the registry /metrics exposes (the caller registers the Go and
	// process collectors and the engine's metrics on it). Nil: /metrics is 404.
	Metrics prometheus.Gatherer
	// Ready reports whether the server can answer requests (store reachable,
	// graph hydrated). Nil means always ready. It must be cheap and safe for
	// concurrent use: load balancers poll it.
	Ready func() bool
	// Logger receives server-level errors. Nil: slog.Default().
	Logger *slog.Logger
	// ShutdownTimeout bounds graceful shutdown. Zero: DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// ReadTimeout and WriteTimeout bound reading a whole request and
	// writing its answer (zero: 30 s each). Connect's server streams
	// (Watch, the lookups) are exempt: they last as long as their client.
	ReadTimeout, WriteTimeout time.Duration
	// Registerer takes the request metrics; nil: they are kept but not
	// exported.
	Registerer prometheus.Registerer
	// LogRequests logs one line per request.
	LogRequests bool

	// The API under /v1 is served when Engine, Tuples, Identity and
	// Tenancy are all set; without them the server answers the operational
	// endpoints only.
	Engine   *check.Engine
	Tuples   tuples.Store
	Identity *identity.Service
	Tenancy  *tenancy.Service
	// Signup lets anyone without a token create a user and give a new user
	// its first credential (DESIGN §4 A2). Off: only a platform admin
	// creates users. (Accepting an invitation as a new user is a platform
	// admin's either way.)
	Signup bool
	// WebAuthnOrigin is the exact origin (https://app.example.com) that
	// WebAuthn client data must name: passkey sign-in and WebAuthn factors.
	// Empty: those operations are refused (400).
	WebAuthnOrigin string
	// Epoch is the tuple store's epoch, for consistency tokens (a
	// replica's is known once it has hydrated). Nil: a random one drawn
	// at New, right for an in-memory store.
	Epoch func() uint64
	// ServiceKey, when not empty, is a bearer token that is a platform
	// admin (FLAMETRENCH_SERVICE_KEY, DESIGN §7).
	ServiceKey string
	// MaxBodyBytes bounds a request body (413 beyond). Zero:
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// AnonymousRate bounds the requests without a token (or with only a
	// share token) that one client address, or one IPv6 /64, may make:
	// AnonymousRate a second on average, AnonymousBurst at once (429 with
	// Retry-After beyond). Zero or less: no bound.
	AnonymousRate  float64
	AnonymousBurst int
	// TrustSocket makes a request on a unix socket listener (Serve with a
	// "unix" listener) without a bearer a platform admin on the Connect
	// service: whoever can open the socket (its file mode) is trusted.
	TrustSocket bool
	// CORSOrigins are the browser origins (https://app.example.com) that
	// may call the API cross-origin; "*" is any. Empty: CORS is off.
	CORSOrigins []string
}

// Server is the HTTP front of Flametrench.
type Server struct {
	cfg      Config
	log      *slog.Logger
	handler  http.Handler
	draining atomic.Bool // set once Serve begins shutting down; /readyz then fails

	engine      *check.Engine
	tuples      tuples.Store
	ids         *identity.Service
	orgs        *tenancy.Service
	signup      bool
	origin      string
	epoch       func() uint64
	serviceKey  []byte
	maxBody     int64
	metrics     *httpMetrics
	anonymous   *addressLimiter
	logRequests bool
}

// New builds a server from cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = readTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = writeTimeout
	}
	s := &Server{cfg: cfg, log: cfg.Logger, engine: cfg.Engine, tuples: cfg.Tuples, ids: cfg.Identity, orgs: cfg.Tenancy,
		signup: cfg.Signup, origin: cfg.WebAuthnOrigin, epoch: cfg.Epoch,
		maxBody: cfg.MaxBodyBytes, logRequests: cfg.LogRequests}
	if cfg.ServiceKey != "" {
		s.serviceKey = []byte(cfg.ServiceKey)
	}
	if s.epoch == nil {
		var b [8]byte
		_, _ = rand.Read(b[:])
		e := binary.BigEndian.Uint64(b[:]) | 1 // never 0, a replica's "not yet"
		s.epoch = func() uint64 { return e }
	}
	s.metrics = newHTTPMetrics(cfg.Registerer)
	s.anonymous = newAddressLimiter(cfg.AnonymousRate, cfg.AnonymousBurst)
	mux := http.NewServeMux()
	s.routes(mux)
	s.handler = s.observe(s.cors(mux))
	return s
}

// now is the one clock of the API: identity's (Config.Now), so the
// windows the transport checks and the lifetimes identity stores agree.
func (s *Server) now() time.Time { return s.ids.Now() }

// Handler returns the server's routes, for Serve and for httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves HTTP/1.1 and h2c on l until ctx ends, then shuts down gracefully: it stops
// accepting, marks the server not ready and waits up to the shutdown timeout
// for requests in flight, then closes what is left. Serve closes l. It returns
// nil after a graceful shutdown, or the error that stopped it; requests that
// were still running when the timeout expired make it return an error
// wrapping context.DeadlineExceeded.
//
// Requests do not inherit ctx: ending ctx means "stop taking work", not
// "abandon the work in flight".
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // h2c: gRPC clients speak HTTP/2 without TLS
	hs := &http.Server{
		Handler:           s.handler,
		Protocols:         protocols,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if s.cfg.TrustSocket && l.Addr().Network() == "unix" {
		hs.BaseContext = func(net.Listener) context.Context {
			return context.WithValue(context.Background(), trustedPeerKey{}, true)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()

	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", l.Addr(), err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		hs.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// Grants is tenancy's Config.CanGrant answered by the engine: an inviter
// may put into an invitation only a relation it holds itself.
func Grants(eng *check.Engine) func(ctx context.Context, inviter tuples.UUID, pt tenancy.PreTuple) (bool, error) {
	return func(ctx context.Context, inviter tuples.UUID, pt tenancy.PreTuple) (bool, error) {
		r, err := eng.Check(ctx, check.Request{Subject: tuples.Ref{Type: "usr", ID: inviter}, Relation: pt.Relation,
			Object: tuples.Ref{Type: pt.ObjectType, ID: pt.ObjectID}})
		return r.Allowed, err
	}
}
