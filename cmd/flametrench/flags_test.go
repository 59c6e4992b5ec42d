package main

import (
	"flag"
	"io"
	"strings"
	"testing"
)

func TestEnvName(t *testing.T) {
	for flagName, want := range map[string]string{
		"max-fan-out":  "FLAMETRENCH_MAX_FAN_OUT",
		"database-url": "FLAMETRENCH_DATABASE_URL",
		"addr":         "FLAMETRENCH_ADDR",
		"no-migrate":   "FLAMETRENCH_NO_MIGRATE",
	} {
		if got := envName(flagName); got != want {
			t.Errorf("envName(%q) = %q, want %q", flagName, got, want)
		}
	}
}

// TestEnvTwins uses the evaluation limit to tell which value won: carol's
// check on readme exceeds --max-depth 1 and is denied at the default 8.
func TestEnvTwins(t *testing.T) {
	chk := "doc:" + readme + "#viewer@usr:" + carol
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"default", nil, []string{"--tuples", tuplesFile, "--rules", rulesFile}, 1, ""},
		{"env beats default", map[string]string{"FLAMETRENCH_MAX_DEPTH": "1"}, []string{"--tuples", tuplesFile, "--rules", rulesFile}, 3, ""},
		{"flag beats env", map[string]string{"FLAMETRENCH_MAX_DEPTH": "1"}, []string{"--tuples", tuplesFile, "--rules", rulesFile, "--max-depth", "8"}, 1, ""},
		{"empty env is unset", map[string]string{"FLAMETRENCH_MAX_DEPTH": ""}, []string{"--tuples", tuplesFile, "--rules", rulesFile}, 1, ""},
		{"env supplies files", map[string]string{"FLAMETRENCH_TUPLES": tuplesFile, "FLAMETRENCH_RULES": rulesFile, "FLAMETRENCH_MAX_DEPTH": "1"}, nil, 3, ""},
		{"flag beats env for files", map[string]string{"FLAMETRENCH_TUPLES": "testdata/nope.jsonl", "FLAMETRENCH_RULES": "testdata/nope.yaml"}, []string{"--tuples", tuplesFile, "--rules", rulesFile}, 1, ""},
		{"invalid env value", map[string]string{"FLAMETRENCH_MAX_DEPTH": "deep"}, []string{"--tuples", tuplesFile}, 2, `FLAMETRENCH_MAX_DEPTH="deep": invalid value for --max-depth`},
		{"env value out of range", map[string]string{"FLAMETRENCH_MAX_FAN_OUT": "-1"}, []string{"--tuples", tuplesFile}, 2, "--max-fan-out -1 must be at least 1"},
		// --checks from the environment does not conflict with a CHECK
		// argument: the command line wins.
		{"CHECK argument beats env checks", map[string]string{"FLAMETRENCH_CHECKS": checksFile}, []string{"--tuples", tuplesFile, "--rules", rulesFile}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			args := append(append([]string{"check"}, tt.args...), chk)
			r := runCLI(t, "", args...)
			if r.code != tt.wantCode {
				t.Errorf("check with env %v and %q = %d, want %d\nstdout %s\nstderr %s", tt.env, tt.args, r.code, tt.wantCode, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.wantErr)
			}
		})
	}
}

func TestEnvTwinsOfBoolAndStringFlags(t *testing.T) {
	t.Setenv("FLAMETRENCH_JSON", "true")
	r := runCLI(t, "", "expand", "--tuples", tuplesFile, "doc:"+readme+"#editor")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "{") {
		t.Errorf("expand with FLAMETRENCH_JSON=true = %d %q, want 0 and JSON", r.code, r.stdout)
	}
	r = runCLI(t, "", "expand", "--json=false", "--tuples", tuplesFile, "doc:"+readme+"#editor")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "doc:") {
		t.Errorf("expand --json=false with FLAMETRENCH_JSON=true = %d %q, want 0 and text", r.code, r.stdout)
	}
}

func TestParseArgsInterspersed(t *testing.T) {
	tests := []struct {
		args     []string
		wantPos  []string
		wantName string
	}{
		{[]string{"a", "--name", "x", "b"}, []string{"a", "b"}, "x"},
		{[]string{"--name", "x", "a"}, []string{"a"}, "x"},
		{[]string{"a", "--", "--name", "b"}, []string{"a", "--name", "b"}, ""},
		{[]string{"--", "-x"}, []string{"-x"}, ""},
		{nil, nil, ""},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		name := fs.String("name", "", "")
		cl, err := parseArgs(fs, tt.args)
		if err != nil {
			t.Errorf("parseArgs(%q) error %v", tt.args, err)
			continue
		}
		if strings.Join(cl.args, "|") != strings.Join(tt.wantPos, "|") || *name != tt.wantName {
			t.Errorf("parseArgs(%q) = %q, name %q; want %q, name %q", tt.args, cl.args, *name, tt.wantPos, tt.wantName)
		}
		if got := cl.onCmdln["name"]; got != (tt.wantName != "") {
			t.Errorf("parseArgs(%q) onCmdln[name] = %v", tt.args, got)
		}
	}
}
