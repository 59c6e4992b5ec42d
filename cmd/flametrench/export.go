package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"

	"github.com/flametrench/server/tuples"
)

const exportSynopsis = "--database-url URL [FILE]"

const exportDescription = `
Writes every tuple in the database to FILE (default: standard output), one
JSON line each, in the form import reads:
  {"id":"tup_0190…","subject_type":"usr","subject_id":"0190…","relation":"viewer",
   "object_type":"doc","object_id":"0190…","created_by":"usr_0190…"}
The tuples are those of one consistent snapshot, in id order (for the
UUIDv7 ids the server assigns, creation order). subject_id and object_id
are hyphenated UUIDs, as the REST API returns them; created_by is left out
when unset. Importing the output into an empty database reproduces the
tuples, ids included; importing it into the one it came from adds nothing.

FILE is written whole or not at all: the tuples go to a temporary file beside
it (mode 0600: tuples say who may do what), renamed over FILE once complete.
"-" is standard output. A summary goes to standard error.

Exit 0 on success, 2 on bad usage, 3 if the database fails or cannot be
reached, or FILE cannot be written.
`

func runExport(ctx context.Context, sio stdio, args []string) int {
	fs := newFlagSet("export", exportSynopsis, exportDescription, sio.err)
	dbURL := databaseFlag(fs)
	cl, err := parseArgs(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	if len(cl.args) > 1 {
		return usageError(sio.err, "export", "want at most one FILE argument, got %d", len(cl.args))
	}
	db, code := openDB(ctx, sio, "export", *dbURL, true)
	if db == nil {
		return code
	}
	defer db.Close()

	dest, name := sio.out, "standard output"
	var tmp *os.File
	if len(cl.args) == 1 && cl.args[0] != "-" {
		name = cl.args[0]
		tmp, err = os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
		if err != nil {
			fmt.Fprintf(sio.err, "flametrench export: %v\n", err)
			return exitFailed
		}
		defer os.Remove(tmp.Name()) // fails harmlessly once renamed
		defer tmp.Close()
		dest = tmp
	}

	var n int
	var rev uint64
	err = db.Stream(ctx, true, func(r, _ uint64, src iter.Seq2[tuples.Tuple, error]) error {
		rev = r
		var err error
		n, err = writeTuples(dest, src)
		return err
	})
	if err == nil && tmp != nil {
		err = commitFile(tmp, name)
	}
	if err != nil {
		fmt.Fprintf(sio.err, "flametrench export: %s\n", message(err))
		return exitFailed
	}
	fmt.Fprintf(sio.err, "flametrench export: %d tuples at revision %d to %s\n", n, rev, name)
	return exitOK
}

// writeTuples writes src to w as export lines and returns how many it wrote.
func writeTuples(w io.Writer, src iter.Seq2[tuples.Tuple, error]) (int, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	n := 0
	for t, err := range src {
		if err != nil {
			return n, err
		}
		if _, err := bw.Write(encodeTuple(t)); err != nil {
			return n, err
		}
		n++
	}
	return n, bw.Flush()
}

// commitFile makes tmp, complete, the file name: synced first, so that a
// crash after the rename cannot leave name empty or short.
func commitFile(tmp *os.File, name string) error {
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
