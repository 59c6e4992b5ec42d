package check

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
)

// fixtureFile is the shape of the spec's authorization fixtures. Our own fixture
// files (testdata/fixtures) use the same shape plus an optional "limits" per test.
type fixtureFile struct {
	Operation string        `json:"operation"`
	Tests     []fixtureTest `json:"tests"`
}

type fixtureTest struct {
	ID     string          `json:"id"`
	Rules  json.RawMessage `json:"rules"`
	Limits *struct {
		MaxDepth  int `json:"max_depth"`
		MaxFanOut int `json:"max_fan_out"`
	} `json:"limits"`
	Input struct {
		GivenTuples []wireTuple `json:"given_tuples"`
		Create      *wireTuple  `json:"create"`
		Check       *wireCheck  `json:"check"`
	} `json:"input"`
	Expected struct {
		Result json.RawMessage `json:"result"`
		Error  string          `json:"error"`
	} `json:"expected"`
}

type wireTuple struct {
	SubjectType string `json:"subject_type"`
	SubjectID   string `json:"subject_id"`
	Relation    string `json:"relation"`
	ObjectType  string `json:"object_type"`
	ObjectID    string `json:"object_id"`
}

type wireCheck struct {
	wireTuple
	Relations []string `json:"relations"`
}

// specErrors maps the spec's error names to a predicate on our errors.
var specErrors = map[string]func(error) bool{
	"InvalidFormatError": func(err error) bool {
		return tuples.KindOf(err) == tuples.Invalid && strings.HasPrefix(tuples.CodeOf(err), "invalid_format.")
	},
	"DuplicateTupleError":          func(err error) bool { return errors.Is(err, tuples.ErrDuplicateTuple) },
	"EmptyRelationSetError":        func(err error) bool { return errors.Is(err, tuples.ErrEmptyRelations) },
	"EvaluationLimitExceededError": func(err error) bool { return errors.Is(err, ErrEvaluationLimit) },
}

func loadFixtures(t *testing.T, pattern string) map[string]fixtureFile {
	t.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures match %s (%v)", pattern, err)
	}
	files := map[string]fixtureFile{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var f fixtureFile
		dec := json.NewDecoder(strings.NewReader(string(data)))
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		files[p] = f
	}
	return files
}

func TestSpecConformance(t *testing.T) {
	files := loadFixtures(t, "../testdata/conformance/fixtures/authorization/*.json")
	for p, f := range loadFixtures(t, "../testdata/conformance/fixtures/authorization/rewrite-rules/*.json") {
		files[p] = f
	}
	runFixtures(t, files, 28)
}

func TestOwnFixtures(t *testing.T) {
	runFixtures(t, loadFixtures(t, "testdata/fixtures/*.json"), 1)
}

func runFixtures(t *testing.T, files map[string]fixtureFile, atLeast int) {
	ran := 0
	for path, f := range files {
		for _, tc := range f.Tests {
			t.Run(filepath.Base(path)+"/"+tc.ID, func(t *testing.T) {
				runFixture(t, f.Operation, tc)
			})
			ran++
		}
	}
	if ran < atLeast {
		t.Fatalf("ran %d fixture tests, want at least %d", ran, atLeast)
	}
}

func runFixture(t *testing.T, op string, tc fixtureTest) {
	ctx := context.Background()
	var rules *rewrite.Rules
	if len(tc.Rules) > 0 {
		var err error
		if rules, err = rewrite.Parse(tc.Rules); err != nil {
			t.Fatalf("rules: %v", err)
		}
	}
	cfg := Config{Rules: rules}
	if tc.Limits != nil {
		cfg.Limits = Limits{MaxDepth: tc.Limits.MaxDepth, MaxFanOut: tc.Limits.MaxFanOut}
	}
	g := memory.New()
	e, err := New(func() Graph { return g.Snapshot() }, g.Intern, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range tc.Input.GivenTuples {
		k, err := tuples.ParseKey(w.SubjectType, w.SubjectID, w.Relation, w.ObjectType, w.ObjectID)
		if err != nil {
			t.Fatalf("given tuple %+v: %v", w, err)
		}
		if _, err := g.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: k}}); err != nil {
			t.Fatalf("given tuple %+v: %v", w, err)
		}
	}
	var result any
	switch op {
	case "check", "check_any":
		c := tc.Input.Check
		req := Request{Relation: c.Relation, Relations: c.Relations}
		if op == "check_any" && req.Relations == nil {
			req.Relations = []string{}
		}
		req.Subject, err = tuples.ParseSubject(c.SubjectType, c.SubjectID)
		if err == nil {
			req.Object, err = tuples.ParseObject(c.ObjectType, c.ObjectID)
		}
		var res Result
		if err == nil {
			res, err = e.Check(ctx, req)
		}
		result = map[string]bool{"allowed": res.Allowed}
	case "create_tuple":
		w := tc.Input.Create
		var k tuples.Key
		k, err = tuples.ParseKey(w.SubjectType, w.SubjectID, w.Relation, w.ObjectType, w.ObjectID)
		if err == nil {
			_, err = g.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: k}})
		}
		result = "ok"
	default:
		t.Fatalf("unknown operation %q", op)
	}
	if tc.Expected.Error != "" {
		match, known := specErrors[tc.Expected.Error]
		if !known {
			t.Fatalf("unknown spec error %q", tc.Expected.Error)
		}
		if err == nil || !match(err) {
			t.Fatalf("err = %v, want %s", err, tc.Expected.Error)
		}
		return
	}
	if err != nil {
		t.Fatalf("err = %v, want result %s", err, tc.Expected.Result)
	}
	got, _ := json.Marshal(result)
	var want, have any
	json.Unmarshal(tc.Expected.Result, &want)
	json.Unmarshal(got, &have)
	if wj, _ := json.Marshal(want); string(wj) != string(got) {
		t.Fatalf("result = %s, want %s", got, tc.Expected.Result)
	}
}
