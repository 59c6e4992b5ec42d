package tenancytest

import (
	"context"
	"errors"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/identity/password"
	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
)

// Stores is what a suite test runs against: empty identity and tenancy
// stores, the tenancy one built on the identity one, and the tuple store
// their transactions write to.
type Stores struct {
	Identity identity.Store
	Tenancy  tenancy.Store
	Tuples   tuples.Store
}

// Run runs the suite. newStores must return empty stores for each call.
func Run(t *testing.T, newStores func(t *testing.T) Stores) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"Fixtures", testFixtures},
		{"OrgLifecycle", testOrgLifecycle},
		{"Members", testMembers},
		{"SoleOwner", testSoleOwner},
		{"AdminRemove", testAdminRemove},
		{"Acting", testActing},
		{"TransferRefusals", testTransferRefusals},
		{"Ownerless", testOwnerless},
		{"LargeOrg", testLargeOrg},
		{"Invitations", testInvitations},
		{"InvitationCap", testInvitationCap},
		{"InvitationAuthority", testInvitationAuthority},
		{"AcceptToken", testAcceptToken},
		{"RevokeUser", testRevokeUser},
		{"ConcurrentAccept", testConcurrentAccept},
		{"ConcurrentTransfers", testConcurrentTransfers},
		{"RevokeUserRace", testRevokeUserRace},
		{"Duality", testDuality},
		{"NULRefused", testNULRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newEnv(t, newStores))
		})
	}
}

var ctx = context.Background()

var hasher = password.NewPool(password.PoolConfig{QueueTimeout: time.Minute})

// env is one test's services and stores, with a movable clock.
type env struct {
	svc    *tenancy.Service
	store  tenancy.Store
	ids    *identity.Service
	tuples tuples.Store
	skew   atomic.Int64

	newStores func(t *testing.T) Stores // for tests that need several worlds
}

// newEnv builds the services on fresh stores.
func newEnv(t *testing.T, newStores func(t *testing.T) Stores) *env {
	st := newStores(t)
	n := &env{tuples: st.Tuples, store: st.Tenancy, newStores: newStores}
	now := func() time.Time { return time.Now().Add(time.Duration(n.skew.Load())) }
	n.svc = tenancy.NewService(st.Tenancy, tenancy.Config{Now: now})
	n.ids = identity.NewService(st.Identity, identity.Config{Hasher: hasher, Now: now, OnRevokeUser: n.svc.RevokeUser})
	return n
}

func (e *env) advance(d time.Duration) { e.skew.Add(int64(d)) }

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func (e *env) user(t *testing.T) tenancy.UUID {
	t.Helper()
	return must[identity.User](t, "CreateUser")(e.ids.CreateUser(ctx, nil)).ID
}

// org creates an org owned by a new user and returns both.
func (e *env) org(t *testing.T) (tenancy.Org, tenancy.Membership) {
	t.Helper()
	o, m, err := e.svc.CreateOrg(ctx, e.user(t), tenancy.OrgInput{})
	if err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	return o, m
}

// relationsOn returns the relations the user has on the org, sorted.
func (e *env) relationsOn(t *testing.T, user, org tenancy.UUID) []string {
	t.Helper()
	var rels []string
	for _, tup := range e.subjectTuples(t, user) {
		if tup.Key.Object == (tuples.Ref{Type: "org", ID: org}) {
			rels = append(rels, tup.Key.Relation)
		}
	}
	sort.Strings(rels)
	return rels
}

// collect reads every page of a listing; page returns one page's items
// and the next cursor ("" after the last).
func collect[T any](tb testing.TB, what string, page func(cursor string) ([]T, string, error)) []T {
	tb.Helper()
	var all []T
	for cursor := ""; ; {
		items, next, err := page(cursor)
		if err != nil {
			tb.Fatalf("%s: %v", what, err)
		}
		all = append(all, items...)
		if next == "" {
			return all
		}
		cursor = next
	}
}

// orgsOf lists the ids of a user's orgs, reading pages of one.
func (e *env) orgsOf(tb testing.TB, user tenancy.UUID) []tenancy.UUID {
	orgs := collect(tb, "ListOrgsOf", func(cursor string) ([]tenancy.Org, string, error) {
		p, err := e.svc.ListOrgsOf(ctx, user, cursor, 1)
		return p.Items, p.Next, err
	})
	ids := make([]tenancy.UUID, len(orgs))
	for i, o := range orgs {
		ids[i] = o.ID
	}
	return ids
}

// tuplePages adapts a tuple listing to collect.
func tuplePages(list func(cursor string) (tuples.Page, error)) func(string) ([]tuples.Tuple, string, error) {
	return func(cursor string) ([]tuples.Tuple, string, error) {
		p, err := list(cursor)
		return p.Tuples, p.Next, err
	}
}

// subjectTuples returns every tuple whose subject is the user.
func (e *env) subjectTuples(tb testing.TB, user tenancy.UUID) []tuples.Tuple {
	tb.Helper()
	return collect(tb, "ListBySubject", tuplePages(func(cursor string) (tuples.Page, error) {
		return e.tuples.ListBySubject(ctx, tuples.Ref{Type: "usr", ID: user}, cursor, tuples.MaxLimit)
	}))
}
