package rewrite

import (
	"reflect"
	"testing"
)

var this = Node{Kind: This}

func cu(rel string) Node { return Node{Kind: ComputedUserset, Relation: rel} }

func ttu(tupleset, rel string) Node {
	return Node{Kind: TupleToUserset, TuplesetRelation: tupleset, Relation: rel}
}

type typeRules = map[string]map[string]Rule

// show renders a parse result for failure messages.
func show(r *Rules) string {
	if r == nil {
		return "<nil>"
	}
	b, err := r.MarshalJSON()
	if err != nil {
		return "<invalid: " + err.Error() + ">"
	}
	return string(b)
}

// adrRewriteExample is the first example of ADR 0007 ("The rule shape"),
// verbatim: a type-level document with the rewrite wrapper and no envelope.
const adrRewriteExample = `# proj.viewer = this | proj.editor | (proj#parent_org).viewer
proj:
  viewer:
    rewrite:
      union:
        - this              # explicit (usr, viewer, proj_X) tuples
        - computed_userset:
            relation: editor
        - tuple_to_userset:
            tupleset:
              relation: parent_org    # follow the proj's parent_org tuple
            computed_userset:
              relation: viewer        # check viewer on the resulting org
`

// adrDocumentExample is ADR 0007's "Rule storage and registration" example, verbatim.
const adrDocumentExample = `spec_version: "0.2.0"
rules:
  proj:
    viewer:
      union:
        - this
        - computed_userset: { relation: editor }
        - tuple_to_userset:
            tupleset: { relation: parent_org }
            computed_userset: { relation: viewer }
    editor:
      union:
        - this
        - computed_userset: { relation: admin }
    admin:
      this   # no rewrites; admin requires explicit tuple
  org:
    viewer:
      union:
        - this
        - computed_userset: { relation: member }
    member:
      this
    admin:
      this
`

// docsExample is the example of docs/authorization.md "Rewrite rules", verbatim.
const docsExample = `rules:
  proj:
    viewer:
      union:
        - this
        - computed_userset: { relation: editor }
        - tuple_to_userset:
            tupleset: { relation: parent_org }
            computed_userset: { relation: viewer }
    editor:
      union:
        - this
        - computed_userset: { relation: admin }
    admin:
      this   # admin requires explicit grant; no rewrites
  org:
    viewer:
      union:
        - this
        - computed_userset: { relation: member }
    member:
      this
`

// The "rules" objects of the three rewrite-rules conformance fixtures, copied
// inline so the tests run from this repository alone.
const (
	fixtureEditorImpliesViewer = `{"proj": {"viewer": [{"type": "this"}, {"type": "computed_userset", "relation": "editor"}]}}`
	fixtureAdminChainToViewer  = `{"proj": {"viewer": [{"type": "this"}, {"type": "computed_userset", "relation": "editor"}], "editor": [{"type": "this"}, {"type": "computed_userset", "relation": "admin"}]}}`
	fixtureOrgAdminToProjAdmin = `{"proj": {"admin": [{"type": "this"}, {"type": "tuple_to_userset", "tupleset_relation": "parent_org", "computed_userset_relation": "admin"}]}}`
	fixtureEmptyRules          = `null`
)

// acceptCases covers every accepted shape. The marshal and fuzz tests reuse it.
var acceptCases = []struct {
	name    string
	in      string
	version string
	want    typeRules
}{
	{
		name: "adr rewrite wrapper example (flat envelope)",
		in:   adrRewriteExample,
		want: typeRules{"proj": {"viewer": {this, cu("editor"), ttu("parent_org", "viewer")}}},
	},
	{
		name:    "adr document example",
		in:      adrDocumentExample,
		version: "0.2.0",
		want: typeRules{
			"proj": {
				"viewer": {this, cu("editor"), ttu("parent_org", "viewer")},
				"editor": {this, cu("admin")},
				"admin":  {this},
			},
			"org": {
				"viewer": {this, cu("member")},
				"member": {this},
				"admin":  {this},
			},
		},
	},
	{
		name: "docs/authorization.md example",
		in:   docsExample,
		want: typeRules{
			"proj": {
				"viewer": {this, cu("editor"), ttu("parent_org", "viewer")},
				"editor": {this, cu("admin")},
				"admin":  {this},
			},
			"org": {
				"viewer": {this, cu("member")},
				"member": {this},
			},
		},
	},
	{
		name: "fixture computed-userset editor_implies_viewer",
		in:   fixtureEditorImpliesViewer,
		want: typeRules{"proj": {"viewer": {this, cu("editor")}}},
	},
	{
		name: "fixture computed-userset admin_chain_to_viewer",
		in:   fixtureAdminChainToViewer,
		want: typeRules{"proj": {"viewer": {this, cu("editor")}, "editor": {this, cu("admin")}}},
	},
	{
		name: "fixture tuple-to-userset org_admin_implies_proj_admin",
		in:   fixtureOrgAdminToProjAdmin,
		want: typeRules{"proj": {"admin": {this, ttu("parent_org", "admin")}}},
	},
	{name: "fixture empty-rules (null)", in: fixtureEmptyRules, want: typeRules{}},
	{name: "empty document", in: "", want: typeRules{}},
	{name: "comments only", in: "# nothing yet\n", want: typeRules{}},
	{name: "yaml null", in: "~\n", want: typeRules{}},
	{name: "empty mapping", in: "{}", want: typeRules{}},
	{name: "empty rules", in: "rules: {}\n", want: typeRules{}},
	{name: "null rules", in: "rules:\n", want: typeRules{}},
	{name: "json null rules", in: `{"spec_version": "0.2.0", "rules": null}`, version: "0.2.0", want: typeRules{}},
	{name: "type without relations", in: "rules:\n  proj: {}\n  org:\n", want: typeRules{"proj": {}, "org": {}}},
	{
		name: "json document form",
		in: `{
"spec_version": "0.2.0",
"rules": {
	"proj": {
		"viewer": {"union": ["this", {"computed_userset": {"relation": "editor"}},
			{"tuple_to_userset": {"tupleset": {"relation": "parent_org"}, "computed_userset": {"relation": "viewer"}}}]},
		"admin": "this"
	}
}
}`,
		version: "0.2.0",
		want:    typeRules{"proj": {"viewer": {this, cu("editor"), ttu("parent_org", "viewer")}, "admin": {this}}},
	},
	{
		name: "json with rewrite wrapper",
		in:   `{"rules": {"doc": {"viewer": {"rewrite": {"union": [{"this": {}}, {"computed_userset": {"relation": "owner"}}]}}}}}`,
		want: typeRules{"doc": {"viewer": {this, cu("owner")}}},
	},
	{
		name: "rewrite wrapper inside rules",
		in:   "rules:\n  doc:\n    viewer:\n      rewrite:\n        union: [this, {computed_userset: {relation: owner}}]\n",
		want: typeRules{"doc": {"viewer": {this, cu("owner")}}},
	},
	{
		name: "rewrite wrapping a bare primitive",
		in:   "rules:\n  doc:\n    viewer:\n      rewrite:\n        computed_userset: {relation: owner}\n",
		want: typeRules{"doc": {"viewer": {cu("owner")}}},
	},
	{
		name: "rewrite wrapping this",
		in:   "rules: {doc: {owner: {rewrite: this}}}",
		want: typeRules{"doc": {"owner": {this}}},
	},
	{
		name: "bare computed_userset",
		in:   "rules:\n  doc:\n    viewer:\n      computed_userset: {relation: editor}\n",
		want: typeRules{"doc": {"viewer": {cu("editor")}}},
	},
	{
		name: "bare tuple_to_userset",
		in:   "rules:\n  doc:\n    viewer:\n      tuple_to_userset:\n        tupleset: {relation: folder}\n        computed_userset: {relation: viewer}\n",
		want: typeRules{"doc": {"viewer": {ttu("folder", "viewer")}}},
	},
	{
		name: "tuple_to_userset with keys in the other order",
		in:   "rules: {doc: {viewer: {tuple_to_userset: {computed_userset: {relation: viewer}, tupleset: {relation: folder}}}}}",
		want: typeRules{"doc": {"viewer": {ttu("folder", "viewer")}}},
	},
	{
		name: "bare this mapping",
		in:   "rules: {doc: {owner: {this: {}}}}",
		want: typeRules{"doc": {"owner": {this}}},
	},
	{
		name: "this with null argument, three spellings",
		in:   "rules:\n  doc:\n    aa: [{this: null}]\n    bb: [{this: ~}]\n    cc:\n      - this:\n",
		want: typeRules{"doc": {"aa": {this}, "bb": {this}, "cc": {this}}},
	},
	{
		name: "list body is a union",
		in:   "rules:\n  doc:\n    viewer:\n      - this\n      - computed_userset: {relation: editor}\n",
		want: typeRules{"doc": {"viewer": {this, cu("editor")}}},
	},
	{
		name: "union without this",
		in:   "rules: {doc: {viewer: {union: [{computed_userset: {relation: editor}}]}}}",
		want: typeRules{"doc": {"viewer": {cu("editor")}}},
	},
	{
		name: "flat items inside the document form",
		in:   `{"rules": {"proj": {"admin": {"union": [{"type": "this"}, {"type": "tuple_to_userset", "computed_userset_relation": "admin", "tupleset_relation": "parent_org"}]}}}}`,
		want: typeRules{"proj": {"admin": {this, ttu("parent_org", "admin")}}},
	},
	{
		name: "flat item as a bare body",
		in:   `{"proj": {"viewer": {"type": "computed_userset", "relation": "editor"}}}`,
		want: typeRules{"proj": {"viewer": {cu("editor")}}},
	},
	{
		name: "mixed item spellings keep document order",
		in:   "rules:\n  doc:\n    viewer:\n      union:\n        - tuple_to_userset: {tupleset: {relation: folder}, computed_userset: {relation: viewer}}\n        - {type: computed_userset, relation: editor}\n        - this: {}\n        - computed_userset: {relation: owner}\n",
		want: typeRules{"doc": {"viewer": {ttu("folder", "viewer"), cu("editor"), this, cu("owner")}}},
	},
	{
		name: "self reference and cycles are legal",
		in:   "rules:\n  doc:\n    viewer: [this, {computed_userset: {relation: viewer}}]\n    editor: {computed_userset: {relation: owner}}\n    owner: {computed_userset: {relation: editor}}\n  fld:\n    parent: {tuple_to_userset: {tupleset: {relation: parent}, computed_userset: {relation: parent}}}\n",
		want: typeRules{
			"doc": {"viewer": {this, cu("viewer")}, "editor": {cu("owner")}, "owner": {cu("editor")}},
			"fld": {"parent": {ttu("parent", "parent")}},
		},
	},
	{
		name: "duplicate non-this primitives are kept",
		in:   "rules: {doc: {viewer: [{computed_userset: {relation: editor}}, {computed_userset: {relation: editor}}]}}",
		want: typeRules{"doc": {"viewer": {cu("editor"), cu("editor")}}},
	},
	{
		name: "quoted names and explicit plain tags",
		in:   "rules:\n  \"doc\":\n    !!str viewer: !!seq ['this', !!map {computed_userset: {relation: \"editor\"}}]\n",
		want: typeRules{"doc": {"viewer": {this, cu("editor")}}},
	},
	{
		name: "explicit document markers",
		in:   "---\nrules:\n  doc:\n    owner: this\n...\n",
		want: typeRules{"doc": {"owner": {this}}},
	},
	{
		name:    "spec_version after rules",
		in:      "rules: {doc: {owner: this}}\nspec_version: 0.2.0-rc.1+build\n",
		version: "0.2.0-rc.1+build",
		want:    typeRules{"doc": {"owner": {this}}},
	},
	{
		name: "byte order mark",
		in:   "\ufeffrules: {doc: {owner: this}}",
		want: typeRules{"doc": {"owner": {this}}},
	},
	{
		name: "crlf line endings",
		in:   "rules:\r\n  doc:\r\n    owner: this\r\n",
		want: typeRules{"doc": {"owner": {this}}},
	},
	{
		name: "longest names",
		in:   "rules: {abcdef: {abcdefghijklmnopqrstuvwxyz_abcde: {computed_userset: {relation: ab}}}}",
		want: typeRules{"abcdef": {"abcdefghijklmnopqrstuvwxyz_abcde": {cu("ab")}}},
	},
}

func TestParseAccepts(t *testing.T) {
	for _, tt := range acceptCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse(%q) error = %v, want nil", tt.in, err)
			}
			want := &Rules{SpecVersion: tt.version, Types: tt.want}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%q) = %v, want %v", tt.in, show(got), show(want))
			}
		})
	}
}

// TestParseEquivalentForms checks that every spelling of one rule set gives
// the same AST, so the engine never sees which one an operator chose.
func TestParseEquivalentForms(t *testing.T) {
	forms := []string{
		"rules:\n  proj:\n    viewer:\n      union:\n        - this\n        - computed_userset: {relation: editor}\n        - tuple_to_userset: {tupleset: {relation: parent_org}, computed_userset: {relation: viewer}}\n",
		"rules:\n  proj:\n    viewer:\n      rewrite:\n        union:\n          - this\n          - computed_userset: {relation: editor}\n          - tuple_to_userset: {tupleset: {relation: parent_org}, computed_userset: {relation: viewer}}\n",
		"rules:\n  proj:\n    viewer:\n      - {this: {}}\n      - computed_userset: {relation: editor}\n      - tuple_to_userset: {tupleset: {relation: parent_org}, computed_userset: {relation: viewer}}\n",
		`{"proj": {"viewer": [{"type": "this"}, {"type": "computed_userset", "relation": "editor"}, {"type": "tuple_to_userset", "tupleset_relation": "parent_org", "computed_userset_relation": "viewer"}]}}`,
		`{"rules": {"proj": {"viewer": {"union": ["this", {"computed_userset": {"relation": "editor"}}, {"tuple_to_userset": {"tupleset": {"relation": "parent_org"}, "computed_userset": {"relation": "viewer"}}}]}}}}`,
	}
	want := &Rules{Types: typeRules{"proj": {"viewer": {this, cu("editor"), ttu("parent_org", "viewer")}}}}
	for _, in := range forms {
		got, err := Parse([]byte(in))
		if err != nil {
			t.Errorf("Parse(%q) error = %v, want nil", in, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q) = %v, want %v", in, show(got), show(want))
		}
	}
}
