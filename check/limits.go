package check

// Limits bound one evaluation (ADR 0007). Zero values mean the spec floors.
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

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxDepth > maxMaxDepth {
		l.MaxDepth = maxMaxDepth
	}
	if l.MaxFanOut <= 0 {
		l.MaxFanOut = DefaultMaxFanOut
	}
	return l
}
