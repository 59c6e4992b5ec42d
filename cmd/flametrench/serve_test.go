package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
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
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--rules", rulesFile, "--max-fan-out", "77"}, strings.NewReader(""), &stdout, stderr)
	}()

	rec := startupLine(t, stderr, done)
	if rec["level"] != "INFO" || rec["rules"] != rulesFile || rec["max_depth"] != float64(8) || rec["max_fan_out"] != float64(77) {
		t.Errorf("start-up line = %v, want level INFO, rules %s, max_depth 8, max_fan_out 77", rec, rulesFile)
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
			for _, m := range []string{"go_goroutines", "process_start_time_seconds", "flametrench_cache_hits_total", "flametrench_graph_tuples 0", "flametrench_graph_revision 0"} {
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
		{"database url", nil, []string{"--database-url", "postgres://localhost/ft"}, "not supported yet (PostgreSQL: issue 3)"},
		{"database url from env", map[string]string{"FLAMETRENCH_DATABASE_URL": "postgres://localhost/ft"}, nil, "not supported yet (PostgreSQL: issue 3)"},
		{"socket", nil, []string{"--socket", "/tmp/ft.sock"}, "not supported yet (unix socket: issue 7)"},
		{"socket from env", map[string]string{"FLAMETRENCH_SOCKET": "/tmp/ft.sock"}, nil, "not supported yet (unix socket: issue 7)"},
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
