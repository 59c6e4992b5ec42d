package rewrite

import (
	"reflect"
	"testing"
)

func TestRulesRule(t *testing.T) {
	r, err := Parse([]byte(docsExample))
	if err != nil {
		t.Fatalf("Parse(docsExample) error = %v", err)
	}
	tests := []struct {
		rules    *Rules
		typ, rel string
		want     Rule
		wantOK   bool
	}{
		{r, "proj", "viewer", Rule{this, cu("editor"), ttu("parent_org", "viewer")}, true},
		{r, "proj", "admin", Rule{this}, true},
		{r, "org", "member", Rule{this}, true},
		{r, "org", "admin", nil, false},   // not in the docs example: plain this
		{r, "team", "member", nil, false}, // unknown type
		{nil, "proj", "viewer", nil, false},
		{&Rules{}, "proj", "viewer", nil, false},
	}
	for _, tt := range tests {
		got, ok := tt.rules.Rule(tt.typ, tt.rel)
		if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Rule(%q, %q) = %v, %v, want %v, %v", tt.typ, tt.rel, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestRulesEmpty(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", true},
		{"null", true},
		{"rules: {}", true},
		{"rules:\n  doc: {}\n", true}, // a type with no relations adds no rule
		{"spec_version: \"0.2.0\"\nrules: {}\n", true},
		{"rules: {doc: {owner: this}}", false},
		{`{"doc": {"owner": [{"type": "this"}]}}`, false},
	}
	for _, tt := range tests {
		r, err := Parse([]byte(tt.in))
		if err != nil {
			t.Fatalf("Parse(%q) error = %v", tt.in, err)
		}
		if got := r.Empty(); got != tt.want {
			t.Errorf("Parse(%q).Empty() = %v, want %v", tt.in, got, tt.want)
		}
	}
	var nilRules *Rules
	if !nilRules.Empty() {
		t.Errorf("(*Rules)(nil).Empty() = false, want true")
	}
}

func TestRulesNames(t *testing.T) {
	tests := []struct {
		in        string
		types     []string
		relations []string
	}{
		{"", []string{}, []string{}},
		{
			in:        docsExample,
			types:     []string{"org", "proj"},
			relations: []string{"admin", "editor", "member", "parent_org", "viewer"},
		},
		{
			// Names only referenced, never defined, are still listed.
			in:        "rules:\n  doc:\n    viewer: {tuple_to_userset: {tupleset: {relation: folder}, computed_userset: {relation: reader}}}\n    owner: {computed_userset: {relation: creator}}\n  team: {}\n",
			types:     []string{"doc", "team"},
			relations: []string{"creator", "folder", "owner", "reader", "viewer"},
		},
	}
	for _, tt := range tests {
		r, err := Parse([]byte(tt.in))
		if err != nil {
			t.Fatalf("Parse(%q) error = %v", tt.in, err)
		}
		if got := r.ObjectTypes(); !reflect.DeepEqual(got, tt.types) {
			t.Errorf("Parse(%q).ObjectTypes() = %v, want %v", tt.in, got, tt.types)
		}
		if got := r.Relations(); !reflect.DeepEqual(got, tt.relations) {
			t.Errorf("Parse(%q).Relations() = %v, want %v", tt.in, got, tt.relations)
		}
	}
	var nilRules *Rules
	if got := nilRules.ObjectTypes(); got != nil {
		t.Errorf("(*Rules)(nil).ObjectTypes() = %v, want nil", got)
	}
	if got := nilRules.Relations(); got != nil {
		t.Errorf("(*Rules)(nil).Relations() = %v, want nil", got)
	}
}

func TestStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{This.String(), "this"},
		{ComputedUserset.String(), "computed_userset"},
		{TupleToUserset.String(), "tuple_to_userset"},
		{Kind(0).String(), "kind(0)"},
		{this.String(), "this"},
		{cu("editor").String(), "computed_userset:editor"},
		{ttu("parent_org", "viewer").String(), "tuple_to_userset:parent_org->viewer"},
		{Rule{this, cu("editor"), ttu("parent_org", "viewer")}.String(), "this | computed_userset:editor | tuple_to_userset:parent_org->viewer"},
		{Rule(nil).String(), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
}
