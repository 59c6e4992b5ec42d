package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/flametrench/server/check"
	authzv1 "github.com/flametrench/server/proto/flametrench/authz/v1"
	"github.com/flametrench/server/proto/flametrench/authz/v1/authzv1connect"
)

// Pointing the Connect benchmarks at a running server: FLAMETRENCH_BENCH_URL
// (http://host:port) and FLAMETRENCH_BENCH_TOKEN (a bearer that may check:
// the service key or a PAT with scope check). The load is the same; its
// answers are not verified, since that server's graph is not ours.
const (
	envBenchURL   = "FLAMETRENCH_BENCH_URL"
	envBenchToken = "FLAMETRENCH_BENCH_TOKEN"
)

// connectTarget is where the Connect benchmarks send their load.
type connectTarget struct {
	url, token string
	sock       string // "" for a remote target
	local      bool   // answers can be verified
	reqs       []*authzv1.CheckRequest
}

func newConnectTarget(b *testing.B) connectTarget {
	var reqs []check.Request
	var t connectTarget
	if url := os.Getenv(envBenchURL); url != "" {
		t = connectTarget{url: url, token: os.Getenv(envBenchToken)}
		reqs = requestsOf(getWorld(b, 10_000), "ttu-2hop")
	} else {
		rw := newRESTWorld(b)
		t = connectTarget{url: rw.url, token: restServiceKey, sock: rw.sock, local: true}
		reqs = requestsOf(rw.w, "ttu-2hop")
	}
	for _, r := range reqs {
		t.reqs = append(t.reqs, &authzv1.CheckRequest{SubjectType: r.Subject.Type, SubjectId: r.Subject.ID.String(),
			Relation: r.Relation, Relations: r.Relations, ObjectType: r.Object.Type, ObjectId: r.Object.ID.String()})
	}
	return t
}

// requestsOf is a scenario's checks (every one allowed in ttu-2hop).
func requestsOf(w *world, name string) []check.Request {
	for _, sc := range scenarios(w) {
		if sc.name == name {
			return sc.reqs
		}
	}
	panic("no scenario " + name)
}

// connectClients are the transports a sidecar may use: Connect's protocol
// over HTTP/1.1 (a connection per request in flight), gRPC over h2c (one
// multiplexed connection), and Connect over the unix socket.
func connectClients(b *testing.B, t connectTarget, conc int) []struct {
	name   string
	client authzv1connect.AuthzServiceClient
} {
	h1 := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, IdleConnTimeout: time.Minute}
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Transport{Protocols: p}
	b.Cleanup(h1.CloseIdleConnections)
	b.Cleanup(h2c.CloseIdleConnections)
	out := []struct {
		name   string
		client authzv1connect.AuthzServiceClient
	}{
		{"connect-http1", authzv1connect.NewAuthzServiceClient(&http.Client{Transport: h1}, t.url)},
		{"grpc-h2c", authzv1connect.NewAuthzServiceClient(&http.Client{Transport: h2c}, t.url, connect.WithGRPC())},
	}
	if t.sock != "" {
		unix := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, IdleConnTimeout: time.Minute,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", t.sock)
			}}
		b.Cleanup(unix.CloseIdleConnections)
		out = append(out, struct {
			name   string
			client authzv1connect.AuthzServiceClient
		}{"connect-unix", authzv1connect.NewAuthzServiceClient(&http.Client{Transport: unix}, "http://socket")})
	}
	return out
}

// BenchmarkConnectCheck sends Check over loopback (and the unix socket) to
// a real server from real Connect clients in the same process, at
// concurrency 1, 16 and 64: the sidecar's path. The engine's part is about
// a microsecond (ttu-2hop on the 10k graph); the rest is the transport.
func BenchmarkConnectCheck(b *testing.B) {
	t := newConnectTarget(b)
	for _, conc := range []int{1, 16, 64} {
		for _, c := range connectClients(b, t, conc) {
			b.Run(fmt.Sprintf("transport=%s/concurrency=%d", c.name, conc), func(b *testing.B) {
				ctx := context.Background()
				res := load(b, max(b.N, conc), conc, func(_, i int) error {
					req := connect.NewRequest(t.reqs[i%len(t.reqs)])
					req.Header().Set("Authorization", "Bearer "+t.token)
					resp, err := c.client.Check(ctx, req)
					if err != nil {
						return err
					}
					if t.local && !resp.Msg.Allowed {
						return fmt.Errorf("check %d denied", i)
					}
					return nil
				})
				res.report(b, "checks")
			})
		}
	}
}

// BenchmarkConnectCheckBulk sends CheckBulk of 100 items at concurrency 1
// and 4; item-checks/s is the number to compare with Check's checks/s.
func BenchmarkConnectCheckBulk(b *testing.B) {
	t := newConnectTarget(b)
	const size = 100
	batches := make([][]*authzv1.CheckRequest, 0, len(t.reqs)/size+1)
	for i := 0; i < len(t.reqs); i += size {
		batches = append(batches, t.reqs[i:min(i+size, len(t.reqs))])
	}
	for _, conc := range []int{1, 4} {
		for _, c := range connectClients(b, t, conc)[:2] {
			b.Run(fmt.Sprintf("transport=%s/concurrency=%d", c.name, conc), func(b *testing.B) {
				ctx := context.Background()
				res := load(b, max(b.N, conc), conc, func(_, i int) error {
					batch := batches[i%len(batches)]
					req := connect.NewRequest(&authzv1.CheckBulkRequest{Items: batch})
					req.Header().Set("Authorization", "Bearer "+t.token)
					resp, err := c.client.CheckBulk(ctx, req)
					if err != nil {
						return err
					}
					if t.local {
						for j, r := range resp.Msg.Results {
							if !r.GetAllowed() {
								return fmt.Errorf("bulk %d item %d: %v", i, j, r)
							}
						}
					}
					return nil
				})
				res.report(b, "bulks")
				b.ReportMetric(res.rate*float64(len(batches[0])), "item-checks/s")
			})
		}
	}
}
