// Package check evaluates Flametrench check requests against a tuple graph.
//
// It imports tuples (domain types), rewrite (the rule AST) and cache; it never
// imports a storage adapter. The graph it reads is its own small interface,
// Graph, which tuples/memory snapshots implement; the engine takes one snapshot
// per request, so a check sees one revision from start to finish.
//
// Evaluation follows ADR 0007 exactly (SPEC-MAP RR-1..RR-6): a direct lookup
// first; then, if a rule exists for (object type, relation), its union in
// document order, each computed_userset and tuple_to_userset branch evaluated
// sequentially and the first allow or the first error ending the evaluation.
// A frame (relation, object) already on the evaluation stack denies that branch
// silently (a cycle). Expanding a rule at depth ≥ MaxDepth, or a tuple_to_userset
// step with more than MaxFanOut tuples, fails with ErrEvaluationLimit; limits are
// never a silent deny. The set form checks every relation directly first, then
// evaluates each relation in turn (ADR 0017).
//
// LookupResources and LookupSubjects list the objects a subject can reach and
// the subjects that can reach an object, consistent with Check: breadth-first
// walks over (relation, object) frames, each visited once (up from the
// subject through the rules read backwards, or down from the object as Expand
// goes), paged in ascending id order from a cursor. A lookup's answer is exact
// or it fails with ErrEvaluationLimit: a member reachable only beyond MaxDepth,
// a tuple_to_userset step wider than MaxFanOut, or more than MaxLookupSteps of
// work (docs/CONFORMANCE.md, Lookups).
//
// Results that needed rule evaluation are cached under a key that includes the
// graph revision, so a write never needs invalidation and a stale answer cannot
// be served. Errors and results whose evaluation met a cycle are never cached.
// Direct hits are never cached: the lookup is cheaper than the cache.
package check
