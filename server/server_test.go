package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func get(t *testing.T, client *http.Client, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestRoutes(t *testing.T) {
	var ready atomic.Bool
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "flametrench_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)

	s := New(Config{Metrics: reg, Ready: ready.Load, Logger: quietLogger()})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	tests := []struct {
		name       string
		ready      bool
		path       string
		wantStatus int
		wantBody   string // exact for JSON, substring for /metrics
	}{
		{"healthz while not ready", false, "/healthz", 200, `{"status":"ok"}` + "\n"},
		{"readyz while not ready", false, "/readyz", 503, `{"status":"not_ready"}` + "\n"},
		{"readyz when ready", true, "/readyz", 200, `{"status":"ready"}` + "\n"},
		{"healthz when ready", true, "/healthz", 200, `{"status":"ok"}` + "\n"},
		{"metrics has the caller's metric", true, "/metrics", 200, "flametrench_test_total 3"},
		{"metrics has the Go collector", true, "/metrics", 200, "go_goroutines"},
		{"unknown path", true, "/v1/nothing", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready.Store(tt.ready)
			status, body, h := get(t, ts.Client(), ts.URL+tt.path)
			if status != tt.wantStatus {
				t.Fatalf("GET %s = %d, want %d (body %q)", tt.path, status, tt.wantStatus, body)
			}
			switch {
			case tt.path == "/metrics":
				if !strings.Contains(body, tt.wantBody) {
					t.Errorf("GET /metrics body lacks %q", tt.wantBody)
				}
			case tt.wantBody != "":
				if body != tt.wantBody {
					t.Errorf("GET %s body = %q, want %q", tt.path, body, tt.wantBody)
				}
				if ct := h.Get("Content-Type"); ct != "application/json" {
					t.Errorf("GET %s Content-Type = %q, want application/json", tt.path, ct)
				}
			}
		})
	}
}

func TestWrongMethodIs405(t *testing.T) {
	ts := httptest.NewServer(New(Config{Logger: quietLogger()}).Handler())
	defer ts.Close()
	resp, err := ts.Client().Post(ts.URL+"/healthz", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", resp.StatusCode)
	}
	if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "GET") {
		t.Errorf("POST /healthz Allow = %q, want it to list GET", allow)
	}
}

func TestNoMetricsWithoutRegistry(t *testing.T) {
	ts := httptest.NewServer(New(Config{Logger: quietLogger()}).Handler())
	defer ts.Close()
	if status, _, _ := get(t, ts.Client(), ts.URL+"/metrics"); status != http.StatusNotFound {
		t.Errorf("GET /metrics without a registry = %d, want 404", status)
	}
	// Nil Ready means always ready.
	if status, _, _ := get(t, ts.Client(), ts.URL+"/readyz"); status != http.StatusOK {
		t.Errorf("GET /readyz with nil Ready = %d, want 200", status)
	}
}

func TestServeShutsDownWhenContextEnds(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Logger: quietLogger(), ShutdownTimeout: 5 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()

	url := "http://" + l.Addr().String()
	client := &http.Client{Timeout: 5 * time.Second}
	if status, body, _ := get(t, client, url+"/healthz"); status != 200 || body != `{"status":"ok"}`+"\n" {
		t.Fatalf("GET /healthz = %d %q, want 200 ok", status, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if !s.draining.Load() || s.ready() {
		t.Error("server still reports ready after shutdown")
	}
	client.CloseIdleConnections()
	if _, err := client.Get(url + "/healthz"); err == nil {
		t.Error("GET /healthz after shutdown succeeded, want a connection error")
	}
}

func TestServeReportsListenerFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close() // Serve's Accept fails at once
	err = New(Config{Logger: quietLogger()}).Serve(context.Background(), l)
	if err == nil || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve on a closed listener = %v, want an error wrapping net.ErrClosed", err)
	}
}

// serveSlow runs s.Serve with s's handler replaced by one that signals entered
// and then blocks until release is closed, and starts one request to it.
func serveSlow(t *testing.T, s *Server) (cancel func(), done <-chan error, release chan struct{}, resp <-chan int) {
	t.Helper()
	entered, release := make(chan struct{}), make(chan struct{})
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		w.WriteHeader(http.StatusTeapot)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancelCtx := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, l) }()
	status := make(chan int, 1)
	go func() {
		r, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + l.Addr().String() + "/slow")
		if err != nil {
			status <- -1
			return
		}
		r.Body.Close()
		status <- r.StatusCode
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("request never reached the handler")
	}
	return cancelCtx, errc, release, status
}

func TestServeLetsRequestsInFlightFinish(t *testing.T) {
	s := New(Config{Logger: quietLogger(), ShutdownTimeout: 10 * time.Second})
	cancel, done, release, status := serveSlow(t, s)
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v while a request was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if got := <-status; got != http.StatusTeapot {
		t.Errorf("in-flight request status = %d, want 418", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v, want nil after the request finished", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the in-flight request finished")
	}
}

func TestServeGivesUpAfterShutdownTimeout(t *testing.T) {
	s := New(Config{Logger: quietLogger(), ShutdownTimeout: 50 * time.Millisecond})
	cancel, done, release, status := serveSlow(t, s)
	defer close(release)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Serve = %v, want an error wrapping context.DeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not give up after ShutdownTimeout")
	}
	if got := <-status; got != -1 {
		t.Errorf("request cut off by Close got status %d, want a connection error", got)
	}
}

// Each response carries a request id: the client's when it is sane, else
// a new one, never the same twice.
func TestRequestIDs(t *testing.T) {
	ts := httptest.NewServer(New(Config{Logger: quietLogger()}).Handler())
	defer ts.Close()
	send := func(id string) string {
		req, _ := http.NewRequest("GET", ts.URL+"/healthz", nil)
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-Request-Id")
	}
	if got := send("trace-42"); got != "trace-42" {
		t.Errorf("a sane client id came back as %q", got)
	}
	seen := map[string]bool{}
	for _, sent := range []string{"", "", "has space", strings.Repeat("x", maxRequestID+1)} {
		got := send(sent)
		if got == "" || got == sent || seen[got] {
			t.Errorf("sent %q, got %q (seen before: %v)", sent, got, seen[got])
		}
		seen[got] = true
	}
}
