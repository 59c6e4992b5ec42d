package memory_test

import (
	"testing"

	"github.com/flametrench/server/identity/identitytest"
	"github.com/flametrench/server/identity/memory"
	tuplesmemory "github.com/flametrench/server/tuples/memory"
)

func TestStoreSuite(t *testing.T) {
	identitytest.Run(t, func(t *testing.T) identitytest.Stores {
		g := tuplesmemory.New()
		return identitytest.Stores{Identity: memory.New(g), Tuples: g}
	})
}
