package check

import "github.com/flametrench/server/tuples"

// Limits bound one evaluation (ADR 0007). Zero values mean the spec floors;
// MaxDepth may be at most 64.
type Limits struct {
	MaxDepth  int // recursion ceiling across computed_userset and tuple_to_userset hops
	MaxFanOut int // tuples enumerated by one tuple_to_userset step
}

// Spec floors (ADR 0007): implementations must allow at least these.
const (
	DefaultMaxDepth  = 8
	DefaultMaxFanOut = 1024
	maxMaxDepth      = 64 // the evaluation stack is sized by MaxDepth
)

func (l Limits) withDefaults() (Limits, error) {
	if l.MaxDepth < 0 || l.MaxDepth > maxMaxDepth {
		return l, tuples.Errorf(tuples.Invalid, "invalid_format.limits", "max depth %d is outside 1..%d", l.MaxDepth, maxMaxDepth)
	}
	if l.MaxFanOut < 0 {
		return l, tuples.Errorf(tuples.Invalid, "invalid_format.limits", "max fan-out %d is negative", l.MaxFanOut)
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxFanOut == 0 {
		l.MaxFanOut = DefaultMaxFanOut
	}
	return l, nil
}
