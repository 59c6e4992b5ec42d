package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeRESTFlow drives the binary as an operator runs it: rules from a
// file, the platform admin from the environment; the admin signs in over
// REST (verify → ticket → session), makes a user a folder's viewer, and a
// check through the file's rules says the user may view a document in the
// folder. The request log has a line per request with its id, and never a
// token or the password.
func TestServeRESTFlow(t *testing.T) {
	setAdminEnv(t)
	base, stderr, stop := serveUntilReady(t, "--rules", rulesFile)
	client := &http.Client{Timeout: 10 * time.Second}
	call := func(method, path, token string, body any, want int) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, raw, want)
		}
		var v map[string]any
		_ = json.Unmarshal(raw, &v)
		return v
	}
	v := call("POST", "/v1/credentials/verify", "", map[string]any{"type": "password", "identifier": "root@example.com",
		"proof": map[string]string{"password": adminPassword}}, 200)
	s := call("POST", "/v1/sessions", "", map[string]any{"usr_id": v["usr_id"], "cred_id": v["cred_id"], "ttl_seconds": 600,
		"verification_ticket": v["verification_ticket"]}, 201)
	token, _ := s["token"].(string)
	if token == "" {
		t.Fatalf("no session token in %v", s)
	}
	const folder = "0190f2a8-1b3c-7abc-8123-00000000f0aa"
	call("POST", "/v1/tuples", token, map[string]string{"subject_type": "usr", "subject_id": carol, "relation": "viewer",
		"object_type": "fld", "object_id": folder}, 201)
	call("POST", "/v1/tuples", token, map[string]string{"subject_type": "fld", "subject_id": folder, "relation": "parent",
		"object_type": "doc", "object_id": readme}, 201)
	got := call("POST", "/v1/tuples/check", token, map[string]string{"subject_type": "usr", "subject_id": carol, "relation": "viewer",
		"object_type": "doc", "object_id": readme}, 200)
	if got["allowed"] != true {
		t.Fatalf("carol views readme through the folder (rules from %s): %v, want allowed", rulesFile, got)
	}
	call("POST", "/v1/tuples/check", "", map[string]string{}, 401)

	if code := stop(); code != 0 {
		t.Fatalf("serve exit %d; stderr:\n%s", code, stderr.String())
	}
	logs := stderr.String()
	if strings.Contains(logs, token) || strings.Contains(logs, adminPassword) || strings.Contains(logs, v["verification_ticket"].(string)) {
		t.Fatal("a token, a ticket or the password is in the log")
	}
	requests := 0
	for _, line := range strings.Split(logs, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "request" {
			requests++
			if id, _ := rec["request_id"].(string); id == "" || rec["route"] == nil || rec["status"] == nil {
				t.Errorf("request log line without id, route or status: %s", line)
			}
		}
	}
	if requests < 6 {
		t.Errorf("%d request log lines, want one per request (at least 6)", requests)
	}
}
