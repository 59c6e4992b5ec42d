package rewrite

import (
	"slices"
	"strconv"
	"strings"

	"github.com/flametrench/server/tuples"
)

// Bounds on a rule document. Rules are loaded once at start-up, but the file may
// come from an operator's config repository, so parsing must stay cheap even on
// hostile input: the byte cap bounds the YAML parser's work and the rule cap
// bounds what the engine and the interner are asked to hold.
const (
	MaxBytes = 1 << 20 // largest accepted document, in bytes
	MaxRules = 10_000  // most (object_type, relation) rules in one document
)

// ErrInvalidRules is the sentinel every parse and validation error matches under
// errors.Is. Its Msg is replaced by "LINE:COL: PATH: problem".
var ErrInvalidRules = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.rules", Msg: "invalid rewrite rules"}

// Kind is the primitive a Node stands for (ADR 0007 "The rule shape").
type Kind uint8

const (
	This            Kind = iota + 1 // the explicit tuples of (object, relation)
	ComputedUserset                 // the same object under another relation
	TupleToUserset                  // objects reached through a tupleset relation
)

// String returns the spec's spelling of k, the one used in rule documents.
func (k Kind) String() string {
	switch k {
	case This:
		return "this"
	case ComputedUserset:
		return "computed_userset"
	case TupleToUserset:
		return "tuple_to_userset"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Node is one primitive of a union.
type Node struct {
	Kind Kind
	// Relation is, for ComputedUserset, the relation checked on the same object;
	// for TupleToUserset, the computed_userset relation checked on each subject
	// of the tupleset. It is empty for This.
	Relation string
	// TuplesetRelation is the relation followed from the object (TupleToUserset only).
	TuplesetRelation string
}

// String renders n compactly for logs and limit errors:
// "this", "computed_userset:editor", "tuple_to_userset:parent_org->viewer".
func (n Node) String() string {
	switch n.Kind {
	case ComputedUserset:
		return "computed_userset:" + n.Relation
	case TupleToUserset:
		return "tuple_to_userset:" + n.TuplesetRelation + "->" + n.Relation
	}
	return n.Kind.String()
}

// Rule is the union that defines one (object_type, relation), in document order.
// The engine tries the nodes in this order, so the order is part of the rule:
// it decides which branch allows first (docs/authorization.md "Evaluation order").
type Rule []Node

// String renders the union as "a | b | c".
func (r Rule) String() string {
	parts := make([]string, len(r))
	for i, n := range r {
		parts[i] = n.String()
	}
	return strings.Join(parts, " | ")
}

// Rules is a parsed rule set. It is immutable after Parse, so one value can be
// shared by every goroutine of the engine without locking. A nil *Rules is the
// empty rule set, which ADR 0007 requires to behave exactly like v0.1.
type Rules struct {
	SpecVersion string                     // "" when the document had none
	Types       map[string]map[string]Rule // object_type -> relation -> rule
}

// Rule returns the rule registered for (objectType, relation). ok is false when
// there is none, in which case ADR 0007 says the relation is plain `this`.
// The returned slice is shared; callers must not modify it.
func (r *Rules) Rule(objectType, relation string) (rule Rule, ok bool) {
	if r == nil {
		return nil, false
	}
	rule, ok = r.Types[objectType][relation]
	return rule, ok
}

// Empty reports whether r holds no rule at all, so that callers can keep the
// v0.1 fast path (direct lookup only) without consulting r on every check.
func (r *Rules) Empty() bool { return r.count() == 0 }

func (r *Rules) count() int {
	if r == nil {
		return 0
	}
	n := 0
	for _, rels := range r.Types {
		n += len(rels)
	}
	return n
}

// ObjectTypes returns the object types that have a rules entry, sorted. (It
// cannot be called Types: a method may not share its name with the field.)
func (r *Rules) ObjectTypes() []string {
	if r == nil {
		return nil
	}
	out := make([]string, 0, len(r.Types))
	for t := range r.Types {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Relations returns every relation name the rules mention, sorted and without
// duplicates: rule keys, computed_userset relations and tupleset relations. An
// interner can seed itself from this list so that evaluation never meets a
// relation name it has not seen.
func (r *Rules) Relations() []string {
	if r == nil {
		return nil
	}
	seen := make(map[string]struct{})
	for _, rels := range r.Types {
		for rel, rule := range rels {
			seen[rel] = struct{}{}
			for _, n := range rule {
				if n.Relation != "" {
					seen[n.Relation] = struct{}{}
				}
				if n.TuplesetRelation != "" {
					seen[n.TuplesetRelation] = struct{}{}
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
