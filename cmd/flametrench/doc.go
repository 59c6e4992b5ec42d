// Command flametrench is the Flametrench authorization service and its
// offline tools, in one binary:
//
//	flametrench serve      serve the HTTP API (in-memory storage for now)
//	flametrench check      answer checks offline, from a rules file and a tuples file
//	flametrench expand     print the userset tree of OBJECT#RELATION offline
//	flametrench validate   load a validation file and run its assertions
//	flametrench migrate    apply the PostgreSQL schema migrations
//	flametrench import     import tuples from JSON lines into PostgreSQL, in batches
//	flametrench export     write every tuple in PostgreSQL as JSON lines
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
// # Tuples files, import and export
//
// A tuples file (check --tuples, expand --tuples, import) holds JSON lines
// shaped like the REST tuple body, subject_type, subject_id, relation,
// object_type and object_id, plus two optional fields: id, the tuple's id
// (tup_<32 hex>, 32 hex digits or a hyphenated UUID), and created_by, a user
// id in the same forms. A key listed twice is harmless: the first line wins,
// as touch semantics have it. One id names one key: a line giving a known id
// with another key is refused. The offline tools keep ids and created_by as
// the database would.
//
// export writes the lines import reads, at one consistent snapshot, in id
// order: id as tup_<hex> and created_by as usr_<hex> (the wire forms of
// those entities), and subject_id and object_id as hyphenated UUIDs. Every
// reader accepts all three id forms for any type (TYPE_<hex> when its
// prefix is the type), so either would read back; hyphenated is the form
// the REST API returns (DESIGN §3, SPEC-MAP A4), so an export line and an
// API response agree, and it says nothing the type does not. Importing an
// export into an empty database and exporting again gives the same bytes.
//
// migrate, import and export need --database-url (FLAMETRENCH_DATABASE_URL).
// import writes in batches of --batch-size lines (default 10000), each one
// transaction, and checks every line of a batch before writing it. After
// each commit it prints "committed lines A-B: …" on standard output, which
// means those tuples are durably stored; an import that stops, at a bad line
// or by a crash, leaves only whole batches, and importing the same file again
// adds only what is missing.
//
// # Exit status
//
//	0  success: every check line answered; the single check allowed; every
//	   assertion held; serve shut down gracefully
//	1  the single check was denied; some assertion failed
//	2  bad usage or invalid input (flags, files, notation, tuples, rules);
//	   nothing was evaluated. Bad lines of a checks file are not this: they
//	   get {"error":…} output lines. For import, a bad line (or an id that
//	   a stored tuple holds): the batches before its batch stay committed.
//	3  an evaluation error (the single check or expand, e.g.
//	   evaluation_limit_exceeded), or a failure while running (I/O, serve,
//	   a database that fails or cannot be reached)
package main
