// Package server serves Flametrench over HTTP: the operational endpoints
// (/healthz, /readyz, /metrics) and the REST API under /v1 (so far the
// tuple and check operations; the rest of issue 6 joins them), with the
// Connect service to follow on the same handler (DESIGN §1).
//
// It is the only package that knows about transports. Handlers only decode,
// call and encode; the route table is one list (routes.go) in which every
// route names its policy, who may call it, which the framework (api.go)
// runs after authentication and before the handler; docs/API.md is that
// table, kept equal by a test. The one mapping of tuples.Kind to HTTP
// statuses is errors.go (STYLE §4). Request bodies are bounded, strict
// JSON (decode.go). Dependencies arrive through Config, never through the
// request context; metrics come from the registry the caller passes, never
// from the global one.
//
// A Server is safe for concurrent use. Serve owns the http.Server: it sets
// every timeout, and when its context ends it stops accepting connections,
// reports not ready, and lets requests in flight finish for up to
// Config.ShutdownTimeout.
package server
