package check

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
)

// saasRules is the benchmark's rule set in miniature: roles imply each other,
// and folders and documents inherit from their parents.
const saasRules = `
rules:
  org:
    admin: { union: [this, { computed_userset: { relation: owner } }] }
    member: { union: [this, { computed_userset: { relation: admin } }] }
  fld:
    viewer:
      union:
        - this
        - tuple_to_userset: { tupleset: { relation: parent }, computed_userset: { relation: member } }
        - tuple_to_userset: { tupleset: { relation: parent }, computed_userset: { relation: viewer } }
  doc:
    editor: { union: [this, { computed_userset: { relation: owner } }] }
    viewer:
      union:
        - this
        - computed_userset: { relation: editor }
        - tuple_to_userset: { tupleset: { relation: parent }, computed_userset: { relation: viewer } }
`

// named gives refs readable names and builds tuples from "subject rel object".
type named map[string]tuples.Ref

func (n named) ref(name string) tuples.Ref {
	if r, ok := n[name]; ok {
		return r
	}
	r := tuples.Ref{Type: strings.TrimRight(name, "0123456789"), ID: tuples.NewUUID()}
	n[name] = r
	return r
}

func (n named) changes(lines ...string) []tuples.Change {
	var ch []tuples.Change
	for _, l := range lines {
		f := strings.Fields(l)
		ch = append(ch, tuples.Change{Op: tuples.OpCreate, Key: tuples.Key{Subject: n.ref(f[0]), Relation: f[1], Object: n.ref(f[2])}})
	}
	return ch
}

// ids returns the sorted ids of the named refs.
func (n named) ids(names ...string) []tuples.UUID {
	out := []tuples.UUID{}
	for _, name := range names {
		out = append(out, n.ref(name).ID)
	}
	slices.SortFunc(out, tuples.UUID.Compare)
	return out
}

func lookupEngine(t *testing.T, rules string, limits Limits, lines ...string) (*Engine, *memory.Graph, named) {
	t.Helper()
	r, err := rewrite.Parse([]byte(rules))
	if err != nil {
		t.Fatal(err)
	}
	g := memory.New()
	eng, err := New(func() Graph { return g.Snapshot() }, g.Intern, Config{Rules: r, Limits: limits, Cache: smallCache})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	n := named{}
	if ch := n.changes(lines...); len(ch) > 0 {
		if _, err := g.Write(context.Background(), ch); err != nil {
			t.Fatal(err)
		}
	}
	return eng, g, n
}

func resources(eng *Engine, subj tuples.Ref, rel, typ string) ([]tuples.UUID, error) {
	p, err := eng.LookupResources(context.Background(), ResourcesQuery{Subject: subj, Relation: rel, ObjectType: typ})
	if p.More {
		return nil, errors.New("unexpected more")
	}
	return p.IDs, err
}

func subjects(eng *Engine, obj tuples.Ref, rel, typ string) ([]tuples.UUID, error) {
	p, err := eng.LookupSubjects(context.Background(), SubjectsQuery{Object: obj, Relation: rel, SubjectType: typ})
	if p.More {
		return nil, errors.New("unexpected more")
	}
	return p.IDs, err
}

func TestLookupExample(t *testing.T) {
	eng, _, n := lookupEngine(t, saasRules, Limits{},
		"usr1 owner org1", "usr2 member org1", "usr3 admin org2",
		"org1 parent fld1", "fld1 parent fld2", "org2 parent fld3",
		"fld1 parent doc1", "fld2 parent doc2", "fld3 parent doc3",
		"usr4 viewer doc3", "usr5 owner doc1", "usr5 viewer fld3", "grp1 viewer doc2")
	for _, tc := range []struct {
		subj, rel, typ string
		want           []string
	}{
		{"usr1", "viewer", "doc", []string{"doc1", "doc2"}}, // owner ⊂ admin ⊂ member of org1, two folders down
		{"usr1", "member", "org", []string{"org1"}},
		{"usr1", "viewer", "fld", []string{"fld1", "fld2"}},
		{"usr2", "viewer", "doc", []string{"doc1", "doc2"}},
		{"usr3", "viewer", "doc", []string{"doc3"}},
		{"usr5", "viewer", "doc", []string{"doc1", "doc3"}}, // owner ⊂ editor ⊂ viewer; and through fld3
		{"usr5", "editor", "doc", []string{"doc1"}},
		{"usr4", "viewer", "fld", nil},
		{"grp1", "viewer", "doc", []string{"doc2"}},
		{"usr9", "viewer", "doc", nil},  // no tuples at all
		{"usr1", "viewer", "proj", nil}, // a type no tuple has
		{"usr1", "nothing", "doc", nil}, // a relation no tuple or rule has
		{"org1", "viewer", "doc", nil},  // org1 is a parent, not a viewer
		{"fld1", "parent", "doc", []string{"doc1"}},
	} {
		got, err := resources(eng, n.ref(tc.subj), tc.rel, tc.typ)
		if want := n.ids(tc.want...); err != nil || !slices.Equal(got, want) {
			t.Errorf("LookupResources(%s %s %s) = %v, %v; want %v", tc.subj, tc.rel, tc.typ, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		obj, rel, typ string
		want          []string
	}{
		{"doc1", "viewer", "usr", []string{"usr1", "usr2", "usr5"}},
		{"doc2", "viewer", "usr", []string{"usr1", "usr2"}},
		{"doc2", "viewer", "grp", []string{"grp1"}},
		{"doc3", "viewer", "usr", []string{"usr3", "usr4", "usr5"}},
		{"doc3", "editor", "usr", nil},
		{"fld2", "viewer", "usr", []string{"usr1", "usr2"}},
		{"org1", "member", "usr", []string{"usr1", "usr2"}},
		{"doc9", "viewer", "usr", nil}, // no tuples at all
		{"doc1", "viewer", "org", nil},
	} {
		got, err := subjects(eng, n.ref(tc.obj), tc.rel, tc.typ)
		if want := n.ids(tc.want...); err != nil || !slices.Equal(got, want) {
			t.Errorf("LookupSubjects(%s %s %s) = %v, %v; want %v", tc.obj, tc.rel, tc.typ, got, err, tc.want)
		}
	}
}

// TestLookupCycles: a folder that is its own parent, two folders that are each
// other's, and rules that include each other all terminate with the right
// answer.
func TestLookupCycles(t *testing.T) {
	const rules = `
rules:
  fld:
    viewer:
      union:
        - this
        - computed_userset: { relation: editor }
        - tuple_to_userset: { tupleset: { relation: parent }, computed_userset: { relation: viewer } }
    editor: { union: [this, { computed_userset: { relation: viewer } }, { computed_userset: { relation: editor } }] }
`
	eng, _, n := lookupEngine(t, rules, Limits{},
		"fld1 parent fld1", "fld2 parent fld3", "fld3 parent fld2", "fld3 parent fld4",
		"usr1 viewer fld1", "usr2 editor fld2", "usr3 viewer fld4")
	for _, tc := range []struct {
		subj, rel string
		want      []string
	}{
		{"usr1", "viewer", []string{"fld1"}},
		{"usr1", "editor", []string{"fld1"}}, // editor ⊇ viewer and viewer ⊇ editor
		{"usr2", "viewer", []string{"fld2", "fld3", "fld4"}},
		{"usr2", "editor", []string{"fld2", "fld3", "fld4"}},
		{"usr3", "viewer", []string{"fld4"}},
	} {
		got, err := resources(eng, n.ref(tc.subj), tc.rel, "fld")
		if want := n.ids(tc.want...); err != nil || !slices.Equal(got, want) {
			t.Errorf("LookupResources(%s %s fld) = %v, %v; want %v", tc.subj, tc.rel, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		obj  string
		want []string
	}{
		{"fld1", []string{"usr1"}},
		{"fld2", []string{"usr2"}},
		{"fld4", []string{"usr2", "usr3"}},
	} {
		for _, rel := range []string{"viewer", "editor"} {
			got, err := subjects(eng, n.ref(tc.obj), rel, "usr")
			if want := n.ids(tc.want...); err != nil || !slices.Equal(got, want) {
				t.Errorf("LookupSubjects(%s %s usr) = %v, %v; want %v", tc.obj, rel, got, err, tc.want)
			}
		}
	}
}

// TestLookupLimits: a member reachable only through more than MaxDepth
// expansions, a tuple_to_userset step wider than MaxFanOut, and a walk longer
// than MaxLookupSteps each fail with the evaluation limit instead of
// answering without it; within the limits the same lookups answer.
func TestLookupLimits(t *testing.T) {
	const rules = `
rules:
  doc:
    viewer:
      union:
        - this
        - tuple_to_userset: { tupleset: { relation: parent }, computed_userset: { relation: viewer } }
`
	// A chain doc0 <- doc1 <- ... <- doc4 through parent; usr1 views doc0,
	// usr2 views doc4, usr3 views doc2.
	chain := []string{"doc0 parent doc1", "doc1 parent doc2", "doc2 parent doc3", "doc3 parent doc4", "usr1 viewer doc0", "usr2 viewer doc4", "usr3 viewer doc2"}
	isLimit := func(err error) bool {
		return errors.Is(err, ErrEvaluationLimit) && tuples.KindOf(err) == tuples.LimitExceeded
	}

	t.Run("depth", func(t *testing.T) {
		for _, tc := range []struct {
			depth int
			ok    bool
		}{{4, true}, {3, false}} {
			eng, _, n := lookupEngine(t, rules, Limits{MaxDepth: tc.depth}, chain...)
			// doc4 is four expansions above usr1's tuple.
			got, err := resources(eng, n.ref("usr1"), "viewer", "doc")
			if tc.ok != (err == nil) || (!tc.ok && !isLimit(err)) {
				t.Fatalf("depth %d: LookupResources = %v, %v", tc.depth, got, err)
			}
			if tc.ok && !slices.Equal(got, n.ids("doc0", "doc1", "doc2", "doc3", "doc4")) {
				t.Errorf("depth %d: LookupResources = %v", tc.depth, got)
			}
			got, err = subjects(eng, n.ref("doc4"), "viewer", "usr")
			if tc.ok != (err == nil) || (!tc.ok && !isLimit(err)) {
				t.Fatalf("depth %d: LookupSubjects = %v, %v", tc.depth, got, err)
			}
			if tc.ok && !slices.Equal(got, n.ids("usr1", "usr2", "usr3")) {
				t.Errorf("depth %d: LookupSubjects = %v", tc.depth, got)
			}
			// usr3 and the docs above doc2 are within 2: no limit in sight.
			if got, err := resources(eng, n.ref("usr3"), "viewer", "doc"); err != nil || !slices.Equal(got, n.ids("doc2", "doc3", "doc4")) {
				t.Errorf("depth %d: LookupResources(usr3) = %v, %v", tc.depth, got, err)
			}
			if got, err := subjects(eng, n.ref("doc2"), "viewer", "usr"); err != nil || !slices.Equal(got, n.ids("usr1", "usr3")) {
				t.Errorf("depth %d: LookupSubjects(doc2) = %v, %v", tc.depth, got, err)
			}
		}
	})

	t.Run("fan-out", func(t *testing.T) {
		// doc5 has five parents; usr1 views one of them.
		wide := []string{"usr1 viewer doc0"}
		for _, p := range []string{"doc0", "doc1", "doc2", "doc3", "doc4"} {
			wide = append(wide, p+" parent doc5")
		}
		for _, tc := range []struct {
			fanOut int
			ok     bool
		}{{5, true}, {4, false}} {
			eng, _, n := lookupEngine(t, rules, Limits{MaxFanOut: tc.fanOut}, wide...)
			got, err := resources(eng, n.ref("usr1"), "viewer", "doc")
			if tc.ok != (err == nil) || (!tc.ok && !isLimit(err)) || (tc.ok && !slices.Equal(got, n.ids("doc0", "doc5"))) {
				t.Errorf("fan-out %d: LookupResources = %v, %v", tc.fanOut, got, err)
			}
			got, err = subjects(eng, n.ref("doc5"), "viewer", "usr")
			if tc.ok != (err == nil) || (!tc.ok && !isLimit(err)) || (tc.ok && !slices.Equal(got, n.ids("usr1"))) {
				t.Errorf("fan-out %d: LookupSubjects = %v, %v", tc.fanOut, got, err)
			}
			// The check of the same answer meets the same limit.
			res, err := eng.Check(context.Background(), Request{Subject: n.ref("usr9"), Relation: "viewer", Object: n.ref("doc5")})
			if tc.ok == (err != nil) {
				t.Errorf("fan-out %d: Check = %v, %v", tc.fanOut, res, err)
			}
		}
	})

	t.Run("steps", func(t *testing.T) {
		// Up from usr1: its 1 tuple, the 5 frames doc0..doc4 and the 4
		// parent tuples read from them: 10 steps. Down from doc4: 5 frames,
		// 3 direct viewers and 4 parent tuples: 12.
		for _, tc := range []struct {
			steps        int
			upOK, downOK bool
		}{{12, true, true}, {11, true, false}, {9, false, false}} {
			eng, _, n := lookupEngine(t, rules, Limits{MaxLookupSteps: tc.steps}, chain...)
			_, err := resources(eng, n.ref("usr1"), "viewer", "doc")
			if tc.upOK != (err == nil) || (!tc.upOK && !isLimit(err)) {
				t.Errorf("steps %d: LookupResources: %v", tc.steps, err)
			}
			_, err = subjects(eng, n.ref("doc4"), "viewer", "usr")
			if tc.downOK != (err == nil) || (!tc.downOK && !isLimit(err)) {
				t.Errorf("steps %d: LookupSubjects: %v", tc.steps, err)
			}
		}
	})
}

func TestLookupValidates(t *testing.T) {
	eng, _, n := lookupEngine(t, saasRules, Limits{}, "usr1 member org1")
	u, o := n.ref("usr1"), n.ref("org1")
	ctx := context.Background()
	for _, tc := range []struct {
		q    ResourcesQuery
		code string
	}{
		{ResourcesQuery{Subject: tuples.Ref{Type: "U", ID: u.ID}, Relation: "member", ObjectType: "org"}, "invalid_format.subject_type"},
		{ResourcesQuery{Subject: tuples.Ref{Type: "usr"}, Relation: "member", ObjectType: "org"}, "invalid_format.subject_id"},
		{ResourcesQuery{Subject: u, Relation: "Member", ObjectType: "org"}, "invalid_format.relation"},
		{ResourcesQuery{Subject: u, Relation: "member", ObjectType: "organisation"}, "invalid_format.object_type"},
		{ResourcesQuery{Subject: u, Relation: "member", ObjectType: "org", Limit: -1}, "invalid_format.limit"},
		{ResourcesQuery{Subject: u, Relation: "member", ObjectType: "org", Limit: MaxLookupLimit + 1}, "invalid_format.limit"},
	} {
		if _, err := eng.LookupResources(ctx, tc.q); tuples.CodeOf(err) != tc.code {
			t.Errorf("LookupResources(%+v): err = %v, want %s", tc.q, err, tc.code)
		}
	}
	for _, tc := range []struct {
		q    SubjectsQuery
		code string
	}{
		{SubjectsQuery{Object: tuples.Ref{Type: "o", ID: o.ID}, Relation: "member", SubjectType: "usr"}, "invalid_format.object_type"},
		{SubjectsQuery{Object: tuples.Ref{Type: "org"}, Relation: "member", SubjectType: "usr"}, "invalid_format.object_id"},
		{SubjectsQuery{Object: o, Relation: "m", SubjectType: "usr"}, "invalid_format.relation"},
		{SubjectsQuery{Object: o, Relation: "member", SubjectType: "usr1"}, "invalid_format.subject_type"},
		{SubjectsQuery{Object: o, Relation: "member", SubjectType: "usr", Limit: MaxLookupLimit + 1}, "invalid_format.limit"},
	} {
		if _, err := eng.LookupSubjects(ctx, tc.q); tuples.CodeOf(err) != tc.code {
			t.Errorf("LookupSubjects(%+v): err = %v, want %s", tc.q, err, tc.code)
		}
	}
	// The largest limit is accepted.
	if p, err := eng.LookupSubjects(ctx, SubjectsQuery{Object: o, Relation: "member", SubjectType: "usr", Limit: MaxLookupLimit}); err != nil || len(p.IDs) != 1 {
		t.Errorf("LookupSubjects(limit %d) = %+v, %v", MaxLookupLimit, p, err)
	}
	// A cancelled context stops the walk.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := eng.LookupResources(cancelled, ResourcesQuery{Subject: u, Relation: "member", ObjectType: "org"}); !errors.Is(err, context.Canceled) {
		t.Errorf("LookupResources(cancelled): err = %v", err)
	}
	if _, err := eng.LookupSubjects(cancelled, SubjectsQuery{Object: o, Relation: "member", SubjectType: "usr"}); !errors.Is(err, context.Canceled) {
		t.Errorf("LookupSubjects(cancelled): err = %v", err)
	}
}

// TestLookupPagingLarge: a thousand members through a rule, paged by 100 and
// by 7 from a cursor, add up to the unpaged answer, and More is set exactly
// on the pages the limit cut.
func TestLookupPagingLarge(t *testing.T) {
	lines := []string{"org1 parent doc1"}
	for i := 0; i < 1000; i++ {
		lines = append(lines, "usr"+itoa(i)+" member org1")
		if i%3 == 0 {
			lines = append(lines, "usr"+itoa(i)+" owner doc1") // a second way to the same answer
		}
	}
	eng, _, n := lookupEngine(t, `
rules:
  doc:
    viewer:
      union:
        - this
        - computed_userset: { relation: owner }
        - tuple_to_userset: { tupleset: { relation: parent }, computed_userset: { relation: member } }
`, Limits{}, lines...)
	ctx := context.Background()
	all, err := subjects(eng, n.ref("doc1"), "viewer", "usr")
	if err != nil || len(all) != 1000 || !slices.IsSortedFunc(all, tuples.UUID.Compare) {
		t.Fatalf("LookupSubjects = %d ids (sorted %v), %v", len(all), slices.IsSortedFunc(all, tuples.UUID.Compare), err)
	}
	for _, tc := range []struct {
		limit int
		start int // index of the cursor in all, or -1
	}{{100, -1}, {7, 500}, {1000, -1}, {999, -1}} {
		var got []tuples.UUID
		var after tuples.UUID
		if tc.start >= 0 {
			after = all[tc.start]
		}
		for pages := 0; ; pages++ {
			p, err := eng.LookupSubjects(ctx, SubjectsQuery{Object: n.ref("doc1"), Relation: "viewer", SubjectType: "usr", After: after, Limit: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p.IDs...)
			if rest := len(all) - (tc.start + 1) - len(got); p.More != (rest > 0) {
				t.Fatalf("limit %d, page %d: more = %v with %d left", tc.limit, pages, p.More, rest)
			}
			if !p.More {
				break
			}
			after = p.IDs[len(p.IDs)-1]
		}
		if !slices.Equal(got, all[tc.start+1:]) {
			t.Errorf("limit %d from %d: pages add up to %d ids, want %d", tc.limit, tc.start, len(got), len(all)-tc.start-1)
		}
	}
	docs, err := eng.LookupResources(ctx, ResourcesQuery{Subject: n.ref("usr3"), Relation: "viewer", ObjectType: "doc", Limit: 1})
	if err != nil || !slices.Equal(docs.IDs, n.ids("doc1")) || docs.More {
		t.Errorf("LookupResources(limit 1) = %+v, %v", docs, err)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TestLookupAtLeast: lookups honour consistency tokens as Check does, and
// report the revision they read.
func TestLookupAtLeast(t *testing.T) {
	eng, g, n := lookupEngine(t, saasRules, Limits{}, "usr1 member org1")
	ctx := context.Background()
	rev := g.Revision()
	if _, err := eng.LookupResources(ctx, ResourcesQuery{Subject: n.ref("usr1"), Relation: "member", ObjectType: "org", AtLeast: rev + 1}); !errors.Is(err, tuples.ErrStale) {
		t.Errorf("LookupResources(AtLeast %d) at %d: err = %v, want ErrStale", rev+1, rev, err)
	}
	if _, err := eng.LookupSubjects(ctx, SubjectsQuery{Object: n.ref("org1"), Relation: "member", SubjectType: "usr", AtLeast: rev + 1}); !errors.Is(err, tuples.ErrStale) {
		t.Errorf("LookupSubjects(AtLeast %d) at %d: err = %v, want ErrStale", rev+1, rev, err)
	}
	p, err := eng.LookupSubjects(ctx, SubjectsQuery{Object: n.ref("org1"), Relation: "member", SubjectType: "usr", AtLeast: rev})
	if err != nil || p.Revision != rev || !slices.Equal(p.IDs, n.ids("usr1")) {
		t.Errorf("LookupSubjects(AtLeast %d) = %+v, %v", rev, p, err)
	}
	// A page read before a write keeps its revision's answer; the next
	// revision's page sees the write.
	if _, err := g.Write(ctx, n.changes("usr2 owner org1")); err != nil {
		t.Fatal(err)
	}
	p2, err := eng.LookupSubjects(ctx, SubjectsQuery{Object: n.ref("org1"), Relation: "member", SubjectType: "usr", AtLeast: p.Revision})
	if err != nil || p2.Revision != rev+1 || !slices.Equal(p2.IDs, n.ids("usr1", "usr2")) {
		t.Errorf("LookupSubjects after a write = %+v, %v", p2, err)
	}
}
