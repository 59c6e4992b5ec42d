package check

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
)

// members flattens a tree into the set of subjects it grants.
func members(t *Tree, into map[tuples.Ref]bool) {
	for _, s := range t.Subjects {
		into[s] = true
	}
	for _, b := range t.Branches {
		for _, c := range b.Children {
			members(c, into)
		}
	}
}

// expandAgrees holds Expand to Check: when an expansion succeeds, every check
// of (relation, object) succeeds too (its traversal is a subset), and a subject
// is allowed exactly when the tree names it.
func expandAgrees(t *testing.T, eng *Engine, subjects []tuples.Ref, rel string, obj tuples.Ref) {
	t.Helper()
	ctx := context.Background()
	tree, _, err := eng.Expand(ctx, rel, obj, 0)
	if err != nil {
		if !errors.Is(err, ErrEvaluationLimit) {
			t.Fatalf("Expand(%s, %s) = unexpected error %v", rel, obj, err)
		}
		return
	}
	in := map[tuples.Ref]bool{}
	members(tree, in)
	for _, s := range subjects {
		res, err := eng.Check(ctx, Request{Subject: s, Relation: rel, Object: obj})
		if err != nil {
			t.Fatalf("Expand(%s, %s) succeeded but Check(%s) = %v", rel, obj, s, err)
		}
		if res.Allowed != in[s] {
			t.Fatalf("Check(%s %s %s) = %v but the expanded tree says %v", s, rel, obj, res.Allowed, in[s])
		}
	}
}

func mustUUID(t *testing.T, s string) tuples.UUID {
	t.Helper()
	u, ok := tuples.ParseRefID("usr", s)
	if !ok {
		t.Fatalf("bad uuid %q", s)
	}
	return u
}

func TestExpandTree(t *testing.T) {
	ctx := context.Background()
	rules, err := rewrite.Parse([]byte(`
rules:
  proj:
    viewer:
      union:
        - this
        - computed_userset: { relation: editor }
        - tuple_to_userset: { tupleset: { relation: parent_org }, computed_userset: { relation: member } }
    editor: this
  org:
    member:
      union:
        - this
        - computed_userset: { relation: member }
`))
	if err != nil {
		t.Fatal(err)
	}
	g := memory.New()
	eng, err := New(func() Graph { return g.Snapshot() }, g.Intern, Config{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	alice := tuples.Ref{Type: "usr", ID: mustUUID(t, "0190f2a8-1b3c-7abc-8123-000000000001")}
	bob := tuples.Ref{Type: "usr", ID: mustUUID(t, "0190f2a8-1b3c-7abc-8123-000000000002")}
	org := tuples.Ref{Type: "org", ID: mustUUID(t, "0190f2a8-1b3c-7abc-8123-0000000000a1")}
	proj := tuples.Ref{Type: "proj", ID: mustUUID(t, "0190f2a8-1b3c-7abc-8123-0000000000b1")}
	var changes []tuples.Change
	for _, k := range []tuples.Key{
		{Subject: alice, Relation: "editor", Object: proj},
		{Subject: org, Relation: "parent_org", Object: proj},
		{Subject: bob, Relation: "member", Object: org},
	} {
		changes = append(changes, tuples.Change{Op: tuples.OpCreate, Key: k})
	}
	if _, err := g.Write(ctx, changes); err != nil {
		t.Fatal(err)
	}
	tree, rev, err := eng.Expand(ctx, "viewer", proj, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rev != g.Snapshot().Revision() {
		t.Errorf("revision = %d, want %d", rev, g.Snapshot().Revision())
	}
	got, err := json.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(strings.Fields(`{"relation":"viewer","object_type":"proj","object_id":"0190f2a8-1b3c-7abc-8123-0000000000b1","subjects":[],"branches":[
		{"kind":"computed_userset","relation":"editor","children":[
			{"relation":"editor","object_type":"proj","object_id":"0190f2a8-1b3c-7abc-8123-0000000000b1","subjects":[{"subject_type":"usr","subject_id":"0190f2a8-1b3c-7abc-8123-000000000001"}]}]},
		{"kind":"tuple_to_userset","relation":"member","tupleset":"parent_org","children":[
			{"relation":"member","object_type":"org","object_id":"0190f2a8-1b3c-7abc-8123-0000000000a1","subjects":[{"subject_type":"usr","subject_id":"0190f2a8-1b3c-7abc-8123-000000000002"}],"branches":[
				{"kind":"computed_userset","relation":"member","children":[
					{"relation":"member","object_type":"org","object_id":"0190f2a8-1b3c-7abc-8123-0000000000a1","subjects":[{"subject_type":"usr","subject_id":"0190f2a8-1b3c-7abc-8123-000000000002"}],"cycle":true}]}]}]}]}`), "")
	if string(got) != want {
		t.Errorf("tree JSON\n got %s\nwant %s", got, want)
	}
	expandAgrees(t, eng, []tuples.Ref{alice, bob, org, proj}, "viewer", proj)
}

func TestExpandLimits(t *testing.T) {
	ctx := context.Background()
	rules := &rewrite.Rules{Types: map[string]map[string]rewrite.Rule{
		"doc": {"viewer": {{Kind: rewrite.This}, {Kind: rewrite.TupleToUserset, TuplesetRelation: "parent", Relation: "viewer"}}},
	}}
	g := memory.New()
	// A chain doc0 <- doc1 <- ... <- doc4 through "parent", and five viewers of doc0.
	docs := make([]tuples.Ref, 5)
	for i := range docs {
		docs[i] = tuples.Ref{Type: "doc", ID: tuples.NewUUID()}
	}
	var changes []tuples.Change
	for i := 1; i < len(docs); i++ {
		changes = append(changes, tuples.Change{Op: tuples.OpCreate, Key: tuples.Key{Subject: docs[i-1], Relation: "parent", Object: docs[i]}})
	}
	for i := 0; i < 5; i++ {
		changes = append(changes, tuples.Change{Op: tuples.OpCreate, Key: tuples.Key{Subject: tuples.Ref{Type: "usr", ID: tuples.NewUUID()}, Relation: "viewer", Object: docs[0]}})
	}
	if _, err := g.Write(ctx, changes); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limits Limits
		ok     bool
	}{
		{Limits{MaxDepth: 8, MaxFanOut: 8}, true},
		{Limits{MaxDepth: 3, MaxFanOut: 8}, false}, // four hops down the chain
		{Limits{MaxDepth: 8, MaxFanOut: 4}, false}, // five direct viewers of doc0
	} {
		eng, err := New(func() Graph { return g.Snapshot() }, g.Intern, Config{Rules: rules, Limits: tc.limits, Cache: smallCache})
		if err != nil {
			t.Fatal(err)
		}
		tree, _, err := eng.Expand(ctx, "viewer", docs[4], 0)
		eng.Close()
		if tc.ok {
			if err != nil {
				t.Errorf("%+v: %v", tc.limits, err)
				continue
			}
			in := map[tuples.Ref]bool{}
			members(tree, in)
			if len(in) != 5 {
				t.Errorf("%+v: %d members, want 5", tc.limits, len(in))
			}
		} else if !errors.Is(err, ErrEvaluationLimit) {
			t.Errorf("%+v: err = %v, want the evaluation limit", tc.limits, err)
		}
	}
}

func TestExpandValidates(t *testing.T) {
	g := memory.New()
	eng, err := New(func() Graph { return g.Snapshot() }, g.Intern, Config{Cache: smallCache})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if _, _, err := eng.Expand(context.Background(), "Bad-Relation", tuples.Ref{Type: "doc", ID: tuples.NewUUID()}, 0); tuples.KindOf(err) != tuples.Invalid {
		t.Errorf("bad relation: err = %v, want Invalid", err)
	}
	tree, _, err := eng.Expand(context.Background(), "viewer", tuples.Ref{Type: "doc", ID: tuples.NewUUID()}, 0)
	if err != nil || len(tree.Subjects) != 0 || len(tree.Branches) != 0 {
		t.Errorf("unknown object: tree %+v, err %v; want an empty tree", tree, err)
	}
}
