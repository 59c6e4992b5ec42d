package memory

import (
	"testing"

	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/tuplestest"
)

func TestStoreSuite(t *testing.T) {
	tuplestest.Run(t, func(t *testing.T) tuples.Store { return New() })
}
