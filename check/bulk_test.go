package check

import (
	"context"
	"errors"
	"testing"

	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
)

// CheckBulk answers each item as Check would, in order, each with its own
// error, all at one revision; more than MaxBulk items is refused whole.
func TestCheckBulk(t *testing.T) {
	ctx := context.Background()
	g := memory.New()
	rules := &rewrite.Rules{Types: map[string]map[string]rewrite.Rule{
		"doc": {"viewer": {{Kind: rewrite.This}, {Kind: rewrite.ComputedUserset, Relation: "editor"}}},
	}}
	alice, bob := tuples.Ref{Type: "usr", ID: tuples.NewUUID()}, tuples.Ref{Type: "usr", ID: tuples.NewUUID()}
	d := tuples.Ref{Type: "doc", ID: tuples.NewUUID()}
	res, err := g.Write(ctx, []tuples.Change{{Op: tuples.OpCreate, Key: tuples.Key{Subject: alice, Relation: "editor", Object: d}}})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := New(func() Graph { return g.Snapshot() }, g.Intern, Config{Rules: rules, Cache: smallCache})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	reqs := []Request{
		{Subject: alice, Relation: "viewer", Object: d},
		{Subject: bob, Relation: "viewer", Object: d},
		{Subject: alice, Relation: "Not A Relation", Object: d},
		{Subject: bob, Relations: []string{"editor", "viewer"}, Object: d},
		{Subject: alice, Relations: []string{"owner", "editor"}, Object: d},
	}
	results, errs, rev, err := eng.CheckBulk(ctx, reqs, res.Revision)
	if err != nil {
		t.Fatal(err)
	}
	if rev != res.Revision {
		t.Errorf("revision %d, want %d", rev, res.Revision)
	}
	for i, req := range reqs {
		want, werr := eng.Check(ctx, req)
		if !errors.Is(errs[i], werr) && tuples.CodeOf(errs[i]) != tuples.CodeOf(werr) {
			t.Errorf("item %d: error %v, Check says %v", i, errs[i], werr)
		}
		if results[i].Allowed != want.Allowed || results[i].Revision != rev {
			t.Errorf("item %d: %+v, Check says %+v", i, results[i], want)
		}
	}
	if errs[2] == nil || !results[0].Allowed || results[1].Allowed || errs[3] != nil || !results[4].Allowed {
		t.Errorf("results %+v, errors %v", results, errs)
	}

	if _, _, _, err := eng.CheckBulk(ctx, make([]Request, MaxBulk+1), 0); !errors.Is(err, ErrTooManyChecks) {
		t.Errorf("%d items: %v, want ErrTooManyChecks", MaxBulk+1, err)
	}
	if _, _, _, err := eng.CheckBulk(ctx, reqs, res.Revision+5); !errors.Is(err, tuples.ErrStale) {
		t.Errorf("a revision the graph never reaches: %v, want ErrStale", err)
	}
}

// A check's set form names at most MaxRelations relations: one request
// cannot ask for unbounded rule evaluations.
func TestMaxRelations(t *testing.T) {
	g := memory.New()
	eng, err := New(func() Graph { return g.Snapshot() }, g.Intern, Config{Cache: smallCache})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	u, d := tuples.Ref{Type: "usr", ID: tuples.NewUUID()}, tuples.Ref{Type: "doc", ID: tuples.NewUUID()}
	rels := make([]string, MaxRelations+1)
	for i := range rels {
		rels[i] = "viewer"
	}
	if _, err := eng.Check(context.Background(), Request{Subject: u, Relations: rels[:MaxRelations], Object: d}); err != nil {
		t.Errorf("%d relations: %v", MaxRelations, err)
	}
	if _, err := eng.Check(context.Background(), Request{Subject: u, Relations: rels, Object: d}); !errors.Is(err, ErrTooManyRelations) {
		t.Errorf("%d relations: %v, want ErrTooManyRelations", len(rels), err)
	}
}
