package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

const (
	rulesFile  = "testdata/rules.yaml"
	tuplesFile = "testdata/tuples.jsonl"
	checksFile = "testdata/checks.jsonl"
)

// outLine is one line of check output.
type outLine struct {
	Allowed *bool `json:"allowed"`
	Error   *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// outcomes decodes check output into "allowed", "denied" or the error code.
func outcomes(t *testing.T, stdout string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if line == "" {
			continue
		}
		var o outLine
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("output line %q is not a check answer: %v", line, err)
		}
		switch {
		case o.Allowed != nil && o.Error == nil && *o.Allowed:
			out = append(out, "allowed")
		case o.Allowed != nil && o.Error == nil:
			out = append(out, "denied")
		case o.Error != nil && o.Allowed == nil && o.Error.Code != "" && o.Error.Message != "":
			out = append(out, o.Error.Code)
		default:
			t.Fatalf("output line %q has neither allowed nor a complete error", line)
		}
	}
	return out
}

func TestCheckFromFiles(t *testing.T) {
	tests := []struct {
		name  string
		extra []string
		want  []string
	}{
		{
			name: "default limits",
			want: []string{
				"allowed",                   // alice edits readme
				"allowed",                   // bob views readme's folder
				"denied",                    // carol has no grant
				"allowed",                   // set form: bob is a viewer
				"invalid_format.json",       // truncated line
				"invalid_format.relation",   // "Viewer"
				"evaluation_limit_exceeded", // ten folders deep
			},
		},
		{
			name:  "max depth 1",
			extra: []string{"--max-depth", "1"},
			want: []string{
				"allowed",                   // editor has no rule: a direct lookup at depth 1
				"allowed",                   // the folder's direct viewer tuple needs no expansion
				"evaluation_limit_exceeded", // carol: expanding fld.viewer at depth 1
				"allowed",
				"invalid_format.json",
				"invalid_format.relation",
				"evaluation_limit_exceeded",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"check", "--rules", rulesFile, "--tuples", tuplesFile, "--checks", checksFile}, tt.extra...)
			r := runCLI(t, "", args...)
			if r.code != 0 {
				t.Fatalf("check = %d, want 0; stderr %s", r.code, r.stderr)
			}
			got := outcomes(t, r.stdout)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("check outcomes =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

func TestCheckSingle(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // exact, or the error code for error lines
		wantStderr string // substring
	}{
		{"allowed", []string{"doc:" + readme + "#viewer@usr:" + alice}, 0, `{"allowed":true}` + "\n", ""},
		{"allowed via the folder", []string{"doc:" + readme + "#viewer@usr:" + bob}, 0, `{"allowed":true}` + "\n", ""},
		{"denied", []string{"doc:" + readme + "#viewer@usr:" + carol}, 1, `{"allowed":false}` + "\n", ""},
		{"set form allowed", []string{"doc:" + readme + "#editor,viewer@usr:" + bob}, 0, `{"allowed":true}` + "\n", ""},
		{"set form denied", []string{"doc:" + readme + "#editor,owner@usr:" + bob}, 1, `{"allowed":false}` + "\n", ""},
		{"object in 32 hex, subject hyphenated", []string{"doc:0190f2a81b3c7abc812300000000d001#editor@usr:0190f2a8-1b3c-7abc-8123-000000000001"}, 0, `{"allowed":true}` + "\n", ""},
		{"flags after the argument", []string{"doc:" + readme + "#viewer@usr:" + carol, "--max-depth", "1"}, 3, "evaluation_limit_exceeded", ""},
		{"evaluation limit", []string{"doc:" + deep + "#viewer@usr:" + carol}, 3, "evaluation_limit_exceeded", ""},
		{"bad notation", []string{"doc:" + readme + "@usr:" + carol}, 2, "", "has no #RELATION"},
		{"bad id", []string{"doc:readme#viewer@usr:" + carol}, 2, "", "invalid_format.object_id"},
		{"names are for validation files only", []string{"doc:" + readme + "#viewer@usr:alice"}, 2, "", "invalid_format.subject_id"},
		{"bad relation", []string{"doc:" + readme + "#Viewer@usr:" + carol}, 2, "", "invalid_format.relation"},
		{"subject userset", []string{"doc:" + readme + "#viewer@grp:" + readme + "#member"}, 2, "", "subject usersets"},
		{"two arguments", []string{"doc:" + readme + "#viewer@usr:" + carol, "doc:" + readme + "#viewer@usr:" + bob}, 2, "", "at most one CHECK"},
		{"argument and --checks", []string{"--checks", checksFile, "doc:" + readme + "#viewer@usr:" + carol}, 2, "", "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"check", "--rules", rulesFile, "--tuples", tuplesFile}, tt.args...)
			r := runCLI(t, "", args...)
			if r.code != tt.wantCode {
				t.Errorf("check %q = %d, want %d; stderr %s", tt.args, r.code, tt.wantCode, r.stderr)
			}
			switch {
			case tt.wantCode == 3:
				if got := outcomes(t, r.stdout); len(got) != 1 || got[0] != tt.wantStdout {
					t.Errorf("check %q printed %q, want one error line with code %s", tt.args, r.stdout, tt.wantStdout)
				}
			case r.stdout != tt.wantStdout:
				t.Errorf("check %q printed %q, want %q", tt.args, r.stdout, tt.wantStdout)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("check %q stderr = %q, want it to contain %q", tt.args, r.stderr, tt.wantStderr)
			}
		})
	}
}

func TestCheckFromStdin(t *testing.T) {
	line := func(subj, rel, obj string) string {
		return fmt.Sprintf(`{"subject_type":"usr","subject_id":%q,"relation":%q,"object_type":"doc","object_id":%q}`, subj, rel, obj)
	}
	stdin := line(alice, "viewer", readme) + "\r\n\n   \n" + line(carol, "viewer", readme) + "\n" +
		`{"subject_type":"usr","subject_id":"` + alice + `","object_type":"doc","object_id":"` + readme + `"}` + "\n" +
		`{"subject_type":"usr","subject_id":"` + alice + `","relation":"viewer","relations":["viewer"],"object_type":"doc","object_id":"` + readme + `"}` + "\n" +
		`{"subject_type":"usr","subject_id":"` + alice + `","relations":[],"object_type":"doc","object_id":"` + readme + `"}` + "\n" +
		`{"subject_type":"usr","subject_id":"` + alice + `","relation":"viewer","object_type":"doc","object_id":"` + readme + `","extra":1}` + "\n" +
		`{"subject_type":"usr","subject_id":7,"relation":"viewer","object_type":"doc","object_id":"` + readme + `"}` + "\n" +
		`[1,2]` + "\n" +
		line(bob, "viewer", readme) // no final newline
	r := runCLI(t, stdin, "check", "--rules", rulesFile, "--tuples", tuplesFile)
	if r.code != 0 {
		t.Fatalf("check from stdin = %d, want 0; stderr %s", r.code, r.stderr)
	}
	want := []string{
		"allowed", "denied",
		"invalid_format.relation",  // neither relation nor relations
		"invalid_format.relation",  // both
		"invalid_format.relations", // empty set
		"invalid_format.json",      // unknown field
		"invalid_format.json",      // wrong type
		"invalid_format.json",      // not an object
		"allowed",
	}
	if got := outcomes(t, r.stdout); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("check from stdin =\n%v\nwant\n%v\noutput:\n%s", got, want, r.stdout)
	}
	for _, msg := range []string{`unknown field \"extra\"`, "subject_id: want a string", "want a JSON object"} {
		if !strings.Contains(r.stdout, msg) {
			t.Errorf("output lacks the message %q:\n%s", msg, r.stdout)
		}
	}
}

func TestCheckOverlongCheckLineIsAnErrorLine(t *testing.T) {
	long := `{"subject_type":"usr","subject_id":"` + strings.Repeat("a", maxLine) + `"}`
	ok := fmt.Sprintf(`{"subject_type":"usr","subject_id":%q,"relation":"viewer","object_type":"doc","object_id":%q}`, alice, readme)
	r := runCLI(t, long+"\n"+ok+"\n", "check", "--rules", rulesFile, "--tuples", tuplesFile)
	if r.code != 0 {
		t.Fatalf("check = %d, want 0; stderr %s", r.code, r.stderr)
	}
	want := []string{"invalid_format.json", "allowed"}
	if got := outcomes(t, r.stdout); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("check outcomes = %v, want %v", got, want)
	}
}

func TestCheckTuplesFileErrors(t *testing.T) {
	good := fmt.Sprintf(`{"subject_type":"usr","subject_id":%q,"relation":"viewer","object_type":"doc","object_id":%q}`, alice, readme)
	tests := []struct {
		name string
		bad  string
		want string // after "FILE:3: "
	}{
		{"malformed JSON", `{"subject_type":"usr"`, "invalid_format.json: malformed JSON"},
		{"not an object", `"usr"`, "invalid_format.json: want a JSON object"},
		{"unknown field", strings.TrimSuffix(good, "}") + `,"created_at":"x"}`, `invalid_format.json: unknown field "created_at"`},
		{"bad tuple id", strings.TrimSuffix(good, "}") + `,"id":"usr_0190f2a81b3c7abc8123000000000009"}`, "invalid_format.id"},
		{"bad created_by", strings.TrimSuffix(good, "}") + `,"created_by":"x"}`, "invalid_format.created_by"},
		{"wrong type", strings.Replace(good, `"relation":"viewer"`, `"relation":["viewer"]`, 1), "invalid_format.json: relation: want a string, got array"},
		{"missing field", strings.Replace(good, `"relation":"viewer",`, "", 1), "invalid_format.json: missing relation"},
		{"trailing data", good + " {}", "invalid_format.json: unexpected data after the JSON object"},
		{"bad subject id", strings.Replace(good, alice, "usr_123", 1), "invalid_format.subject_id"},
		{"bad object type", strings.Replace(good, `"object_type":"doc"`, `"object_type":"Document"`, 1), "invalid_format.object_type"},
		{"bad relation", strings.Replace(good, `"viewer"`, `"v"`, 1), "invalid_format.relation"},
		{"set form is for checks", strings.Replace(good, `"relation":"viewer"`, `"relations":["viewer"]`, 1), `invalid_format.json: unknown field "relations"`},
		{"line too long", strings.Repeat(" ", maxLine+1), "invalid_format.json: line longer than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "tuples.jsonl", good+"\n\n"+tt.bad+"\n"+good+"\n")
			r := runCLI(t, "", "check", "--tuples", path, "doc:"+readme+"#viewer@usr:"+alice)
			if r.code != 2 {
				t.Errorf("check with a bad tuples file = %d, want 2", r.code)
			}
			if r.stdout != "" {
				t.Errorf("check with a bad tuples file printed %q, want nothing", r.stdout)
			}
			if want := path + ":3: " + tt.want; !strings.HasPrefix(r.stderr, want) {
				t.Errorf("stderr = %q, want it to start with %q", r.stderr, want)
			}
		})
	}
}

func TestCheckInputErrors(t *testing.T) {
	badRules := writeFile(t, "rules.yaml", "doc:\n  viewer:\n    union: [this, nope]\n")
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"missing --tuples", []string{"check", "doc:" + readme + "#viewer@usr:" + alice}, "--tuples FILE is required"},
		{"missing tuples file", []string{"check", "--tuples", "testdata/nope.jsonl"}, "testdata/nope.jsonl"},
		{"missing checks file", []string{"check", "--tuples", tuplesFile, "--checks", "testdata/nope.jsonl"}, "testdata/nope.jsonl"},
		{"bad rules file", []string{"check", "--rules", badRules, "--tuples", tuplesFile}, badRules + ":3:19: doc.viewer.union[1]: unknown primitive"},
		{"max depth too large", []string{"check", "--tuples", tuplesFile, "--max-depth", "65"}, "--max-depth 65 is outside 1..64"},
		{"max depth zero", []string{"check", "--tuples", tuplesFile, "--max-depth", "0"}, "--max-depth 0 is outside 1..64"},
		{"max fan-out zero", []string{"check", "--tuples", tuplesFile, "--max-fan-out", "0"}, "--max-fan-out 0 must be at least 1"},
		{"max depth not a number", []string{"check", "--tuples", tuplesFile, "--max-depth", "deep"}, `invalid value "deep" for flag -max-depth`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", tt.args...)
			if r.code != 2 {
				t.Errorf("run(%q) = %d, want 2", tt.args, r.code)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("run(%q) stderr = %q, want it to contain %q", tt.args, r.stderr, tt.wantStderr)
			}
		})
	}
}

// TestCheckAnswersEachLineBeforeTheNext drives check through pipes, as a
// program using it as a co-process would: each answer must arrive before the
// next question is sent.
func TestCheckAnswersEachLineBeforeTheNext(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := run(context.Background(), []string{"check", "--rules", rulesFile, "--tuples", tuplesFile}, inR, outW, io.Discard)
		outW.Close()
		done <- code
	}()
	answers := bufio.NewReader(outR)
	for _, q := range []struct{ subj, want string }{{alice, `{"allowed":true}`}, {carol, `{"allowed":false}`}} {
		line := fmt.Sprintf(`{"subject_type":"usr","subject_id":%q,"relation":"viewer","object_type":"doc","object_id":%q}`+"\n", q.subj, readme)
		if _, err := io.WriteString(inW, line); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() { s, _ := answers.ReadString('\n'); got <- s }()
		select {
		case s := <-got:
			if s != q.want+"\n" {
				t.Errorf("answer = %q, want %q", s, q.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no answer before the next question: output is not flushed")
		}
	}
	inW.Close()
	if code := <-done; code != 0 {
		t.Errorf("check = %d, want 0", code)
	}
}
