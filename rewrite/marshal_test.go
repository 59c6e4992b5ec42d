package rewrite

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestMarshalJSONCanonical(t *testing.T) {
	tests := []struct {
		name  string
		rules *Rules
		want  string
	}{
		{name: "nil", rules: nil, want: `{"rules":{}}`},
		{name: "zero", rules: &Rules{}, want: `{"rules":{}}`},
		{name: "version only", rules: &Rules{SpecVersion: "0.2.0"}, want: `{"spec_version":"0.2.0","rules":{}}`},
		{name: "type without relations", rules: &Rules{Types: typeRules{"doc": {}}}, want: `{"rules":{"doc":{}}}`},
		{
			name: "all primitives, sorted keys, union order kept",
			rules: &Rules{SpecVersion: "0.2.0", Types: typeRules{
				"proj": {
					"viewer": {ttu("parent_org", "viewer"), this, cu("editor")},
					"admin":  {this},
				},
				"org": {"member": {this}},
			}},
			want: `{"spec_version":"0.2.0","rules":{` +
				`"org":{"member":{"union":["this"]}},` +
				`"proj":{"admin":{"union":["this"]},"viewer":{"union":[` +
				`{"tuple_to_userset":{"tupleset":{"relation":"parent_org"},"computed_userset":{"relation":"viewer"}}},` +
				`"this",` +
				`{"computed_userset":{"relation":"editor"}}]}}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.rules.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON(%v) error = %v", tt.rules, err)
			}
			if string(got) != tt.want {
				t.Errorf("MarshalJSON() = %s, want %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("MarshalJSON() = %s, not valid JSON", got)
			}
		})
	}
}

// TestMarshalJSONADRExample pins the canonical bytes of ADR 0007's document
// example, so that a change to the canonical form is a deliberate one.
func TestMarshalJSONADRExample(t *testing.T) {
	r, err := Parse([]byte(adrDocumentExample))
	if err != nil {
		t.Fatalf("Parse(adrDocumentExample) error = %v", err)
	}
	want := `{"spec_version":"0.2.0","rules":{` +
		`"org":{"admin":{"union":["this"]},"member":{"union":["this"]},"viewer":{"union":["this",{"computed_userset":{"relation":"member"}}]}},` +
		`"proj":{"admin":{"union":["this"]},"editor":{"union":["this",{"computed_userset":{"relation":"admin"}}]},` +
		`"viewer":{"union":["this",{"computed_userset":{"relation":"editor"}},` +
		`{"tuple_to_userset":{"tupleset":{"relation":"parent_org"},"computed_userset":{"relation":"viewer"}}}]}}}}`
	// Map iteration order is random; repeat to catch any dependence on it.
	for range 20 {
		got, err := json.Marshal(r) // through encoding/json, as callers will
		if err != nil {
			t.Fatalf("json.Marshal(rules) error = %v", err)
		}
		if string(got) != want {
			t.Fatalf("json.Marshal(rules) = %s, want %s", got, want)
		}
	}
}

// TestMarshalJSONRoundTrip checks Parse(MarshalJSON(r)) == r for every
// accepted shape, and that the canonical form is a fixed point.
func TestMarshalJSONRoundTrip(t *testing.T) {
	for _, tt := range acceptCases {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse(%q) error = %v", tt.in, err)
			}
			out, err := r.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON(%v) error = %v", show(r), err)
			}
			back, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(%s) error = %v", out, err)
			}
			if !reflect.DeepEqual(back, r) {
				t.Errorf("Parse(%s) = %v, want %v", out, show(back), show(r))
			}
			again, _ := back.MarshalJSON()
			if string(again) != string(out) {
				t.Errorf("MarshalJSON(Parse(%s)) = %s, want the same bytes", out, again)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	valid := []*Rules{
		nil,
		{},
		{SpecVersion: "0.2.0", Types: typeRules{"proj": {"viewer": {this, cu("editor"), ttu("parent_org", "viewer")}}}},
		{Types: typeRules{"doc": {}}},
	}
	for _, r := range valid {
		if err := r.Validate(); err != nil {
			t.Errorf("Validate(%v) = %v, want nil", show(r), err)
		}
	}

	tests := []struct {
		name  string
		rules *Rules
		path  string
		text  string
	}{
		{"bad version", &Rules{SpecVersion: "v 2"}, "spec_version", `invalid version "v 2"`},
		{"bad type", &Rules{Types: typeRules{"Doc": {"owner": {this}}}}, "rules", `invalid object type "Doc"`},
		{"bad relation key", &Rules{Types: typeRules{"doc": {"x": {this}}}}, "rules.doc", `invalid relation "x"`},
		{"empty rule", &Rules{Types: typeRules{"doc": {"owner": {}}}}, "rules.doc.owner.union", "empty union"},
		{"nil rule", &Rules{Types: typeRules{"doc": {"owner": nil}}}, "rules.doc.owner.union", "empty union"},
		{"zero kind", &Rules{Types: typeRules{"doc": {"owner": {{}}}}}, "rules.doc.owner.union[0]", "unknown primitive kind(0)"},
		{"kind out of range", &Rules{Types: typeRules{"doc": {"owner": {{Kind: 9}}}}}, "rules.doc.owner.union[0]", "unknown primitive kind(9)"},
		{"this twice", &Rules{Types: typeRules{"doc": {"owner": {this, this}}}}, "rules.doc.owner.union[1]", "this is listed more than once"},
		{"this with relation", &Rules{Types: typeRules{"doc": {"owner": {{Kind: This, Relation: "owner"}}}}}, "rules.doc.owner.union[0]", `invalid Relation "owner" for this`},
		{"this with tupleset", &Rules{Types: typeRules{"doc": {"owner": {{Kind: This, TuplesetRelation: "parent"}}}}}, "rules.doc.owner.union[0]", `invalid TuplesetRelation "parent" for this`},
		{"computed_userset empty", &Rules{Types: typeRules{"doc": {"owner": {cu("")}}}}, "rules.doc.owner.union[0]", `invalid Relation "" for computed_userset`},
		{"computed_userset with tupleset", &Rules{Types: typeRules{"doc": {"owner": {{Kind: ComputedUserset, Relation: "editor", TuplesetRelation: "parent"}}}}}, "rules.doc.owner.union[0]", `invalid TuplesetRelation "parent" for computed_userset`},
		{"ttu missing tupleset", &Rules{Types: typeRules{"doc": {"owner": {ttu("", "owner")}}}}, "rules.doc.owner.union[0]", `invalid TuplesetRelation "" for tuple_to_userset`},
		{"ttu bad relation", &Rules{Types: typeRules{"doc": {"owner": {ttu("parent", "Owner")}}}}, "rules.doc.owner.union[0]", `invalid Relation "Owner" for tuple_to_userset`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.rules.Validate()
			checkErr(t, "Validate()", err, "", tt.path, tt.text)
			if out, err := tt.rules.MarshalJSON(); err == nil {
				t.Errorf("MarshalJSON() = %s, want an error for invalid rules", out)
			}
		})
	}
}

func TestValidateTooManyRules(t *testing.T) {
	rels := make(map[string]Rule)
	for _, name := range relationNames(MaxRules + 1) {
		rels[name] = Rule{this}
	}
	r := &Rules{Types: typeRules{"doc": rels}}
	checkErr(t, "Validate()", r.Validate(), "", "rules", "too many rules: 10001 (limit 10000)")
}
