// Command flametrench is the Flametrench authorization service and its
// offline tools, in one binary:
//
//	flametrench serve      serve the HTTP API (in-memory storage for now)
//	flametrench check      answer checks offline, from a rules file and a tuples file
//	flametrench expand     print the userset tree of OBJECT#RELATION offline
//	flametrench validate   load a validation file and run its assertions
//	flametrench version    print version and build information
//
// This is the composition root: the only package that imports the storage
// implementations. main calls run, which takes the arguments and standard
// streams as parameters, so every subcommand runs in-process in tests.
//
// # Flags and environment
//
// Each subcommand has its own flag set. Every flag has an environment twin,
// FLAMETRENCH_ and the flag name in upper snake case (--max-fan-out is
// FLAMETRENCH_MAX_FAN_OUT, --database-url FLAMETRENCH_DATABASE_URL); the
// command line wins over the environment, which wins over the default, and an
// empty variable counts as unset. --max-depth and --max-fan-out (ADR 0007's
// limits) exist on serve, check, expand and validate. Flags may come before
// or after the positional arguments.
//
// # Notation
//
// Checks and tuples on the command line and in validation files use Zanzibar
// notation, OBJECT#RELATION@SUBJECT, with TYPE:ID for object and subject:
// doc:0190f2a8-1b3c-7abc-8123-456789abcdef#viewer@usr:usr_0190f2a81b3c7abc8123000000000001.
// ID is any accepted id form (TYPE_<32 hex>, 32 hex digits, a hyphenated
// UUID). A check may name several relations, doc:ID#viewer,editor@usr:ID,
// and is allowed when any holds (ADR 0017). Subject usersets (usr:ID#member)
// are not part of the model and are refused.
//
// In validation files only, an ID may also be a name
// (^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$, not shaped like an id): TYPE:NAME
// stands for the version 5 UUID of "TYPE:NAME" in a fixed namespace, so
// names are stable across runs, and output shows them by name. A string
// shaped like an id but invalid (a wrong version nibble, say) is an error,
// never a name.
//
// # Exit status
//
//	0  success: every check line answered; the single check allowed; every
//	   assertion held; serve shut down gracefully
//	1  the single check was denied; some assertion failed
//	2  bad usage or invalid input (flags, files, notation, tuples, rules);
//	   nothing was evaluated. Bad lines of a checks file are not this: they
//	   get {"error":…} output lines.
//	3  an evaluation error (the single check or expand, e.g.
//	   evaluation_limit_exceeded), or a failure while running (I/O, serve)
package main
