package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/tuples"
)

const checkSynopsis = "[--rules FILE] --tuples FILE [--checks FILE] [CHECK]"

const checkDescription = `
Answers checks offline: loads the rules and the tuples, then answers either
the one CHECK given as an argument or every line of --checks FILE (standard
input when neither is given).

--tuples FILE holds JSON lines shaped like the REST tuple body:
  {"subject_type":"usr","subject_id":"usr_0190…","relation":"viewer","object_type":"doc","object_id":"0190…"}
id and created_by, as export writes them, are accepted too (see 'flametrench
help import'). Blank lines are skipped; any bad line stops the command
(FILE:LINE: problem, exit 2).

Checks are JSON lines with the same fields, with "relation" (one) or
"relations" (a list, allowed when any holds). Each line gets one output line,
in order: {"allowed":true}, {"allowed":false} or
{"error":{"code":"…","message":"…"}}. Exit 0 once every line is answered.

CHECK is Zanzibar notation, OBJECT#RELATION@SUBJECT, with TYPE:ID for object
and subject and ID in any accepted form (type_<32 hex>, 32 hex, UUID):
  doc:0190f2a8-1b3c-7abc-8123-456789abcdef#viewer@usr:usr_0190f2a81b3c7abc8123000000000001
  doc:0190f2a8-1b3c-7abc-8123-456789abcdef#viewer,editor@usr:…   (set form)
It prints the same JSON line and exits 0 if allowed, 1 if denied, 3 on an
evaluation error (such as evaluation_limit_exceeded).
`

func runCheck(ctx context.Context, sio stdio, args []string) int {
	fs := newFlagSet("check", checkSynopsis, checkDescription, sio.err)
	rulesPath := rulesFlag(fs)
	tuplesPath := fs.String("tuples", "", "tuples `FILE`, JSON lines (required)")
	checksPath := fs.String("checks", "", "checks `FILE`, JSON lines; default: standard input")
	var lim limitFlags
	lim.register(fs)
	cl, err := parseArgs(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	switch {
	case len(cl.args) > 1:
		return usageError(sio.err, "check", "want at most one CHECK argument, got %d", len(cl.args))
	case *tuplesPath == "":
		return usageError(sio.err, "check", "--tuples FILE is required")
	case len(cl.args) == 1 && cl.onCmdln["checks"]:
		return usageError(sio.err, "check", "give either --checks FILE or a CHECK argument, not both")
	}
	limits, err := lim.limits()
	if err != nil {
		return usageError(sio.err, "check", "%v", err)
	}
	var single check.Request
	if len(cl.args) == 1 {
		// Parse before loading anything, so that a typo fails fast.
		p, err := parseNotation(cl.args[0], nil, true)
		if err != nil {
			return usageError(sio.err, "check", "%v", err)
		}
		single = request(p)
	}

	in := sio.in
	if *checksPath != "" && len(cl.args) == 0 {
		f, err := os.Open(*checksPath)
		if err != nil {
			fmt.Fprintf(sio.err, "flametrench check: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		in = f
	}

	eng, code := loadOffline(ctx, sio, "check", *rulesPath, *tuplesPath, limits)
	if eng == nil {
		return code
	}
	defer eng.Close()

	if len(cl.args) == 1 {
		return checkOne(ctx, sio, eng, single)
	}
	if err := checkLines(ctx, eng, in, sio.out); err != nil {
		fmt.Fprintf(sio.err, "flametrench check: %v\n", err)
		return exitFailed
	}
	return exitOK
}

func checkOne(ctx context.Context, sio stdio, eng *check.Engine, req check.Request) int {
	res, err := eng.Check(ctx, req)
	if _, werr := sio.out.Write(answer(res, err)); werr != nil {
		fmt.Fprintf(sio.err, "flametrench check: %v\n", werr)
		return exitFailed
	}
	switch {
	case err != nil:
		return exitFailed
	case res.Allowed:
		return exitOK
	}
	return exitFalse
}

// checkLines answers every check line of in on out, in order. Bad lines get
// error lines; only reading, writing or cancellation stop it. Output is
// flushed whenever the input has nothing more buffered, so that a program
// talking to check through pipes gets each answer before it sends the next
// question.
func checkLines(ctx context.Context, eng *check.Engine, in io.Reader, out io.Writer) error {
	w := bufio.NewWriterSize(out, 64<<10)
	lr := newLineReader(in)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !lr.buffered() {
			if err := w.Flush(); err != nil {
				return err
			}
		}
		line, tooLong, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading checks, line %d: %w", lr.line+1, err)
		}
		var ans []byte
		switch {
		case tooLong:
			ans = answer(check.Result{}, tooLongError())
		case blank(line):
			continue
		default:
			req, err := decodeCheck(line)
			if err != nil {
				ans = answer(check.Result{}, err)
			} else {
				ans = answer(eng.Check(ctx, req))
			}
		}
		if _, err := w.Write(ans); err != nil {
			return err
		}
	}
	return w.Flush()
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

var (
	lineAllowed = []byte(`{"allowed":true}` + "\n")
	lineDenied  = []byte(`{"allowed":false}` + "\n")
)

// answer renders one output line.
func answer(res check.Result, err error) []byte {
	switch {
	case err == nil && res.Allowed:
		return lineAllowed
	case err == nil:
		return lineDenied
	}
	body := errorBody{Code: tuples.CodeOf(err), Message: err.Error()}
	var te *tuples.Error
	if errors.As(err, &te) {
		body.Message = te.Msg
	}
	b, _ := json.Marshal(struct {
		Error errorBody `json:"error"`
	}{body}) // strings only: cannot fail
	return append(b, '\n')
}
