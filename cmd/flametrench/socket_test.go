package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"connectrpc.com/connect"

	authzv1 "github.com/flametrench/server/proto/flametrench/authz/v1"
	"github.com/flametrench/server/proto/flametrench/authz/v1/authzv1connect"
)

// serve --socket --socket-trust: the Connect API answers on the socket
// without a bearer (made owner-only), and still wants one on TCP; a stale
// socket file is replaced, and the socket is gone after shutdown.
func TestServeSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ft.sock")
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close() // leaves the file, as a crashed run would

	base, stderr, stop := serveUntilReady(t, "--rules", rulesFile, "--socket", path, "--socket-trust")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v, %v: want mode 0600", fi, err)
	}
	onSocket := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	defer onSocket.CloseIdleConnections()
	req := &authzv1.CheckRequest{SubjectType: "usr", SubjectId: carol, Relation: "viewer", ObjectType: "doc", ObjectId: readme}
	res, err := authzv1connect.NewAuthzServiceClient(onSocket, "http://socket").Check(context.Background(), connect.NewRequest(req))
	if err != nil || res.Msg.Allowed || res.Msg.ConsistencyToken == "" {
		t.Errorf("Check on the trusted socket: %v, %v", res, err)
	}
	_, err = authzv1connect.NewAuthzServiceClient(http.DefaultClient, base).Check(context.Background(), connect.NewRequest(req))
	if connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("Check on TCP without a bearer: %v, want Unauthenticated", err)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exit %d; stderr:\n%s", code, stderr.String())
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("the socket file is still there after shutdown: %v", err)
	}
}

// A --socket path that is not a socket is never deleted: serve fails.
func TestServeSocketRefusesAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "", "serve", "--addr", "127.0.0.1:0", "--socket", path)
	if r.code == 0 {
		t.Fatal("serve ran with --socket naming a regular file")
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "keep me" {
		t.Fatalf("the file was touched: %q, %v", b, err)
	}
}
