package bench

import (
	"context"
	"encoding/binary"
	"iter"
	"math/rand/v2"

	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
)

// Rules is the SaaS rule set, in the ADR 0007 document form.
const Rules = `spec_version: "0.2"
rules:
  org:
    admin:
      union: [this, { computed_userset: { relation: owner } }]
    member:
      union: [this, { computed_userset: { relation: admin } }]
  proj:
    admin:
      union:
        - this
        - tuple_to_userset: { tupleset: { relation: parent }, computed_userset: { relation: admin } }
    editor:
      union: [this, { computed_userset: { relation: admin } }]
    viewer:
      union:
        - this
        - computed_userset: { relation: editor }
        - tuple_to_userset: { tupleset: { relation: parent }, computed_userset: { relation: member } }
  fld:
    editor:
      union:
        - this
        - tuple_to_userset: { tupleset: { relation: parent }, computed_userset: { relation: editor } }
    viewer:
      union:
        - this
        - computed_userset: { relation: editor }
        - tuple_to_userset: { tupleset: { relation: parent }, computed_userset: { relation: viewer } }
  doc:
    editor:
      union:
        - this
        - computed_userset: { relation: owner }
        - tuple_to_userset: { tupleset: { relation: parent }, computed_userset: { relation: editor } }
    viewer:
      union:
        - this
        - computed_userset: { relation: editor }
        - tuple_to_userset: { tupleset: { relation: parent }, computed_userset: { relation: viewer } }
`

// ParseRules returns Rules parsed.
func ParseRules() *rewrite.Rules {
	r, err := rewrite.Parse([]byte(Rules))
	if err != nil {
		panic("bench: the SaaS rules do not parse: " + err.Error())
	}
	return r
}

// Shape of one organisation. With these numbers an organisation contributes
// about 440 tuples.
const (
	membersPerOrg  = 40 // one owner, three admins, the rest members
	adminsPerOrg   = 3
	projectsPerOrg = 4
	foldersPerProj = 5
	docsPerFolder  = 8
	grantsPerDoc   = 1 // direct viewer or editor grants, on average
	usersPerOrg    = 30
	tuplesPerOrg   = membersPerOrg + projectsPerOrg*(1+foldersPerProj*(1+docsPerFolder*(2+grantsPerDoc)))
)

// Org is one generated organisation, with handles for benchmarks to aim at.
type Org struct {
	Ref      tuples.Ref
	Owner    tuples.Ref
	Admins   []tuples.Ref
	Members  []tuples.Ref // plain members (not admins or the owner)
	Projects []tuples.Ref
	Folders  []tuples.Ref // folders of every project, project by project
	Docs     []tuples.Ref // documents of every folder, folder by folder
	DocOwner []tuples.Ref // DocOwner[i] owns Docs[i]
}

// Graph is a generated SaaS graph: the tuples in generation order (with
// ascending UUIDv7 ids, as a store streams them) and the organisations they
// describe.
type Graph struct {
	Tuples []tuples.Tuple
	Orgs   []Org
	Users  []tuples.Ref
	// Outsider belongs to no organisation and holds no grant.
	Outsider tuples.Ref
}

// Generate builds a graph of about n tuples (at least one organisation's worth)
// from seed.
func Generate(seed uint64, n int) *Graph {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ids := idSource{rng: rng}
	orgs := max(1, n/tuplesPerOrg)
	g := &Graph{Tuples: make([]tuples.Tuple, 0, orgs*tuplesPerOrg+orgs)}
	g.Users = make([]tuples.Ref, orgs*usersPerOrg)
	for i := range g.Users {
		g.Users[i] = ids.ref("usr")
	}
	g.Outsider = ids.ref("usr")
	add := func(s tuples.Ref, rel string, o tuples.Ref) {
		g.Tuples = append(g.Tuples, tuples.Tuple{ID: ids.ref("tup").ID, Key: tuples.Key{Subject: s, Relation: rel, Object: o}})
	}
	for oi := 0; oi < orgs; oi++ {
		o := Org{Ref: ids.ref("org")}
		// Members: mostly users of this organisation's own slice of users, some
		// from anywhere (people belong to several organisations).
		picked := map[tuples.Ref]bool{}
		for len(picked) < membersPerOrg {
			var u tuples.Ref
			if rng.IntN(4) == 0 {
				u = g.Users[rng.IntN(len(g.Users))]
			} else {
				u = g.Users[oi*usersPerOrg+rng.IntN(usersPerOrg)]
				if len(picked) >= usersPerOrg {
					u = g.Users[rng.IntN(len(g.Users))]
				}
			}
			if picked[u] {
				continue
			}
			picked[u] = true
			switch {
			case o.Owner == tuples.Ref{}:
				o.Owner = u
				add(u, "owner", o.Ref)
			case len(o.Admins) < adminsPerOrg:
				o.Admins = append(o.Admins, u)
				add(u, "admin", o.Ref)
			default:
				o.Members = append(o.Members, u)
				add(u, "member", o.Ref)
			}
		}
		everyone := append(append([]tuples.Ref{o.Owner}, o.Admins...), o.Members...)
		for pi := 0; pi < projectsPerOrg; pi++ {
			p := ids.ref("proj")
			o.Projects = append(o.Projects, p)
			add(o.Ref, "parent", p)
			for fi := 0; fi < foldersPerProj; fi++ {
				f := ids.ref("fld")
				o.Folders = append(o.Folders, f)
				add(p, "parent", f)
				for di := 0; di < docsPerFolder; di++ {
					d := ids.ref("doc")
					owner := everyone[rng.IntN(len(everyone))]
					o.Docs = append(o.Docs, d)
					o.DocOwner = append(o.DocOwner, owner)
					add(f, "parent", d)
					add(owner, "owner", d)
					for gi := 0; gi < grantsPerDoc; gi++ {
						u := g.Users[rng.IntN(len(g.Users))] // often outside the organisation
						if u == owner {
							continue
						}
						rel := "viewer"
						if rng.IntN(4) == 0 {
							rel = "editor"
						}
						add(u, rel, d)
					}
				}
			}
		}
		g.Orgs = append(g.Orgs, o)
	}
	return g
}

// idSource mints UUIDv7-shaped ids from the generator's random stream, so a
// seed fixes the ids as well as the shape.
type idSource struct {
	rng *rand.Rand
	ms  uint64
}

func (s *idSource) ref(typ string) tuples.Ref {
	s.ms++
	var u tuples.UUID
	binary.BigEndian.PutUint64(u[0:8], (1_700_000_000_000+s.ms)<<16|s.rng.Uint64()&0x0fff|0x7000)
	binary.BigEndian.PutUint64(u[8:16], s.rng.Uint64()&^(3<<62)|2<<62)
	return tuples.Ref{Type: typ, ID: u}
}

// All yields the graph's tuples, for memory.Graph.Load.
func (g *Graph) All() iter.Seq2[tuples.Tuple, error] {
	return func(yield func(tuples.Tuple, error) bool) {
		for _, t := range g.Tuples {
			if !yield(t, nil) {
				return
			}
		}
	}
}

// Writer is what WriteBatches needs: an atomic batch write.
type Writer interface {
	Write(ctx context.Context, changes []tuples.Change) (tuples.WriteResult, error)
}

// WriteBatches writes the graph's tuples through w in batches of size, the way
// an application's writes arrive.
func (g *Graph) WriteBatches(ctx context.Context, w Writer, size int) error {
	batch := make([]tuples.Change, 0, size)
	for i, t := range g.Tuples {
		batch = append(batch, tuples.Change{Op: tuples.OpCreate, Key: t.Key, ID: t.ID})
		if len(batch) == size || i == len(g.Tuples)-1 {
			if _, err := w.Write(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}
