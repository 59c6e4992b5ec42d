package memory

import (
	"context"
	"errors"

	"github.com/flametrench/server/identity"
)

// Stubs until the MFA store lands.
var errTODO = errors.New("not implemented")

func (t *tx) Factor(context.Context, UUID) (identity.Factor, error) {
	return identity.Factor{}, errTODO
}
func (t *tx) FactorsOf(context.Context, UUID) ([]identity.Factor, error) { return nil, errTODO }
func (t *tx) PutFactor(context.Context, identity.Factor) error           { return errTODO }
func (t *tx) PutChallenge(context.Context, identity.Challenge) error     { return errTODO }
func (t *tx) TakeChallenge(context.Context, UUID) (identity.Challenge, error) {
	return identity.Challenge{}, errTODO
}
