package rewrite

import (
	"strconv"

	"github.com/flametrench/server/tuples"
)

// Validate checks a rule set built in code (tests, benchmarks, generators)
// against the rules Parse enforces, so that such a value behaves like a parsed
// one and MarshalJSON can always write it. A nil r is valid: it is the empty
// rule set. Errors match ErrInvalidRules, with "PATH: problem" messages.
func (r *Rules) Validate() error {
	if p := r.validate(); p != nil {
		return p.err("")
	}
	return nil
}

func (r *Rules) validate() *problem {
	if r == nil {
		return nil
	}
	if r.SpecVersion != "" && !validSpecVersion(r.SpecVersion) {
		return &problem{path: "spec_version", text: "invalid version " + strconv.Quote(r.SpecVersion)}
	}
	if n := r.count(); n > MaxRules {
		return &problem{path: "rules", text: "too many rules: " + strconv.Itoa(n) + " (limit " + strconv.Itoa(MaxRules) + ")"}
	}
	// Sorted iteration keeps the reported problem the same from run to run.
	for _, typ := range r.ObjectTypes() {
		path := joinPath("rules", typ)
		if !tuples.ValidType(typ) {
			return &problem{path: "rules", text: "invalid object type " + strconv.Quote(typ) + " (want " + typeSyntax + ")"}
		}
		rels := r.Types[typ]
		for _, rel := range sortedKeys(rels) {
			if !tuples.ValidRelation(rel) {
				return &problem{path: path, text: "invalid relation " + strconv.Quote(rel) + " (want " + relationSyntax + ")"}
			}
			if p := validateRule(rels[rel], joinPath(joinPath(path, rel), "union")); p != nil {
				return p
			}
		}
	}
	return nil
}

func validateRule(rule Rule, path string) *problem {
	if len(rule) == 0 {
		return &problem{path: path, text: "empty union (list at least one primitive)"}
	}
	seenThis := false
	for i, n := range rule {
		ipath := indexPath(path, i)
		bad := func(field, value string) *problem {
			return &problem{path: ipath, text: "invalid " + field + " " + strconv.Quote(value) + " for " + n.Kind.String()}
		}
		switch n.Kind {
		case This:
			if seenThis {
				return &problem{path: ipath, text: "this is listed more than once"}
			}
			seenThis = true
			if n.Relation != "" {
				return bad("Relation", n.Relation)
			}
			if n.TuplesetRelation != "" {
				return bad("TuplesetRelation", n.TuplesetRelation)
			}
		case ComputedUserset:
			if !tuples.ValidRelation(n.Relation) {
				return bad("Relation", n.Relation)
			}
			if n.TuplesetRelation != "" {
				return bad("TuplesetRelation", n.TuplesetRelation)
			}
		case TupleToUserset:
			if !tuples.ValidRelation(n.Relation) {
				return bad("Relation", n.Relation)
			}
			if !tuples.ValidRelation(n.TuplesetRelation) {
				return bad("TuplesetRelation", n.TuplesetRelation)
			}
		default:
			return &problem{path: ipath, text: "unknown primitive " + n.Kind.String() + " (" + wantNames + ")"}
		}
	}
	return nil
}
