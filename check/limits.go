package check

import "github.com/flametrench/server/tuples"

// Limits bound one evaluation (ADR 0007). Zero values mean the spec floors;
// MaxDepth may be at most 64.
type Limits struct {
	MaxDepth  int // recursion ceiling across computed_userset and tuple_to_userset hops
	MaxFanOut int // tuples enumerated by one tuple_to_userset step
	// MaxLookupSteps bounds the work of one LookupResources or LookupSubjects
	// call: (relation, object) frames visited plus tuples read. 0 means
	// DefaultMaxLookupSteps.
	MaxLookupSteps int
}

// Spec floors (ADR 0007): implementations must allow at least these.
const (
	DefaultMaxDepth  = 8
	DefaultMaxFanOut = 1024
	maxMaxDepth      = 64 // the evaluation stack is sized by MaxDepth
)

// DefaultMaxLookupSteps is the default Limits.MaxLookupSteps: a few
// milliseconds of walking, far more than a lookup over the SaaS benchmark's
// rules needs (docs/BENCHMARKS.md), and it caps what one request can cost.
const DefaultMaxLookupSteps = 1_000_000

func (l Limits) withDefaults() (Limits, error) {
	if l.MaxDepth < 0 || l.MaxDepth > maxMaxDepth {
		return l, tuples.Errorf(tuples.Invalid, "invalid_format.limits", "max depth %d is outside 1..%d", l.MaxDepth, maxMaxDepth)
	}
	if l.MaxFanOut < 0 {
		return l, tuples.Errorf(tuples.Invalid, "invalid_format.limits", "max fan-out %d is negative", l.MaxFanOut)
	}
	if l.MaxLookupSteps < 0 {
		return l, tuples.Errorf(tuples.Invalid, "invalid_format.limits", "max lookup steps %d is negative", l.MaxLookupSteps)
	}
	if l.MaxLookupSteps == 0 {
		l.MaxLookupSteps = DefaultMaxLookupSteps
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxFanOut == 0 {
		l.MaxFanOut = DefaultMaxFanOut
	}
	return l, nil
}
