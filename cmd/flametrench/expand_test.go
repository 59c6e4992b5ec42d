package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestExpandText(t *testing.T) {
	r := runCLI(t, "", "expand", "--rules", rulesFile, "--tuples", tuplesFile, "doc:"+readme+"#viewer")
	if r.code != 0 {
		t.Fatalf("expand = %d, want 0; stderr %s", r.code, r.stderr)
	}
	want := `doc:0190f2a8-1b3c-7abc-8123-00000000d001#viewer
  computed_userset editor
    doc:0190f2a8-1b3c-7abc-8123-00000000d001#editor
      subject usr:0190f2a8-1b3c-7abc-8123-000000000001
  tuple_to_userset viewer via parent
    fld:0190f2a8-1b3c-7abc-8123-00000000f001#viewer
      subject usr:0190f2a8-1b3c-7abc-8123-000000000002
      tuple_to_userset viewer via parent (no parent tuples)
`
	if r.stdout != want {
		t.Errorf("expand printed\n%s\nwant\n%s", r.stdout, want)
	}
}

func TestExpandTextCycleAndEmpty(t *testing.T) {
	const f1, f2 = "0190f2a8-1b3c-7abc-8123-00000000f001", "0190f2a8-1b3c-7abc-8123-00000000f002"
	tuplesPath := writeFile(t, "t.jsonl",
		`{"subject_type":"fld","subject_id":"`+f2+`","relation":"parent","object_type":"fld","object_id":"`+f1+`"}`+"\n"+
			`{"subject_type":"fld","subject_id":"`+f1+`","relation":"parent","object_type":"fld","object_id":"`+f2+`"}`+"\n")
	r := runCLI(t, "", "expand", "--rules", rulesFile, "--tuples", tuplesPath, "fld:"+f1+"#viewer")
	if r.code != 0 {
		t.Fatalf("expand = %d, want 0; stderr %s", r.code, r.stderr)
	}
	want := `fld:` + f1 + `#viewer
  tuple_to_userset viewer via parent
    fld:` + f2 + `#viewer
      tuple_to_userset viewer via parent
        fld:` + f1 + `#viewer (cycle: already being expanded above)
`
	if r.stdout != want {
		t.Errorf("expand printed\n%s\nwant\n%s", r.stdout, want)
	}

	r = runCLI(t, "", "expand", "--tuples", tuplesPath, "doc:"+readme+"#viewer")
	if want := "doc:" + readme + "#viewer\n  (no subjects)\n"; r.code != 0 || r.stdout != want {
		t.Errorf("expand of an empty relation = %d %q, want 0 %q", r.code, r.stdout, want)
	}
}

func TestExpandJSON(t *testing.T) {
	r := runCLI(t, "", "expand", "--json", "--rules", rulesFile, "--tuples", tuplesFile, "doc:"+readme+"#viewer")
	if r.code != 0 {
		t.Fatalf("expand --json = %d, want 0; stderr %s", r.code, r.stderr)
	}
	type subject struct {
		Type string `json:"subject_type"`
		ID   string `json:"subject_id"`
	}
	type tree struct {
		Relation   string    `json:"relation"`
		ObjectType string    `json:"object_type"`
		ObjectID   string    `json:"object_id"`
		Subjects   []subject `json:"subjects"`
		Branches   []struct {
			Kind     string  `json:"kind"`
			Relation string  `json:"relation"`
			Tupleset string  `json:"tupleset"`
			Children []*tree `json:"children"`
		} `json:"branches"`
		Cycle bool `json:"cycle"`
	}
	var got tree
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("expand --json output does not decode: %v\n%s", err, r.stdout)
	}
	if got.Relation != "viewer" || got.ObjectType != "doc" || got.ObjectID != readme || len(got.Subjects) != 0 {
		t.Errorf("root = %+v, want viewer on doc:%s with no direct subjects", got, readme)
	}
	if len(got.Branches) != 2 {
		t.Fatalf("root has %d branches, want 2", len(got.Branches))
	}
	cu, ttu := got.Branches[0], got.Branches[1]
	if cu.Kind != "computed_userset" || cu.Relation != "editor" || len(cu.Children) != 1 {
		t.Errorf("branch 0 = %+v, want computed_userset editor with one child", cu)
	} else if s := cu.Children[0].Subjects; len(s) != 1 || s[0] != (subject{"usr", "0190f2a8-1b3c-7abc-8123-000000000001"}) {
		t.Errorf("editor subjects = %+v, want alice", s)
	}
	if ttu.Kind != "tuple_to_userset" || ttu.Tupleset != "parent" || len(ttu.Children) != 1 || ttu.Children[0].ObjectType != "fld" {
		t.Errorf("branch 1 = %+v, want tuple_to_userset via parent to one folder", ttu)
	}
}

func TestExpandErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"evaluation limit", []string{"--rules", rulesFile, "--tuples", tuplesFile, "doc:" + deep + "#viewer"}, 3, "evaluation_limit_exceeded: depth=8 at fld.viewer"},
		{"lower limit from flag", []string{"--rules", rulesFile, "--tuples", tuplesFile, "--max-depth", "1", "doc:" + readme + "#viewer"}, 3, "evaluation_limit_exceeded: depth=1"},
		{"with a subject", []string{"--tuples", tuplesFile, "doc:" + readme + "#viewer@usr:" + alice}, 2, "without a subject"},
		{"set form", []string{"--tuples", tuplesFile, "doc:" + readme + "#viewer,editor"}, 2, "exactly one relation"},
		{"no argument", []string{"--tuples", tuplesFile}, 2, "want one OBJECT#RELATION"},
		{"no tuples", []string{"doc:" + readme + "#viewer"}, 2, "--tuples FILE is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "", append([]string{"expand"}, tt.args...)...)
			if r.code != tt.wantCode {
				t.Errorf("expand %q = %d, want %d; stderr %s", tt.args, r.code, tt.wantCode, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("expand %q stderr = %q, want it to contain %q", tt.args, r.stderr, tt.wantStderr)
			}
		})
	}
}
