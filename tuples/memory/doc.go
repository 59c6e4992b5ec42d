// Package memory is the indexed in-memory tuple graph: the default store, and the
// replica that check reads when PostgreSQL is the source of truth.
//
// It imports only tuples. Identifiers are interned: type and relation names as
// symbols, (type, UUID) pairs as node ids, both in append-only tables that readers
// use without locks. Each node keeps two sorted edge lists — tuples where it is
// the subject, by (object, relation), and tuples where it is the object, by
// (relation, subject) — so a direct check is one binary search and the subjects
// of (object, relation) for tuple_to_userset are one contiguous run. A tuple id
// index finds tuples for deletion by id. No query scans the graph.
//
// Concurrency: every published Snapshot is immutable. Writers serialise on a
// mutex and build the next snapshot copy-on-write: node adjacency lives in a
// persistent chunked vector, so a batch copies the chunks and edge lists it
// touches, and nothing else, then publishes the new snapshot with one atomic
// store. Readers never lock and never wait; a reader holding an old snapshot
// keeps seeing exactly that revision. A batch applies all of its changes or none
// (an abandoned batch is simply never published).
//
// Change feed: every publish also records what it changed, in interned form,
// in a bounded history (Config.History changes; the newest revision always),
// which Changes reads (tuples.Watcher). Load and Reset, which replace content
// wholesale, are not listed: the feed starts again after them.
//
// Creation time is not stored: it is the millisecond timestamp of the tuple's
// UUIDv7 id.
package memory
