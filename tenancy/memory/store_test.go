package memory_test

import (
	"testing"

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
