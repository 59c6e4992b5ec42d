// Package client is a small typed Go client for Flametrench's Connect
// service, flametrench.authz.v1.AuthzService: the generated client, plus
// what a sidecar wants around it. It sends the bearer token with every
// call, speaks Connect over HTTP/1.1, gRPC over h2c, or either over a unix
// socket, and retries a call that failed with Unavailable (a replica not
// yet at the consistency token asked for, a restarting server), with
// backoff, when the call has no side effects: a write is never sent twice.
//
//	c := client.New("http://127.0.0.1:8080", client.WithToken(os.Getenv("FLAMETRENCH_TOKEN")))
//	ok, err := c.Allowed(ctx, "usr", alice, "viewer", "doc", readme)
package client
