package rewrite

import (
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/flametrench/server/tuples"
)

// body reads the definition of one relation. ADR 0007 says a body is always a
// union and a bare primitive is shorthand for a one-item union; this also takes
// the spellings people actually write:
//
//	this                                  the scalar
//	{union: [items]}                      the canonical form
//	{rewrite: {union: [items]}}           the ADR's first example
//	[items]                               a bare list, as in the fixtures
//	{computed_userset: {relation: r}}     a bare primitive (any item form)
//
// allowRewrite is false inside a rewrite wrapper, so wrappers cannot nest.
func body(n *yaml.Node, path string, allowRewrite bool) (Rule, *problem) {
	switch n.Kind {
	case yaml.ScalarNode:
		if isString(n) && n.Value == "this" {
			return Rule{{Kind: This}}, nil
		}
		if isNull(n) {
			return nil, at(n, path, "missing rule body (want this, a union or a primitive)")
		}
		return nil, at(n, path, "unknown rule body %s (want this, a union or a primitive)", describe(n))
	case yaml.SequenceNode:
		return union(n, path)
	case yaml.MappingNode:
		entries, p := mapping(n, path)
		if p != nil {
			return nil, p
		}
		// Decide the form by the presence of a wrapper key anywhere in the
		// mapping, so that a stray key beside it is reported as the stray
		// one rather than as an unknown primitive.
		for _, wrapper := range []string{"union", "rewrite"} {
			i := indexOf(entries, wrapper)
			if i < 0 {
				continue
			}
			for _, e := range entries {
				if e.name != wrapper {
					return nil, at(e.key, path, "unknown key %q beside %s", e.name, wrapper)
				}
			}
			inner := joinPath(path, wrapper)
			if wrapper == "union" {
				return union(entries[i].val, inner)
			}
			if !allowRewrite {
				return nil, at(entries[i].key, path, "rewrite wrappers cannot be nested")
			}
			return body(entries[i].val, inner, false)
		}
		node, p := itemMapping(n, entries, path)
		if p != nil {
			return nil, p
		}
		return Rule{node}, nil
	}
	return nil, at(n, path, "want this, a union or a primitive, got %s", describe(n))
}

func indexOf(entries []entry, name string) int {
	for i, e := range entries {
		if e.name == name {
			return i
		}
	}
	return -1
}

// union reads a list of items. An empty union is refused: it would deny
// everything except direct tuples, which is what having no rule already means,
// so writing one is a mistake. `this` may appear once; a second copy is
// harmless to evaluation but says the author lost track of the list.
func union(n *yaml.Node, path string) (Rule, *problem) {
	if n.Kind != yaml.SequenceNode {
		return nil, at(n, path, "want a list of primitives, got %s", describe(n))
	}
	if len(n.Content) == 0 {
		return nil, at(n, path, "empty union (list at least one primitive)")
	}
	rule := make(Rule, 0, len(n.Content))
	seenThis := false
	for i, c := range n.Content {
		ipath := indexPath(path, i)
		node, p := item(c, ipath)
		if p != nil {
			return nil, p
		}
		if node.Kind == This {
			if seenThis {
				return nil, at(c, ipath, "this is listed more than once")
			}
			seenThis = true
		}
		rule = append(rule, node)
	}
	return rule, nil
}

// item reads one primitive of a union.
func item(n *yaml.Node, path string) (Node, *problem) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !isString(n) {
			return Node{}, at(n, path, "want a primitive, got %s", describe(n))
		}
		switch n.Value {
		case "this":
			return Node{Kind: This}, nil
		case "computed_userset":
			return Node{}, at(n, path, "computed_userset needs a relation: {computed_userset: {relation: NAME}}")
		case "tuple_to_userset":
			return Node{}, at(n, path, "tuple_to_userset needs a tupleset and a computed_userset")
		}
		return Node{}, at(n, path, "unknown primitive %q (%s)", n.Value, wantNames)
	case yaml.MappingNode:
		entries, p := mapping(n, path)
		if p != nil {
			return Node{}, p
		}
		return itemMapping(n, entries, path)
	}
	return Node{}, at(n, path, "want a primitive, got %s", describe(n))
}

// itemMapping reads a primitive written as a mapping: either the ADR form
// {primitive: arguments}, or the fixtures' flat form {"type": primitive, ...}.
func itemMapping(n *yaml.Node, entries []entry, path string) (Node, *problem) {
	if indexOf(entries, "type") >= 0 {
		return flatItem(n, entries, path)
	}
	if len(entries) == 0 {
		return Node{}, at(n, path, "empty primitive (%s)", wantNames)
	}
	first := entries[0]
	switch first.name {
	case "this", "computed_userset", "tuple_to_userset":
	default:
		return Node{}, at(first.key, path, "unknown primitive %q (%s)", first.name, wantNames)
	}
	// Checked before the arguments: the usual cause is an under-indented
	// argument ("relation:" level with "computed_userset:"), and saying so
	// is more useful than complaining that computed_userset is null.
	if len(entries) > 1 {
		return Node{}, at(entries[1].key, path,
			"unexpected key %q beside %s (a primitive holds one key; indent its arguments under it)",
			entries[1].name, first.name)
	}
	inner := joinPath(path, first.name)
	switch first.name {
	case "this":
		if isNull(first.val) || (first.val.Kind == yaml.MappingNode && len(first.val.Content) == 0) {
			return Node{Kind: This}, nil
		}
		return Node{}, at(first.val, inner, "this takes no arguments (write this, {this: {}} or {this: null}), got %s", describe(first.val))
	case "computed_userset":
		rel, p := relationRef(first.val, inner)
		if p != nil {
			return Node{}, p
		}
		return Node{Kind: ComputedUserset, Relation: rel}, nil
	}
	return tupleToUserset(first.val, inner)
}

// relationRef reads {relation: NAME}, the argument of computed_userset and of
// tupleset.
func relationRef(n *yaml.Node, path string) (string, *problem) {
	if n.Kind != yaml.MappingNode {
		return "", at(n, path, "want {relation: NAME}, got %s", describe(n))
	}
	entries, p := mapping(n, path)
	if p != nil {
		return "", p
	}
	var rel string
	found := false
	for _, e := range entries {
		if e.name != "relation" {
			return "", at(e.key, path, "unknown key %q (want relation)", e.name)
		}
		if rel, p = relationName(e.val, joinPath(path, "relation")); p != nil {
			return "", p
		}
		found = true
	}
	if !found {
		return "", at(n, path, `missing key "relation"`)
	}
	return rel, nil
}

func tupleToUserset(n *yaml.Node, path string) (Node, *problem) {
	if n.Kind != yaml.MappingNode {
		return Node{}, at(n, path, "want {tupleset: {relation: NAME}, computed_userset: {relation: NAME}}, got %s", describe(n))
	}
	entries, p := mapping(n, path)
	if p != nil {
		return Node{}, p
	}
	node := Node{Kind: TupleToUserset}
	for _, e := range entries {
		switch e.name {
		case "tupleset":
			node.TuplesetRelation, p = relationRef(e.val, joinPath(path, e.name))
		case "computed_userset":
			node.Relation, p = relationRef(e.val, joinPath(path, e.name))
		default:
			return Node{}, at(e.key, path, "unknown key %q (want tupleset or computed_userset)", e.name)
		}
		if p != nil {
			return Node{}, p
		}
	}
	if node.TuplesetRelation == "" {
		return Node{}, at(n, path, `missing key "tupleset"`)
	}
	if node.Relation == "" {
		return Node{}, at(n, path, `missing key "computed_userset"`)
	}
	return node, nil
}

// flatFields lists, per primitive, the keys a flat item may carry besides "type".
var flatFields = map[Kind][]string{
	This:            nil,
	ComputedUserset: {"relation"},
	TupleToUserset:  {"tupleset_relation", "computed_userset_relation"},
}

// flatItem reads the conformance fixtures' item form:
//
//	{"type": "this"}
//	{"type": "computed_userset", "relation": R}
//	{"type": "tuple_to_userset", "tupleset_relation": A, "computed_userset_relation": B}
func flatItem(n *yaml.Node, entries []entry, path string) (Node, *problem) {
	tv := entries[indexOf(entries, "type")].val
	tpath := joinPath(path, "type")
	if !isString(tv) {
		return Node{}, at(tv, tpath, "want a primitive name, got %s", describe(tv))
	}
	var node Node
	switch tv.Value {
	case "this":
		node.Kind = This
	case "computed_userset":
		node.Kind = ComputedUserset
	case "tuple_to_userset":
		node.Kind = TupleToUserset
	default:
		return Node{}, at(tv, tpath, "unknown primitive %q (%s)", tv.Value, wantNames)
	}
	allowed := flatFields[node.Kind]
	for _, e := range entries {
		if e.name == "type" {
			continue
		}
		var dst *string
		switch {
		case !slices.Contains(allowed, e.name):
			return Node{}, at(e.key, path, "unknown key %q for type %s", e.name, node.Kind)
		case e.name == "tupleset_relation":
			dst = &node.TuplesetRelation
		default: // relation, computed_userset_relation
			dst = &node.Relation
		}
		rel, p := relationName(e.val, joinPath(path, e.name))
		if p != nil {
			return Node{}, p
		}
		*dst = rel
	}
	for _, f := range allowed {
		if indexOf(entries, f) < 0 {
			return Node{}, at(n, path, "missing key %q for type %s", f, node.Kind)
		}
	}
	return node, nil
}

// relationName reads a relation name used as a value.
func relationName(n *yaml.Node, path string) (string, *problem) {
	if !isString(n) {
		return "", at(n, path, "want a relation name, got %s", describe(n))
	}
	if !tuples.ValidRelation(n.Value) {
		return "", at(n, path, "invalid relation %q (want %s)", n.Value, relationSyntax)
	}
	return n.Value, nil
}
