package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/flametrench/server/check"
)

// maxMaxDepth mirrors the engine's ceiling in check/limits.go (which clamps
// silently); here a value above it is a usage error instead.
const maxMaxDepth = 64

// newFlagSet returns the flag set of one subcommand. Its usage text is
// synopsis, description, the flags, and the environment rule.
func newFlagSet(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("flametrench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: %s\n\n%s\n", strings.TrimSpace("flametrench "+name+" "+synopsis), strings.TrimSpace(description))
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n == 0 {
			return
		}
		fmt.Fprint(w, "\nflags (each also read from FLAMETRENCH_<NAME>, e.g. --max-depth from FLAMETRENCH_MAX_DEPTH):\n")
		fs.PrintDefaults()
	}
	return fs
}

// envName is the environment twin of a flag: "max-fan-out" → "FLAMETRENCH_MAX_FAN_OUT".
func envName(flagName string) string {
	return "FLAMETRENCH_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// cmdline is a parsed command line.
type cmdline struct {
	args    []string        // positional arguments, in order
	onCmdln map[string]bool // flags given on the command line (not from the environment)
}

// parseArgs parses args into fs and then fills every flag not given on the
// command line from its environment twin, if that is set and not empty: flag
// beats environment beats default, for every subcommand alike. Flags may
// follow positional arguments ("check DOC#viewer@USR --tuples t.jsonl"); "--"
// ends the flags. The error is flag.ErrHelp for -h, otherwise a usage error
// that has been reported on fs's output already.
func parseArgs(fs *flag.FlagSet, args []string) (cmdline, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return cmdline{}, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	cl := cmdline{args: pos, onCmdln: make(map[string]bool)}
	fs.Visit(func(f *flag.Flag) { cl.onCmdln[f.Name] = true })
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if envErr != nil || cl.onCmdln[f.Name] {
			return
		}
		v, ok := os.LookupEnv(envName(f.Name))
		if !ok || v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			envErr = fmt.Errorf("%s=%q: invalid value for --%s: %v", envName(f.Name), v, f.Name, err)
		}
	})
	if envErr != nil {
		fmt.Fprintf(fs.Output(), "%s: %v\n", fs.Name(), envErr)
		return cmdline{}, envErr
	}
	return cl, nil
}

// parseStatus turns a parseArgs error into an exit status: -h is a success.
func parseStatus(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// usageError reports a usage problem the flag package cannot see.
func usageError(w io.Writer, cmd, format string, args ...any) int {
	fmt.Fprintf(w, "flametrench %s: %s\nRun 'flametrench %s -h' for usage.\n", cmd, fmt.Sprintf(format, args...), cmd)
	return exitUsage
}

// limitFlags are --max-depth and --max-fan-out, shared by serve, check,
// expand and validate.
type limitFlags struct {
	depth, fanOut int
}

func (l *limitFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&l.depth, "max-depth", check.DefaultMaxDepth, fmt.Sprintf("most rule hops one check may take, `N` in 1..%d (ADR 0007)", maxMaxDepth))
	fs.IntVar(&l.fanOut, "max-fan-out", check.DefaultMaxFanOut, "most tuples one tuple_to_userset step may enumerate, `N` ≥ 1 (ADR 0007)")
}

// limits validates the flags. The engine would quietly replace a zero or
// out-of-range value; an operator who typed one deserves to be told.
func (l *limitFlags) limits() (check.Limits, error) {
	if l.depth < 1 || l.depth > maxMaxDepth {
		return check.Limits{}, fmt.Errorf("--max-depth %d is outside 1..%d", l.depth, maxMaxDepth)
	}
	if l.fanOut < 1 {
		return check.Limits{}, fmt.Errorf("--max-fan-out %d must be at least 1", l.fanOut)
	}
	return check.Limits{MaxDepth: l.depth, MaxFanOut: l.fanOut}, nil
}

// rulesFlag registers --rules, which serve, check and expand share.
func rulesFlag(fs *flag.FlagSet) *string {
	return fs.String("rules", "", "rule document `FILE`, YAML or JSON (ADR 0007); none: direct tuples only")
}

// databaseURLFlag registers --database-url, which serve, migrate, import and
// export share.
func databaseURLFlag(fs *flag.FlagSet) *string {
	return fs.String("database-url", "", "PostgreSQL `URL` (postgres://user:pass@host:port/db?sslmode=...)")
}
