package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/postgres"
	"github.com/flametrench/server/tuples/postgres/pgtest"
)

// tupleJSON is a tuple line with the fields given as strings, for tests.
type tupleJSON struct {
	ID          string `json:"id,omitempty"`
	SubjectType string `json:"subject_type"`
	SubjectID   string `json:"subject_id"`
	Relation    string `json:"relation"`
	ObjectType  string `json:"object_type"`
	ObjectID    string `json:"object_id"`
	CreatedBy   string `json:"created_by,omitempty"`
}

func (l tupleJSON) String() string {
	b, err := json.Marshal(l)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// mustTuple decodes a line that the test knows to be good.
func mustTuple(t *testing.T, l tupleJSON) tuples.Tuple {
	t.Helper()
	tup, err := decodeTuple([]byte(l.String()))
	if err != nil {
		t.Fatalf("decodeTuple(%s): %v", l, err)
	}
	return tup
}

// ackLine matches import's acknowledgement of one committed batch.
var ackLine = regexp.MustCompile(`^committed lines (\d+)-(\d+): (\d+) tuples?, (revision \d+|all stored already)$`)

// acks returns import's acknowledgement lines, checking their form, and its
// summary line.
func acks(t *testing.T, stdout string) (acks []string, summary string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	for _, l := range lines[:len(lines)-1] {
		if !ackLine.MatchString(l) {
			t.Errorf("import printed %q, want an acknowledgement", l)
		}
		acks = append(acks, l)
	}
	return acks, lines[len(lines)-1]
}

func TestImportExportRoundTrip(t *testing.T) {
	t.Parallel()
	db, url := pgtest.DB(t, postgres.Config{})
	// Subject and object ids in every accepted form; tuple ids in every
	// form, and absent; created_by in every form, and absent; repeats.
	lines := []tupleJSON{
		{ID: "tup_0190f2a81b3c7abc8123000000000101", SubjectType: "usr", SubjectID: alice, Relation: "editor", ObjectType: "doc", ObjectID: readme, CreatedBy: carol},
		{ID: "0190f2a81b3c7abc8123000000000102", SubjectType: "usr", SubjectID: bob, Relation: "viewer", ObjectType: "fld", ObjectID: "0190F2A81B3C7ABC812300000000F001", CreatedBy: "0190f2a8-1b3c-7abc-8123-000000000003"},
		{ID: "0190f2a8-1b3c-7abc-8123-000000000103", SubjectType: "org", SubjectID: "0190f2a8-1b3c-7abc-8123-00000000a001", Relation: "member", ObjectType: "doc", ObjectID: readme},
		{SubjectType: "usr", SubjectID: carol, Relation: "viewer", ObjectType: "doc", ObjectID: deep, CreatedBy: "0190f2a81b3c7abc8123000000000001"},
		{SubjectType: "fld", SubjectID: "0190f2a8-1b3c-7abc-8123-00000000f001", Relation: "parent", ObjectType: "doc", ObjectID: readme},
	}
	var file strings.Builder
	for _, l := range lines {
		file.WriteString(l.String() + "\n")
	}
	file.WriteString(lines[0].String() + "\r\n") // a repeat, in the next batch
	file.WriteString("\n   \n")                  // blank lines
	withID := lines[4]
	withID.ID = "tup_0190f2a81b3c7abc8123000000000105"
	file.WriteString(withID.String() + "\n") // a stored key with another id: skipped
	again := lines[3]
	again.SubjectID = "usr_0190f2a81b3c7abc8123000000000003"
	file.WriteString(again.String()) // a stored key in another form, no final newline
	path := writeFile(t, "tuples.jsonl", file.String())

	r := runCLI(t, "", "import", "--database-url", url, "--batch-size", "3", path)
	if r.code != 0 {
		t.Fatalf("import = %d, want 0; stderr %s", r.code, r.stderr)
	}
	gotAcks, summary := acks(t, r.stdout)
	wantAcks := []string{
		"committed lines 1-3: 3 tuples, revision 1",
		"committed lines 4-6: 3 tuples, revision 2",
		"committed lines 9-10: 2 tuples, all stored already",
	}
	if !slices.Equal(gotAcks, wantAcks) {
		t.Errorf("import acknowledged\n%s\nwant\n%s", strings.Join(gotAcks, "\n"), strings.Join(wantAcks, "\n"))
	}
	if want := "imported " + path + ": 8 tuples from lines 1-10 in 3 batches (1 batch stored already), revision 2"; summary != want {
		t.Errorf("import summary = %q, want %q", summary, want)
	}

	// What is stored: each key once, with the id and created_by its first
	// line gave; a fresh UUIDv7 id where it gave none.
	stored := pgtest.Tuples(t, db)
	if len(stored) != len(lines) {
		t.Fatalf("%d tuples stored, want %d: %v", len(stored), len(lines), stored)
	}
	byKey := map[tuples.Key]tuples.Tuple{}
	for _, tup := range stored {
		byKey[tup.Key] = tup
	}
	for _, l := range lines {
		want := mustTuple(t, l)
		got, ok := byKey[want.Key]
		switch {
		case !ok:
			t.Errorf("tuple %s was not imported", want.Key)
		case got.CreatedBy != want.CreatedBy:
			t.Errorf("tuple %s created_by = %v, want %v", want.Key, got.CreatedBy, want.CreatedBy)
		case !want.ID.IsZero() && got.ID != want.ID:
			t.Errorf("tuple %s id = %s, want %s", want.Key, got.WireID(), want.WireID())
		case want.ID.IsZero() && got.ID.Version() != 7:
			t.Errorf("tuple %s got id %s, want a UUIDv7", want.Key, got.WireID())
		}
	}

	// export writes them all, in id order, in the documented form.
	r = runCLI(t, "", "export", "--database-url", url)
	if r.code != 0 {
		t.Fatalf("export = %d, want 0; stderr %s", r.code, r.stderr)
	}
	exported := r.stdout
	if want := "flametrench export: 5 tuples at revision 2 to standard output\n"; r.stderr != want {
		t.Errorf("export stderr = %q, want %q", r.stderr, want)
	}
	var want strings.Builder
	for _, tup := range stored {
		fmt.Fprintf(&want, `{"id":"tup_%s","subject_type":"%s","subject_id":"%s","relation":"%s","object_type":"%s","object_id":"%s"`,
			tup.ID.Hex(), tup.Key.Subject.Type, tup.Key.Subject.ID, tup.Key.Relation, tup.Key.Object.Type, tup.Key.Object.ID)
		if !tup.CreatedBy.IsZero() {
			fmt.Fprintf(&want, `,"created_by":"usr_%s"`, tup.CreatedBy.Hex())
		}
		want.WriteString("}\n")
	}
	if exported != want.String() {
		t.Errorf("export =\n%s\nwant\n%s", exported, want.String())
	}

	// Importing the export into the same database adds nothing.
	exportPath := writeFile(t, "export.jsonl", exported)
	r = runCLI(t, "", "import", "--database-url", url, exportPath)
	if r.code != 0 {
		t.Fatalf("import of the export = %d, want 0; stderr %s", r.code, r.stderr)
	}
	if gotAcks, _ := acks(t, r.stdout); !slices.Equal(gotAcks, []string{"committed lines 1-5: 5 tuples, all stored already"}) {
		t.Errorf("import of the export acknowledged %q, want nothing new", gotAcks)
	}
	if got := pgtest.Tuples(t, db); !slices.Equal(got, stored) {
		t.Errorf("import of the export changed the tuples:\n%v\nwant\n%v", got, stored)
	}

	// Into an empty database, from standard input, it reproduces the
	// tuples, ids included: export → import → export is the identity.
	_, url2 := pgtest.DB(t, postgres.Config{})
	r = runCLI(t, exported, "import", "--database-url", url2, "-")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "committed lines 1-5: 5 tuples, revision 1\nimported <stdin>: 5 tuples") {
		t.Fatalf("import from stdin = %d %q; stderr %s", r.code, r.stdout, r.stderr)
	}
	out := filepath.Join(t.TempDir(), "again.jsonl")
	r = runCLI(t, "", "export", "--database-url", url2, out)
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("export to a file = %d %q; stderr %s", r.code, r.stdout, r.stderr)
	}
	if got, err := os.ReadFile(out); err != nil || string(got) != exported {
		t.Errorf("export → import → export gave\n%s(%v)\nwant\n%s", got, err, exported)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Errorf("export left %d files behind, want only FILE", len(entries))
	}

	// The offline tools read the same file, ids and all.
	r = runCLI(t, "", "check", "--tuples", exportPath, "doc:"+readme+"#editor@usr:"+alice)
	if r.code != 0 {
		t.Errorf("check against the export = %d %q, want allowed; stderr %s", r.code, r.stdout, r.stderr)
	}
}

// TestImportStopsAtABadLine: batches of 2, and a bad line 6, the second of
// batch 3. Batches 1 and 2 stay committed; nothing of batch 3 is written.
func TestImportStopsAtABadLine(t *testing.T) {
	t.Parallel()
	good := func(i int) tupleJSON {
		return tupleJSON{
			ID:          fmt.Sprintf("tup_0190f2a81b3c7abc8123%012x", 0x100+i),
			SubjectType: "usr", SubjectID: fmt.Sprintf("usr_0190f2a81b3c7abc8123%012x", i),
			Relation: "viewer", ObjectType: "doc", ObjectID: readme,
		}
	}
	line6 := func(f func(*tupleJSON)) string { l := good(6); f(&l); return l.String() }
	tests := []struct {
		name  string
		bad   string
		where string // after "FILE:"
		want  string
	}{
		{"bad subject id", line6(func(l *tupleJSON) { l.SubjectID = "usr_123" }), "6", "invalid_format.subject_id: "},
		{"malformed JSON", `{"subject_type":`, "6", "invalid_format.json: malformed JSON"},
		{"bad tuple id", line6(func(l *tupleJSON) { l.ID = "tup_0190f2a81b3c0abc8123000000000106" }), "6", "invalid_format.id: "},
		{"bad created_by", line6(func(l *tupleJSON) { l.CreatedBy = "org_0190f2a81b3c7abc8123000000000001" }), "6", "invalid_format.created_by: "},
		{"line 5's id with another key", line6(func(l *tupleJSON) { l.ID = good(5).ID }), "6",
			"conflict.duplicate_tuple: tuple id " + good(5).ID + " is already used by line 5 for usr:0190f2a8-1b3c-7abc-8123-000000000005#viewer@doc:" + readme},
		// Known only to the database: the batch is refused when written.
		{"a stored tuple's id with another key", line6(func(l *tupleJSON) { l.ID = good(1).ID }), "6",
			"change 1: conflict.duplicate_tuple: tuple id " + good(1).ID + " is already used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, url := pgtest.DB(t, postgres.Config{})
			var file strings.Builder
			for i := 1; i <= 5; i++ {
				file.WriteString(good(i).String() + "\n")
			}
			file.WriteString(tt.bad + "\n" + good(7).String() + "\n")
			path := writeFile(t, "tuples.jsonl", file.String())

			r := runCLI(t, "", "import", "--database-url", url, "--batch-size", "2", path)
			if r.code != 2 {
				t.Errorf("import = %d, want 2", r.code)
			}
			wantOut := "committed lines 1-2: 2 tuples, revision 1\ncommitted lines 3-4: 2 tuples, revision 2\n"
			if r.stdout != wantOut {
				t.Errorf("import stdout = %q, want %q", r.stdout, wantOut)
			}
			batch := "nothing of the batch from line 5 was written"
			if strings.HasPrefix(tt.name, "a stored") {
				batch = "nothing of lines 5-6 was written"
			}
			wantErr := path + ":" + tt.where + ": " + tt.want
			if !strings.HasPrefix(r.stderr, wantErr) {
				t.Errorf("stderr = %q, want it to start with %q", r.stderr, wantErr)
			}
			if want := "\nflametrench import: stopped: lines 1-4 are committed (2 batches, 4 tuples); " + batch + "\n"; !strings.HasSuffix(r.stderr, want) {
				t.Errorf("stderr = %q, want it to end with %q", r.stderr, want)
			}
			var got []string
			for _, tup := range pgtest.Tuples(t, db) {
				got = append(got, tup.WireID())
			}
			if want := []string{good(1).ID, good(2).ID, good(3).ID, good(4).ID}; !slices.Equal(got, want) {
				t.Errorf("stored %v, want the tuples of lines 1-4, %v", got, want)
			}
		})
	}
}

func TestImportBadFirstLine(t *testing.T) {
	t.Parallel()
	_, url := pgtest.DB(t, postgres.Config{})
	r := runCLI(t, "\n[]\n", "import", "--database-url", url, "-")
	want := "<stdin>:2: invalid_format.json: want a JSON object\nflametrench import: stopped: nothing was committed; nothing of the batch from line 2 was written\n"
	if r.code != 2 || r.stdout != "" || r.stderr != want {
		t.Errorf("import = %d %q %q, want 2, no output and %q", r.code, r.stdout, r.stderr, want)
	}
	r = runCLI(t, "\n\n", "import", "--database-url", url, "-")
	if r.code != 0 || r.stdout != "imported <stdin>: no tuples, revision 0\n" {
		t.Errorf("import of blank lines = %d %q; stderr %s", r.code, r.stdout, r.stderr)
	}
}

func TestImportAndExportNeedTheSchema(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	path := writeFile(t, "tuples.jsonl", "")
	for _, args := range [][]string{{"import", path}, {"export"}} {
		r := runCLI(t, "", append(args, "--database-url", url)...)
		if r.code != 3 || !strings.Contains(r.stderr, "run 'flametrench migrate'") {
			t.Errorf("%s on an empty schema = %d %q, want 3 and advice to migrate", args[0], r.code, r.stderr)
		}
	}
}

func TestExportFailureLeavesFileAlone(t *testing.T) {
	t.Parallel()
	_, url := pgtest.DB(t, postgres.Config{})
	dir := t.TempDir()
	r := runCLI(t, "", "export", "--database-url", url, filepath.Join(dir, "missing-dir", "out.jsonl"))
	if r.code != 3 || !strings.Contains(r.stderr, "missing-dir") {
		t.Errorf("export into a missing directory = %d %q, want 3 naming it", r.code, r.stderr)
	}
	out := filepath.Join(dir, "out.jsonl")
	r = runCLI(t, "", "export", "--database-url", url, out)
	if got, err := os.ReadFile(out); r.code != 0 || err != nil || len(got) != 0 {
		t.Errorf("export of no tuples = %d, file %q %v; want 0 and an empty file", r.code, got, err)
	}
}

// TestTuplesFileIDs: the offline loader keeps ids, takes a repeated line
// with an id as a repeat, and refuses one id for two keys, naming the line.
func TestTuplesFileIDs(t *testing.T) {
	a := tupleJSON{ID: "tup_0190f2a81b3c7abc8123000000000101", SubjectType: "usr", SubjectID: alice, Relation: "editor", ObjectType: "doc", ObjectID: readme}
	b := a
	b.SubjectID = carol
	path := writeFile(t, "tuples.jsonl", a.String()+"\n"+a.String()+"\n")
	r := runCLI(t, "", "check", "--tuples", path, "doc:"+readme+"#editor@usr:"+alice)
	if r.code != 0 {
		t.Errorf("check with a repeated line = %d, want 0; stderr %s", r.code, r.stderr)
	}
	path = writeFile(t, "tuples.jsonl", a.String()+"\n\n"+b.String()+"\n")
	r = runCLI(t, "", "check", "--tuples", path, "doc:"+readme+"#editor@usr:"+alice)
	if want := path + ":3: conflict.duplicate_tuple: tuple id " + a.ID + " is already used by line 1"; r.code != 2 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("check with one id for two keys = %d %q, want 2 and %q", r.code, r.stderr, want)
	}
}

// TestEncodeTupleForm pins the export line byte for byte.
func TestEncodeTupleForm(t *testing.T) {
	tup := mustTuple(t, tupleJSON{ID: "0190f2a81b3c7abc8123000000000101", SubjectType: "usr", SubjectID: alice, Relation: "editor", ObjectType: "doc", ObjectID: "0190F2A81B3C7ABC812300000000D001", CreatedBy: carol})
	want := `{"id":"tup_0190f2a81b3c7abc8123000000000101","subject_type":"usr","subject_id":"0190f2a8-1b3c-7abc-8123-000000000001","relation":"editor","object_type":"doc","object_id":"0190f2a8-1b3c-7abc-8123-00000000d001","created_by":"usr_0190f2a81b3c7abc8123000000000003"}` + "\n"
	if got := encodeTuple(tup); !bytes.Equal(got, []byte(want)) {
		t.Errorf("encodeTuple = %s, want %s", got, want)
	}
	tup.CreatedBy = tuples.UUID{}
	if got := string(encodeTuple(tup)); strings.Contains(got, "created_by") {
		t.Errorf("encodeTuple without created_by = %s, want the field left out", got)
	}
}
