package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
}

// Server is the HTTP front of Flametrench.
type Server struct {
	cfg      Config
	log      *slog.Logger
	handler  http.Handler
	draining atomic.Bool // set once Serve begins shutting down; /readyz then fails
}

// New builds a server from cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	mux := http.NewServeMux()
	s.routes(mux)
	s.handler = mux
	return s
}

// Handler returns the server's routes, for Serve and for httptest.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves HTTP on l until ctx ends, then shuts down gracefully: it stops
// accepting, marks the server not ready and waits up to the shutdown timeout
// for requests in flight, then closes what is left. Serve closes l. It returns
// nil after a graceful shutdown, or the error that stopped it; requests that
// were still running when the timeout expired make it return an error
// wrapping context.DeadlineExceeded.
//
// Requests do not inherit ctx: ending ctx means "stop taking work", not
// "abandon the work in flight".
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
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
