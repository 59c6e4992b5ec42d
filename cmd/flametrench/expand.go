package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
)

const expandSynopsis = "[--rules FILE] --tuples FILE [--json] OBJECT#RELATION"

const expandDescription = `
Prints the userset tree of RELATION on OBJECT (ADR 0007's expand()): the
subjects of direct tuples, and one branch per rule primitive, in rule order.
OBJECT is TYPE:ID, e.g. doc:0190f2a8-1b3c-7abc-8123-456789abcdef#viewer.

The default output is an indented text tree; --json prints the tree in the
wire form of the expand API. Exit 0 on success, 2 on bad usage or input, 3 on
an evaluation error (such as evaluation_limit_exceeded).
`

func runExpand(ctx context.Context, sio stdio, args []string) int {
	fs := newFlagSet("expand", expandSynopsis, expandDescription, sio.err)
	rulesPath := rulesFlag(fs)
	tuplesPath := fs.String("tuples", "", "tuples `FILE`, JSON lines (required)")
	asJSON := fs.Bool("json", false, "print the tree as JSON")
	var lim limitFlags
	lim.register(fs)
	cl, err := parseArgs(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	switch {
	case len(cl.args) != 1:
		return usageError(sio.err, "expand", "want one OBJECT#RELATION argument, got %d", len(cl.args))
	case *tuplesPath == "":
		return usageError(sio.err, "expand", "--tuples FILE is required")
	}
	limits, err := lim.limits()
	if err != nil {
		return usageError(sio.err, "expand", "%v", err)
	}
	object, relation, err := parseObjectRelation(cl.args[0])
	if err != nil {
		return usageError(sio.err, "expand", "%v", err)
	}
	eng, code := loadOffline(ctx, sio, "expand", *rulesPath, *tuplesPath, limits)
	if eng == nil {
		return code
	}
	defer eng.Close()

	tree, _, err := eng.Expand(ctx, relation, object, 0)
	if err != nil {
		fmt.Fprintf(sio.err, "flametrench expand: %v\n", err)
		return exitFailed
	}
	w := bufio.NewWriter(sio.out)
	if *asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(tree)
	} else {
		writeTree(w, tree, (*names)(nil).format)
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		fmt.Fprintf(sio.err, "flametrench expand: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// writeTree writes t as an indented text tree:
//
//	doc:…#viewer
//	  subject usr:…
//	  computed_userset editor
//	    doc:…#editor
//	      subject usr:…
//	  tuple_to_userset viewer via parent
//	    proj:…#viewer
//	      (no subjects)
//	  …
//
// A (relation, object) already being expanded higher up is marked "(cycle)"
// and not expanded again. Write errors surface at the caller's Flush.
func writeTree(w io.Writer, t *check.Tree, format func(tuples.Ref) string) {
	writeNode(w, t, format, 0)
}

func writeNode(w io.Writer, t *check.Tree, format func(tuples.Ref) string, depth int) {
	pad := strings.Repeat("  ", depth)
	fmt.Fprintf(w, "%s%s#%s", pad, format(t.Object), t.Relation)
	if t.Cycle {
		fmt.Fprint(w, " (cycle: already being expanded above)")
	}
	fmt.Fprintln(w)
	for _, s := range t.Subjects {
		fmt.Fprintf(w, "%s  subject %s\n", pad, format(s))
	}
	if len(t.Subjects) == 0 && len(t.Branches) == 0 && !t.Cycle {
		fmt.Fprintf(w, "%s  (no subjects)\n", pad)
	}
	for _, b := range t.Branches {
		switch b.Kind {
		case rewrite.TupleToUserset:
			fmt.Fprintf(w, "%s  tuple_to_userset %s via %s", pad, b.Relation, b.Tupleset)
			if len(b.Children) == 0 {
				fmt.Fprintf(w, " (no %s tuples)", b.Tupleset)
			}
			fmt.Fprintln(w)
		default:
			fmt.Fprintf(w, "%s  %s %s\n", pad, b.Kind, b.Relation)
		}
		for _, c := range b.Children {
			writeNode(w, c, format, depth+2)
		}
	}
}
