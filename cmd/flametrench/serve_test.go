package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flametrench/server/tuples/postgres/pgtest"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startupLine waits for serve's start-up log line and decodes it.
func startupLine(t *testing.T, stderr *syncBuffer, done <-chan int) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		sc := bufio.NewScanner(strings.NewReader(stderr.String()))
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["addr"] != nil {
				return rec
			}
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d before logging its address; stderr:\n%s", code, stderr.String())
		case <-deadline:
			t.Fatalf("serve logged no start-up line; stderr:\n%s", stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--rules", rulesFile, "--max-fan-out", "77", "--max-lookup-steps", "5000"}, strings.NewReader(""), &stdout, stderr)
	}()

	rec := startupLine(t, stderr, done)
	if rec["level"] != "INFO" || rec["rules"] != rulesFile || rec["max_depth"] != float64(8) || rec["max_fan_out"] != float64(77) ||
		rec["max_lookup_steps"] != float64(5000) {
		t.Errorf("start-up line = %v, want level INFO, rules %s, max_depth 8, max_fan_out 77, max_lookup_steps 5000", rec, rulesFile)
	}
	if msg, _ := rec["msg"].(string); !strings.Contains(msg, "nothing survives a restart") {
		t.Errorf("start-up message %q does not warn that storage is in memory", msg)
	}
	base := "http://" + rec["addr"].(string)
	client := &http.Client{Timeout: 5 * time.Second}
	for path, want := range map[string]string{
		"/healthz": `{"status":"ok"}`,
		"/readyz":  `{"status":"ready"}`,
		"/metrics": "flametrench_check_total{outcome=\"allowed\"} 0",
	} {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s = %d %q, want 200 containing %q", path, resp.StatusCode, body, want)
		}
		if path == "/metrics" {
			for _, m := range []string{"go_goroutines", "process_start_time_seconds", "flametrench_cache_hits_total", "flametrench_graph_tuples 0", "flametrench_graph_revision 0", "flametrench_argon2_queue_depth 0"} {
				if !strings.Contains(string(body), m) {
					t.Errorf("GET /metrics lacks %s", m)
				}
			}
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve after cancel = %d, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after its context ended")
	}
	if stdout.Len() != 0 {
		t.Errorf("serve wrote %q to stdout, want nothing (logs go to stderr)", stdout.String())
	}
}

func TestServeRefuses(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantStderr string
	}{
		{"bad poll interval", nil, []string{"--changelog-poll-interval", "0s"}, "must be positive"},
		{"bad lookup steps", nil, []string{"--max-lookup-steps", "0"}, "must be positive"},
		{"bad consistency timeout from env", map[string]string{"FLAMETRENCH_CONSISTENCY_TIMEOUT": "soon"}, nil, "FLAMETRENCH_CONSISTENCY_TIMEOUT"},
		{"socket trust without a socket", nil, []string{"--socket-trust"}, "--socket-trust needs --socket"},
		{"socket trust from env without a socket", map[string]string{"FLAMETRENCH_SOCKET_TRUST": "true"}, nil, "--socket-trust needs --socket"},
		{"bad rules", nil, []string{"--rules", "testdata/nope.yaml"}, "testdata/nope.yaml"},
		{"bad limit", nil, []string{"--max-depth", "100"}, "--max-depth 100 is outside 1..64"},
		{"bad no-migrate env", map[string]string{"FLAMETRENCH_NO_MIGRATE": "maybe"}, nil, "FLAMETRENCH_NO_MIGRATE"},
		{"positional argument", nil, []string{"now"}, "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			// A listener is never opened: each case fails before that.
			r := runCLI(t, "", append([]string{"serve", "--addr", "127.0.0.1:0"}, tt.args...)...)
			if r.code != 2 {
				t.Errorf("serve %q = %d, want 2", tt.args, r.code)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("serve %q stderr = %q, want it to contain %q", tt.args, r.stderr, tt.wantStderr)
			}
		})
	}
}

func TestServeCannotListen(t *testing.T) {
	r := runCLI(t, "", "serve", "--addr", "256.0.0.1:http-nonsense")
	if r.code != 3 || !strings.Contains(r.stderr, "cannot listen") {
		t.Errorf("serve on a bad address = %d %q, want 3 and a log line saying it cannot listen", r.code, r.stderr)
	}
}

// serveUntilReady starts serve with args and waits until /readyz answers 200;
// it returns the base URL, and a stop function that returns the exit status.
func serveUntilReady(t *testing.T, args ...string) (string, *syncBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), strings.NewReader(""), io.Discard, stderr)
	}()
	rec := startupLine(t, stderr, done)
	base := "http://" + rec["addr"].(string)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve never became ready; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop := func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop")
			return -1
		}
	}
	return base, stderr, stop
}

// TestServePostgres: with --database-url, serve migrates the schema, hydrates
// its graph from the database, reports ready and exports replication metrics.
func TestServePostgres(t *testing.T) {
	url := pgtest.URL(t)
	base, stderr, stop := serveUntilReady(t, "--database-url", url, "--changelog-poll-interval", "20ms")
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"flametrench_database_up 1", "flametrench_replica_lag_revisions 0", "flametrench_replica_reloads_total 1"} {
		if !strings.Contains(string(body), m) {
			t.Errorf("GET /metrics lacks %q", m)
		}
	}
	if code := stop(); code != 0 {
		t.Errorf("serve exit = %d; stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"applied migration", "storage is PostgreSQL", "graph hydrated"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("serve's log lacks %q:\n%s", want, stderr.String())
		}
	}
	// A second start finds the schema current and migrates nothing.
	_, stderr, stop = serveUntilReady(t, "--database-url", url, "--no-migrate")
	stop()
	if strings.Contains(stderr.String(), "applied migration") {
		t.Errorf("second start applied migrations again:\n%s", stderr.String())
	}
}

// TestServeNoMigrate: --no-migrate on a database that was never migrated
// refuses to start and says what to run.
func TestServeNoMigrate(t *testing.T) {
	r := runCLI(t, "", "serve", "--addr", "127.0.0.1:0", "--database-url", pgtest.URL(t), "--no-migrate")
	if r.code != 3 || !strings.Contains(r.stderr, "flametrench migrate") {
		t.Errorf("serve --no-migrate on an empty schema = %d %q, want 3 and advice to run flametrench migrate", r.code, r.stderr)
	}
}

// TestServeDatabaseUnreachable: a database that is not there stops start-up
// with a clear log line, not a hang.
func TestServeDatabaseUnreachable(t *testing.T) {
	r := runCLI(t, "", "serve", "--addr", "127.0.0.1:0", "--database-url", "postgres://nobody@127.0.0.1:1/x?connect_timeout=2")
	if r.code != 3 || !strings.Contains(r.stderr, "unavailable.database") {
		t.Errorf("serve with an unreachable database = %d %q, want 3", r.code, r.stderr)
	}
}

// adminLine returns serve's "platform admin ready" log record, or nil.
func adminLine(t *testing.T, stderr string) map[string]any {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "platform admin ready" {
			return rec
		}
	}
	return nil
}

// TestServeAdminBootstrap: the admin the environment names is made sure of
// at every start, the password never reaches the log, and a half-set pair
// or a bad password is a usage error. In memory each start creates it anew.
func TestServeAdminBootstrap(t *testing.T) {
	setAdminEnv(t)
	checkAdminStarts(t, nil, []bool{true, true})

	t.Setenv("FLAMETRENCH_ADMIN_PASSWORD", "")
	r := runCLI(t, "", "serve", "--addr", "127.0.0.1:0")
	if r.code != 2 || !strings.Contains(r.stderr, "must be set together") {
		t.Errorf("serve with only the admin identifier = %d %q, want 2", r.code, r.stderr)
	}
	t.Setenv("FLAMETRENCH_ADMIN_PASSWORD", strings.Repeat("x", 5000))
	if r := runCLI(t, "", "serve", "--addr", "127.0.0.1:0"); r.code != 2 {
		t.Errorf("serve with an oversize admin password = %d %q, want 2", r.code, r.stderr)
	}
}

// TestServeAdminBootstrapPostgres: on a database the second start finds the
// admin the first created.
func TestServeAdminBootstrapPostgres(t *testing.T) {
	url := pgtest.URL(t)
	setAdminEnv(t)
	checkAdminStarts(t, []string{"--database-url", url}, []bool{true, false})
}

const adminPassword = "correct horse battery staple"

func setAdminEnv(t *testing.T) {
	t.Setenv("FLAMETRENCH_ADMIN_IDENTIFIER", "root@example.com")
	t.Setenv("FLAMETRENCH_ADMIN_PASSWORD", adminPassword)
}

// checkAdminStarts starts serve once per element of created and checks the
// admin log line of each start; a start that finds the admin must name the
// user the first start created.
func checkAdminStarts(t *testing.T, args []string, created []bool) {
	t.Helper()
	var first any
	for i, want := range created {
		_, stderr, stop := serveUntilReady(t, args...)
		if code := stop(); code != 0 {
			t.Fatalf("start %d: exit %d; stderr:\n%s", i+1, code, stderr.String())
		}
		rec := adminLine(t, stderr.String())
		if rec == nil || rec["identifier"] != "root@example.com" || rec["created"] != want {
			t.Fatalf("start %d: admin log line %v, want identifier root@example.com, created %v", i+1, rec, want)
		}
		if strings.Contains(stderr.String(), adminPassword) {
			t.Fatalf("start %d: the admin password is in the log", i+1)
		}
		if i == 0 {
			first = rec["usr_id"]
		} else if !want && rec["usr_id"] != first {
			t.Fatalf("start %d found admin %v, the first start created %v", i+1, rec["usr_id"], first)
		}
	}
}

// TestServeOIDCProviders: a valid providers file starts the server without
// touching the network; a bad one is a usage error that names the problem.
func TestServeOIDCProviders(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "providers:\n  - issuer: https://accounts.example.com\n    audiences: [client-1]\n")
	_, stderr, stop := serveUntilReady(t, "--oidc-providers", good)
	if code := stop(); code != 0 {
		t.Fatalf("serve with a valid providers file: exit %d; stderr:\n%s", code, stderr.String())
	}
	for name, tc := range map[string]struct{ body, want string }{
		"unknown field": {"providers:\n  - issuer: https://a.example\n    audience: [x]\n", "audience"},
		"no audiences":  {"providers:\n  - issuer: https://a.example\n", "audience"},
		"plain http":    {"providers:\n  - issuer: http://a.example\n    audiences: [x]\n", "https"},
		"not yaml":      {"providers: [", "--oidc-providers"},
	} {
		r := runCLI(t, "", "serve", "--addr", "127.0.0.1:0", "--oidc-providers", write(strings.ReplaceAll(name, " ", "-")+".yaml", tc.body))
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: serve = %d %q, want 2 mentioning %q", name, r.code, r.stderr, tc.want)
		}
	}
	if r := runCLI(t, "", "serve", "--addr", "127.0.0.1:0", "--oidc-providers", filepath.Join(dir, "missing.yaml")); r.code != 2 {
		t.Errorf("missing providers file: serve = %d %q, want 2", r.code, r.stderr)
	}
}
