package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
)

const validateDescription = `
Loads a validation file (YAML or JSON) holding rules, tuples and assertions,
runs every assertion, and reports the ones that fail:

  rules:                 # an inline rule document (ADR 0007 or flat form),
    doc:                 #   or a string holding one; or instead
      viewer: {union: [this, {computed_userset: {relation: editor}}]}
  # rules_file: rules.yaml   (relative to the validation file's directory)
  tuples:                # "OBJECT#RELATION@SUBJECT", or a mapping of
    - "doc:readme#editor@usr:alice"   # subject_type, subject_id, relation,
                                      # object_type, object_id
  assertions:
    allowed: ["doc:readme#viewer@usr:alice"]
    denied:  ["doc:readme#viewer@usr:bob", "doc:readme#viewer,editor@usr:bob"]
    error:   ["doc:deep#viewer@usr:bob"]  # expects evaluation_limit_exceeded;
                                          # or {check: "…", code: "…"}

Besides the three id forms, an ID here may be a name (^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$,
not shaped like an id): TYPE:NAME stands for a fixed name-based UUID, and
output shows it by name.

Prints "ok: N assertions" and exits 0 when all hold; otherwise prints each
failure with what was wanted and what happened, then "FAIL: F of N
assertions", and exits 1. An invalid file is reported as FILE:LINE:COL:
problem, exit 2.
`

func runValidate(ctx context.Context, sio stdio, args []string) int {
	fs := newFlagSet("validate", "[flags] FILE", validateDescription, sio.err)
	var lim limitFlags
	lim.register(fs)
	cl, err := parseArgs(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	if len(cl.args) != 1 {
		return usageError(sio.err, "validate", "want one FILE argument, got %d", len(cl.args))
	}
	file := cl.args[0]
	limits, err := lim.limits()
	if err != nil {
		return usageError(sio.err, "validate", "%v", err)
	}
	v, err := readValidation(file)
	if err != nil {
		fmt.Fprintln(sio.err, err) // FILE:LINE:COL: problem
		return exitUsage
	}
	g := memory.New()
	_, _, err = g.Load(ctx, func(yield func(tuples.Tuple, error) bool) {
		for _, k := range v.tuples {
			if !yield(tuples.Tuple{Key: k}, nil) {
				return
			}
		}
	})
	if err != nil {
		fmt.Fprintf(sio.err, "flametrench validate: %s: loading tuples: %v\n", file, err)
		return exitUsage
	}
	eng, err := newEngine(g, v.rules, limits)
	if err != nil {
		fmt.Fprintf(sio.err, "flametrench validate: %s: %v\n", file, err)
		return exitUsage
	}
	defer eng.Close()

	w := bufio.NewWriter(sio.out)
	failed := 0
	for _, a := range v.assertions {
		res, err := eng.Check(ctx, a.req)
		if a.holds(res, err) {
			continue
		}
		failed++
		fmt.Fprintf(w, "FAIL %s:%d %s: %s\n  want: %s\n  got:  %s\n", file, a.line, a.want, a.text, a.wantText(), gotText(res, err))
	}
	if err := ctx.Err(); err != nil {
		w.Flush()
		fmt.Fprintf(sio.err, "flametrench validate: %v\n", err)
		return exitFailed
	}
	if failed > 0 {
		fmt.Fprintf(w, "FAIL: %d of %d assertions\n", failed, len(v.assertions))
	} else {
		fmt.Fprintf(w, "ok: %d assertions\n", len(v.assertions))
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(sio.err, "flametrench validate: %v\n", err)
		return exitFailed
	}
	if failed > 0 {
		return exitFalse
	}
	return exitOK
}

// holds reports whether a check's outcome is what a wants.
func (a *assertion) holds(res check.Result, err error) bool {
	switch a.want {
	case wantAllowed:
		return err == nil && res.Allowed
	case wantDenied:
		return err == nil && !res.Allowed
	}
	return err != nil && tuples.CodeOf(err) == a.code
}

func (a *assertion) wantText() string {
	if a.want == wantError {
		return "error " + a.code
	}
	return a.want.String()
}

func gotText(res check.Result, err error) string {
	var te *tuples.Error
	switch {
	case errors.As(err, &te):
		return "error " + te.Code + ": " + te.Msg
	case err != nil:
		return "error " + err.Error()
	case res.Allowed:
		return "allowed"
	}
	return "denied"
}
