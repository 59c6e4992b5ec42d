package rewrite

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// problem is a parse or validation error before it is rendered. It keeps the
// position apart from the text so that ParseFile can put the file name in
// front ("rules.yaml:12:5: ...") without re-parsing a message.
type problem struct {
	line, col int    // 1-based; 0 when unknown
	path      string // "rules.proj.viewer.union[2]"; "" is the document itself
	text      string
}

// at builds a problem located at n. path is a selector into the document: the
// value the problem is about, or for a bad key the mapping that holds it, so
// that the path always names something that exists.
func at(n *yaml.Node, path, format string, args ...any) *problem {
	p := &problem{path: path, text: fmt.Sprintf(format, args...)}
	if n != nil {
		p.line, p.col = n.Line, n.Column
	}
	return p
}

// render formats p as "[FILE:]LINE:COL: PATH: text", dropping the parts that are
// unknown, in the compiler style editors already know how to jump to.
func (p *problem) render(file string) string {
	var b strings.Builder
	if file != "" {
		b.WriteString(file)
		b.WriteByte(':')
	}
	if p.line > 0 {
		b.WriteString(strconv.Itoa(p.line))
		b.WriteByte(':')
		if p.col > 0 {
			b.WriteString(strconv.Itoa(p.col))
			b.WriteByte(':')
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	path := p.path
	if path == "" {
		path = "document"
	}
	b.WriteString(path)
	b.WriteString(": ")
	b.WriteString(p.text)
	return b.String()
}

// err converts p into the package's one public error shape.
func (p *problem) err(file string) error {
	return ErrInvalidRules.With("%s", p.render(file))
}

// syntaxProblem turns a yaml.v3 error ("yaml: line 3: did not find expected key")
// into a problem. yaml.v3 reports a line but no column for syntax errors.
func syntaxProblem(err error) *problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := &problem{text: "syntax error: " + msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil {
				p.line, p.text = n, "syntax error: "+tail
			}
		}
	}
	return p
}

// describe names n's shape for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			return strconv.Quote(n.Value)
		case "!!null":
			return "null"
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		case "!!merge":
			return "the merge key <<"
		}
		return "the scalar " + strconv.Quote(n.Value)
	}
	return "nothing"
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// wantNames is the list every "unknown primitive" message offers.
const wantNames = "want this, computed_userset or tuple_to_userset"

// The name syntaxes of tuples.ValidType and tuples.ValidRelation, for messages.
const (
	typeSyntax     = "^[a-z]{2,6}$"
	relationSyntax = "^[a-z_]{2,32}$"
)
