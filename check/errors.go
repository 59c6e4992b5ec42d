package check

import "github.com/flametrench/server/tuples"

// Sentinels of the engine.
var (
	// ErrEvaluationLimit is EvaluationLimitExceededError: the depth or fan-out cap
	// was exceeded. The message says where ("depth=8 at proj.viewer").
	ErrEvaluationLimit = &tuples.Error{Kind: tuples.LimitExceeded, Code: "evaluation_limit_exceeded", Msg: "evaluation limit exceeded"}
	// ErrRelationForm reports a request with both or neither of relation and
	// relations (SPEC-MAP A7).
	ErrRelationForm = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.relation", Msg: "exactly one of relation or relations is required"}
	// ErrTooManyRelations bounds a check's work: a set form names at most
	// MaxRelations relations.
	ErrTooManyRelations = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.relations", Msg: "a check names at most 32 relations"}
)

// MaxRelations is the most relations the set form of a check may name.
const MaxRelations = 32
