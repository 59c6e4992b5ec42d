// Package server serves Flametrench over HTTP: for now the operational
// endpoints (/healthz, /readyz, /metrics); the REST API under /v1 and the
// Connect service join them on the same handler later (DESIGN §1).
//
// It is the only package that knows about transports. Handlers only decode,
// call and encode; the route table is one function (routes.go), and the one
// mapping of tuples.Kind to HTTP statuses and Connect codes will live in
// errors.go (STYLE §4). Dependencies arrive through Config, never through the
// request context; metrics come from the registry the caller passes, never
// from the global one.
//
// A Server is safe for concurrent use. Serve owns the http.Server: it sets
// every timeout, and when its context ends it stops accepting connections,
// reports not ready, and lets requests in flight finish for up to
// Config.ShutdownTimeout.
package server
