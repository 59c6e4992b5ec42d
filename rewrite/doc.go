// Package rewrite parses and validates authorization rewrite rules into a small
// AST that the check engine evaluates.
//
// It implements the rule language of ADR 0007 (docs/authorization.md "Rewrite
// rules"): a rule, keyed on (object_type, relation), is a union of three
// primitives, This, ComputedUserset and TupleToUserset. Parse reads the ADR's
// YAML or JSON document form, with or without its "rewrite" wrapper and with
// the bare-primitive and bare-list shorthands, and also the flat form used by
// spec/conformance/fixtures/authorization/rewrite-rules (SPEC-MAP A40).
// MarshalJSON writes one canonical document form, which Parse reads back to
// an equal value.
//
// The package imports only tuples (name syntax and the error type) and
// go.yaml.in/yaml/v3, and does no I/O beyond ParseFile reading its one file.
// Every problem in a document is an *tuples.Error of Kind Invalid and code
// "invalid_format.rules" whose message starts with the line, column and path
// of the offending node. Parsing is bounded (MaxBytes, MaxRules, no YAML
// anchors, aliases or tags) because rule files are operator input.
//
// Rules may refer to themselves or form cycles; that is legal, and the engine
// cuts cycles per evaluation as ADR 0007 requires, so nothing here looks for
// them. A parsed *Rules is immutable and safe for concurrent use; a nil or
// empty one means v0.1 behavior (every relation is plain this).
package rewrite
