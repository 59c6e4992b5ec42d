package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// Ids of the testdata files.
const (
	alice  = "usr_0190f2a81b3c7abc8123000000000001" // editor of readme
	bob    = "0190f2a81b3c7abc8123000000000002"     // viewer of folder f001, readme's parent
	carol  = "usr_0190f2a81b3c7abc8123000000000003" // no grants
	readme = "0190f2a8-1b3c-7abc-8123-00000000d001"
	deep   = "0190f2a8-1b3c-7abc-8123-00000000d002" // under a chain of 10 folders
)

// runMainEnv, set to 1, makes the test binary run main instead of the
// tests: how a test runs flametrench as a process of its own (processCmd).
const runMainEnv = "FLAMETRENCH_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main() // exits
	}
	os.Exit(m.Run())
}

// processCmd returns a command that runs flametrench with args in a process
// of its own: this test binary, re-executed as the program.
func processCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	return cmd
}

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the program in-process.
func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// writeFile writes content to a new file in a test directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // substring
		wantStderr string // substring
	}{
		{"help", []string{"help"}, 0, "commands:", ""},
		{"-h", []string{"-h"}, 0, "validate", ""},
		{"--help", []string{"--help"}, 0, "FLAMETRENCH_MAX_FAN_OUT", ""},
		{"no command", nil, 2, "", "missing command"},
		{"unknown command", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{"help for a command", []string{"help", "check"}, 0, "usage: flametrench check", ""},
		{"help for an unknown command", []string{"help", "nope"}, 2, "", `unknown command "nope"`},
		{"command -h", []string{"validate", "-h"}, 0, "", "usage: flametrench validate"},
		{"unknown flag", []string{"check", "--frob"}, 2, "", "flag provided but not defined: -frob"},
		{"version with an argument", []string{"version", "x"}, 2, "", "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("run(%q) = %d, want %d\nstderr: %s", tt.args, r.code, tt.wantCode, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.wantStdout) {
				t.Errorf("run(%q) stdout = %q, want it to contain %q", tt.args, r.stdout, tt.wantStdout)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("run(%q) stderr = %q, want it to contain %q", tt.args, r.stderr, tt.wantStderr)
			}
		})
	}
}

func TestUsageListsEveryCommand(t *testing.T) {
	r := runCLI(t, "", "help")
	for _, c := range commands {
		if !strings.Contains(r.stdout, "\n  "+c.name+" ") {
			t.Errorf("usage does not list %q:\n%s", c.name, r.stdout)
		}
	}
}

func TestVersion(t *testing.T) {
	r := runCLI(t, "", "version")
	if r.code != 0 {
		t.Fatalf("version = %d, want 0; stderr %s", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "flametrench ") {
		t.Errorf("version output %q does not start with \"flametrench \"", r.stdout)
	}
	if !strings.Contains(r.stdout, "go:       "+runtime.Version()) {
		t.Errorf("version output %q lacks the Go version %s", r.stdout, runtime.Version())
	}
}

func TestVersionTextShowsVCS(t *testing.T) {
	info := &debug.BuildInfo{
		GoVersion: "go1.99",
		Main:      debug.Module{Path: "github.com/flametrench/server", Version: "v0.3.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "985d2a7"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	want := "flametrench v0.3.0\n" +
		"module:   github.com/flametrench/server\n" +
		"revision: 985d2a7 (modified)\n" +
		"time:     2026-01-02T03:04:05Z\n" +
		"go:       go1.99\n"
	if got := versionText(info); got != want {
		t.Errorf("versionText = %q, want %q", got, want)
	}
	if got := versionText(nil); !strings.HasPrefix(got, "flametrench (unknown)\n") {
		t.Errorf("versionText(nil) = %q, want it to start with \"flametrench (unknown)\"", got)
	}
}
