// Package tuplestest is the one behavioural test suite every tuples.Store
// implementation runs (tuples/memory, tuples/postgres), so that all stores behave
// identically at the boundary. It imports only tuples and the testing package.
package tuplestest
