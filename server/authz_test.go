package server_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/flametrench/server/identity"
	authzv1 "github.com/flametrench/server/proto/flametrench/authz/v1"
	"github.com/flametrench/server/proto/flametrench/authz/v1/authzv1connect"
	"github.com/flametrench/server/server"
	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
)

// serveRPC serves the api's server on a loopback listener (HTTP/1.1 and
// h2c, as serve does) and returns its base URL.
func (a *api) serveRPC(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + a.serve(t, l)
}

// serve serves the api's server on l until the test ends.
func (a *api) serve(t *testing.T, l net.Listener) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return l.Addr().String()
}

// rpcProtocols are the three wire protocols a client may speak: Connect
// over HTTP/1.1, gRPC over h2c, gRPC-Web over HTTP/1.1.
func rpcProtocols(t *testing.T) []struct {
	name   string
	client func(url string) authzv1connect.AuthzServiceClient
} {
	h1 := &http.Client{Transport: &http.Transport{}}
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	h2c := &http.Client{Transport: &http.Transport{Protocols: p}}
	t.Cleanup(h1.CloseIdleConnections)
	t.Cleanup(h2c.CloseIdleConnections)
	return []struct {
		name   string
		client func(url string) authzv1connect.AuthzServiceClient
	}{
		{"connect", func(url string) authzv1connect.AuthzServiceClient {
			return authzv1connect.NewAuthzServiceClient(h1, url)
		}},
		{"grpc", func(url string) authzv1connect.AuthzServiceClient {
			return authzv1connect.NewAuthzServiceClient(h2c, url, connect.WithGRPC())
		}},
		{"grpc-web", func(url string) authzv1connect.AuthzServiceClient {
			return authzv1connect.NewAuthzServiceClient(h1, url, connect.WithGRPCWeb())
		}},
	}
}

// bearer wraps a message in a request with the token as its bearer.
func bearer[T any](token string, msg *T) *connect.Request[T] {
	req := connect.NewRequest(msg)
	if token != "" {
		req.Header().Set("Authorization", "Bearer "+token)
	}
	return req
}

// wantRPCError fails unless err is a Connect error with the code and the
// Flametrench code in its detail.
func wantRPCError(t *testing.T, what string, err error, code connect.Code, ftCode string) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("%s: err = %v, want a Connect error %v", what, err, code)
	}
	got := ""
	for _, d := range ce.Details() {
		if m, derr := d.Value(); derr == nil {
			if ed, ok := m.(*authzv1.ErrorDetail); ok {
				got = ed.Code
			}
		}
	}
	if ce.Code() != code || got != ftCode {
		t.Fatalf("%s: %v (detail %q), want %v with detail %q", what, err, got, code, ftCode)
	}
}

func ref(typ string) (string, string) { return typ, tuples.NewUUID().String() }

func write(op authzv1.TupleWrite_Operation, st, sid, rel, ot, oid string) *authzv1.TupleWrite {
	return &authzv1.TupleWrite{Operation: op, Tuple: &authzv1.Tuple{SubjectType: st, SubjectId: sid, Relation: rel, ObjectType: ot, ObjectId: oid}}
}

// The Connect service end to end, on both stores and over the three
// protocols: writes, checks with the write's token, bulk checks, expand
// and reads.
func TestConnectService(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, rulesDoc)
		url := a.serveRPC(t)
		for _, p := range rpcProtocols(t) {
			t.Run(p.name, func(t *testing.T) {
				ctx := context.Background()
				c := p.client(url)
				ut, alice := ref("usr")
				_, bob := ref("usr")
				dt, doc := ref("doc")
				ft, folder := ref("folder")

				w, err := c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{Writes: []*authzv1.TupleWrite{
					write(authzv1.TupleWrite_OPERATION_CREATE, ut, alice, "viewer", ft, folder),
					write(authzv1.TupleWrite_OPERATION_CREATE, ft, folder, "parent", dt, doc),
					write(authzv1.TupleWrite_OPERATION_TOUCH, ft, folder, "parent", dt, doc+""),
				}}))
				if err == nil {
					t.Fatal("a batch naming one key twice was applied")
				}
				wantRPCError(t, "same key twice", err, connect.CodeInvalidArgument, "invalid_format.batch")
				w, err = c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{Writes: []*authzv1.TupleWrite{
					write(authzv1.TupleWrite_OPERATION_CREATE, ut, alice, "viewer", ft, folder),
					write(authzv1.TupleWrite_OPERATION_CREATE, ft, folder, "parent", dt, doc),
				}}))
				if err != nil {
					t.Fatal(err)
				}
				if len(w.Msg.Tuples) != 2 || w.Msg.Tuples[1].ObjectId != doc || w.Msg.ConsistencyToken == "" {
					t.Fatalf("WriteTuples = %v", w.Msg)
				}

				chk := func(subject, relation string) bool {
					t.Helper()
					r, err := c.Check(ctx, bearer(serviceKey, &authzv1.CheckRequest{SubjectType: "usr", SubjectId: subject, Relation: relation,
						ObjectType: "doc", ObjectId: doc, ConsistencyToken: w.Msg.ConsistencyToken}))
					if err != nil {
						t.Fatal(err)
					}
					if r.Msg.ConsistencyToken == "" {
						t.Error("a check without a consistency token")
					}
					return r.Msg.Allowed
				}
				if !chk(alice, "viewer") || chk(bob, "viewer") || chk(alice, "editor") {
					t.Error("checks disagree with the graph (alice views through the folder; bob does not; nobody edits)")
				}

				bulk, err := c.CheckBulk(ctx, bearer(serviceKey, &authzv1.CheckBulkRequest{ConsistencyToken: w.Msg.ConsistencyToken, Items: []*authzv1.CheckRequest{
					{SubjectType: "usr", SubjectId: alice, Relation: "viewer", ObjectType: "doc", ObjectId: doc},
					{SubjectType: "usr", SubjectId: bob, Relation: "viewer", ObjectType: "doc", ObjectId: doc},
					{SubjectType: "usr", SubjectId: "not-an-id", Relation: "viewer", ObjectType: "doc", ObjectId: doc},
					{SubjectType: "usr", SubjectId: bob, Relations: []string{"editor", "viewer"}, ObjectType: "doc", ObjectId: doc},
					{SubjectType: "usr", SubjectId: alice, ObjectType: "doc", ObjectId: doc},
				}}))
				if err != nil {
					t.Fatal(err)
				}
				r := bulk.Msg.Results
				if len(r) != 5 || !r[0].GetAllowed() || r[1].GetAllowed() || r[1].GetError() != nil ||
					r[2].GetError().GetCode() != "invalid_format.subject_id" || r[3].GetAllowed() || r[4].GetError().GetCode() != "invalid_format.relation" {
					t.Errorf("CheckBulk = %v", r)
				}

				ex, err := c.Expand(ctx, bearer(serviceKey, &authzv1.ExpandRequest{Relation: "viewer", ObjectType: "doc", ObjectId: doc,
					ConsistencyToken: w.Msg.ConsistencyToken}))
				if err != nil {
					t.Fatal(err)
				}
				ttu := ex.Msg.Tree.Branches[1]
				if ttu.Kind != "tuple_to_userset" || len(ttu.Children) != 1 || len(ttu.Children[0].Subjects) != 1 || ttu.Children[0].Subjects[0].SubjectId != alice {
					t.Errorf("Expand = %v", ex.Msg.Tree)
				}

				rd, err := c.ReadTuples(ctx, bearer(serviceKey, &authzv1.ReadTuplesRequest{ObjectType: "doc", ObjectId: doc, Limit: 1}))
				if err != nil {
					t.Fatal(err)
				}
				if len(rd.Msg.Tuples) != 1 || rd.Msg.Tuples[0].SubjectId != folder || rd.Msg.NextCursor != "" {
					t.Errorf("ReadTuples = %v", rd.Msg)
				}
				_, err = c.ReadTuples(ctx, bearer(serviceKey, &authzv1.ReadTuplesRequest{ObjectType: "doc", ObjectId: doc, SubjectType: "usr", SubjectId: alice}))
				wantRPCError(t, "read by subject and object", err, connect.CodeInvalidArgument, "invalid_format.filter")

				// Deletes by id and by key; a second delete fails the batch.
				_, err = c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{Writes: []*authzv1.TupleWrite{
					{Operation: authzv1.TupleWrite_OPERATION_DELETE, Tuple: &authzv1.Tuple{Id: w.Msg.Tuples[1].Id}},
				}}))
				if err != nil {
					t.Fatal(err)
				}
				del, err := c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{Writes: []*authzv1.TupleWrite{
					write(authzv1.TupleWrite_OPERATION_DELETE, ut, alice, "viewer", ft, folder),
				}}))
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{Writes: []*authzv1.TupleWrite{
					write(authzv1.TupleWrite_OPERATION_DELETE, ut, alice, "viewer", ft, folder),
				}}))
				wantRPCError(t, "delete of a deleted tuple", err, connect.CodeNotFound, "not_found")
				gone, err := c.Check(ctx, bearer(serviceKey, &authzv1.CheckRequest{SubjectType: "usr", SubjectId: alice, Relation: "viewer",
					ObjectType: "doc", ObjectId: doc, ConsistencyToken: del.Msg.ConsistencyToken}))
				if err != nil || gone.Msg.Allowed {
					t.Errorf("after the deletes: %v, %v", gone, err)
				}
			})
		}
	})
}

// Who may call what: no bearer is unauthenticated; a plain session, a
// share or a PAT without the scope is denied; a PAT with the scope, an
// admin's session and the service key are let through. Membership tuples
// are tenancy's, here as on REST.
func TestConnectAuthorization(t *testing.T) {
	a := newAPI(t, rulesDoc, false)
	c := authzv1connect.NewAuthzServiceClient(http.DefaultClient, a.serveRPC(t))
	ctx := context.Background()
	alice, session := a.user("alice")
	checker, reader, writer := a.pat(alice, "check"), a.pat(alice, "tuples:read"), a.pat(alice, "tuples:write")
	adminSession := a.admin()
	doc := tuples.NewUUID().String()
	chk := &authzv1.CheckRequest{SubjectType: "usr", SubjectId: alice.String(), Relation: "viewer", ObjectType: "doc", ObjectId: doc}
	wr := &authzv1.WriteTuplesRequest{Writes: []*authzv1.TupleWrite{write(authzv1.TupleWrite_OPERATION_TOUCH, "usr", alice.String(), "viewer", "doc", doc)}}

	_, err := c.Check(ctx, bearer("", chk))
	wantRPCError(t, "no bearer", err, connect.CodeUnauthenticated, "unauthorized.missing_token")
	_, err = c.Check(ctx, bearer("not-a-token", chk))
	if connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("a made-up token: %v", err)
	}
	_, err = c.Check(ctx, bearer(session, chk))
	wantRPCError(t, "a plain session", err, connect.CodePermissionDenied, "forbidden")
	_, err = c.Check(ctx, bearer(reader, chk))
	wantRPCError(t, "a PAT without check", err, connect.CodePermissionDenied, "forbidden")
	_, err = c.WriteTuples(ctx, bearer(checker, wr))
	wantRPCError(t, "a check PAT writing", err, connect.CodePermissionDenied, "forbidden")
	for name, token := range map[string]string{"check PAT": checker, "admin session": adminSession, "service key": serviceKey} {
		if _, err := c.Check(ctx, bearer(token, chk)); err != nil {
			t.Errorf("%s: Check: %v", name, err)
		}
	}
	if _, err := c.WriteTuples(ctx, bearer(writer, wr)); err != nil {
		t.Errorf("a tuples:write PAT: %v", err)
	}
	if _, err := c.ReadTuples(ctx, bearer(reader, &authzv1.ReadTuplesRequest{ObjectType: "doc", ObjectId: doc})); err != nil {
		t.Errorf("a tuples:read PAT: %v", err)
	}
	_, err = c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{Writes: []*authzv1.TupleWrite{
		write(authzv1.TupleWrite_OPERATION_CREATE, "usr", alice.String(), "owner", "org", tuples.NewUUID().String())}}))
	wantRPCError(t, "a membership tuple", err, connect.CodePermissionDenied, "forbidden.membership_tuple")

	// Lookups list: they take tuples:read, which a check PAT lacks.
	lk, err := c.LookupResources(ctx, bearer(checker, &authzv1.LookupResourcesRequest{SubjectType: "usr", SubjectId: alice.String(),
		Relation: "owner", ObjectType: "org"}))
	if err == nil {
		lk.Receive()
		err = lk.Err()
	}
	wantRPCError(t, "a check PAT listing", err, connect.CodePermissionDenied, "forbidden")

	// A membership tuple cannot be deleted by its id either.
	org, _, err := a.orgs.CreateOrg(ctx, alice, tenancy.OrgInput{})
	if err != nil {
		t.Fatal(err)
	}
	owners, err := c.ReadTuples(ctx, bearer(serviceKey, &authzv1.ReadTuplesRequest{ObjectType: "org", ObjectId: org.ID.String()}))
	if err != nil || len(owners.Msg.Tuples) != 1 {
		t.Fatalf("the org's tuples: %v, %v", owners, err)
	}
	_, err = c.WriteTuples(ctx, bearer(writer, &authzv1.WriteTuplesRequest{Writes: []*authzv1.TupleWrite{
		{Operation: authzv1.TupleWrite_OPERATION_DELETE, Tuple: &authzv1.Tuple{Id: owners.Msg.Tuples[0].Id}}}}))
	wantRPCError(t, "a membership tuple deleted by id", err, connect.CodePermissionDenied, "forbidden.membership_tuple")

	// Each call is counted by its procedure and Connect code.
	metrics := a.call("GET", "/metrics", "", nil)
	for _, want := range []string{
		`flametrench_rpc_requests_total{code="permission_denied",procedure="/flametrench.authz.v1.AuthzService/Check"} 2`,
		`flametrench_rpc_requests_total{code="unauthenticated",procedure="/flametrench.authz.v1.AuthzService/Check"} 2`,
		`flametrench_rpc_requests_total{code="ok",procedure="/flametrench.authz.v1.AuthzService/Check"} 3`,
		`flametrench_rpc_requests_total{code="permission_denied",procedure="/flametrench.authz.v1.AuthzService/LookupResources"} 1`,
	} {
		if !strings.Contains(string(metrics.body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// A PAT writes as its user.
	rd, err := c.ReadTuples(ctx, bearer(serviceKey, &authzv1.ReadTuplesRequest{ObjectType: "doc", ObjectId: doc}))
	if err != nil || len(rd.Msg.Tuples) != 1 || rd.Msg.Tuples[0].CreatedBy != tuples.FormatID("usr", alice) {
		t.Fatalf("ReadTuples: %v, %v; want one tuple created by alice", rd, err)
	}
}

// Bad input is a clear InvalidArgument with the field's code, never an
// internal error.
func TestConnectValidation(t *testing.T) {
	a := newAPI(t, rulesDoc, false)
	c := authzv1connect.NewAuthzServiceClient(http.DefaultClient, a.serveRPC(t))
	ctx := context.Background()
	doc := tuples.NewUUID().String()
	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"check without a subject", func() error {
			_, err := c.Check(ctx, bearer(serviceKey, &authzv1.CheckRequest{Relation: "viewer", ObjectType: "doc", ObjectId: doc}))
			return err
		}, "invalid_format.subject_type"},
		{"check with a foreign token", func() error {
			_, err := c.Check(ctx, bearer(serviceKey, &authzv1.CheckRequest{SubjectType: "usr", SubjectId: doc, Relation: "viewer",
				ObjectType: "doc", ObjectId: doc, ConsistencyToken: "garbage"}))
			return err
		}, "invalid_format.consistency_token"},
		{"bulk of 1001", func() error {
			items := make([]*authzv1.CheckRequest, 1001)
			_, err := c.CheckBulk(ctx, bearer(serviceKey, &authzv1.CheckBulkRequest{Items: items}))
			return err
		}, "invalid_format.items"},
		{"expand without a relation", func() error {
			_, err := c.Expand(ctx, bearer(serviceKey, &authzv1.ExpandRequest{ObjectType: "doc", ObjectId: doc}))
			return err
		}, "invalid_format.relation"},
		{"an empty write batch", func() error {
			_, err := c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{}))
			return err
		}, "invalid_format.batch"},
		{"a write without an operation", func() error {
			_, err := c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{Writes: []*authzv1.TupleWrite{
				write(0, "usr", doc, "viewer", "doc", doc)}}))
			return err
		}, "invalid_format.operation"},
		{"a write of a bad relation", func() error {
			_, err := c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{Writes: []*authzv1.TupleWrite{
				write(authzv1.TupleWrite_OPERATION_CREATE, "usr", doc, "Viewer!", "doc", doc)}}))
			return err
		}, "invalid_format.relation"},
		{"read with neither subject nor object", func() error {
			_, err := c.ReadTuples(ctx, bearer(serviceKey, &authzv1.ReadTuplesRequest{}))
			return err
		}, "invalid_format.filter"},
		{"read with a bad limit", func() error {
			_, err := c.ReadTuples(ctx, bearer(serviceKey, &authzv1.ReadTuplesRequest{ObjectType: "doc", ObjectId: doc, Limit: 500}))
			return err
		}, "invalid_format.limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ce *connect.Error
			if !errors.As(err, &ce) || ce.Code() != connect.CodeInvalidArgument {
				t.Fatalf("err = %v, want InvalidArgument", err)
			}
			wantRPCError(t, tc.name, err, connect.CodeInvalidArgument, tc.code)
		})
	}
}

// On a unix socket with TrustSocket, a caller without a bearer is a
// platform admin; on TCP it is not; a socket without TrustSocket trusts
// nobody.
func TestConnectUnixSocket(t *testing.T) {
	for _, trust := range []bool{true, false} {
		t.Run(fmt.Sprintf("trust=%v", trust), func(t *testing.T) {
			a := newAPI(t, rulesDoc, false, func(_ *identity.Config, cfg *server.Config) { cfg.TrustSocket = trust })
			path := filepath.Join(t.TempDir(), "ft.sock")
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			a.serve(t, l)
			client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "unix", path)
			}}}
			defer client.CloseIdleConnections()
			c := authzv1connect.NewAuthzServiceClient(client, "http://socket")
			doc := tuples.NewUUID().String()
			_, err = c.Check(context.Background(), bearer("", &authzv1.CheckRequest{SubjectType: "usr", SubjectId: doc, Relation: "viewer",
				ObjectType: "doc", ObjectId: doc}))
			if trust && err != nil {
				t.Errorf("a trusted socket peer: %v", err)
			}
			if !trust {
				wantRPCError(t, "an untrusted socket peer", err, connect.CodeUnauthenticated, "unauthorized.missing_token")
			}
			tcp := authzv1connect.NewAuthzServiceClient(http.DefaultClient, a.serveRPC(t))
			_, err = tcp.Check(context.Background(), bearer("", &authzv1.CheckRequest{SubjectType: "usr", SubjectId: doc, Relation: "viewer",
				ObjectType: "doc", ObjectId: doc}))
			wantRPCError(t, "TCP without a bearer", err, connect.CodeUnauthenticated, "unauthorized.missing_token")
		})
	}
}

// Preconditions gate a batch atomically: one that fails writes nothing.
func TestConnectPreconditions(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, rulesDoc)
		c := authzv1connect.NewAuthzServiceClient(http.DefaultClient, a.serveRPC(t))
		ctx := context.Background()
		_, alice := ref("usr")
		_, bob := ref("usr")
		_, doc := ref("doc")
		owner := &authzv1.Tuple{SubjectType: "usr", SubjectId: alice, Relation: "editor", ObjectType: "doc", ObjectId: doc}
		// Give bob the doc only if nobody edits it yet: holds.
		_, err := c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{
			Writes:        []*authzv1.TupleWrite{write(authzv1.TupleWrite_OPERATION_CREATE, "usr", bob, "viewer", "doc", doc)},
			Preconditions: []*authzv1.Precondition{{Operation: authzv1.Precondition_OPERATION_MUST_NOT_EXIST, Tuple: owner}},
		}))
		if err != nil {
			t.Fatal(err)
		}
		// Remove bob only if alice edits it: fails, and bob stays.
		_, err = c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{
			Writes:        []*authzv1.TupleWrite{write(authzv1.TupleWrite_OPERATION_DELETE, "usr", bob, "viewer", "doc", doc)},
			Preconditions: []*authzv1.Precondition{{Operation: authzv1.Precondition_OPERATION_MUST_EXIST, Tuple: owner}},
		}))
		wantRPCError(t, "a failed precondition", err, connect.CodeFailedPrecondition, "precondition.failed")
		rd, err := c.ReadTuples(ctx, bearer(serviceKey, &authzv1.ReadTuplesRequest{ObjectType: "doc", ObjectId: doc}))
		if err != nil || len(rd.Msg.Tuples) != 1 || rd.Msg.Tuples[0].SubjectId != bob {
			t.Fatalf("after the failed batch: %v, %v; want bob's tuple alone", rd, err)
		}
		_, err = c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{
			Writes:        []*authzv1.TupleWrite{write(authzv1.TupleWrite_OPERATION_DELETE, "usr", bob, "viewer", "doc", doc)},
			Preconditions: []*authzv1.Precondition{{Tuple: owner}},
		}))
		wantRPCError(t, "a precondition without an operation", err, connect.CodeInvalidArgument, "invalid_format.operation")
	})
}

// Lookups stream what Check agrees with, in pages the client resumes with
// the cursor, and say when the limit cut the answer.
func TestConnectLookups(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, rulesDoc)
		c := authzv1connect.NewAuthzServiceClient(http.DefaultClient, a.serveRPC(t))
		ctx := context.Background()
		_, alice := ref("usr")
		_, folder := ref("folder")
		writes := []*authzv1.TupleWrite{write(authzv1.TupleWrite_OPERATION_CREATE, "usr", alice, "viewer", "folder", folder)}
		docs := map[string]bool{}
		for range 250 {
			_, doc := ref("doc")
			docs[doc] = true
			writes = append(writes, write(authzv1.TupleWrite_OPERATION_CREATE, "folder", folder, "parent", "doc", doc))
		}
		_, other := ref("doc")
		writes = append(writes, write(authzv1.TupleWrite_OPERATION_CREATE, "usr", tuples.NewUUID().String(), "viewer", "doc", other))
		w, err := c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{Writes: writes}))
		if err != nil {
			t.Fatal(err)
		}
		// Pages of 120: 120 + 120 + 10, the first two cut by the limit.
		got := map[string]bool{}
		cursor, pages := "", 0
		for {
			s, err := c.LookupResources(ctx, bearer(serviceKey, &authzv1.LookupResourcesRequest{SubjectType: "usr", SubjectId: alice,
				Relation: "viewer", ObjectType: "doc", Limit: 120, Cursor: cursor, ConsistencyToken: w.Msg.ConsistencyToken}))
			if err != nil {
				t.Fatal(err)
			}
			more, msgs := false, 0
			for s.Receive() {
				msgs++
				m := s.Msg()
				for _, id := range m.ObjectIds {
					if got[id] {
						t.Fatalf("%s returned twice", id)
					}
					got[id] = true
				}
				cursor, more = m.Cursor, m.LimitReached
				if m.ConsistencyToken == "" || len(m.ObjectIds) > 100 {
					t.Errorf("a message of %d ids with token %q", len(m.ObjectIds), m.ConsistencyToken)
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			pages++
			if msgs != 2 && more {
				t.Errorf("page %d came in %d messages, want 2 (100 + 20)", pages, msgs)
			}
			if !more {
				break
			}
		}
		if pages != 3 || len(got) != len(docs) {
			t.Fatalf("%d pages, %d docs; want 3 pages, %d docs", pages, len(got), len(docs))
		}
		for id := range got {
			if !docs[id] {
				t.Errorf("%s is not a doc alice views", id)
			}
		}

		s, err := c.LookupSubjects(ctx, bearer(serviceKey, &authzv1.LookupSubjectsRequest{ObjectType: "doc", ObjectId: other,
			Relation: "viewer", SubjectType: "usr", ConsistencyToken: w.Msg.ConsistencyToken}))
		if err != nil {
			t.Fatal(err)
		}
		var subjects []string
		for s.Receive() {
			subjects = append(subjects, s.Msg().SubjectIds...)
			if s.Msg().LimitReached {
				t.Error("limit reached on one subject")
			}
		}
		if s.Err() != nil || len(subjects) != 1 || subjects[0] == alice {
			t.Errorf("LookupSubjects = %v, %v; want the one viewer", subjects, s.Err())
		}

		bad, err := c.LookupResources(ctx, bearer(serviceKey, &authzv1.LookupResourcesRequest{SubjectType: "usr", SubjectId: alice,
			Relation: "viewer", ObjectType: "doc", Cursor: "not-a-cursor"}))
		if err == nil {
			for bad.Receive() {
			}
			err = bad.Err()
		}
		wantRPCError(t, "a bad cursor", err, connect.CodeInvalidArgument, "invalid_format.cursor")
	})
}

// Watch streams each revision after the token once, in order; a client
// that reconnects from the last token it saw misses nothing and sees
// nothing twice.
func TestConnectWatch(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, rulesDoc)
		base := a.serveRPC(t)
		c := authzv1connect.NewAuthzServiceClient(http.DefaultClient, base)
		ctx := context.Background()
		_, doc := ref("doc")
		writeOne := func(op authzv1.TupleWrite_Operation, subject string) string {
			t.Helper()
			w, err := c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{Writes: []*authzv1.TupleWrite{
				write(op, "usr", subject, "viewer", "doc", doc)}}))
			if err != nil {
				t.Fatal(err)
			}
			return w.Msg.ConsistencyToken
		}
		_, u0 := ref("usr")
		start := writeOne(authzv1.TupleWrite_OPERATION_CREATE, u0)

		wctx, cancel := context.WithCancel(ctx)
		s, err := c.Watch(wctx, bearer(serviceKey, &authzv1.WatchRequest{ConsistencyToken: start}))
		if err != nil {
			t.Fatal(err)
		}
		if !s.Receive() || len(s.Msg().Changes) != 0 || s.Msg().ConsistencyToken != start {
			t.Fatalf("first message %v, %v; want no changes and the start token", s.Msg(), s.Err())
		}
		var subjects []string
		tokens := []string{}
		for i := range 3 {
			_, u := ref("usr")
			subjects = append(subjects, u)
			tokens = append(tokens, writeOne(authzv1.TupleWrite_OPERATION_CREATE, u))
			if !s.Receive() {
				t.Fatalf("message %d: %v", i, s.Err())
			}
			m := s.Msg()
			if len(m.Changes) != 1 || m.Changes[0].Operation != authzv1.TupleChange_OPERATION_CREATE ||
				m.Changes[0].Tuple.SubjectId != u || m.ConsistencyToken != tokens[i] {
				t.Fatalf("message %d = %v; want the create of %s at %s", i, m, u, tokens[i])
			}
		}
		cancel()
		s.Close()

		// Changes made while nobody watches; the client resumes from the
		// second token it saw.
		del := writeOne(authzv1.TupleWrite_OPERATION_DELETE, u0)
		s, err = c.Watch(ctx, bearer(serviceKey, &authzv1.WatchRequest{ConsistencyToken: tokens[1]}))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if !s.Receive() || len(s.Msg().Changes) != 0 || s.Msg().ConsistencyToken != tokens[1] {
			t.Fatalf("first resumed message %v, %v; want no changes and the token resumed from", s.Msg(), s.Err())
		}
		for i, want := range []struct {
			op      authzv1.TupleChange_Operation
			subject string
			token   string
		}{{authzv1.TupleChange_OPERATION_CREATE, subjects[2], tokens[2]}, {authzv1.TupleChange_OPERATION_DELETE, u0, del}} {
			if !s.Receive() {
				t.Fatalf("resumed message %d: %v", i, s.Err())
			}
			m := s.Msg()
			if len(m.Changes) != 1 || m.Changes[0].Operation != want.op || m.Changes[0].Tuple.SubjectId != want.subject || m.ConsistencyToken != want.token {
				t.Fatalf("resumed message %d = %v; want %v of %s", i, m, want.op, want.subject)
			}
		}

		// A watch started without a token names where it starts, so a
		// client that leaves before any change resumes without a gap.
		fresh, err := c.Watch(ctx, bearer(serviceKey, &authzv1.WatchRequest{}))
		if err != nil || !fresh.Receive() || fresh.Msg().ConsistencyToken != del {
			t.Fatalf("a watch without a token: %v, %v; want a first message at %s", fresh.Msg(), err, del)
		}
		fresh.Close()
		_, late := ref("usr")
		lateToken := writeOne(authzv1.TupleWrite_OPERATION_CREATE, late)
		resumed, err := c.Watch(ctx, bearer(serviceKey, &authzv1.WatchRequest{ConsistencyToken: del}))
		if err != nil {
			t.Fatal(err)
		}
		defer resumed.Close()
		resumed.Receive() // the start
		if !resumed.Receive() || resumed.Msg().ConsistencyToken != lateToken || resumed.Msg().Changes[0].Tuple.SubjectId != late {
			t.Fatalf("resumed from the start token: %v, %v; want the write made while away", resumed.Msg(), resumed.Err())
		}

		// A reader needs tuples:read; a check PAT cannot watch.
		alice, _ := a.user("alice")
		denied, err := c.Watch(ctx, bearer(a.pat(alice, "check"), &authzv1.WatchRequest{}))
		if err == nil {
			denied.Receive()
			err = denied.Err()
		}
		wantRPCError(t, "a check PAT watching", err, connect.CodePermissionDenied, "forbidden")
	})
}

// A Watch outlives the server's write timeout (which ends an ordinary
// request that writes too late), over Connect and gRPC.
func TestConnectWatchOutlivesWriteTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	a := newAPI(t, rulesDoc, false, func(_ *identity.Config, cfg *server.Config) { cfg.WriteTimeout = timeout })
	base := a.serveRPC(t)
	for _, p := range rpcProtocols(t)[:2] {
		t.Run(p.name, func(t *testing.T) {
			c := p.client(base)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := c.Watch(ctx, bearer(serviceKey, &authzv1.WatchRequest{}))
			if err != nil || !s.Receive() {
				t.Fatalf("Watch: %v, %v", err, s.Err())
			}
			defer s.Close()
			time.Sleep(3 * timeout) // the stream must still be open after the write timeout
			_, u := ref("usr")
			_, doc := ref("doc")
			if _, err := c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{Writes: []*authzv1.TupleWrite{
				write(authzv1.TupleWrite_OPERATION_CREATE, "usr", u, "viewer", "doc", doc)}})); err != nil {
				t.Fatal(err)
			}
			if !s.Receive() || len(s.Msg().Changes) != 1 || s.Msg().Changes[0].Tuple.SubjectId != u {
				t.Fatalf("after %v: %v, %v; want the write", 3*timeout, s.Msg(), s.Err())
			}
		})
	}
}

// Lookups through the service agree with Check through the service on a
// random graph: every id listed checks true, every other candidate false.
func TestConnectLookupsAgreeWithCheck(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, rulesDoc)
		c := authzv1connect.NewAuthzServiceClient(http.DefaultClient, a.serveRPC(t))
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(7, 11))
		ids := func(n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = tuples.NewUUID().String()
			}
			return out
		}
		users, folders, docs := ids(6), ids(4), ids(12)
		pick := func(s []string) string { return s[rng.IntN(len(s))] }
		seen := map[string]bool{}
		var writes []*authzv1.TupleWrite
		add := func(st, sid, rel, ot, oid string) {
			if k := st + sid + rel + ot + oid; !seen[k] {
				seen[k] = true
				writes = append(writes, write(authzv1.TupleWrite_OPERATION_CREATE, st, sid, rel, ot, oid))
			}
		}
		for range 40 {
			switch rng.IntN(4) {
			case 0:
				add("usr", pick(users), "viewer", "doc", pick(docs))
			case 1:
				add("usr", pick(users), "editor", "doc", pick(docs))
			case 2:
				add("usr", pick(users), "viewer", "folder", pick(folders))
			default:
				add("folder", pick(folders), "parent", "doc", pick(docs))
			}
		}
		w, err := c.WriteTuples(ctx, bearer(serviceKey, &authzv1.WriteTuplesRequest{Writes: writes}))
		if err != nil {
			t.Fatal(err)
		}
		token := w.Msg.ConsistencyToken
		allowed := func(user, rel, doc string) bool {
			r, err := c.Check(ctx, bearer(serviceKey, &authzv1.CheckRequest{SubjectType: "usr", SubjectId: user, Relation: rel,
				ObjectType: "doc", ObjectId: doc, ConsistencyToken: token}))
			if err != nil {
				t.Fatal(err)
			}
			return r.Msg.Allowed
		}
		listed := 0
		for _, rel := range []string{"viewer", "editor"} {
			for _, u := range users {
				s, err := c.LookupResources(ctx, bearer(serviceKey, &authzv1.LookupResourcesRequest{SubjectType: "usr", SubjectId: u,
					Relation: rel, ObjectType: "doc", ConsistencyToken: token}))
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]bool{}
				for s.Receive() {
					for _, id := range s.Msg().ObjectIds {
						got[id] = true
					}
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				listed += len(got)
				for _, d := range docs {
					if allowed(u, rel, d) != got[d] {
						t.Errorf("%s %s doc %s: Check says %v, LookupResources listed it: %v", u, rel, d, !got[d], got[d])
					}
				}
			}
			for _, d := range docs {
				s, err := c.LookupSubjects(ctx, bearer(serviceKey, &authzv1.LookupSubjectsRequest{ObjectType: "doc", ObjectId: d,
					Relation: rel, SubjectType: "usr", ConsistencyToken: token}))
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]bool{}
				for s.Receive() {
					for _, id := range s.Msg().SubjectIds {
						got[id] = true
					}
				}
				if err := s.Err(); err != nil {
					t.Fatal(err)
				}
				for _, u := range users {
					if allowed(u, rel, d) != got[u] {
						t.Errorf("doc %s %s of %s: Check says %v, LookupSubjects listed it: %v", d, rel, u, !got[u], got[u])
					}
				}
			}
		}
		if listed == 0 {
			t.Fatal("the random graph gave nobody anything: the test compared nothing")
		}
	})
}
