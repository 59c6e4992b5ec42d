// Package password hashes and verifies passwords (and other low-entropy
// secrets the identity module stores, such as PAT secrets and recovery codes)
// with Argon2id, encoded as PHC strings, and runs that work on a bounded pool.
//
// It is pure: it imports golang.org/x/crypto/argon2, the Prometheus client
// (for the pool's metrics), the standard library and tuples (for the error
// type), and does no I/O.
//
// # Spec rules
//
// CRED-3 (docs/identity.md "Hashing requirements", security.md): Argon2id only,
// PHC-encoded as $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<tag> in
// unpadded standard base64, with parameters at or above m=19456, t=2, p=1
// (Floor, which also pins the 16-byte salt and 32-byte tag every reference SDK
// writes). Hash refuses weaker parameters and Verify refuses weaker stored
// hashes, so a non-conformant hash is an error, never a quiet "false". The tag
// is compared in constant time. CRED-4 / ADR 0006: there is no verifier for
// any other algorithm and no hook to add one; $argon2i$ and $argon2d$ hashes
// are malformed here.
//
// # Hostile hashes
//
// A stored hash names its own cost. ParsePHC therefore also caps it (Max:
// 256 MiB, 10 passes, 16 lanes, 64-byte salt and tag), so a planted or
// corrupted hash cannot make one Verify allocate gigabytes or run for
// minutes. ParsePHC is strict and canonical (parameters in the order m,t,p;
// decimal without leading zeros; base64 without padding, line breaks or
// non-zero trailing bits), so every accepted string is exactly what Hash
// would have written for those inputs, and all checks run before any hashing.
//
// # Bounded work
//
// Each Argon2id computation holds Params.Memory KiB (19 MiB at the floor) for
// tens of milliseconds. A Pool lets at most Workers of them run at once, so a
// flood of sign-ins costs bounded memory and ends in ErrBusy (503) after
// QueueTimeout instead of an out-of-memory kill (DESIGN §4). Pool.DummyVerify
// spends one verify's worth of work on paths that have no hash to check (a
// missing PAT row, audit finding H2 / PAT-3), so response time does not reveal
// whether the row exists. All Pool methods are safe for concurrent use.
//
// Metrics, registered on PoolConfig.Registerer when it is set:
// flametrench_argon2_queue_depth (callers waiting for a worker),
// flametrench_argon2_wait_seconds (time from asking for a worker to getting
// one, being refused or giving up), flametrench_argon2_busy_total (ErrBusy
// answers) and flametrench_argon2_hashes_total{op="hash|verify|dummy"}
// (Argon2id computations run).
package password
