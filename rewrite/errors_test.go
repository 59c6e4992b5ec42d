package rewrite

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/flametrench/server/tuples"
)

// checkErr asserts err is the package's error with a message that starts with
// "POS PATH: " (pos "" when the problem has no position) and contains text.
func checkErr(t *testing.T, call string, err error, pos, path, text string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s error = nil, want %q", call, pos+" "+path+": "+text)
	}
	var te *tuples.Error
	if !errors.As(err, &te) || te.Kind != tuples.Invalid || te.Code != "invalid_format.rules" {
		t.Fatalf("%s error = %#v, want *tuples.Error{Kind: Invalid, Code: invalid_format.rules}", call, err)
	}
	if !errors.Is(err, ErrInvalidRules) {
		t.Errorf("%s: errors.Is(%v, ErrInvalidRules) = false, want true", call, err)
	}
	prefix := path + ": "
	if pos != "" {
		prefix = pos + " " + prefix
	}
	if !strings.HasPrefix(te.Msg, prefix) || !strings.Contains(te.Msg, text) {
		t.Errorf("%s error = %q, want prefix %q containing %q", call, te.Msg, prefix, text)
	}
}

// errorCases lists every refused shape with where the error must point. The
// fuzz test reuses the inputs as seeds.
var errorCases = []struct {
	name string
	in   string
	pos  string // "LINE:COL:", or "LINE:" for syntax errors
	path string
	text string
}{
	// Document level.
	{"syntax error", "rules:\n  proj: [this\n  org: {}\n", "1:", "document", "syntax error: did not find expected ',' or ']'"},
	{"second document", "rules: {}\n---\nrules: {}\n", "3:1:", "document", "more than one YAML document"},
	{"top level list", "- this\n", "1:1:", "document", "want a mapping of rules, got a list"},
	{"top level string", "hello\n", "1:1:", "document", `want a mapping of rules, got "hello"`},
	{"spec_version without rules", "spec_version: \"0.2.0\"\nproj:\n  viewer: this\n", "1:1:", "document", `spec_version without "rules"`},
	{"unknown top level key", "spec_version: \"0.2.0\"\nrules: {}\nrule: {}\n", "3:1:", "document", `unknown key "rule" (want rules or spec_version)`},
	{"duplicate rules key", "rules: {}\nrules: {}\n", "2:1:", "document", `duplicate key "rules" (first at 1:1)`},
	{"spec_version number", "spec_version: 0.2\nrules: {}\n", "1:15:", "spec_version", "got the number 0.2"},
	{"spec_version empty", "spec_version: \"\"\nrules: {}\n", "1:15:", "spec_version", `invalid version ""`},
	{"spec_version spaces", "spec_version: \"0.2 beta\"\nrules: {}\n", "1:15:", "spec_version", `invalid version "0.2 beta"`},
	{"spec_version control char", "spec_version: \"0.2\\x7f\"\nrules: {}\n", "1:15:", "spec_version", "invalid version"},
	{"rules is a list", "rules:\n  - proj\n", "2:3:", "rules", "want a mapping of object types, got a list"},
	{"rules is a string", "rules: proj\n", "1:8:", "rules", `want a mapping of object types, got "proj"`},

	// Object types.
	{"type uppercase", "rules:\n  Proj: {}\n", "2:3:", "rules", `invalid object type "Proj" (want ^[a-z]{2,6}$)`},
	{"type too short", "rules:\n  p: {}\n", "2:3:", "rules", `invalid object type "p"`},
	{"type too long", "rules:\n  project: {}\n", "2:3:", "rules", `invalid object type "project"`},
	{"type with digit", "rules:\n  doc2: {}\n", "2:3:", "rules", `invalid object type "doc2"`},
	{"type underscore", "{\"my_doc\": {}}", "1:2:", "document", `invalid object type "my_doc"`},
	{"type null key", "rules:\n  null: {}\n", "2:3:", "rules", "mapping key must be a string, got null"},
	{"type number key", "rules:\n  12: {}\n", "2:3:", "rules", "mapping key must be a string, got the number 12"},
	{"type list key", "rules:\n  ? [doc]\n  : {}\n", "2:5:", "rules", "mapping key must be a string, got a list"},
	{"merge key", "rules:\n  doc:\n    <<: {owner: this}\n", "3:5:", "rules.doc", "mapping key must be a string, got the merge key <<"},
	{"duplicate type", "rules:\n  doc: {}\n  org: {}\n  doc: {}\n", "4:3:", "rules", `duplicate key "doc" (first at 2:3)`},
	{"duplicate type json", `{"doc": {}, "doc": {}}`, "1:13:", "document", `duplicate key "doc" (first at 1:2)`},
	{"type is a list", "rules:\n  doc: [this]\n", "2:8:", "rules.doc", "want a mapping of relations, got a list"},
	{"type is a string", "rules:\n  doc: this\n", "2:8:", "rules.doc", `want a mapping of relations, got "this"`},

	// Relations.
	{"relation uppercase", "rules:\n  doc:\n    Viewer: this\n", "3:5:", "rules.doc", `invalid relation "Viewer" (want ^[a-z_]{2,32}$)`},
	{"relation too short", "rules:\n  doc:\n    v: this\n", "3:5:", "rules.doc", `invalid relation "v"`},
	{"relation too long", "rules:\n  doc:\n    abcdefghijklmnopqrstuvwxyz_abcdef: this\n", "3:5:", "rules.doc", "invalid relation"},
	{"relation with dash", `{"doc": {"can-view": "this"}}`, "1:10:", "doc", `invalid relation "can-view"`},
	{"duplicate relation", "rules:\n  doc:\n    owner: this\n    owner: this\n", "4:5:", "rules.doc", `duplicate key "owner" (first at 3:5)`},
	{"duplicate relation flat json", `{"doc": {"owner": [{"type": "this"}], "owner": [{"type": "this"}]}}`, "1:39:", "doc", `duplicate key "owner" (first at 1:10)`},

	// Bodies.
	{"body null", "rules:\n  doc:\n    owner:\n", "3:11:", "rules.doc.owner", "missing rule body"},
	{"body unknown scalar", "rules:\n  doc:\n    owner: that\n", "3:12:", "rules.doc.owner", `unknown rule body "that" (want this, a union or a primitive)`},
	{"body number", "rules:\n  doc:\n    owner: 3\n", "3:12:", "rules.doc.owner", "unknown rule body the number 3"},
	{"body boolean", "rules:\n  doc:\n    owner: true\n", "3:12:", "rules.doc.owner", "unknown rule body the boolean true"},
	{"union is a string", "rules:\n  doc:\n    owner:\n      union: this\n", "4:14:", "rules.doc.owner.union", `want a list of primitives, got "this"`},
	{"union is a mapping", "rules:\n  doc:\n    owner:\n      union: {this: {}}\n", "4:14:", "rules.doc.owner.union", "want a list of primitives, got a mapping"},
	{"union is null", "rules:\n  doc:\n    owner:\n      union:\n", "4:13:", "rules.doc.owner.union", "want a list of primitives, got null"},
	{"empty union", "rules:\n  doc:\n    owner:\n      union: []\n", "4:14:", "rules.doc.owner.union", "empty union"},
	{"empty list body", "rules:\n  doc:\n    owner: []\n", "3:12:", "rules.doc.owner", "empty union"},
	{"key beside union", "rules:\n  doc:\n    owner:\n      union: [this]\n      intersection: [this]\n", "5:7:", "rules.doc.owner", `unknown key "intersection" beside union`},
	{"key before union", "rules:\n  doc:\n    owner:\n      this: {}\n      union: [this]\n", "4:7:", "rules.doc.owner", `unknown key "this" beside union`},
	{"key beside rewrite", "rules:\n  doc:\n    owner:\n      rewrite: {union: [this]}\n      comment: x\n", "5:7:", "rules.doc.owner", `unknown key "comment" beside rewrite`},
	{"nested rewrite", "rules:\n  doc:\n    owner:\n      rewrite:\n        rewrite: {union: [this]}\n", "5:9:", "rules.doc.owner.rewrite", "rewrite wrappers cannot be nested"},
	{"rewrite null", "rules:\n  doc:\n    owner:\n      rewrite:\n", "4:15:", "rules.doc.owner.rewrite", "missing rule body"},
	{"intersection is not v0.2", "rules:\n  doc:\n    owner:\n      intersection: [this]\n", "4:7:", "rules.doc.owner", `unknown primitive "intersection"`},
	{"body is a mapping with no keys", "rules:\n  doc:\n    owner: {}\n", "3:12:", "rules.doc.owner", "empty primitive"},

	// Items.
	{
		"unknown primitive",
		"rules:\n  proj:\n    viewer:\n      union:\n        - this\n        - computed_userset: {relation: editor}\n        - tuple_to_users: {}\n",
		"7:11:", "rules.proj.viewer.union[2]",
		`unknown primitive "tuple_to_users" (want this, computed_userset or tuple_to_userset)`,
	},
	{"unknown scalar primitive", "rules:\n  doc:\n    owner: [this, that]\n", "3:19:", "rules.doc.owner[1]", `unknown primitive "that"`},
	{"scalar computed_userset", "rules:\n  doc:\n    owner: [computed_userset]\n", "3:13:", "rules.doc.owner[0]", "computed_userset needs a relation"},
	{"scalar tuple_to_userset", "rules:\n  doc:\n    owner: [tuple_to_userset]\n", "3:13:", "rules.doc.owner[0]", "tuple_to_userset needs a tupleset"},
	{"item is a list", "rules:\n  doc:\n    owner: [[this]]\n", "3:13:", "rules.doc.owner[0]", "want a primitive, got a list"},
	{"item is a number", "rules:\n  doc:\n    owner: [this, 7]\n", "3:19:", "rules.doc.owner[1]", "want a primitive, got the number 7"},
	{"item is null", "rules:\n  doc:\n    owner:\n      -\n", "4:8:", "rules.doc.owner[0]", "want a primitive, got null"},
	{"item is empty mapping", "rules:\n  doc:\n    owner: [this, {}]\n", "3:19:", "rules.doc.owner[1]", "empty primitive"},
	{
		"under-indented argument",
		"rules:\n  doc:\n    viewer:\n      union:\n        - computed_userset:\n          relation: editor\n",
		"6:11:", "rules.doc.viewer.union[0]", `unexpected key "relation" beside computed_userset`,
	},
	{"two primitives in one item", "rules:\n  doc:\n    owner: [{this: {}, computed_userset: {relation: editor}}]\n", "3:24:", "rules.doc.owner[0]", `unexpected key "computed_userset" beside this`},
	{"this with arguments", "rules:\n  doc:\n    owner: [{this: {relation: owner}}]\n", "3:20:", "rules.doc.owner[0].this", "this takes no arguments"},
	{"this with scalar", "rules:\n  doc:\n    owner: [{this: yes}]\n", "3:20:", "rules.doc.owner[0].this", "this takes no arguments"},
	{"this twice", "rules:\n  doc:\n    owner: [this, {computed_userset: {relation: editor}}, {this: {}}]\n", "3:59:", "rules.doc.owner[2]", "this is listed more than once"},
	{"this twice in flat form", `{"doc": {"owner": [{"type": "this"}, {"type": "this"}]}}`, "1:38:", "doc.owner[1]", "this is listed more than once"},

	// computed_userset.
	{"computed_userset scalar", "rules:\n  doc:\n    owner: {computed_userset: editor}\n", "3:31:", "rules.doc.owner.computed_userset", `want {relation: NAME}, got "editor"`},
	{"computed_userset null", "rules:\n  doc:\n    owner: {computed_userset: }\n", "3:31:", "rules.doc.owner.computed_userset", "want {relation: NAME}, got null"},
	{"computed_userset no relation", "rules:\n  doc:\n    owner: {computed_userset: {}}\n", "3:31:", "rules.doc.owner.computed_userset", `missing key "relation"`},
	{"computed_userset extra key", "rules:\n  doc:\n    owner: {computed_userset: {relation: editor, object: doc}}\n", "3:50:", "rules.doc.owner.computed_userset", `unknown key "object" (want relation)`},
	{"computed_userset duplicate relation", "rules:\n  doc:\n    owner: {computed_userset: {relation: editor, relation: admin}}\n", "3:50:", "rules.doc.owner.computed_userset", `duplicate key "relation"`},
	{"computed_userset bad relation", "rules:\n  doc:\n    owner: {computed_userset: {relation: Editor}}\n", "3:42:", "rules.doc.owner.computed_userset.relation", `invalid relation "Editor"`},
	{"computed_userset relation number", "rules:\n  doc:\n    owner: {computed_userset: {relation: 12}}\n", "3:42:", "rules.doc.owner.computed_userset.relation", "want a relation name, got the number 12"},
	{"computed_userset relation list", "rules:\n  doc:\n    owner: {computed_userset: {relation: [editor]}}\n", "3:42:", "rules.doc.owner.computed_userset.relation", "want a relation name, got a list"},

	// tuple_to_userset.
	{"ttu scalar", "rules:\n  doc:\n    owner: {tuple_to_userset: parent}\n", "3:31:", "rules.doc.owner.tuple_to_userset", "want {tupleset: {relation: NAME}, computed_userset: {relation: NAME}}"},
	{"ttu missing tupleset", "rules:\n  doc:\n    owner: {tuple_to_userset: {computed_userset: {relation: owner}}}\n", "3:31:", "rules.doc.owner.tuple_to_userset", `missing key "tupleset"`},
	{"ttu missing computed_userset", "rules:\n  doc:\n    owner: {tuple_to_userset: {tupleset: {relation: parent}}}\n", "3:31:", "rules.doc.owner.tuple_to_userset", `missing key "computed_userset"`},
	{"ttu unknown key", "rules:\n  doc:\n    owner: {tuple_to_userset: {tupleset: {relation: parent}, computed_userset: {relation: owner}, depth: 3}}\n", "3:99:", "rules.doc.owner.tuple_to_userset", `unknown key "depth" (want tupleset or computed_userset)`},
	{"ttu tupleset scalar", "rules:\n  doc:\n    owner: {tuple_to_userset: {tupleset: parent, computed_userset: {relation: owner}}}\n", "3:42:", "rules.doc.owner.tuple_to_userset.tupleset", `want {relation: NAME}, got "parent"`},
	{"ttu bad tupleset relation", "rules:\n  doc:\n    owner: {tuple_to_userset: {tupleset: {relation: p}, computed_userset: {relation: owner}}}\n", "3:53:", "rules.doc.owner.tuple_to_userset.tupleset.relation", `invalid relation "p"`},
	{"ttu bad computed relation", "rules:\n  doc:\n    owner: {tuple_to_userset: {tupleset: {relation: parent}, computed_userset: {relation: Owner}}}\n", "3:91:", "rules.doc.owner.tuple_to_userset.computed_userset.relation", `invalid relation "Owner"`},

	// Flat fixture items.
	{"flat unknown type", `{"doc": {"owner": [{"type": "union"}]}}`, "1:29:", "doc.owner[0].type", `unknown primitive "union"`},
	{"flat type not a string", `{"doc": {"owner": [{"type": ["this"]}]}}`, "1:29:", "doc.owner[0].type", "want a primitive name, got a list"},
	{"flat this with relation", `{"doc": {"owner": [{"type": "this", "relation": "owner"}]}}`, "1:37:", "doc.owner[0]", `unknown key "relation" for type this`},
	{"flat computed_userset missing relation", `{"doc": {"owner": [{"type": "computed_userset"}]}}`, "1:20:", "doc.owner[0]", `missing key "relation" for type computed_userset`},
	{"flat computed_userset with ttu field", `{"doc": {"owner": [{"type": "computed_userset", "relation": "ab", "tupleset_relation": "cd"}]}}`, "1:67:", "doc.owner[0]", `unknown key "tupleset_relation" for type computed_userset`},
	{"flat ttu missing tupleset", `{"doc": {"owner": [{"type": "tuple_to_userset", "computed_userset_relation": "owner"}]}}`, "1:20:", "doc.owner[0]", `missing key "tupleset_relation" for type tuple_to_userset`},
	{"flat ttu missing computed", `{"doc": {"owner": [{"type": "tuple_to_userset", "tupleset_relation": "parent"}]}}`, "1:20:", "doc.owner[0]", `missing key "computed_userset_relation"`},
	{"flat ttu adr-style key", `{"doc": {"owner": [{"type": "tuple_to_userset", "tupleset": {"relation": "parent"}}]}}`, "1:49:", "doc.owner[0]", `unknown key "tupleset" for type tuple_to_userset`},
	{"flat bad relation", `{"doc": {"owner": [{"type": "computed_userset", "relation": "Editor"}]}}`, "1:61:", "doc.owner[0].relation", `invalid relation "Editor"`},
	{"flat relation null", `{"doc": {"owner": [{"type": "computed_userset", "relation": null}]}}`, "1:61:", "doc.owner[0].relation", "want a relation name, got null"},

	// Hostile YAML.
	{"anchor", "rules:\n  doc: &d\n    owner: this\n", "2:8:", "rules.doc", "anchor &d: YAML anchors are not allowed"},
	{"anchor on a scalar", "rules:\n  doc:\n    owner: &t this\n    editor: *t\n", "3:12:", "rules.doc.owner", "anchor &t"},
	{"undefined alias", "rules:\n  doc:\n    owner: this\n    editor: *x\n", "", "document", "syntax error: unknown anchor 'x' referenced"},
	{
		"billion laughs",
		"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nrules: {}\n",
		"1:4:", "a", "anchor &a",
	},
	{"custom tag", "rules:\n  doc:\n    owner: !rule this\n", "3:12:", "rules.doc.owner", "tag !rule: YAML tags are not allowed"},
	{"binary tag", "rules:\n  doc:\n    owner: !!binary dGhpcw==\n", "3:12:", "rules.doc.owner", "tag !!binary"},
	{"mismatched plain tag", "rules:\n  doc:\n    owner: !!seq {this: {}}\n", "3:12:", "rules.doc.owner", "tag !!seq"},
	{"tag on a key", "rules:\n  !custom doc: {}\n", "2:3:", "rules", "tag !custom"},
	{"anchor on a key", "rules:\n  &k doc: {}\n", "2:3:", "rules", "anchor &k"},
	{"int tag", "rules:\n  doc: {owner: [this, !!int 1]}\n", "2:23:", "rules.doc.owner[1]", "tag !!int"},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			call := fmt.Sprintf("Parse(%q)", tt.in)
			if got != nil {
				t.Errorf("%s = %v, want nil", call, show(got))
			}
			checkErr(t, call, err, tt.pos, tt.path, tt.text)
		})
	}
}

// Anchors always precede their aliases in document order, so a parsed
// document reports the anchor; the alias check is a second line of defence
// that only a hand-built tree reaches.
func TestCheckPlainAlias(t *testing.T) {
	n := &yaml.Node{Kind: yaml.AliasNode, Value: "x", Line: 4, Column: 13}
	p := checkPlain(n)
	want := "4:13: document: alias *x: YAML aliases are not allowed in rule documents"
	if p == nil || p.render("") != want {
		t.Errorf("checkPlain(alias) = %v, want %q", p, want)
	}
}

// relationNames returns n distinct valid relation names.
func relationNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		b := []byte{'r', 'r', 'r', 'r'}
		for j, v := 3, i; j >= 0; j, v = j-1, v/26 {
			b[j] = byte('a' + v%26)
		}
		out[i] = string(b)
	}
	return out
}

func TestParseBounds(t *testing.T) {
	many := func(n int) string {
		var b strings.Builder
		b.WriteString("rules:\n  doc:\n")
		for _, rel := range relationNames(n) {
			b.WriteString("    " + rel + ": this\n")
		}
		return b.String()
	}

	r, err := Parse([]byte(many(MaxRules)))
	if err != nil {
		t.Fatalf("Parse(%d rules) error = %v, want nil", MaxRules, err)
	}
	if got := len(r.Types["doc"]); got != MaxRules {
		t.Errorf("Parse(%d rules) kept %d rules, want %d", MaxRules, got, MaxRules)
	}

	_, err = Parse([]byte(many(MaxRules + 1)))
	checkErr(t, fmt.Sprintf("Parse(%d rules)", MaxRules+1), err, fmt.Sprintf("%d:5:", MaxRules+3), "rules.doc", "too many rules (limit 10000)")

	// The byte cap is checked before any parsing: even a comment is refused.
	big := "# " + strings.Repeat("x", MaxBytes-2)
	if _, err := Parse([]byte(big)); err != nil {
		t.Errorf("Parse(%d bytes) error = %v, want nil", len(big), err)
	}
	_, err = Parse([]byte(big + "x"))
	checkErr(t, fmt.Sprintf("Parse(%d bytes)", len(big)+1), err, "", "document", "too large (limit 1048576 bytes)")
}

func TestParseDeepNesting(t *testing.T) {
	// Deep flow nesting is refused by yaml.v3; deep block nesting must not
	// overflow anything of ours either. Both are errors, never panics.
	flow := "rules: {doc: {owner: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "}}"
	if _, err := Parse([]byte(flow)); err == nil {
		t.Errorf("Parse(20000 nested lists) error = nil, want an error")
	}
	block := "rules:\n  doc:\n    owner:\n      " + strings.Repeat("- ", 5000) + "this\n"
	if _, err := Parse([]byte(block)); err == nil {
		t.Errorf("Parse(deep block nesting) error = nil, want an error")
	}
}
