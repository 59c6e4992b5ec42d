package main

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
)

// inlineRules parses the rule document under a validation file's top-level
// rules key: a mapping (null means no rules), or a string holding a document.
// next is the key after rules in the top-level mapping, or nil.
//
// rewrite parses bytes, not yaml.Nodes, so a mapping is handed over as its
// own text, cut from the file, with what precedes it on its first line
// blanked: rewrite's LINE:COL then differ from the file's only by the line
// the mapping starts on, and errors point at the right place in the file.
func (p *vparser) inlineRules(n, next *yaml.Node) (*rewrite.Rules, error) {
	switch {
	case isNull(n):
		return nil, nil
	case n.Kind == yaml.MappingNode:
		text, ok := p.nodeText(n, next)
		if !ok {
			return nil, p.errAt(n, "rules", "cannot locate the rule document in the file; use rules_file instead")
		}
		r, err := rewrite.Parse(text)
		if err != nil {
			return nil, p.shifted(err, n, n.Line-1, 0)
		}
		return r, nil
	case isString(n):
		r, err := rewrite.Parse([]byte(n.Value))
		if err == nil {
			return r, nil
		}
		if n.Style&yaml.LiteralStyle != 0 {
			// A literal block keeps its lines; its content starts on the
			// line after the "|" and is indented.
			return nil, p.shifted(err, n, n.Line, p.blockIndent(n.Line+1))
		}
		return nil, p.errAt(n, "rules", "in the rule string: %s", ruleMsg(err))
	}
	return nil, p.errAt(n, "rules", "want a rule document (a mapping) or a string holding one, got %s", describe(n))
}

// ruleMsg is a rewrite error's message without the code in front.
func ruleMsg(err error) string {
	var te *tuples.Error
	if errors.As(err, &te) {
		return te.Msg
	}
	return err.Error()
}

// shifted re-anchors a rewrite error ("LINE:COL: PATH: problem") in the
// validation file by adding dline to its line and dcol to its column.
// Errors without a position are reported at n.
func (p *vparser) shifted(err error, n *yaml.Node, dline, dcol int) error {
	msg := ruleMsg(err)
	line, col, rest, ok := cutPosition(msg)
	if !ok {
		return p.errAt(n, "rules", "%s", msg)
	}
	if col == 0 {
		return fmt.Errorf("%s:%d: %s", p.file, line+dline, rest)
	}
	return fmt.Errorf("%s:%d:%d: %s", p.file, line+dline, col+dcol, rest)
}

// cutPosition splits "12:5: rest" or "12: rest".
func cutPosition(msg string) (line, col int, rest string, ok bool) {
	head, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return 0, 0, "", false
	}
	l, c, hasCol := strings.Cut(head, ":")
	line, err := strconv.Atoi(l)
	if err != nil {
		return 0, 0, "", false
	}
	if hasCol {
		if col, err = strconv.Atoi(c); err != nil {
			return 0, 0, "", false
		}
	}
	return line, col, rest, true
}

// nodeText returns the text of mapping n: a flow mapping up to its closing
// brace, a block mapping up to the next top-level key (or the end of the
// file). Everything before n on its first line is replaced by spaces, one per
// character, so that columns are unchanged.
func (p *vparser) nodeText(n, next *yaml.Node) ([]byte, bool) {
	if bytes.HasPrefix(p.src, []byte{0xFE, 0xFF}) || bytes.HasPrefix(p.src, []byte{0xFF, 0xFE}) {
		return nil, false // UTF-16: yaml.v3's positions are not offsets into src
	}
	lineStart, start, ok := p.offset(n.Line, n.Column)
	if !ok {
		return nil, false
	}
	var end int
	switch {
	case n.Style&yaml.FlowStyle != 0:
		if end, ok = flowEnd(p.src, start); !ok {
			return nil, false
		}
	case next != nil:
		if _, end, ok = p.offset(next.Line, next.Column); !ok || end < start {
			return nil, false
		}
	default:
		end = len(p.src)
	}
	pad := utf8.RuneCount(p.src[lineStart:start])
	text := make([]byte, 0, pad+end-start)
	text = append(text, strings.Repeat(" ", pad)...)
	return append(text, p.src[start:end]...), true
}

// offset returns the byte offsets of the start of line and of (line, col),
// both 1-based, counted as yaml.v3 counts them: lines end at LF, CR, CRLF,
// NEL, LS or PS, and columns are characters.
func (p *vparser) offset(line, col int) (lineStart, at int, ok bool) {
	i := 0
	for l := 1; l < line; l++ {
		for {
			if i >= len(p.src) {
				return 0, 0, false
			}
			if n := lineBreak(p.src, i); n > 0 {
				i += n
				break
			}
			i++
		}
	}
	lineStart = i
	for c := 1; c < col; c++ {
		if i >= len(p.src) || lineBreak(p.src, i) > 0 {
			return 0, 0, false
		}
		_, size := utf8.DecodeRune(p.src[i:])
		i += size
	}
	return lineStart, i, true
}

// lineBreak returns the length of the line break at src[i], or 0.
func lineBreak(src []byte, i int) int {
	switch c := src[i]; {
	case c == '\r' && i+1 < len(src) && src[i+1] == '\n':
		return 2
	case c == '\n' || c == '\r':
		return 1
	case c == 0xC2 && i+1 < len(src) && src[i+1] == 0x85: // NEL
		return 2
	case c == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && (src[i+2] == 0xA8 || src[i+2] == 0xA9): // LS, PS
		return 3
	}
	return 0
}

// blockIndent returns the indentation of the first non-blank line at or
// after line (1-based): the indentation of a block scalar's content.
func (p *vparser) blockIndent(line int) int {
	i, _, ok := p.offset(line, 1)
	if !ok {
		return 0
	}
	for i < len(p.src) {
		spaces := 0
		for i < len(p.src) && p.src[i] == ' ' {
			i++
			spaces++
		}
		for i < len(p.src) && (p.src[i] == '\t' || p.src[i] == ' ') {
			i++
		}
		if i >= len(p.src) {
			return 0
		}
		n := lineBreak(p.src, i)
		if n == 0 {
			return spaces
		}
		i += n
	}
	return 0
}

// flowEnd returns the offset just past the flow collection that starts at
// src[start] ('{' or '['), skipping quoted scalars and comments.
func flowEnd(src []byte, start int) (int, bool) {
	depth := 0
	prev := byte(' ') // the last byte that was not white space
	for i := start; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		case (c == '"' || c == '\'') && strings.IndexByte("{[,:", prev) >= 0:
			// A quote opens a quoted scalar only where a scalar can start.
			j, ok := quotedEnd(src, i)
			if !ok {
				return 0, false
			}
			i = j
		case c == '#' && (i == 0 || isSpace(src[i-1])):
			for i < len(src) && lineBreak(src, i) == 0 {
				i++
			}
		}
		if i < len(src) && !isSpace(src[i]) {
			prev = src[i]
		}
	}
	return 0, false
}

// quotedEnd returns the offset of the quote closing the scalar opened at
// src[i]: "…" with backslash escapes, '…' with a doubled single quote inside.
func quotedEnd(src []byte, i int) (int, bool) {
	q := src[i]
	for j := i + 1; j < len(src); j++ {
		switch {
		case q == '"' && src[j] == '\\':
			j++
		case src[j] == q && q == '\'' && j+1 < len(src) && src[j+1] == '\'':
			j++
		case src[j] == q:
			return j, true
		}
	}
	return 0, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
