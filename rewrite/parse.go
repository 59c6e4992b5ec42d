package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/flametrench/server/tuples"
)

// Parse reads a rule document, YAML or JSON (JSON is parsed as YAML, so both
// give the same positions and the same errors). It accepts the ADR 0007
// document form, {spec_version, rules: {type: {relation: body}}}, and the flat
// form the conformance fixtures use, {type: {relation: [{"type": ...}]}}. A
// top-level "rules" key selects the document form (so a flat document cannot
// name an object type "rules"). Bodies and items may use any accepted spelling
// in either form, and all spellings of a rule give the same Rule.
//
// An empty document, a null one, or "rules: {}" gives an empty rule set. Every
// error is an *tuples.Error matching ErrInvalidRules, with the message
// "LINE:COL: PATH: problem".
func Parse(data []byte) (*Rules, error) {
	r, p := parse(data)
	if p != nil {
		return nil, p.err("")
	}
	return r, nil
}

// ParseFile reads and parses the rule document at path. Parse errors are the
// same as Parse's with the path in front ("rules.yaml:12:5: ..."). An error
// reading the file is returned wrapped, so errors.Is(err, fs.ErrNotExist) works.
func ParseFile(path string) (*Rules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rewrite: %w", err)
	}
	defer f.Close()
	// Read one byte past the cap so that an oversized file is reported as such
	// without reading all of it.
	data, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("rewrite: %w", err)
	}
	r, p := parse(data)
	if p != nil {
		return nil, p.err(path)
	}
	return r, nil
}

func newRules() *Rules {
	return &Rules{Types: make(map[string]map[string]Rule)}
}

func parse(data []byte) (*Rules, *problem) {
	if len(data) > MaxBytes {
		return nil, &problem{text: fmt.Sprintf("too large (limit %d bytes)", MaxBytes)}
	}
	root, p := decode(data)
	if p != nil {
		return nil, p
	}
	if root == nil {
		return newRules(), nil
	}
	if p := checkPlain(root); p != nil {
		return nil, p
	}
	if isNull(root) {
		return newRules(), nil // "null" or "~": the JSON spelling of no rules
	}
	if root.Kind != yaml.MappingNode {
		return nil, at(root, "", "want a mapping of rules, got %s", describe(root))
	}
	entries, p := mapping(root, "")
	if p != nil {
		return nil, p
	}
	ps := &parser{rules: newRules()}
	if indexOf(entries, "rules") < 0 {
		// The flat fixture form has no envelope. A spec_version on its own almost
		// certainly means a document whose "rules" key is missing or misspelt,
		// and reading it as a flat document would only produce a confusing error.
		if i := indexOf(entries, "spec_version"); i >= 0 {
			return nil, at(entries[i].key, "", `spec_version without "rules"; a rule document needs a "rules" mapping`)
		}
		if p := ps.types(root, ""); p != nil {
			return nil, p
		}
		return ps.rules, nil
	}
	for _, e := range entries {
		switch e.name {
		case "rules":
			if p := ps.types(e.val, "rules"); p != nil {
				return nil, p
			}
		case "spec_version":
			v, p := specVersion(e.val)
			if p != nil {
				return nil, p
			}
			ps.rules.SpecVersion = v
		default:
			return nil, at(e.key, "", "unknown key %q (want rules or spec_version)", e.name)
		}
	}
	return ps.rules, nil
}

// decode parses data into its one YAML document, returning nil for an empty
// stream. A second document is an error rather than silently ignored: a rule
// set split by a stray "---" would otherwise lose its second half.
func decode(data []byte) (root *yaml.Node, p *problem) {
	// yaml.v3 converts its own failures into errors, but a parser bug on hostile
	// input must not take the server down at start-up; report it as a syntax error.
	defer func() {
		if v := recover(); v != nil {
			root, p = nil, &problem{text: fmt.Sprintf("syntax error: %v", v)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxProblem(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, syntaxProblem(err)
		}
		n := &extra
		if len(extra.Content) > 0 {
			n = extra.Content[0]
		}
		return nil, at(n, "", "more than one YAML document; a rule set is a single document")
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// checkPlain rejects anchors, aliases and explicit tags anywhere in the tree.
// yaml.Node never expands aliases itself, but a consumer that re-decodes the
// tree would, and "billion laughs" documents are a few hundred bytes. Rule
// documents have no use for any of the three, so refusing them costs nothing.
// The walk uses an explicit stack: nesting depth is the attacker's to choose.
func checkPlain(root *yaml.Node) *problem {
	type frame struct {
		n    *yaml.Node
		path string
	}
	stack := []frame{{root, ""}}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := f.n
		switch {
		case n.Kind == yaml.AliasNode:
			return at(n, f.path, "alias *%s: YAML aliases are not allowed in rule documents", n.Value)
		case n.Anchor != "":
			return at(n, f.path, "anchor &%s: YAML anchors are not allowed in rule documents", n.Anchor)
		case n.Style&yaml.TaggedStyle != 0 && !plainTag(n):
			return at(n, f.path, "tag %s: YAML tags are not allowed in rule documents", n.Tag)
		}
		// Push in reverse so the first offending node in document order is
		// reported. Paths follow the conventions of the structural pass: a
		// key is reported at its mapping's path, a value at the key's.
		for i := len(n.Content) - 1; i >= 0; i-- {
			c, path := n.Content[i], f.path
			switch n.Kind {
			case yaml.SequenceNode:
				path = indexPath(f.path, i)
			case yaml.MappingNode:
				if k := n.Content[i&^1]; i%2 == 1 && k.Kind == yaml.ScalarNode {
					path = joinPath(f.path, k.Value)
				}
			}
			stack = append(stack, frame{c, path})
		}
	}
	return nil
}

// plainTag reports whether an explicit tag only restates what n already is
// ("!!str 12" is how YAML quotes a number-looking name), and so changes nothing.
func plainTag(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Tag == "!!str"
	case yaml.MappingNode:
		return n.Tag == "!!map"
	case yaml.SequenceNode:
		return n.Tag == "!!seq"
	}
	return false
}

// entry is one key/value pair of a mapping whose keys have been checked.
type entry struct {
	key  *yaml.Node
	name string
	val  *yaml.Node
}

// mapping returns n's pairs in document order. Keys must be strings and unique:
// yaml.v3 checks duplicates only when decoding into Go maps and structs, not
// into yaml.Node, and a silently shadowed rule is exactly the kind of mistake
// a rule file must not hide.
func mapping(n *yaml.Node, path string) ([]entry, *problem) {
	out := make([]entry, 0, len(n.Content)/2)
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !isString(k) {
			return nil, at(k, path, "mapping key must be a string, got %s", describe(k))
		}
		if first, dup := seen[k.Value]; dup {
			return nil, at(k, path, "duplicate key %q (first at %d:%d)", k.Value, first.Line, first.Column)
		}
		seen[k.Value] = k
		out = append(out, entry{key: k, name: k.Value, val: v})
	}
	return out, nil
}

func isString(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!str" }
func isNull(n *yaml.Node) bool   { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// validSpecVersion keeps spec_version to version-string characters. Beyond
// catching typos, it guarantees the value survives MarshalJSON and a re-parse
// unchanged: arbitrary strings can hold characters JSON emits raw but YAML
// refuses to read (DEL, C1 controls).
func validSpecVersion(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '.' && c != '-' && c != '+' {
			return false
		}
	}
	return true
}

func specVersion(n *yaml.Node) (string, *problem) {
	if !isString(n) {
		return "", at(n, "spec_version", `want a version string such as "0.2.0" (quoted), got %s`, describe(n))
	}
	if !validSpecVersion(n.Value) {
		return "", at(n, "spec_version", "invalid version %q (want 1 to 64 of 0-9 A-Z a-z . - +)", n.Value)
	}
	return n.Value, nil
}

// parser carries the rule set being built and the running rule count.
type parser struct {
	rules *Rules
	count int
}

// types reads a mapping of object_type -> relation -> body into p.rules.
func (p *parser) types(n *yaml.Node, path string) *problem {
	if isNull(n) {
		return nil // "rules:" with nothing under it, or JSON null: no rules
	}
	if n.Kind != yaml.MappingNode {
		return at(n, path, "want a mapping of object types, got %s", describe(n))
	}
	entries, prob := mapping(n, path)
	if prob != nil {
		return prob
	}
	for _, e := range entries {
		if !tuples.ValidType(e.name) {
			return at(e.key, path, "invalid object type %q (want %s)", e.name, typeSyntax)
		}
		rels := make(map[string]Rule)
		p.rules.Types[e.name] = rels
		if prob := p.relations(e.val, joinPath(path, e.name), rels); prob != nil {
			return prob
		}
	}
	return nil
}

// relations reads one object type's mapping of relation -> body into rels.
// A type with no relations (null or {}) is kept: it is harmless, and keeping
// it makes MarshalJSON reproduce the document.
func (p *parser) relations(n *yaml.Node, path string, rels map[string]Rule) *problem {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return at(n, path, "want a mapping of relations, got %s", describe(n))
	}
	entries, prob := mapping(n, path)
	if prob != nil {
		return prob
	}
	for _, e := range entries {
		if !tuples.ValidRelation(e.name) {
			return at(e.key, path, "invalid relation %q (want %s)", e.name, relationSyntax)
		}
		p.count++
		if p.count > MaxRules {
			return at(e.key, path, "too many rules (limit %d)", MaxRules)
		}
		rule, prob := body(e.val, joinPath(path, e.name), true)
		if prob != nil {
			return prob
		}
		rels[e.name] = rule
	}
	return nil
}
