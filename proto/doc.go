// Package proto will hold the Connect/gRPC service definition
// (flametrench.authz.v1.AuthzService) and its generated Go code, for sidecars
// that call check at sub-millisecond latency. It is not built yet; see the
// project's open issues.
package proto
