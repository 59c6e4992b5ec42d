package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/flametrench/server/tuples"
)

// FuzzNotation: parsing never panics, and whatever parses formats back to
// text that parses to the same check, with and without names.
func FuzzNotation(f *testing.F) {
	for _, s := range []string{
		"doc:0190f2a8-1b3c-7abc-8123-456789abcdef#viewer@usr:usr_0190f2a81b3c7abc8123000000000001",
		"doc:0190f2a81b3c7abc8123456789abcdef#viewer,editor@usr:0190f2a81b3c7abc8123000000000001",
		"doc:readme#viewer@usr:alice",
		"doc:readme#viewer@grp:eng#member",
		"org:acme#owner@usr:Alice.Smith-2",
		"doc:a:b#c@d:e", "#@:", "doc:x#,@usr:y", " doc:x#viewer@usr:y ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, nm := range []*names{nil, newNames()} {
			p, err := parseNotation(s, nm, true)
			if err != nil {
				if tuples.KindOf(err) != tuples.Invalid {
					t.Fatalf("parseNotation(%q) = %v, want an Invalid error", s, err)
				}
				continue
			}
			text := formatCheck(p.object, p.relations, p.subject, nm)
			q, err := parseNotation(text, nm, true)
			if err != nil {
				t.Fatalf("parseNotation(%q) = %v; it is formatCheck of parseNotation(%q)", text, err, s)
			}
			if q.object != p.object || q.subject != p.subject || !slices.Equal(q.relations, p.relations) {
				t.Fatalf("round trip of %q through %q changed %+v into %+v", s, text, p, q)
			}
		}
		// expand's form never panics either.
		_, _, _ = parseObjectRelation(s)
	})
}

// wireTuple is a tuple line in canonical form, for the round trips.
type wireTuple struct {
	SubjectType string   `json:"subject_type"`
	SubjectID   string   `json:"subject_id"`
	Relation    string   `json:"relation,omitempty"`
	Relations   []string `json:"relations,omitempty"`
	ObjectType  string   `json:"object_type"`
	ObjectID    string   `json:"object_id"`
}

var lineSeeds = []string{
	`{"subject_type":"usr","subject_id":"usr_0190f2a81b3c7abc8123000000000001","relation":"viewer","object_type":"doc","object_id":"0190f2a8-1b3c-7abc-8123-456789abcdef"}`,
	`{"subject_type":"usr","subject_id":"0190f2a81b3c7abc8123000000000001","relations":["viewer","editor"],"object_type":"doc","object_id":"0190f2a8-1b3c-7abc-8123-456789abcdef"}`,
	`{"subject_type":"usr","subject_id":"x","relation":"viewer","object_type":"doc","object_id":"y","extra":true}`,
	`{"subject_type":1}`, `[]`, `null`, `{} {}`, `{"relations":[]}`, `{"subject_type":"usr"`, "",
	// The import form: id and created_by, each in its three forms, or null.
	`{"id":"tup_0190f2a81b3c7abc8123000000000009","subject_type":"usr","subject_id":"usr_0190f2a81b3c7abc8123000000000001","relation":"viewer","object_type":"doc","object_id":"0190f2a8-1b3c-7abc-8123-456789abcdef","created_by":"usr_0190f2a81b3c7abc8123000000000002"}`,
	`{"id":"0190f2a81b3c7abc8123000000000009","subject_type":"org","subject_id":"0190f2a8-1b3c-7abc-8123-000000000001","relation":"member","object_type":"doc","object_id":"0190F2A81B3C7ABC8123456789ABCDEF","created_by":"0190f2a81b3c7abc8123000000000002"}`,
	`{"id":"0190f2a8-1b3c-7abc-8123-000000000009","subject_type":"usr","subject_id":"usr_0190f2a81b3c7abc8123000000000001","relation":"viewer","object_type":"doc","object_id":"0190f2a8-1b3c-7abc-8123-456789abcdef","created_by":"0190F2A8-1B3C-7ABC-8123-000000000002"}`,
	`{"id":null,"subject_type":"usr","subject_id":"usr_0190f2a81b3c7abc8123000000000001","relation":"viewer","object_type":"doc","object_id":"0190f2a8-1b3c-7abc-8123-456789abcdef","created_by":null}`,
	`{"id":"usr_0190f2a81b3c7abc8123000000000009","subject_type":"usr","subject_id":"usr_0190f2a81b3c7abc8123000000000001","relation":"viewer","object_type":"doc","object_id":"0190f2a8-1b3c-7abc-8123-456789abcdef","created_by":"tup_0190f2a81b3c7abc8123000000000002"}`,
	`{"id":"tup_00000000000000000000000000000000","created_by":7}`,
}

// FuzzDecodeTuple: decoding never panics, and a decoded tuple written as an
// export line decodes to the same tuple.
func FuzzDecodeTuple(f *testing.F) {
	for _, s := range lineSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		tup, err := decodeTuple(line)
		if err != nil {
			if tuples.KindOf(err) != tuples.Invalid {
				t.Fatalf("decodeTuple(%q) = %v, want an Invalid error", line, err)
			}
			return
		}
		if tup.ID.IsZero() {
			tup.ID = tuples.UUID{0x01, 0x90, 0xf2, 0xa8, 0x1b, 0x3c, 0x7a, 0xbc, 0x81, 0x23, 15: 1} // export always has one
		}
		b := encodeTuple(tup)
		tup2, err := decodeTuple(b)
		if err != nil || tup2 != tup {
			t.Fatalf("decodeTuple(%s) = %v, %v; want %v (from %q)", b, tup2, err, tup, line)
		}
	})
}

// FuzzDecodeCheck: as FuzzDecodeTuple, for check lines in both forms.
func FuzzDecodeCheck(f *testing.F) {
	for _, s := range lineSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := decodeCheck(line)
		if err != nil {
			if tuples.KindOf(err) != tuples.Invalid {
				t.Fatalf("decodeCheck(%q) = %v, want an Invalid error", line, err)
			}
			return
		}
		if (req.Relation == "") == (req.Relations == nil) {
			t.Fatalf("decodeCheck(%q) = %+v: want exactly one of Relation and Relations", line, req)
		}
		b, err := json.Marshal(wireTuple{req.Subject.Type, req.Subject.ID.String(), req.Relation, req.Relations, req.Object.Type, req.Object.ID.String()})
		if err != nil {
			t.Fatal(err)
		}
		req2, err := decodeCheck(b)
		if err != nil || req2.Subject != req.Subject || req2.Object != req.Object || req2.Relation != req.Relation || !slices.Equal(req2.Relations, req.Relations) {
			t.Fatalf("decodeCheck(%s) = %+v, %v; want %+v (from %q)", b, req2, err, req, line)
		}
	})
}

// FuzzValidationFile: parsing a validation file never panics, and its errors
// are positioned in the file. Inputs naming a rules_file are skipped: they
// would make the fuzzer read arbitrary paths.
func FuzzValidationFile(f *testing.F) {
	for _, s := range []string{
		"rules:\n  doc:\n    viewer: [this, {computed_userset: {relation: editor}}]\ntuples: [\"doc:a#editor@usr:b\"]\nassertions: {allowed: [\"doc:a#viewer@usr:b\"]}\n",
		"{\"rules\": {\"doc\": {\"viewer\": \"this\"}}, \"tuples\": []}",
		"rules: |\n  doc:\n    viewer: this\n",
		"rules: {doc: {viewer: [\"this\", '#', \"}\"]}} # }\ntuples: []\n",
		"tuples:\n  - {subject_type: usr, subject_id: a, relation: viewer, object_type: doc, object_id: b}\n",
		"assertions:\n  error:\n    - {check: \"doc:a#viewer@usr:b\", code: x}\n",
		"rules:\n", "- a", "rules: [", "x: &a 1\ny: *a\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if strings.Contains(src, "rules_file") {
			return
		}
		p := &vparser{file: "f.yaml", src: []byte(src), names: newNames()}
		v, err := p.parse()
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml:") {
				t.Fatalf("parse(%q) error %q does not start with the file name", src, err)
			}
			return
		}
		for _, a := range v.assertions {
			if a.line < 1 || a.text == "" {
				t.Fatalf("parse(%q) gave an assertion without a line or text: %+v", src, a)
			}
		}
	})
}

// FuzzInlineRulesText checks the one delicate step of inline rules: the text
// cut from the file for the rules mapping must parse to the very same YAML
// tree as the mapping itself, at the same columns, lines shifted by where the
// mapping starts, so that rewrite's errors point at the right place.
func FuzzInlineRulesText(f *testing.F) {
	for _, s := range []string{
		"rules:\n  doc:\n    viewer: [this, {computed_userset: {relation: editor}}]\ntuples: []\n",
		"rules: {doc: {viewer: [\"this\", {computed_userset: {relation: 'ed''itor'}}]}} # }\ntuples: []\n",
		"{\"rules\": {\"doc\": {\"viewer\": [{\"type\": \"this\"}]}}, \"tuples\": []}",
		"rules:\n  # comment }\n  rules:\n    doc: {viewer: this}\n  spec_version: \"0.2.0\"\nassertions: {}\n",
		"a: 1\nrules: {doc: {viewer: this}, proj: {admin: this}}\n",
		"rules:\n    doc:\n        viewer:\n            union:\n                - this\n",
		"rules: {aa}\n",
		"rules:\r 00:\n  ",
		"rules:\r\n  doc:\r\n    viewer: this\r\ntuples: []\r\n",
		"rules: {doc: {viewer: this}}\u2028tuples: []\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var doc yaml.Node
		if yaml.Unmarshal([]byte(src), &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			return
		}
		root := doc.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value != "rules" || root.Content[i+1].Kind != yaml.MappingNode {
				continue
			}
			n := root.Content[i+1]
			var next *yaml.Node
			if i+2 < len(root.Content) {
				next = root.Content[i+2]
			}
			p := &vparser{file: "f.yaml", src: []byte(src)}
			text, ok := p.nodeText(n, next)
			if !ok {
				return // reported to the user as "use rules_file instead"
			}
			var cut yaml.Node
			if err := yaml.Unmarshal(text, &cut); err != nil || len(cut.Content) != 1 {
				t.Fatalf("rules cut from %q as %q do not parse as one YAML node: %v", src, text, err)
			}
			if diff := sameTree(n, cut.Content[0], n.Line-1); diff != "" {
				t.Fatalf("rules cut from %q as %q differ from the mapping: %s", src, text, diff)
			}
			return
		}
	})
}

// sameTree compares two YAML trees, b's lines shifted by dline.
func sameTree(a, b *yaml.Node, dline int) string {
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || a.Anchor != b.Anchor || a.Style != b.Style {
		return fmt.Sprintf("node %v %s %q differs from %v %s %q", a.Kind, a.Tag, a.Value, b.Kind, b.Tag, b.Value)
	}
	if a.Line != b.Line+dline || a.Column != b.Column {
		return fmt.Sprintf("node %q at %d:%d is at %d:%d (+%d lines) in the cut", a.Value, a.Line, a.Column, b.Line, b.Column, dline)
	}
	if len(a.Content) != len(b.Content) {
		return fmt.Sprintf("node %q has %d children, %d in the cut", a.Value, len(a.Content), len(b.Content))
	}
	for i := range a.Content {
		if d := sameTree(a.Content[i], b.Content[i], dline); d != "" {
			return d
		}
	}
	return ""
}
