// Package memory is the identity module's in-memory store, the default when
// the service runs without a database. Nothing in it survives a restart.
//
// A transaction holds the store's one write lock from start to end and
// keeps an undo step per change, so readers never see half of a
// transaction and a failed one leaves nothing. Tuple writes are buffered and
// applied to the tuple store at commit, under the same lock; if that fails,
// the identity rows are rolled back too. A transaction may buffer several
// tuple writes, each of which commits on its own: the module only ever
// buffers one per transaction.
//
// It imports identity and tuples, never the PostgreSQL store.
package memory
