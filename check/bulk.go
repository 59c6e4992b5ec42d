package check

import (
	"context"

	"github.com/flametrench/server/tuples"
)

// MaxBulk is the most checks one CheckBulk call answers.
const MaxBulk = 1000

// ErrTooManyChecks refuses a bulk check of more than MaxBulk items.
var ErrTooManyChecks = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.items", Msg: "a bulk check takes at most 1000 items"}

// CheckBulk answers every request against one snapshot, at revision
// atLeast or later (the requests' own AtLeast are ignored). Each item gets
// its result or its error, in order; the error returned is for the call as
// a whole (too many items, a stale snapshot, a canceled context). The
// revision read is returned too, and is each result's Revision.
func (e *Engine) CheckBulk(ctx context.Context, reqs []Request, atLeast uint64) ([]Result, []error, uint64, error) {
	if len(reqs) > MaxBulk {
		return nil, nil, 0, ErrTooManyChecks
	}
	g, err := e.snapshotAt(ctx, atLeast)
	if err != nil {
		return nil, nil, 0, err
	}
	rev := g.Revision()
	results := make([]Result, len(reqs))
	errs := make([]error, len(reqs))
	for i := range reqs {
		if err := ctx.Err(); err != nil {
			return nil, nil, 0, err
		}
		req := &reqs[i]
		if errs[i] = req.validate(); errs[i] == nil {
			results[i], errs[i] = e.check(ctx, g, req)
		}
		results[i].Revision = rev
		switch {
		case errs[i] != nil:
			e.m.outcome(outcomeError)
		case results[i].Allowed:
			e.m.outcome(outcomeAllowed)
		default:
			e.m.outcome(outcomeDenied)
		}
	}
	return results, errs, rev, nil
}
