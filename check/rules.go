package check

import (
	"sync"

	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
)

// program is a rule set compiled against a graph's symbols: rule lookup is two
// slice indexings instead of two string-keyed map probes.
type program struct {
	rules *rewrite.Rules
	table [][]*compiledRule // [type sym][relation sym]
	// The rules read backwards, for LookupResources's upward walk: which
	// rules a held (relation, object) can make hold.
	cuUp  map[typeRel][]tuples.Sym   // (type, rel) → relations of type whose rule has computed_userset rel
	ttuUp map[tuples.Sym][]ttuParent // rel → the rules with a tuple_to_userset whose computed relation is rel
	reach sync.Map                   // typeRel → *relevance, built on first use (lookup.go)
}

type typeRel struct{ typ, rel tuples.Sym }

// ttuParent is a rule (typ, rel) with a tuple_to_userset through tupleset.
type ttuParent struct{ typ, rel, tupleset tuples.Sym }

type compiledRule struct {
	typ, rel tuples.Sym
	nodes    []compiledNode
}

type compiledNode struct {
	kind     rewrite.Kind
	rel      tuples.Sym // computed_userset relation
	tupleset tuples.Sym // tuple_to_userset tupleset relation
}

// compile interns every name the rules mention, so that lookups can use symbols.
func compile(r *rewrite.Rules, intern func(string) (tuples.Sym, error)) (*program, error) {
	p := &program{rules: r, cuUp: map[typeRel][]tuples.Sym{}, ttuUp: map[tuples.Sym][]ttuParent{}}
	if r == nil {
		return p, nil
	}
	for typ, rels := range r.Types {
		t, err := intern(typ)
		if err != nil {
			return nil, err
		}
		for rel, rule := range rels {
			rs, err := intern(rel)
			if err != nil {
				return nil, err
			}
			cr := &compiledRule{typ: t, rel: rs}
			for _, n := range rule {
				cn := compiledNode{kind: n.Kind}
				switch n.Kind {
				case rewrite.ComputedUserset:
					if cn.rel, err = intern(n.Relation); err != nil {
						return nil, err
					}
				case rewrite.TupleToUserset:
					if cn.rel, err = intern(n.Relation); err != nil {
						return nil, err
					}
					if cn.tupleset, err = intern(n.TuplesetRelation); err != nil {
						return nil, err
					}
				}
				cr.nodes = append(cr.nodes, cn)
			}
			for int(t) >= len(p.table) {
				p.table = append(p.table, nil)
			}
			for int(rs) >= len(p.table[t]) {
				p.table[t] = append(p.table[t], nil)
			}
			p.table[t][rs] = cr
			for _, n := range cr.nodes {
				switch n.kind {
				case rewrite.ComputedUserset:
					k := typeRel{t, n.rel}
					p.cuUp[k] = append(p.cuUp[k], rs)
				case rewrite.TupleToUserset:
					p.ttuUp[n.rel] = append(p.ttuUp[n.rel], ttuParent{t, rs, n.tupleset})
				}
			}
		}
	}
	return p, nil
}

func (p *program) rule(typ, rel tuples.Sym) *compiledRule {
	if int(typ) < len(p.table) {
		if row := p.table[typ]; int(rel) < len(row) {
			return row[rel]
		}
	}
	return nil
}
