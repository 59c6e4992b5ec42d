// Package cache is a small, generic, fixed-size cache over Ristretto v2 that
// never returns the value of a different key.
//
// It imports only Ristretto, the Prometheus client and the standard library,
// never a domain package, so it cannot grow business logic: callers such as
// check own their key types and decide what is worth caching.
//
// # Collision safety
//
// Ristretto identifies entries by a 64-bit hash and, for non-string keys,
// cannot detect two keys that hash alike. In an authorization engine that
// would turn a hash collision into a wrong answer. So each Cache hashes its
// key with hash/maphash and a random per-cache seed (callers cannot aim for
// a collision), gives Ristretto that hash as its key with a KeyToHash that
// does not hash again, and stores the full key beside the value. Get reports
// a hit only when the stored key == the requested key; anything else is
// counted as a miss. A collision therefore costs a miss, never a wrong value.
//
// Keys must be comparable and should be pointer-free values such as structs
// of integers (for example {rev uint64; subj, rel, obj uint32}): pointers
// are hashed and compared by address, not by what they point to, and make K
// escape to the heap, so Get would allocate.
//
// # Lossy writes
//
// The cache is an optimization only. Set is asynchronous and may be dropped
// (its buffer is full, or TinyLFU admission prefers the entries already
// held), so a Get right after Set may miss. Tests must call Wait between Set
// and Get. Each entry costs 1, so Config.MaxCost is the maximum number of
// entries. Ristretto allocates its admission counters up front: the default
// Config (2^20 entries, 10 counters per entry) takes about 48 MiB before any
// entry is stored.
//
// # Concurrency and metrics
//
// All methods are safe for concurrent use except Close, which must run after
// every other call has returned. A nil *Cache (what New returns when
// Config.Disabled is set) is valid and always misses.
//
// Metrics are registered on the Registerer passed to New, never on the
// global registry: flametrench_cache_hits_total,
// flametrench_cache_misses_total and flametrench_cache_sets_dropped_total,
// each with the constant label cache=<name>. Get only increments striped
// atomics; Prometheus reads them at scrape time. Ristretto's own Metrics
// stay off: they slow every Get, and they would count a collision as a hit.
package cache
