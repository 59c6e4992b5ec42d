package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/postgres"
)

const importSynopsis = "--database-url URL [--batch-size N] FILE"

const importDescription = `
Imports tuples into PostgreSQL from FILE ("-": standard input), JSON lines as
in a tuples file (see 'flametrench help check'), with two optional fields,
which export writes:
  {"id":"tup_0190…","subject_type":"usr","subject_id":"usr_0190…","relation":"viewer",
   "object_type":"doc","object_id":"0190…","created_by":"usr_0190…"}
id (tup_<32 hex>, 32 hex or a UUID) becomes the tuple's id; without it the
tuple gets a new one. created_by (usr_<32 hex>, 32 hex or a UUID) records who
granted it.

A tuple whose subject, relation and object are stored already is left as it
is, so importing a file twice adds nothing the second time, and a line that
repeats another is harmless. An id that another tuple holds is an error.

Lines are written in batches of --batch-size (blank lines do not count),
each batch one transaction. Every line of a batch is checked before the
batch is written. After each commit one line goes to standard output, with
the batch's tuples (its lines less repeats) and the revision that holds
them, or "all stored already" when the batch changed nothing:
  committed lines 1-10000: 9998 tuples, revision 7
Once it is printed, those tuples are durably stored. A bad line stops the
import (FILE:LINE: problem): the batches before it stay committed, nothing of
its own batch is written, and importing the corrected file again carries on
where it stopped. The same holds after a crash or ^C: only whole batches are
ever stored.

Exit 0 once every line is imported, 2 on bad usage or a bad line (including
an id another tuple holds), 3 if the database fails or cannot be reached.
`

// Batch sizes: lines per transaction.
const (
	defaultBatchSize = 10000
	maxBatchSize     = 100000
)

func runImport(ctx context.Context, sio stdio, args []string) int {
	fs := newFlagSet("import", importSynopsis, importDescription, sio.err)
	dbURL := databaseFlag(fs)
	size := fs.Int("batch-size", defaultBatchSize, fmt.Sprintf("lines per transaction, `N` in 1..%d", maxBatchSize))
	cl, err := parseArgs(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	switch {
	case len(cl.args) != 1:
		return usageError(sio.err, "import", "want one FILE argument (- for standard input), got %d", len(cl.args))
	case *size < 1 || *size > maxBatchSize:
		return usageError(sio.err, "import", "--batch-size %d is outside 1..%d", *size, maxBatchSize)
	}
	name, in := cl.args[0], sio.in
	if name == "-" {
		name = "<stdin>"
	} else {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(sio.err, "flametrench import: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		in = f
	}
	db, code := openDB(ctx, sio, "import", *dbURL, true)
	if db == nil {
		return code
	}
	defer db.Close()
	im := &importer{db: db, name: name, size: *size, out: sio.out, err: sio.err}
	return im.run(ctx, in)
}

// importer writes a JSON-lines stream to the database batch by batch.
type importer struct {
	db       *postgres.DB
	name     string // the input's name in messages
	size     int    // lines per batch
	out, err io.Writer

	// Committed so far:
	through int // the last line of the last committed batch
	batches int
	tuples  int // tuples written: lines less those repeating a key in their batch
	idle    int // batches that changed nothing: all their tuples were stored already
}

// batch is the lines of one transaction, decoded and checked.
type batch struct {
	first, last int // the lines it spans; 0 before its first line
	lines       int // tuple lines read (blank lines do not count)
	changes     []tuples.Change
	lineOf      []int // the line each change comes from
	keys        map[tuples.Key]struct{}
	ids         idLines
}

func (b *batch) reset() {
	b.first, b.last, b.lines = 0, 0, 0
	b.changes, b.lineOf = b.changes[:0], b.lineOf[:0]
	clear(b.keys)
	clear(b.ids)
}

// add decodes line n into the batch. Within a batch the first line of a key
// wins, as touch would have it across batches; one change per key is also
// what the store requires.
func (b *batch) add(line []byte, n int) error {
	if b.first == 0 {
		b.first = n
	}
	t, err := decodeTuple(line)
	if err != nil {
		return err
	}
	if _, err := b.ids.see(t, n); err != nil {
		return err
	}
	b.lines++
	b.last = n
	if _, dup := b.keys[t.Key]; dup {
		return nil
	}
	b.keys[t.Key] = struct{}{}
	b.changes = append(b.changes, tuples.Change{Op: tuples.OpTouch, Key: t.Key, ID: t.ID, CreatedBy: t.CreatedBy})
	b.lineOf = append(b.lineOf, n)
	return nil
}

// lineError is a problem at one input line. It stops the import before the
// batch holding that line is written.
type lineError struct {
	line int
	err  error
	read bool // reading failed, rather than the line being bad
}

// fill reads lines into b until it holds size lines or the input ends (eof).
func (im *importer) fill(lr *lineReader, b *batch) (eof bool, le *lineError) {
	fail := func(n int, err error, read bool) *lineError {
		if b.first == 0 {
			b.first = n
		}
		return &lineError{line: n, err: err, read: read}
	}
	for b.lines < im.size {
		line, tooLong, err := lr.next()
		switch {
		case errors.Is(err, io.EOF):
			return true, nil
		case err != nil:
			return false, fail(lr.line+1, err, true)
		case tooLong:
			return false, fail(lr.line, tooLongError(), false)
		case blank(line):
			continue
		}
		if err := b.add(line, lr.line); err != nil {
			return false, fail(lr.line, err, false)
		}
	}
	return false, nil
}

func (im *importer) run(ctx context.Context, in io.Reader) int {
	lr := newLineReader(in)
	b := &batch{keys: map[tuples.Key]struct{}{}, ids: idLines{}}
	for {
		eof, le := im.fill(lr, b)
		if le != nil {
			// FILE:LINE: problem, bare, as the offline loader prints it.
			fmt.Fprintf(im.err, "%s:%d: %v\n", im.name, le.line, le.err)
			im.stopped(fmt.Sprintf("nothing of the batch from line %d was written", b.first))
			if le.read {
				return exitFailed
			}
			return exitUsage
		}
		if b.lines > 0 {
			if status := im.write(ctx, b); status != exitOK {
				return status
			}
		}
		if eof {
			break
		}
		b.reset()
	}
	summary := fmt.Sprintf("imported %s: %s from lines 1-%d in %s", im.name, count(im.tuples, "tuple"), im.through, count(im.batches, "batch"))
	if im.batches == 0 {
		summary = fmt.Sprintf("imported %s: no tuples", im.name)
	}
	if im.idle > 0 {
		summary += fmt.Sprintf(" (%s stored already)", count(im.idle, "batch"))
	}
	if rev, _, err := im.db.Head(ctx); err == nil {
		summary += fmt.Sprintf(", revision %d", rev)
	}
	if _, err := fmt.Fprintln(im.out, summary); err != nil {
		fmt.Fprintf(im.err, "flametrench import: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// write commits b in one transaction and acknowledges it. It uses Update
// rather than DB.Write, which runs the same transaction, because Update also
// says whether the batch changed anything.
func (im *importer) write(ctx context.Context, b *batch) int {
	rev, err := im.db.Update(ctx, func(tx *postgres.Tx) error {
		_, err := tx.Write(ctx, b.changes)
		return err
	})
	if err != nil {
		return im.writeFailed(b, err)
	}
	im.through = b.last
	im.batches++
	im.tuples += len(b.changes)
	ack := fmt.Sprintf("committed lines %d-%d: %s, revision %d", b.first, b.last, count(len(b.changes), "tuple"), rev)
	if rev == 0 {
		im.idle++
		ack = fmt.Sprintf("committed lines %d-%d: %s, all stored already", b.first, b.last, count(len(b.changes), "tuple"))
	}
	if _, err := fmt.Fprintln(im.out, ack); err != nil {
		fmt.Fprintf(im.err, "flametrench import: cannot acknowledge lines %d-%d, which are committed: %v\n", b.first, b.last, err)
		im.stopped("")
		return exitFailed
	}
	return exitOK
}

// writeFailed reports a batch the database refused or lost.
func (im *importer) writeFailed(b *batch, err error) int {
	span := fmt.Sprintf("lines %d-%d", b.first, b.last)
	switch kind := tuples.KindOf(err); {
	case errors.Is(err, postgres.ErrCommitUnknown):
		fmt.Fprintf(im.err, "flametrench import: %s: %v\n", span, err)
		im.stopped(fmt.Sprintf("%s may or may not be committed (importing the file again is safe)", span))
		return exitFailed
	case kind == tuples.Invalid || kind == tuples.Conflict:
		// The data, not the database: an id that a stored tuple holds.
		// The store says which change failed; name its line.
		where := fmt.Sprintf("%s:%d-%d", im.name, b.first, b.last)
		var ce *tuples.ChangeError
		switch {
		case errors.As(err, &ce) && ce.Index < len(b.lineOf):
			where = fmt.Sprintf("%s:%d", im.name, b.lineOf[ce.Index])
		case len(b.changes) == 1:
			where = fmt.Sprintf("%s:%d", im.name, b.lineOf[0])
		}
		fmt.Fprintf(im.err, "%s: %v\n", where, err)
		im.stopped(fmt.Sprintf("nothing of %s was written", span))
		return exitUsage
	}
	fmt.Fprintf(im.err, "flametrench import: %s: %v\n", span, err)
	im.stopped(fmt.Sprintf("nothing of %s was written", span))
	return exitFailed
}

// stopped says, after the error itself, what an interrupted import left
// committed, and what happened to the batch in hand.
func (im *importer) stopped(batch string) {
	done := "nothing was committed"
	if im.batches > 0 {
		done = fmt.Sprintf("lines 1-%d are committed (%s, %s)", im.through, count(im.batches, "batch"), count(im.tuples, "tuple"))
	}
	if batch != "" {
		done += "; " + batch
	}
	fmt.Fprintf(im.err, "flametrench import: stopped: %s\n", done)
}

// count renders "1 tuple", "2 tuples", "3 batches".
func count(n int, noun string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case strings.HasSuffix(noun, "ch"):
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
