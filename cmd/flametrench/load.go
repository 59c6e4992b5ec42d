package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/flametrench/server/cache"
	"github.com/flametrench/server/check"
	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
)

// loadTuplesFile loads a JSON-lines tuples file into g in one bulk load, so
// the graph sees all of it or none of it. A tuple listed twice is harmless;
// as on import, the first line of a key wins. Tuple ids and created_by are
// kept, and an id may name only one key (idLines). Errors read
// "FILE:LINE: problem".
func loadTuplesFile(ctx context.Context, g *memory.Graph, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	ids := idLines{}
	_, _, err = g.Load(ctx, func(yield func(tuples.Tuple, error) bool) {
		lr := newLineReader(f)
		for {
			line, tooLong, err := lr.next()
			switch {
			case errors.Is(err, io.EOF):
				return
			case err != nil:
				yield(tuples.Tuple{}, fmt.Errorf("%s:%d: %w", path, lr.line+1, err))
				return
			case tooLong:
				yield(tuples.Tuple{}, fmt.Errorf("%s:%d: %w", path, lr.line, tooLongError()))
				return
			case blank(line):
				continue
			}
			t, err := decodeTuple(line)
			if err == nil {
				var repeat bool
				repeat, err = ids.see(t, lr.line)
				if repeat {
					continue
				}
			}
			if err != nil {
				yield(tuples.Tuple{}, fmt.Errorf("%s:%d: %w", path, lr.line, err))
				return
			}
			if !yield(t, nil) {
				return
			}
		}
	})
	return err
}

// idLines maps the tuple ids of a tuples file (or of one import batch) to
// the key and line that first gave each. One id names one tuple: a line
// giving a known id with another key is refused, even when its key repeats
// an earlier line's (and touch would skip it), so that the rule does not
// depend on which of two lines wins.
type idLines map[tuples.UUID]idLine

type idLine struct {
	key  tuples.Key
	line int
}

// see records t's id, if it has one. repeat reports a line that repeats an
// earlier one, id and key alike; err a known id with another key.
func (m idLines) see(t tuples.Tuple, line int) (repeat bool, err error) {
	if t.ID.IsZero() {
		return false, nil
	}
	prev, ok := m[t.ID]
	switch {
	case !ok:
		m[t.ID] = idLine{t.Key, line}
		return false, nil
	case prev.key == t.Key:
		return true, nil
	}
	return false, tuples.ErrDuplicateTuple.With("tuple id %s is already used by line %d for %s", tuples.FormatID("tup", t.ID), prev.line, prev.key)
}

// loadRules parses the rules file at path; "" means no rules (v0.1 behavior).
func loadRules(path string) (*rewrite.Rules, error) {
	if path == "" {
		return nil, nil
	}
	r, err := rewrite.ParseFile(path)
	if err != nil {
		var te *tuples.Error
		if errors.As(err, &te) {
			return nil, errors.New(te.Msg) // already "FILE:LINE:COL: path: problem"
		}
		return nil, err
	}
	return r, nil
}

// newEngine builds an engine over g for a one-shot command: no cache (each
// question is asked once) and no metrics.
func newEngine(g *memory.Graph, rules *rewrite.Rules, limits check.Limits) (*check.Engine, error) {
	return check.New(func() check.Graph { return g.Snapshot() }, g.Intern, check.Config{
		Rules:  rules,
		Limits: limits,
		Cache:  cache.Config{Disabled: true},
	})
}

// loadOffline builds the graph and engine of an offline command. On failure
// it reports the problem and returns a nil engine and the exit status.
func loadOffline(ctx context.Context, sio stdio, cmd, rulesPath, tuplesPath string, limits check.Limits) (*check.Engine, int) {
	// These errors start with FILE:LINE, so they are printed bare, in the
	// compiler style editors know how to jump to.
	rules, err := loadRules(rulesPath)
	if err != nil {
		fmt.Fprintln(sio.err, err)
		return nil, exitUsage
	}
	g := memory.New()
	if err := loadTuplesFile(ctx, g, tuplesPath); err != nil {
		fmt.Fprintln(sio.err, err)
		return nil, exitUsage
	}
	eng, err := newEngine(g, rules, limits)
	if err != nil {
		fmt.Fprintf(sio.err, "flametrench %s: %v\n", cmd, err)
		return nil, exitUsage
	}
	return eng, exitOK
}
