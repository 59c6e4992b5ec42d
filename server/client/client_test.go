package client_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/identity"
	identitymemory "github.com/flametrench/server/identity/memory"
	"github.com/flametrench/server/identity/password"
	authzv1 "github.com/flametrench/server/proto/flametrench/authz/v1"
	"github.com/flametrench/server/proto/flametrench/authz/v1/authzv1connect"
	"github.com/flametrench/server/server"
	"github.com/flametrench/server/server/client"
	"github.com/flametrench/server/tenancy"
	tenancymemory "github.com/flametrench/server/tenancy/memory"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
)

const (
	key   = "client-test-service-key-0123456789"
	epoch = 7 // of the server's consistency tokens
)

// world is a real server over memory stores, on TCP and a unix socket.
type world struct {
	g          *memory.Graph
	url, sock  string
	alice, doc tuples.Ref
}

func newWorld(t *testing.T) *world {
	t.Helper()
	g := memory.New()
	eng, err := check.New(func() check.Graph { return g.Snapshot() }, g.Intern,
		check.Config{Waiter: g, ConsistencyTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	users := identitymemory.New(g)
	orgs := tenancy.NewService(tenancymemory.New(users), tenancy.Config{})
	srv := server.New(server.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Engine: eng, Tuples: g,
		Identity: identity.NewService(users, identity.Config{Hasher: password.NewPool(password.PoolConfig{})}), Tenancy: orgs, ServiceKey: key, Epoch: func() uint64 { return epoch }})
	w := &world{g: g, alice: tuples.Ref{Type: "usr", ID: tuples.NewUUID()}, doc: tuples.Ref{Type: "doc", ID: tuples.NewUUID()}}
	if _, err := g.Write(context.Background(), []tuples.Change{{Op: tuples.OpCreate,
		Key: tuples.Key{Subject: w.alice, Relation: "viewer", Object: w.doc}}}); err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.url = "http://" + tcp.Addr().String()
	w.sock = filepath.Join(t.TempDir(), "ft.sock")
	unix, err := net.Listen("unix", w.sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	for _, l := range []net.Listener{tcp, unix} {
		go func() { srv.Serve(ctx, l); done <- struct{}{} }()
	}
	t.Cleanup(func() { cancel(); <-done; <-done })
	return w
}

// Every transport works with the token; without it the server refuses,
// and Code reads the Flametrench code off the error.
func TestClientTransports(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	for name, opts := range map[string][]client.Option{
		"connect": {client.WithToken(key)},
		"grpc":    {client.WithToken(key), client.WithGRPC()},
		"socket":  {client.WithToken(key), client.WithSocket(w.sock)},
	} {
		t.Run(name, func(t *testing.T) {
			c := client.New(w.url, opts...)
			defer c.Close()
			ok, err := c.Allowed(ctx, "usr", w.alice.ID.String(), "viewer", "doc", w.doc.ID.String())
			if err != nil || !ok {
				t.Fatalf("Allowed = %v, %v; want true", ok, err)
			}
			if ok, err := c.Allowed(ctx, "usr", tuples.NewUUID().String(), "viewer", "doc", w.doc.ID.String()); err != nil || ok {
				t.Errorf("a stranger: Allowed = %v, %v; want false", ok, err)
			}
			_, err = c.Allowed(ctx, "usr", "nope", "viewer", "doc", w.doc.ID.String())
			if client.Code(err) != "invalid_format.subject_id" {
				t.Errorf("a bad id: %v (code %q)", err, client.Code(err))
			}
		})
	}
	_, err := client.New(w.url).Allowed(ctx, "usr", w.alice.ID.String(), "viewer", "doc", w.doc.ID.String())
	if connect.CodeOf(err) != connect.CodeUnauthenticated || client.Code(err) != "unauthorized.missing_token" {
		t.Errorf("no token: %v", err)
	}
}

// countingTransport counts requests, and runs after (once) when the first
// has been answered.
type countingTransport struct {
	n     atomic.Int32
	after func()
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if c.n.Add(1) == 1 && c.after != nil {
		c.after()
	}
	return resp, err
}

// A check asking for a revision the replica has not reached fails with
// Unavailable; the client retries it, and the retry, after the write
// lands, answers.
func TestClientRetriesUnavailable(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	bob := tuples.Ref{Type: "usr", ID: tuples.NewUUID()}
	next := tuples.Token{Epoch: epoch, Revision: w.g.Revision() + 1}
	tr := &countingTransport{after: func() {
		if _, err := w.g.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: tuples.Key{Subject: bob, Relation: "viewer", Object: w.doc}}}); err != nil {
			t.Error(err)
		}
	}}
	c := client.New(w.url, client.WithToken(key), client.WithHTTPClient(&http.Client{Transport: tr}), client.WithRetries(3, time.Millisecond))
	res, err := c.Check(ctx, connect.NewRequest(&authzv1.CheckRequest{SubjectType: "usr", SubjectId: bob.ID.String(), Relation: "viewer",
		ObjectType: "doc", ObjectId: w.doc.ID.String(), ConsistencyToken: next.String()}))
	if err != nil || !res.Msg.Allowed || tr.n.Load() != 2 {
		t.Fatalf("Check = %v, %v after %d requests; want allowed on the second", res, err, tr.n.Load())
	}

	// Without retries the first answer stands.
	tr = &countingTransport{}
	c = client.New(w.url, client.WithToken(key), client.WithHTTPClient(&http.Client{Transport: tr}), client.WithRetries(0, 0))
	next.Revision = w.g.Revision() + 1
	_, err = c.Check(ctx, connect.NewRequest(&authzv1.CheckRequest{SubjectType: "usr", SubjectId: bob.ID.String(), Relation: "viewer",
		ObjectType: "doc", ObjectId: w.doc.ID.String(), ConsistencyToken: next.String()}))
	if connect.CodeOf(err) != connect.CodeUnavailable || tr.n.Load() != 1 {
		t.Errorf("no retries: %v after %d requests", err, tr.n.Load())
	}
}

// unavailable answers every call with Unavailable (a stand-in for a
// server that cannot take writes right now, which ours cannot be made to
// be on demand), counting them.
type unavailable struct {
	authzv1connect.UnimplementedAuthzServiceHandler
	calls atomic.Int32
}

func (u *unavailable) WriteTuples(context.Context, *connect.Request[authzv1.WriteTuplesRequest]) (*connect.Response[authzv1.WriteTuplesResponse], error) {
	u.calls.Add(1)
	return nil, connect.NewError(connect.CodeUnavailable, nil)
}

// A write is never sent twice: it may have been applied.
func TestClientNeverRetriesWrites(t *testing.T) {
	u := &unavailable{}
	mux := http.NewServeMux()
	mux.Handle(authzv1connect.NewAuthzServiceHandler(u))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go hs.Serve(l)
	defer hs.Close()
	c := client.New("http://"+l.Addr().String(), client.WithRetries(5, time.Millisecond))
	defer c.Close()
	_, err = c.WriteTuples(context.Background(), connect.NewRequest(&authzv1.WriteTuplesRequest{}))
	if connect.CodeOf(err) != connect.CodeUnavailable || u.calls.Load() != 1 {
		t.Errorf("WriteTuples: %v after %d calls, want Unavailable after 1", err, u.calls.Load())
	}
}
