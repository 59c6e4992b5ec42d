package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/tuples"
)

// lookupQueries are the lookup shapes measured, 64 of each spread over the
// organisations. Lookups read no cache, so one engine serves.
type lookupQueries struct {
	name      string
	resources []check.ResourcesQuery
	subjects  []check.SubjectsQuery
}

func lookupScenarios(w *world) []lookupQueries {
	each := func(fn func(o *Org, i int) (check.ResourcesQuery, check.SubjectsQuery)) ([]check.ResourcesQuery, []check.SubjectsQuery) {
		var rq []check.ResourcesQuery
		var sq []check.SubjectsQuery
		for i := 0; i < 64; i++ {
			r, s := fn(&w.gen.Orgs[i%len(w.gen.Orgs)], i/len(w.gen.Orgs))
			if r.Subject != (tuples.Ref{}) {
				rq = append(rq, r)
			}
			if s.Object != (tuples.Ref{}) {
				sq = append(sq, s)
			}
		}
		return rq, sq
	}
	var out []lookupQueries
	add := func(name string, fn func(o *Org, i int) (check.ResourcesQuery, check.SubjectsQuery)) {
		r, s := each(fn)
		out = append(out, lookupQueries{name, r, s})
	}
	none := check.SubjectsQuery{}
	add("member-docs", func(o *Org, i int) (check.ResourcesQuery, check.SubjectsQuery) {
		// Every document of the member's organisations (160 each), and its grants.
		return check.ResourcesQuery{Subject: o.Members[i%len(o.Members)], Relation: "viewer", ObjectType: "doc"}, none
	})
	add("member-docs-first-100", func(o *Org, i int) (check.ResourcesQuery, check.SubjectsQuery) {
		return check.ResourcesQuery{Subject: o.Members[i%len(o.Members)], Relation: "viewer", ObjectType: "doc", Limit: 100}, none
	})
	add("owner-admin-projects", func(o *Org, i int) (check.ResourcesQuery, check.SubjectsQuery) {
		return check.ResourcesQuery{Subject: o.Owner, Relation: "admin", ObjectType: "proj"}, none
	})
	add("outsider-docs", func(o *Org, i int) (check.ResourcesQuery, check.SubjectsQuery) {
		return check.ResourcesQuery{Subject: w.gen.Outsider, Relation: "viewer", ObjectType: "doc"}, none
	})
	add("doc-viewers", func(o *Org, i int) (check.ResourcesQuery, check.SubjectsQuery) {
		// The organisation's 40 members through three parents, the owner, a grant.
		return check.ResourcesQuery{}, check.SubjectsQuery{Object: o.Docs[i%len(o.Docs)], Relation: "viewer", SubjectType: "usr"}
	})
	add("doc-editors", func(o *Org, i int) (check.ResourcesQuery, check.SubjectsQuery) {
		return check.ResourcesQuery{}, check.SubjectsQuery{Object: o.Docs[i%len(o.Docs)], Relation: "editor", SubjectType: "usr"}
	})
	add("org-members", func(o *Org, i int) (check.ResourcesQuery, check.SubjectsQuery) {
		return check.ResourcesQuery{}, check.SubjectsQuery{Object: o.Ref, Relation: "member", SubjectType: "usr"}
	})
	add("wide-doc-viewers", func(o *Org, i int) (check.ResourcesQuery, check.SubjectsQuery) {
		// The document under up to 1000 folders: the members of every
		// organisation those folders belong to.
		return check.ResourcesQuery{}, check.SubjectsQuery{Object: w.wide, Relation: "viewer", SubjectType: "usr"}
	})
	return out
}

// BenchmarkLookup measures LookupResources and LookupSubjects, each call one
// whole page (the default limit of 1000 unless the scenario says otherwise),
// and reports the ids a call returns and the process's CPU time per call
// (cpu-ns/op, which a busy machine distorts less than ns/op).
func BenchmarkLookup(b *testing.B) {
	ctx := context.Background()
	for _, n := range sizes() {
		w := getWorld(b, n)
		eng := w.nocache
		for _, sc := range lookupScenarios(w) {
			name := fmt.Sprintf("size=%s/LookupResources/%s", sizeName(n), sc.name)
			call := func(i int) (check.Page, error) { return eng.LookupResources(ctx, sc.resources[i%len(sc.resources)]) }
			total := len(sc.resources)
			if sc.subjects != nil {
				name = fmt.Sprintf("size=%s/LookupSubjects/%s", sizeName(n), sc.name)
				call = func(i int) (check.Page, error) { return eng.LookupSubjects(ctx, sc.subjects[i%len(sc.subjects)]) }
				total = len(sc.subjects)
			}
			b.Run(name, func(b *testing.B) {
				ids := 0
				for i := 0; i < total; i++ {
					p, err := call(i)
					if err != nil {
						b.Fatal(err)
					}
					ids += len(p.IDs)
				}
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cpuTime()
				for i := 0; b.Loop(); i++ {
					call(i)
				}
				b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(ids)/float64(total), "ids/op")
			})
		}
	}
}

// TestLookupsOnSaaS holds the lookups to Check on the 10k SaaS graph: for a
// sample of users, every document is checked against LookupResources; for a
// sample of documents, every user against LookupSubjects; and every scenario
// of the benchmark answers.
func TestLookupsOnSaaS(t *testing.T) {
	w := getWorld(t, 10_000)
	ctx := context.Background()
	eng := w.nocache
	var docs []tuples.Ref
	for _, o := range w.gen.Orgs {
		docs = append(docs, o.Docs...)
	}
	docs = append(docs, w.wide)
	users := append(slices.Clone(w.gen.Users), w.gen.Outsider)
	listed := func(ids []tuples.UUID, r tuples.Ref) bool {
		_, ok := slices.BinarySearchFunc(ids, r.ID, tuples.UUID.Compare)
		return ok
	}
	for i := 0; i < 6; i++ {
		o := &w.gen.Orgs[i*5%len(w.gen.Orgs)]
		for _, u := range []tuples.Ref{o.Members[i], o.Owner, users[i*97%len(users)]} {
			p, err := eng.LookupResources(ctx, check.ResourcesQuery{Subject: u, Relation: "viewer", ObjectType: "doc", Limit: check.MaxLookupLimit})
			if err != nil || p.More {
				t.Fatalf("LookupResources(%s) = %d ids, more %v, %v", u, len(p.IDs), p.More, err)
			}
			for _, d := range docs {
				res, err := eng.Check(ctx, check.Request{Subject: u, Relation: "viewer", Object: d})
				if err != nil || res.Allowed != listed(p.IDs, d) {
					t.Fatalf("Check(%s viewer %s) = %v, %v; LookupResources lists it: %v", u, d, res.Allowed, err, listed(p.IDs, d))
				}
			}
			if len(p.IDs) == 0 {
				t.Errorf("LookupResources(%s) is empty", u)
			}
		}
		d := o.Docs[i*13%len(o.Docs)]
		p, err := eng.LookupSubjects(ctx, check.SubjectsQuery{Object: d, Relation: "viewer", SubjectType: "usr", Limit: check.MaxLookupLimit})
		if err != nil || p.More || len(p.IDs) < 40 {
			t.Fatalf("LookupSubjects(%s) = %d ids, more %v, %v", d, len(p.IDs), p.More, err)
		}
		for _, u := range users {
			res, err := eng.Check(ctx, check.Request{Subject: u, Relation: "viewer", Object: d})
			if err != nil || res.Allowed != listed(p.IDs, u) {
				t.Fatalf("Check(%s viewer %s) = %v, %v; LookupSubjects lists it: %v", u, d, res.Allowed, err, listed(p.IDs, u))
			}
		}
	}
	for _, sc := range lookupScenarios(w) {
		for _, q := range sc.resources {
			if _, err := eng.LookupResources(ctx, q); err != nil {
				t.Errorf("%s: %v", sc.name, err)
			}
		}
		for _, q := range sc.subjects {
			if _, err := eng.LookupSubjects(ctx, q); err != nil {
				t.Errorf("%s: %v", sc.name, err)
			}
		}
	}
}
