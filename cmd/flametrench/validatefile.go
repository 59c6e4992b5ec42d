package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
)

// maxValidationBytes bounds a validation file.
const maxValidationBytes = 64 << 20

// want is what an assertion expects of its check.
type want uint8

const (
	wantAllowed want = iota + 1
	wantDenied
	wantError
)

func (w want) String() string {
	switch w {
	case wantAllowed:
		return "allowed"
	case wantDenied:
		return "denied"
	}
	return "error"
}

// assertion is one check of a validation file and its expected outcome.
type assertion struct {
	line int
	want want
	code string // wantError only: the error code expected
	req  check.Request
	text string // the check in notation, names shown as names
}

// validation is a parsed validation file.
type validation struct {
	rules      *rewrite.Rules
	tuples     []tuples.Key
	assertions []assertion
	names      *names
}

// defaultErrorCode is what an "error" assertion expects unless it says otherwise.
var defaultErrorCode = check.ErrEvaluationLimit.Code

// readValidation reads and parses the validation file at path. Every error
// reads "FILE:LINE:COL: PATH: problem" (or "FILE: problem" when there is no
// position), in the style of rewrite's errors.
func readValidation(path string) (*validation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, maxValidationBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(src) > maxValidationBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, maxValidationBytes>>20)
	}
	// Drop a UTF-8 byte order mark, so that yaml.v3's positions count from
	// the first byte of src (rulesource.go cuts src by them).
	src = bytes.TrimPrefix(src, []byte("\uFEFF"))
	p := &vparser{file: path, src: src, names: newNames()}
	return p.parse()
}

// vparser parses one validation file.
type vparser struct {
	file  string // as given, for messages and to resolve rules_file
	src   []byte
	names *names
}

// errAt reports a problem at n: "FILE:LINE:COL: PATH: problem".
func (p *vparser) errAt(n *yaml.Node, path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	if n == nil || n.Line == 0 {
		return fmt.Errorf("%s: %s", p.file, msg)
	}
	return fmt.Errorf("%s:%d:%d: %s", p.file, n.Line, n.Column, msg)
}

func (p *vparser) parse() (*validation, error) {
	root, err := p.decode()
	if err != nil {
		return nil, err
	}
	if root == nil || isNull(root) {
		return nil, p.errAt(nil, "", "empty; want a mapping with rules or rules_file, tuples and assertions")
	}
	if root.Kind != yaml.MappingNode {
		return nil, p.errAt(root, "", "want a mapping with rules or rules_file, tuples and assertions, got %s", describe(root))
	}
	entries, err := p.mapping(root, "")
	if err != nil {
		return nil, err
	}
	v := &validation{names: p.names}
	var rulesKey *yaml.Node
	for i, e := range entries {
		switch e.name {
		case "rules", "rules_file":
			if rulesKey != nil {
				return nil, p.errAt(e.key, "", "%s beside %s (at %d:%d); give one of rules and rules_file", e.name, rulesKey.Value, rulesKey.Line, rulesKey.Column)
			}
			rulesKey = e.key
		}
		switch e.name {
		case "rules":
			var next *yaml.Node
			if i+1 < len(entries) {
				next = entries[i+1].key
			}
			if v.rules, err = p.inlineRules(e.val, next); err != nil {
				return nil, err
			}
		case "rules_file":
			if v.rules, err = p.rulesFile(e.val); err != nil {
				return nil, err
			}
		case "tuples":
			if v.tuples, err = p.tupleList(e.val); err != nil {
				return nil, err
			}
		case "assertions":
			if v.assertions, err = p.assertionLists(e.val); err != nil {
				return nil, err
			}
		default:
			return nil, p.errAt(e.key, "", "unknown key %q (want rules, rules_file, tuples or assertions)", e.name)
		}
	}
	return v, nil
}

// decode parses the file's single YAML document.
func (p *vparser) decode() (root *yaml.Node, err error) {
	// A parser panic on hostile input must become an error, not a crash.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, p.errAt(nil, "", "syntax error: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(p.src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, p.syntaxError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, p.syntaxError(err)
		}
		n := &extra
		if len(extra.Content) > 0 {
			n = extra.Content[0]
		}
		return nil, p.errAt(n, "", "more than one YAML document; a validation file is a single document")
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// syntaxError turns "yaml: line 3: did not find expected key" into
// "FILE:3: syntax error: did not find expected key".
func (p *vparser) syntaxError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil {
				return fmt.Errorf("%s:%d: syntax error: %s", p.file, n, tail)
			}
		}
	}
	return fmt.Errorf("%s: syntax error: %s", p.file, msg)
}

type entry struct {
	key  *yaml.Node
	name string
	val  *yaml.Node
}

// mapping returns n's pairs in order; keys must be unique strings (yaml.v3
// does not check duplicates when decoding into yaml.Node).
func (p *vparser) mapping(n *yaml.Node, path string) ([]entry, error) {
	out := make([]entry, 0, len(n.Content)/2)
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !isString(k) {
			return nil, p.errAt(k, path, "mapping key must be a string, got %s", describe(k))
		}
		if first, dup := seen[k.Value]; dup {
			return nil, p.errAt(k, path, "duplicate key %q (first at %d:%d)", k.Value, first.Line, first.Column)
		}
		seen[k.Value] = k
		out = append(out, entry{key: k, name: k.Value, val: v})
	}
	return out, nil
}

// rulesFile reads the rule document named by rules_file, relative to the
// validation file's directory. Its parse errors point into that file.
func (p *vparser) rulesFile(n *yaml.Node) (*rewrite.Rules, error) {
	if !isString(n) || n.Value == "" {
		return nil, p.errAt(n, "rules_file", "want a file name, got %s", describe(n))
	}
	path := n.Value
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(p.file), path)
	}
	r, err := loadRules(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, p.errAt(n, "rules_file", "%v", pe)
		}
		return nil, err
	}
	return r, nil
}

func (p *vparser) tupleList(n *yaml.Node) ([]tuples.Key, error) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, p.errAt(n, "tuples", "want a list of tuples, got %s", describe(n))
	}
	out := make([]tuples.Key, 0, len(n.Content))
	for i, item := range n.Content {
		path := "tuples[" + strconv.Itoa(i) + "]"
		var k tuples.Key
		var err error
		switch {
		case isString(item):
			if k, err = parseTuple(item.Value, p.names); err != nil {
				return nil, p.errAt(item, path, "%v", err)
			}
		case item.Kind == yaml.MappingNode:
			if k, err = p.tupleMapping(item, path); err != nil {
				return nil, err
			}
		default:
			return nil, p.errAt(item, path, `want "OBJECT#RELATION@SUBJECT" or a mapping of subject_type, subject_id, relation, object_type, object_id; got %s`, describe(item))
		}
		out = append(out, k)
	}
	return out, nil
}

// fields reads a mapping of scalar fields. Every key must be in allowed; the
// values are the scalars' text (so an unquoted number is fine as a name).
// relations, when allowed, is a list of strings, returned separately.
func (p *vparser) fields(n *yaml.Node, path string, allowed ...string) (map[string]*yaml.Node, error) {
	entries, err := p.mapping(n, path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*yaml.Node, len(entries))
	for _, e := range entries {
		ok := false
		for _, a := range allowed {
			ok = ok || a == e.name
		}
		if !ok {
			return nil, p.errAt(e.key, path, "unknown key %q (want %s)", e.name, strings.Join(allowed, ", "))
		}
		if e.name != "relations" && (e.val.Kind != yaml.ScalarNode || isNull(e.val)) {
			return nil, p.errAt(e.val, path+"."+e.name, "want a string, got %s", describe(e.val))
		}
		out[e.name] = e.val
	}
	return out, nil
}

// need returns the text of a required field.
func (p *vparser) need(f map[string]*yaml.Node, n *yaml.Node, path, name string) (string, error) {
	v, ok := f[name]
	if !ok {
		return "", p.errAt(n, path, "missing %s", name)
	}
	return v.Value, nil
}

// culprit is the field to blame when role's (type, id) pair does not parse:
// the type when it is invalid, else the id.
func culprit(f map[string]*yaml.Node, role string) *yaml.Node {
	if !tuples.ValidType(f[role+"_type"].Value) {
		return f[role+"_type"]
	}
	return f[role+"_id"]
}

var tupleFields = []string{"subject_type", "subject_id", "relation", "object_type", "object_id"}

func (p *vparser) tupleMapping(n *yaml.Node, path string) (tuples.Key, error) {
	f, err := p.fields(n, path, tupleFields...)
	if err != nil {
		return tuples.Key{}, err
	}
	var vals [5]string
	for i, name := range tupleFields {
		if vals[i], err = p.need(f, n, path, name); err != nil {
			return tuples.Key{}, err
		}
	}
	subj, err := p.names.subject(vals[0], vals[1])
	if err != nil {
		return tuples.Key{}, p.errAt(culprit(f, "subject"), path, "%v", err)
	}
	if err := tuples.CheckRelation(vals[2]); err != nil {
		return tuples.Key{}, p.errAt(f["relation"], path, "%v", err)
	}
	obj, err := p.names.object(vals[3], vals[4])
	if err != nil {
		return tuples.Key{}, p.errAt(culprit(f, "object"), path, "%v", err)
	}
	return tuples.Key{Subject: subj, Relation: vals[2], Object: obj}, nil
}

// assertionLists reads the assertions mapping: allowed, denied and error
// lists, kept in file order.
func (p *vparser) assertionLists(n *yaml.Node) ([]assertion, error) {
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, p.errAt(n, "assertions", "want a mapping with allowed, denied and error lists, got %s", describe(n))
	}
	entries, err := p.mapping(n, "assertions")
	if err != nil {
		return nil, err
	}
	var out []assertion
	for _, e := range entries {
		var w want
		switch e.name {
		case "allowed":
			w = wantAllowed
		case "denied":
			w = wantDenied
		case "error":
			w = wantError
		default:
			return nil, p.errAt(e.key, "assertions", "unknown key %q (want allowed, denied or error)", e.name)
		}
		path := "assertions." + e.name
		if isNull(e.val) {
			continue
		}
		if e.val.Kind != yaml.SequenceNode {
			return nil, p.errAt(e.val, path, "want a list of checks, got %s", describe(e.val))
		}
		for i, item := range e.val.Content {
			a, err := p.assertion(item, path+"["+strconv.Itoa(i)+"]", w)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// assertion reads one check: "OBJECT#RELATION@SUBJECT" (set form allowed),
// or a mapping with either check (that notation) or the REST fields
// (relation or relations); in the error list the mapping may add code.
func (p *vparser) assertion(n *yaml.Node, path string, w want) (assertion, error) {
	a := assertion{line: n.Line, want: w}
	if w == wantError {
		a.code = defaultErrorCode
	}
	if isString(n) {
		pn, err := parseNotation(n.Value, p.names, true)
		if err != nil {
			return assertion{}, p.errAt(n, path, "%v", err)
		}
		a.req = request(pn)
		a.text = formatCheck(pn.object, pn.relations, pn.subject, p.names)
		return a, nil
	}
	if n.Kind != yaml.MappingNode {
		return assertion{}, p.errAt(n, path, `want "OBJECT#RELATION@SUBJECT" or a mapping, got %s`, describe(n))
	}
	allowed := []string{"check", "subject_type", "subject_id", "relation", "relations", "object_type", "object_id"}
	if w == wantError {
		allowed = append(allowed, "code")
	}
	f, err := p.fields(n, path, allowed...)
	if err != nil {
		return assertion{}, err
	}
	if c, ok := f["code"]; ok {
		a.code = c.Value
	}
	if c, ok := f["check"]; ok {
		others := len(f) - 1
		if _, ok := f["code"]; ok {
			others--
		}
		if others > 0 {
			return assertion{}, p.errAt(n, path, "give either check or the subject_type, subject_id, relation(s), object_type, object_id fields, not both")
		}
		pn, err := parseNotation(c.Value, p.names, true)
		if err != nil {
			return assertion{}, p.errAt(c, path+".check", "%v", err)
		}
		a.req = request(pn)
		a.text = formatCheck(pn.object, pn.relations, pn.subject, p.names)
		return a, nil
	}
	var vals [4]string
	for i, name := range []string{"subject_type", "subject_id", "object_type", "object_id"} {
		if vals[i], err = p.need(f, n, path, name); err != nil {
			return assertion{}, err
		}
	}
	subj, err := p.names.subject(vals[0], vals[1])
	if err != nil {
		return assertion{}, p.errAt(culprit(f, "subject"), path, "%v", err)
	}
	obj, err := p.names.object(vals[2], vals[3])
	if err != nil {
		return assertion{}, p.errAt(culprit(f, "object"), path, "%v", err)
	}
	rel, hasRel := f["relation"]
	rels, hasRels := f["relations"]
	var relNodes []*yaml.Node
	switch {
	case hasRel == hasRels:
		return assertion{}, p.errAt(n, path, "give exactly one of relation and relations")
	case hasRel:
		relNodes = []*yaml.Node{rel}
	case rels.Kind != yaml.SequenceNode || len(rels.Content) == 0:
		return assertion{}, p.errAt(rels, path+".relations", "want a non-empty list of relations, got %s", describe(rels))
	default:
		relNodes = rels.Content
	}
	relations := make([]string, len(relNodes))
	for i, r := range relNodes {
		if r.Kind != yaml.ScalarNode {
			return assertion{}, p.errAt(r, path, "want a relation name, got %s", describe(r))
		}
		if err := tuples.CheckRelation(r.Value); err != nil {
			return assertion{}, p.errAt(r, path, "%v", err)
		}
		relations[i] = r.Value
	}
	a.req = request(parsed{object: obj, relations: relations, subject: subj})
	a.text = formatCheck(obj, relations, subj, p.names)
	return a, nil
}

func isString(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!str" }
func isNull(n *yaml.Node) bool   { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// describe names n's shape for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			return "an empty mapping"
		}
		return "a mapping"
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return "an empty list"
		}
		return "a list"
	case yaml.AliasNode:
		return "an alias (aliases are not allowed)"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			return strconv.Quote(n.Value)
		case "!!null":
			return "nothing"
		}
		return "the scalar " + strconv.Quote(n.Value)
	}
	return "nothing"
}
