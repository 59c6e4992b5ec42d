// Package tuples holds the domain types every other package shares: Flametrench
// identifiers (docs/ids.md), authorization tuples (docs/authorization.md, ADR 0001),
// the storage contract (Store, Reader, Writer) and the one error taxonomy (Kind,
// Error) that the server maps once to HTTP statuses and Connect codes.
//
// It imports only the standard library and github.com/google/uuid, so every package
// can depend on it and no import cycle can form. Adapters (tuples/memory,
// tuples/postgres) implement Store and never import each other.
//
// Identifiers: entity ids travel as "{type}_{32 lowercase hex}" and are stored as
// UUIDs. Tuple subject and object ids are accepted in three forms — the wire form
// "{type}_{hex}" (whose prefix must equal the declared type, audit M9), 32 hex
// digits, or a hyphenated UUID — and held canonically as a UUID (SPEC-MAP A4).
// The Nil and Max UUIDs, and any version nibble outside 1..8, are rejected.
package tuples
