package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestValidatePasses(t *testing.T) {
	for _, path := range []string{
		"testdata/validate-pass.yaml",
		"testdata/nested/validate-rules-file.yaml", // rules_file: ../rules.yaml
		"../../docs/examples/saas-validate.yaml",
	} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			r := runCLI(t, "", "validate", path)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "ok: ") || r.stderr != "" {
				t.Errorf("validate %s = %d\nstdout %s\nstderr %s\nwant 0 and ok", path, r.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestValidateCountsAssertions(t *testing.T) {
	r := runCLI(t, "", "validate", "testdata/validate-pass.yaml")
	if want := "ok: 11 assertions\n"; r.stdout != want {
		t.Errorf("validate printed %q, want %q", r.stdout, want)
	}
	r = runCLI(t, "", "validate", "../../docs/examples/saas-validate.yaml")
	if want := "ok: 26 assertions\n"; r.stdout != want {
		t.Errorf("validate saas example printed %q, want %q", r.stdout, want)
	}
}

func TestValidateFailures(t *testing.T) {
	path := "testdata/validate-fail.yaml"
	r := runCLI(t, "", "validate", path)
	if r.code != 1 {
		t.Errorf("validate %s = %d, want 1; stderr %s", path, r.code, r.stderr)
	}
	want := `FAIL testdata/validate-fail.yaml:13 allowed: doc:readme#editor@usr:bob
  want: allowed
  got:  denied
FAIL testdata/validate-fail.yaml:15 denied: doc:readme#viewer@usr:bob
  want: denied
  got:  allowed
FAIL testdata/validate-fail.yaml:18 error: doc:readme#viewer@usr:alice
  want: error evaluation_limit_exceeded
  got:  allowed
FAIL: 3 of 5 assertions
`
	if r.stdout != want {
		t.Errorf("validate printed\n%s\nwant\n%s", r.stdout, want)
	}
}

// TestValidateLimitFlags: the error assertions of validate-pass.yaml hold only
// while the folder chain is deeper than --max-depth.
func TestValidateLimitFlags(t *testing.T) {
	r := runCLI(t, "", "validate", "--max-depth", "20", "testdata/validate-pass.yaml")
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL: 2 of 11 assertions") {
		t.Errorf("validate --max-depth 20 = %d\n%s\nwant 1 and the two error assertions failing", r.code, r.stdout)
	}
	if !strings.Contains(r.stdout, "error: doc:deep#viewer@usr:bob\n  want: error evaluation_limit_exceeded\n  got:  denied\n") {
		t.Errorf("validate --max-depth 20 does not show the deep check's diff:\n%s", r.stdout)
	}
	t.Setenv("FLAMETRENCH_MAX_DEPTH", "20")
	if r := runCLI(t, "", "validate", "testdata/validate-pass.yaml"); r.code != 1 {
		t.Errorf("validate with FLAMETRENCH_MAX_DEPTH=20 = %d, want 1", r.code)
	}
}

func TestValidateNames(t *testing.T) {
	// The UUID a name stands for is fixed forever; pin it (the value was
	// cross-checked with Python's uuid.uuid5).
	aliceID := nameUUID("usr", "alice")
	if got, want := aliceID.String(), "9d6b76ca-9892-5205-b0e9-02f35bc77e5d"; got != want {
		t.Errorf("nameUUID(usr, alice) = %s, want %s", got, want)
	}
	if aliceID != [16]byte(uuid.NewSHA1(nameSpace, []byte("usr:alice"))) || aliceID.Version() != 5 {
		t.Errorf("nameUUID(usr, alice) = %s, want the version 5 UUID of \"usr:alice\" in nameSpace", aliceID)
	}
	if nameUUID("doc", "alice") == aliceID {
		t.Error("usr:alice and doc:alice map to the same UUID")
	}
	// A tuple given by name answers a check given by the name's UUID, in
	// each id form, and output shows the name back.
	path := writeFile(t, "v.yaml", `
tuples:
  - "doc:readme#viewer@usr:alice"
assertions:
  allowed:
    - "doc:readme#viewer@usr:`+aliceID.String()+`"
    - "doc:readme#viewer@usr:usr_`+aliceID.Hex()+`"
  denied:
    - "doc:readme#viewer@usr:`+aliceID.Hex()+`"
`)
	r := runCLI(t, "", "validate", path)
	if r.code != 1 {
		t.Fatalf("validate = %d, want 1 (one deliberate failure); stderr %s", r.code, r.stderr)
	}
	want := "FAIL " + path + ":9 denied: doc:readme#viewer@usr:alice\n  want: denied\n  got:  allowed\nFAIL: 1 of 3 assertions\n"
	if r.stdout != want {
		t.Errorf("validate printed\n%s\nwant\n%s", r.stdout, want)
	}
}

func TestValidateInvalidFiles(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string // stderr after "FILE:"
	}{
		{"syntax error", "tuples: [\n  \"a\"\nassertions: {}\n", "2: syntax error: did not find expected ',' or ']'"},
		{"empty", "", " empty; want a mapping"},
		{"not a mapping", "- a\n- b\n", "1:1: want a mapping with rules or rules_file, tuples and assertions, got a list"},
		{"two documents", "tuples: []\n---\ntuples: []\n", "3:1: more than one YAML document"},
		{"unknown top-level key", "tuples: []\nassertion: {}\n", `2:1: unknown key "assertion" (want rules, rules_file, tuples or assertions)`},
		{"duplicate key", "tuples: []\ntuples: []\n", `2:1: duplicate key "tuples" (first at 1:1)`},
		{"rules and rules_file", "rules: {}\nrules_file: r.yaml\n", "2:1: rules_file beside rules (at 1:1); give one of rules and rules_file"},
		{"bad inline rules, block", "tuples: []\nrules:\n  doc:\n    viewer:\n      union: [this, {computed_userset: {relation: 5}}]\n", "5:51: doc.viewer.union[1].computed_userset.relation: "},
		{"bad inline rules, flow", "{\"tuples\": [], \"rules\": {\"doc\": {\"viewer\": \"that\"}}}", `1:44: doc.viewer: unknown rule body "that"`},
		{"bad inline rules, literal string", "rules: |\n  doc:\n    viewer: bogus\n", `3:13: doc.viewer: unknown rule body "bogus"`},
		{"bad inline rules, quoted string", "rules: \"doc: {viewer: bogus}\"\n", `1:8: rules: in the rule string: 1:15: doc.viewer: unknown rule body "bogus"`},
		{"rules is a list", "rules: [this]\n", "1:8: rules: want a rule document (a mapping) or a string holding one, got a list"},
		{"missing rules_file", "rules_file: nope.yaml\n", "1:13: rules_file: open "},
		{"tuples not a list", "tuples: doc:a#viewer@usr:b\n", `1:9: tuples: want a list of tuples, got "doc:a#viewer@usr:b"`},
		{"bad tuple string", "tuples:\n  - doc:a#viewer@usr:b\n  - \"doc:a#Viewer@usr:b\"\n", `3:5: tuples[1]: invalid_format.relation: relation "Viewer" must match`},
		{"tuple with a set", "tuples:\n  - doc:a#viewer,editor@usr:b\n", "2:5: tuples[0]: invalid_format.notation:"},
		{"tuple without subject", "tuples:\n  - doc:a#viewer\n", "2:5: tuples[0]: invalid_format.notation:"},
		{"tuple mapping with unknown key", "tuples:\n  - {subject_type: usr, subject_id: a, relation: viewer, object_type: doc, object_id: b, by: c}\n", `2:90: tuples[0]: unknown key "by"`},
		{"tuple mapping missing a key", "tuples:\n  - {subject_type: usr, subject_id: a, relation: viewer, object_type: doc}\n", "2:5: tuples[0]: missing object_id"},
		{"tuple mapping bad type", "tuples:\n  - {subject_type: User, subject_id: a, relation: viewer, object_type: doc, object_id: b}\n", `2:20: tuples[0]: invalid_format.subject_type: subject_type "User"`},
		{"id-shaped but invalid", "tuples:\n  - doc:0190f2a80000000000000000000000aa#viewer@usr:b\n", `2:5: tuples[0]: invalid_format.object_id: object_id "0190f2a80000000000000000000000aa" must be a doc_<32 hex> id`},
		{"neither id nor name", "tuples:\n  - doc:read+me#viewer@usr:b\n", `2:5: tuples[0]: invalid_format.object_id: object_id "read+me" must be a name (^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$)`},
		{"name too long", "tuples:\n  - doc:" + strings.Repeat("a", 65) + "#viewer@usr:b\n", "2:5: tuples[0]: invalid_format.object_id"},
		{"assertions not a mapping", "assertions: []\n", "1:13: assertions: want a mapping with allowed, denied and error lists, got an empty list"},
		{"unknown assertion list", "assertions:\n  allowd: []\n", `2:3: assertions: unknown key "allowd" (want allowed, denied or error)`},
		{"assertion list not a list", "assertions:\n  allowed: doc:a#viewer@usr:b\n", "2:12: assertions.allowed: want a list of checks"},
		{"bad assertion", "assertions:\n  denied:\n    - doc:a#viewer@usr:b\n    - doc:a#viewer@grp:c#member\n", "4:7: assertions.denied[1]: invalid_format.notation: "},
		{"code outside the error list", "assertions:\n  denied:\n    - {check: \"doc:a#viewer@usr:b\", code: x}\n", `3:37: assertions.denied[0]: unknown key "code" (want check, `},
		{"check and fields", "assertions:\n  error:\n    - {check: \"doc:a#viewer@usr:b\", relation: viewer}\n", "3:7: assertions.error[0]: give either check or the "},
		{"both relation and relations", "assertions:\n  allowed:\n    - {subject_type: usr, subject_id: a, relation: viewer, relations: [viewer], object_type: doc, object_id: b}\n", "3:7: assertions.allowed[0]: give exactly one of relation and relations"},
		{"empty relations", "assertions:\n  allowed:\n    - {subject_type: usr, subject_id: a, relations: [], object_type: doc, object_id: b}\n", "3:53: assertions.allowed[0].relations: want a non-empty list of relations, got an empty list"},
		{"bad relation in relations", "assertions:\n  allowed:\n    - {subject_type: usr, subject_id: a, relations: [viewer, X], object_type: doc, object_id: b}\n", `3:62: assertions.allowed[0]: invalid_format.relation: relation "X"`},
		{"alias", "x: &a doc:a#viewer@usr:b\n", `1:1: unknown key "x"`},
		{"tuple alias", "tuples:\n  - &t doc:a#viewer@usr:b\n  - *t\n", "3:5: tuples[1]: want \"OBJECT#RELATION@SUBJECT\" or a mapping of subject_type, subject_id, relation, object_type, object_id; got an alias"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "v.yaml", tt.content)
			r := runCLI(t, "", "validate", path)
			if r.code != 2 {
				t.Errorf("validate = %d, want 2\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
			}
			if want := path + ":" + tt.want; !strings.HasPrefix(r.stderr, want) {
				t.Errorf("stderr = %q\nwant prefix  %q", r.stderr, want)
			}
			if r.stdout != "" {
				t.Errorf("validate of an invalid file printed %q, want nothing", r.stdout)
			}
		})
	}
}

func TestValidateRulesFileErrorsPointIntoIt(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte("doc:\n  viewer: [this, nope]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "v.yaml")
	if err := os.WriteFile(path, []byte("rules_file: rules.yaml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "", "validate", path)
	if want := filepath.Join(dir, "rules.yaml") + ":2:18: doc.viewer[1]: unknown primitive"; r.code != 2 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("validate = %d %q, want 2 and a message starting %q", r.code, r.stderr, want)
	}
}

func TestValidateUsage(t *testing.T) {
	for _, args := range [][]string{{"validate"}, {"validate", "a.yaml", "b.yaml"}} {
		if r := runCLI(t, "", args...); r.code != 2 || !strings.Contains(r.stderr, "want one FILE argument") {
			t.Errorf("run(%q) = %d %q, want 2 and a usage message", args, r.code, r.stderr)
		}
	}
	if r := runCLI(t, "", "validate", "testdata/nope.yaml"); r.code != 2 || !strings.Contains(r.stderr, "testdata/nope.yaml") {
		t.Errorf("validate of a missing file = %d %q, want 2 naming the file", r.code, r.stderr)
	}
}
