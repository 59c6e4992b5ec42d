// Package tenancytest is the store suite of the tenancy module: it runs
// tenancy.Service over a store and checks every rule, the spec's fixtures
// and the membership ⇄ tuple duality, so the memory and PostgreSQL stores
// behave the same at the service's boundary.
package tenancytest
