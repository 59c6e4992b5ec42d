package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/identity"
	identitymemory "github.com/flametrench/server/identity/memory"
	identitypg "github.com/flametrench/server/identity/postgres"
	"github.com/flametrench/server/server"
	"github.com/flametrench/server/tenancy"
	tenancymemory "github.com/flametrench/server/tenancy/memory"
	tenancypg "github.com/flametrench/server/tenancy/postgres"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
	"github.com/flametrench/server/tuples/postgres"
)

const serveDescription = `
Serves Flametrench over HTTP on --addr: /healthz, /readyz, /metrics,
/openapi.json and the REST API under /v1 (every operation of the spec and our
extensions, with who may call each, in docs/API.md; Connect later). SIGINT or SIGTERM stops the server gracefully: requests in
flight get up to 10 seconds to finish. FLAMETRENCH_SERVICE_KEY (environment
only) is a bearer token that is a platform admin.

Storage is in memory unless --database-url names a PostgreSQL database: then
the database is the source of truth and the in-memory graph that checks read
is a replica of its tuples, loaded at start (/readyz fails until it is, and
while the database is unreachable) and kept current from the database's
changelog, woken by LISTEN/NOTIFY and polled every --changelog-poll-interval.
Any number of serve processes may share one database. The schema is migrated
at start unless --no-migrate.

With FLAMETRENCH_ADMIN_IDENTIFIER and FLAMETRENCH_ADMIN_PASSWORD set (both, in
the environment only, never as flags), the platform admin they name is made
sure of at start: created with a password credential the first time, marked
admin again on later starts, its password left as it is.

Logs are JSON lines on standard error. Exit 0 after a graceful shutdown,
2 on bad usage or configuration, 3 if the server could not start or failed.
`

func runServe(ctx context.Context, sio stdio, args []string) int {
	fs := newFlagSet("serve", "[flags]", serveDescription, sio.err)
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT`")
	dbURL := databaseURLFlag(fs)
	rulesPath := rulesFlag(fs)
	socket := fs.String("socket", "", "also serve the API (REST and Connect) on unix socket `PATH`, made readable and writable by its owner only")
	socketTrust := fs.Bool("socket-trust", false, "a Connect call on --socket without a bearer is a platform admin: whoever can open the socket is trusted")
	noMigrate := fs.Bool("no-migrate", false, "do not apply schema migrations at start-up; refuse to start if the schema is behind (PostgreSQL only)")
	poll := fs.Duration("changelog-poll-interval", 100*time.Millisecond, "how often a replica reads the changelog when nothing wakes it sooner: the most it lags without NOTIFY (PostgreSQL only)")
	retention := fs.Duration("changelog-retention", 24*time.Hour, "how long changelog rows are kept; a replica further behind reloads (PostgreSQL only)")
	oidcPath := fs.String("oidc-providers", "", "identity providers OIDC sign-in trusts, a YAML or JSON `FILE` (providers: [{issuer, audiences, jwks_url?}]); none: OIDC sign-in off")
	signup := fs.Bool("signup", true, "let anyone without a token sign up: create a user and give a new user its first credential; false: only a platform admin creates users")
	origin := fs.String("webauthn-origin", "", "the exact `ORIGIN` (https://app.example.com) WebAuthn client data must name, for passkey sign-in and WebAuthn factors; empty: those are refused")
	anonRate := fs.Float64("anonymous-rate", 10, "requests a second one client address (an IPv6 /64) may make without a token (sign-up, sign-in, share verification), on average; 0: no bound")
	anonBurst := fs.Int("anonymous-burst", 50, "requests one client address (an IPv6 /64) may make at once without a token")
	corsOrigins := fs.String("cors-origins", "", "comma-separated browser `ORIGINS` (https://app.example.com) allowed to call the API cross-origin, or *; empty: CORS off")
	maxBody := fs.Int64("max-body-bytes", server.DefaultMaxBodyBytes, "largest request body accepted; a larger one is refused with 413")
	lookupSteps := fs.Int("max-lookup-steps", check.DefaultMaxLookupSteps, "most work (frames visited plus tuples read) one LookupResources or LookupSubjects call may do before it fails with evaluation_limit_exceeded, `N` ≥ 1")
	consistency := fs.Duration("consistency-timeout", check.DefaultConsistencyTimeout, "how long a request with a consistency token waits for the graph to reach it before failing with 503")
	var lim limitFlags
	lim.register(fs)
	cl, err := parseArgs(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	switch {
	case len(cl.args) > 0:
		return usageError(sio.err, "serve", "takes no arguments, got %q", cl.args[0])
	case *socketTrust && *socket == "":
		return usageError(sio.err, "serve", "--socket-trust needs --socket")
	}
	limits, err := lim.limits()
	if err != nil {
		return usageError(sio.err, "serve", "%v", err)
	}
	if *poll <= 0 || *consistency <= 0 || *maxBody <= 0 || *lookupSteps <= 0 {
		return usageError(sio.err, "serve", "--changelog-poll-interval, --consistency-timeout, --max-body-bytes and --max-lookup-steps must be positive")
	}
	limits.MaxLookupSteps = *lookupSteps
	rules, err := loadRules(*rulesPath)
	if err != nil {
		fmt.Fprintln(sio.err, err) // FILE:LINE:COL: problem
		return exitUsage
	}
	oidcVerifier, err := loadOIDC(*oidcPath)
	if err != nil {
		return usageError(sio.err, "serve", "--oidc-providers: %v", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// In memory, the graph keeps the change history Watch reads; as a
	// replica of PostgreSQL, Watch reads the database's changelog instead.
	history := memory.Config{}
	if *dbURL != "" {
		history.History = -1
	}
	g := memory.NewWith(history)
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "flametrench_graph_tuples",
			Help: "Tuples in the in-memory graph at its current revision.",
		}, func() float64 { return float64(g.Len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "flametrench_graph_revision",
			Help: "Revision of the in-memory graph (increases with every committed write).",
		}, func() float64 { return float64(g.Revision()) }),
	)
	log := slog.New(slog.NewJSONHandler(sio.err, nil))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Storage: the graph alone, or the graph as a replica of PostgreSQL.
	var waiter tuples.Waiter = g
	var store tuples.Store = g
	var epoch func() uint64              // in memory: the server draws one
	ready := func() bool { return true } // in memory, there is nothing to hydrate
	storage := "storage is in memory, nothing survives a restart"
	var users identity.Store = identitymemory.New(g)
	if *dbURL != "" {
		db, err := openDatabase(ctx, log, *dbURL, !*noMigrate)
		if err != nil {
			log.Error("cannot use the database", "err", err)
			return exitFailed
		}
		defer db.Close()
		f := postgres.NewFollower(db, g, postgres.FollowerConfig{
			PollInterval: *poll,
			Retention:    *retention,
			Logger:       log,
			Registerer:   reg,
		})
		fctx, stopFollower := context.WithCancel(context.WithoutCancel(ctx))
		followed := make(chan struct{})
		go func() {
			defer close(followed)
			f.Run(fctx)
		}()
		defer func() { stopFollower(); <-followed }() // before db.Close
		waiter, store, epoch, ready, users = f, f, f.Epoch, f.Ready, identitypg.New(f)
		storage = "storage is PostgreSQL; the graph is a replica of its tuples"
	}

	eng, err := check.New(func() check.Graph { return g.Snapshot() }, g.Intern, check.Config{
		Rules:              rules,
		Limits:             limits,
		Registerer:         reg,
		Waiter:             waiter,
		ConsistencyTimeout: *consistency,
	})
	if err != nil {
		fmt.Fprintf(sio.err, "flametrench serve: %v\n", err)
		return exitFailed
	}
	defer eng.Close()

	// Tenancy rides on identity's transactions; identity's user
	// revocation revokes memberships through tenancy's hook.
	var orgs tenancy.Store
	if *dbURL != "" {
		orgs = tenancypg.New(users)
	} else {
		orgs = tenancymemory.New(users)
	}
	ten := tenancy.NewService(orgs, tenancy.Config{CanGrant: server.Grants(eng)}) // an invitation grants only what its inviter holds
	ids := newIdentity(users, reg, oidcVerifier, ten.RevokeUser)
	if err := bootstrapAdmin(ctx, log, ids); err != nil {
		log.Error("cannot bootstrap the platform admin", "err", err)
		return adminStatus(err)
	}

	srv := server.New(server.Config{Metrics: reg, Registerer: reg, Ready: ready, Logger: log, LogRequests: true,
		Engine: eng, Tuples: store, Identity: ids, Tenancy: ten, Signup: *signup, WebAuthnOrigin: *origin, Epoch: epoch, ServiceKey: os.Getenv(envServiceKey), MaxBodyBytes: *maxBody,
		AnonymousRate: *anonRate, AnonymousBurst: *anonBurst, CORSOrigins: splitList(*corsOrigins), TrustSocket: *socketTrust})
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if err != nil {
		log.Error("cannot listen", "addr", *addr, "err", err)
		return exitFailed
	}
	listeners := []net.Listener{l}
	if *socket != "" {
		ul, err := listenSocket(ctx, *socket)
		if err != nil {
			l.Close()
			log.Error("cannot listen", "socket", *socket, "err", err)
			return exitFailed
		}
		listeners = append(listeners, ul)
	}
	rulesName := *rulesPath
	if rulesName == "" {
		rulesName = "(none)"
	}
	effective := eng.Limits()
	log.Info("flametrench serving; "+storage,
		"addr", l.Addr().String(),
		"rules", rulesName,
		"max_depth", effective.MaxDepth,
		"max_fan_out", effective.MaxFanOut,
		"max_lookup_steps", effective.MaxLookupSteps,
		"socket", *socket,
	)
	// Both listeners stop together: either failing ends the other.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() {
			err := srv.Serve(ctx, l)
			cancel()
			errs <- err
		}()
	}
	status := exitOK
	for range listeners {
		if err := <-errs; err != nil {
			log.Error("server stopped", "err", err)
			status = exitFailed
		}
	}
	if status == exitOK {
		log.Info("server stopped")
	}
	return status
}

// listenSocket listens on a unix socket at path, readable and writable by
// its owner only. A socket left at path by an earlier run is replaced;
// anything else there is an error, never deleted.
func listenSocket(ctx context.Context, path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	// The umask makes the socket owner-only from its creation: with
	// --socket-trust, a connection made before a later chmod would stay a
	// platform admin. (At start-up nothing else creates files.)
	old := syscall.Umask(0o077)
	l, err := (&net.ListenConfig{}).Listen(ctx, "unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// openDatabase connects to PostgreSQL and brings its schema up to date, or,
// with migrate false, checks that someone has.
func openDatabase(ctx context.Context, log *slog.Logger, url string, migrate bool) (*postgres.DB, error) {
	db, err := postgres.Open(ctx, url, postgres.Config{})
	if err != nil {
		return nil, err
	}
	if !migrate {
		err = db.CheckSchema(ctx, schema...)
	} else {
		var applied []postgres.Migration
		applied, err = db.Migrate(ctx, schema...)
		for _, m := range applied {
			log.Info("applied migration", "migration", m.String())
		}
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
