package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses, shared by every subcommand (doc.go documents them).
const (
	exitOK     = 0 // success; a single check allowed; every assertion held
	exitFalse  = 1 // a single check denied; some assertion failed
	exitUsage  = 2 // bad usage or invalid input; nothing was evaluated
	exitFailed = 3 // evaluation error, or a failure while running
)

// stdio is where a subcommand reads and writes, so that tests can run it in-process.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, io stdio, args []string) int
}

// commands lists the subcommands in the order usage shows them.
var commands = []command{
	{"serve", "serve the HTTP API, from memory or over PostgreSQL", runServe},
	{"check", "answer checks offline, from a rules file and a tuples file", runCheck},
	{"expand", "print the userset tree of OBJECT#RELATION offline", runExpand},
	{"validate", "load a validation file and run its assertions", runValidate},
	{"migrate", "apply the PostgreSQL schema migrations", runMigrate},
	{"import", "import tuples from JSON lines into PostgreSQL, in batches", runImport},
	{"export", "write every tuple in PostgreSQL as JSON lines", runExport},
	{"version", "print version and build information", runVersion},
}

func main() {
	// serve installs its own SIGINT/SIGTERM handling; the offline commands keep
	// the default, so that ^C ends a check reading standard input at once.
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program minus the process: it dispatches args to a
// subcommand and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	sio := stdio{in: stdin, out: stdout, err: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, "flametrench: missing command\n\n")
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[0] == "help" {
			if c, ok := lookup(args[1]); ok {
				sio.err = stdout // "help CMD" is a request for help, not an error
				return c.run(ctx, sio, []string{"-h"})
			}
			fmt.Fprintf(stderr, "flametrench: unknown command %q\n\n", args[1])
			usage(stderr)
			return exitUsage
		}
		usage(stdout)
		return exitOK
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "flametrench: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return c.run(ctx, sio, args[1:])
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("Flametrench is a Zanzibar-style authorization service.\n\n")
	b.WriteString("usage: flametrench COMMAND [flags] [arguments]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString("  help      print this text, or a command's own (flametrench help COMMAND)\n")
	b.WriteString(`
Every flag can also be set from the environment: --max-fan-out is
FLAMETRENCH_MAX_FAN_OUT. A flag on the command line wins over the environment,
which wins over the default; an empty variable counts as unset.

Exit status: 0 success (allowed, all assertions held); 1 denied, or some
assertion failed; 2 bad usage or invalid input; 3 evaluation error
(e.g. evaluation_limit_exceeded) or a failure while running.
`)
	io.WriteString(w, b.String())
}
