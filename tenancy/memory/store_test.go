package memory_test

import (
	"context"
	"testing"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"

	identitymemory "github.com/flametrench/server/identity/memory"
	"github.com/flametrench/server/tenancy/memory"
	"github.com/flametrench/server/tenancy/tenancytest"
	tuplesmemory "github.com/flametrench/server/tuples/memory"
)

func TestStoreSuite(t *testing.T) {
	tenancytest.Run(t, func(t *testing.T) tenancytest.Stores {
		g := tuplesmemory.New()
		ids := identitymemory.New(g)
		return tenancytest.Stores{Identity: ids, Tenancy: memory.New(ids), Tuples: g}
	})
}

// wrapped hides the memory identity transaction's OnRollback.
type wrapped struct{ identity.Tx }

// Joining an identity transaction that cannot undo the tenancy rows with
// its own is refused, not silently left non-atomic.
func TestJoinNeedsRollback(t *testing.T) {
	ids := identitymemory.New(tuplesmemory.New())
	s := memory.New(ids)
	_, err := ids.Update(context.Background(), func(itx identity.Tx) error {
		return s.Join(context.Background(), wrapped{itx}, func(tenancy.Tx) error { return nil })
	})
	if tuples.KindOf(err) != tuples.Internal {
		t.Fatalf("Join on a transaction without OnRollback: %v, want an internal error", err)
	}
}
