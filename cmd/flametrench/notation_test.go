package main

import (
	"strings"
	"testing"

	"github.com/flametrench/server/tuples"
)

func TestParseNotation(t *testing.T) {
	const (
		docHyph = "0190f2a8-1b3c-7abc-8123-456789abcdef"
		usrWire = "usr_0190f2a81b3c7abc8123000000000001"
		usrHex  = "0190f2a81b3c7abc8123000000000001"
	)
	usr := tuples.Ref{Type: "usr", ID: tuples.UUID{0x01, 0x90, 0xf2, 0xa8, 0x1b, 0x3c, 0x7a, 0xbc, 0x81, 0x23, 0, 0, 0, 0, 0, 1}}
	doc := tuples.Ref{Type: "doc", ID: tuples.UUID{0x01, 0x90, 0xf2, 0xa8, 0x1b, 0x3c, 0x7a, 0xbc, 0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}}
	tests := []struct {
		in       string
		wantRels []string
		wantCode string // "" for success
	}{
		{"doc:" + docHyph + "#viewer@usr:" + usrWire, []string{"viewer"}, ""},
		{"doc:" + strings.ToUpper(docHyph) + "#viewer@usr:" + usrHex, []string{"viewer"}, ""},
		{"  doc:" + docHyph + "#viewer,editor@usr:" + usrWire + "\n", []string{"viewer", "editor"}, ""},
		{"", nil, "invalid_format.notation"},
		{"doc:" + docHyph + "@usr:" + usrWire, nil, "invalid_format.notation"},
		{"doc:" + docHyph + "#viewer", nil, "invalid_format.notation"},
		{"doc:" + docHyph + "#@usr:" + usrWire, nil, "invalid_format.notation"},
		{"doc:" + docHyph + "#viewer,,editor@usr:" + usrWire, nil, "invalid_format.notation"},
		{"doc:" + docHyph + "#viewer@usr:" + usrWire + "#member", nil, "invalid_format.notation"},
		{"doc:" + docHyph + "#viewer@usr:" + usrWire + "@x", nil, "invalid_format.notation"},
		{"doc" + docHyph + "#viewer@usr:" + usrWire, nil, "invalid_format.notation"},
		{":" + docHyph + "#viewer@usr:" + usrWire, nil, "invalid_format.notation"},
		{"doc:#viewer@usr:" + usrWire, nil, "invalid_format.notation"},
		{"doc:a:b#viewer@usr:" + usrWire, nil, "invalid_format.notation"},
		{"doc:" + docHyph + "#viewer@usr " + usrWire, nil, "invalid_format.notation"},
		{"doc:" + docHyph + "#viewer@" + usrWire, nil, "invalid_format.notation"},
		{"Doc:" + docHyph + "#viewer@usr:" + usrWire, nil, "invalid_format.object_type"},
		{"doc:" + docHyph + "#viewer@user123:" + usrWire, nil, "invalid_format.subject_type"},
		{"doc:" + docHyph + "#v@usr:" + usrWire, nil, "invalid_format.relation"},
		{"doc:" + docHyph + "#viewer,Editor@usr:" + usrWire, nil, "invalid_format.relation"},
		{"doc:readme#viewer@usr:" + usrWire, nil, "invalid_format.object_id"},
		{"doc:" + docHyph + "#viewer@usr:org_0190f2a81b3c7abc8123000000000001", nil, "invalid_format.subject_id"},
		{"doc:" + docHyph + "#viewer@usr:" + strings.Repeat("a", maxNotation), nil, "invalid_format.notation"},
	}
	for _, tt := range tests {
		p, err := parseNotation(tt.in, nil, true)
		if tt.wantCode != "" {
			if err == nil || tuples.CodeOf(err) != tt.wantCode {
				t.Errorf("parseNotation(%q) = %v, want code %s", tt.in, err, tt.wantCode)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseNotation(%q) = %v, want success", tt.in, err)
			continue
		}
		if p.object != doc || p.subject != usr || strings.Join(p.relations, ",") != strings.Join(tt.wantRels, ",") {
			t.Errorf("parseNotation(%q) = %+v, want %v %v %v", tt.in, p, doc, tt.wantRels, usr)
		}
	}
}

func TestParseNotationWithNames(t *testing.T) {
	nm := newNames()
	p, err := parseNotation("doc:Read.Me-2#viewer@usr:alice_1", nm, true)
	if err != nil {
		t.Fatalf("parseNotation with names: %v", err)
	}
	if p.object != (tuples.Ref{Type: "doc", ID: nameUUID("doc", "Read.Me-2")}) || p.subject != (tuples.Ref{Type: "usr", ID: nameUUID("usr", "alice_1")}) {
		t.Errorf("parseNotation with names = %+v, want the names' UUIDs", p)
	}
	if got := formatCheck(p.object, p.relations, p.subject, nm); got != "doc:Read.Me-2#viewer@usr:alice_1" {
		t.Errorf("formatCheck = %q, want the names back", got)
	}
	// Without a names table, names are not ids.
	if _, err := parseNotation("doc:readme#viewer@usr:alice", nil, true); tuples.CodeOf(err) != "invalid_format.object_id" {
		t.Errorf("parseNotation of names without a table = %v, want invalid_format.object_id", err)
	}
	// An id is never a name, in any form, whatever the table holds.
	for _, id := range []string{"0190f2a81b3c7abc8123000000000001", "usr_0190f2a81b3c7abc8123000000000001", "0190f2a8-1b3c-7abc-8123-000000000001"} {
		r, err := nm.subject("usr", id)
		if err != nil || r.ID.String() != "0190f2a8-1b3c-7abc-8123-000000000001" {
			t.Errorf("names.subject(usr, %q) = %v, %v, want the id itself", id, r, err)
		}
	}
	// Shaped like an id but invalid (version 0, uppercase wire form): an error, not a name.
	for _, id := range []string{"0190f2a81b3c0abc8123000000000001", "usr_0190F2A81B3C7ABC8123000000000001", "0190f2a8-1b3c-0abc-8123-000000000001"} {
		if _, err := nm.subject("usr", id); tuples.CodeOf(err) != "invalid_format.subject_id" {
			t.Errorf("names.subject(usr, %q) = %v, want invalid_format.subject_id", id, err)
		}
	}
}

func TestParseObjectRelation(t *testing.T) {
	obj, rel, err := parseObjectRelation("doc:0190f2a8-1b3c-7abc-8123-456789abcdef#viewer")
	if err != nil || obj.Type != "doc" || rel != "viewer" {
		t.Errorf("parseObjectRelation = %v %q %v, want doc viewer", obj, rel, err)
	}
	for _, in := range []string{"doc:0190f2a8-1b3c-7abc-8123-456789abcdef#viewer,editor", "doc:0190f2a8-1b3c-7abc-8123-456789abcdef#viewer@usr:0190f2a81b3c7abc8123000000000001", "doc:0190f2a8-1b3c-7abc-8123-456789abcdef"} {
		if _, _, err := parseObjectRelation(in); tuples.CodeOf(err) != "invalid_format.notation" {
			t.Errorf("parseObjectRelation(%q) = %v, want invalid_format.notation", in, err)
		}
	}
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", maxLine+1)
	exact := strings.Repeat("y", maxLine)
	in := "a\r\nb\n\n" + long + "\n" + exact + "\r\nlast"
	lr := newLineReader(strings.NewReader(in))
	type line struct {
		text    string
		tooLong bool
	}
	want := []line{{"a", false}, {"b", false}, {"", false}, {"", true}, {exact, false}, {"last", false}}
	for i, w := range want {
		got, tooLong, err := lr.next()
		if err != nil || string(got) != w.text || tooLong != w.tooLong || lr.line != i+1 {
			t.Fatalf("line %d = %.20q, %v, %v (line %d); want %.20q, %v", i+1, got, tooLong, err, lr.line, w.text, w.tooLong)
		}
	}
	if _, _, err := lr.next(); err == nil {
		t.Error("next after the last line succeeded, want io.EOF")
	}
}
