package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/server"
	"github.com/flametrench/server/tuples/memory"
)

const serveDescription = `
Serves Flametrench over HTTP on --addr: /healthz, /readyz and /metrics for now
(the REST API and Connect come later). Storage is in memory: nothing survives
a restart. SIGINT or SIGTERM stops the server gracefully: requests in flight
get up to 10 seconds to finish.

Logs are JSON lines on standard error. Exit 0 after a graceful shutdown,
2 on bad usage or configuration, 3 if the server could not start or failed.
`

func runServe(ctx context.Context, sio stdio, args []string) int {
	fs := newFlagSet("serve", "[flags]", serveDescription, sio.err)
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT`")
	dbURL := fs.String("database-url", "", "PostgreSQL `URL` (not supported yet)")
	rulesPath := rulesFlag(fs)
	socket := fs.String("socket", "", "also serve the Connect API on unix socket `PATH` (not supported yet)")
	fs.Bool("no-migrate", false, "do not apply schema migrations at start-up (PostgreSQL only)")
	var lim limitFlags
	lim.register(fs)
	cl, err := parseArgs(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	switch {
	case len(cl.args) > 0:
		return usageError(sio.err, "serve", "takes no arguments, got %q", cl.args[0])
	case *dbURL != "":
		return usageError(sio.err, "serve", "--database-url is not supported yet (PostgreSQL: issue 3); omit it to serve from memory")
	case *socket != "":
		return usageError(sio.err, "serve", "--socket is not supported yet (unix socket: issue 7)")
	}
	limits, err := lim.limits()
	if err != nil {
		return usageError(sio.err, "serve", "%v", err)
	}
	rules, err := loadRules(*rulesPath)
	if err != nil {
		fmt.Fprintln(sio.err, err) // FILE:LINE:COL: problem
		return exitUsage
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	g := memory.New()
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
	eng, err := check.New(func() check.Graph { return g.Snapshot() }, g.Intern, check.Config{
		Rules:      rules,
		Limits:     limits,
		Registerer: reg,
	})
	if err != nil {
		fmt.Fprintf(sio.err, "flametrench serve: %v\n", err)
		return exitFailed
	}
	defer eng.Close()

	log := slog.New(slog.NewJSONHandler(sio.err, nil))
	var ready atomic.Bool
	srv := server.New(server.Config{Metrics: reg, Ready: ready.Load, Logger: log})

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if err != nil {
		log.Error("cannot listen", "addr", *addr, "err", err)
		return exitFailed
	}
	ready.Store(true) // in memory, there is nothing to hydrate
	rulesName := *rulesPath
	if rulesName == "" {
		rulesName = "(none)"
	}
	effective := eng.Limits()
	log.Info("flametrench serving; storage is in memory, nothing survives a restart",
		"addr", l.Addr().String(),
		"rules", rulesName,
		"max_depth", effective.MaxDepth,
		"max_fan_out", effective.MaxFanOut,
	)
	if err := srv.Serve(ctx, l); err != nil {
		log.Error("server stopped", "err", err)
		return exitFailed
	}
	log.Info("server stopped")
	return exitOK
}
