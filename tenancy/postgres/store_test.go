package postgres_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/flametrench/server/identity"
	identitymemory "github.com/flametrench/server/identity/memory"
	identitypg "github.com/flametrench/server/identity/postgres"
	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tenancy/postgres"
	"github.com/flametrench/server/tenancy/tenancytest"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
	tpg "github.com/flametrench/server/tuples/postgres"
	"github.com/flametrench/server/tuples/postgres/pgtest"
)

var ctx = context.Background()

// newStores builds the stores as serve does: tuples, identity and tenancy
// migrations in a schema of the test's own, transactions through a
// Follower, so tuple writes also reach a local graph.
func newStores(t *testing.T) tenancytest.Stores {
	db, _ := pgtest.DB(t, tpg.Config{})
	if _, err := db.Migrate(ctx, tpg.Migrations, identitypg.Migrations, postgres.Migrations); err != nil {
		t.Fatal(err)
	}
	f := tpg.NewFollower(db, memory.New(), tpg.FollowerConfig{})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); f.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	ids := identitypg.New(f)
	return tenancytest.Stores{Identity: ids, Tenancy: postgres.New(ids), Tuples: f}
}

// TestStoreSuite runs the tenancy suite on PostgreSQL.
func TestStoreSuite(t *testing.T) {
	tenancytest.Run(t, newStores)
}

// TestJoinNeedsPostgres: an identity transaction of another backend is a
// wiring mistake, reported as such.
func TestJoinNeedsPostgres(t *testing.T) {
	t.Parallel()
	ids := identitymemory.New(memory.New())
	s := postgres.New(ids)
	_, err := s.Update(ctx, func(tenancy.Tx) error { t.Fatal("fn ran"); return nil })
	if tuples.KindOf(err) != tuples.Internal {
		t.Fatalf("Update over a memory identity store = %v, want an internal error", err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestRows: every field round-trips (UTC, microseconds, zero ids as NULL),
// the unique indexes map to the module's errors, and a View cannot write.
func TestRows(t *testing.T) {
	t.Parallel()
	st := newStores(t)
	s := st.Tenancy
	// A non-UTC zone on the way in: rows read back in UTC, the same instant.
	now := time.Now().In(time.FixedZone("x", 3600)).Truncate(time.Microsecond)
	u1, u2 := tuples.NewUUID(), tuples.NewUUID()
	o := tenancy.Org{ID: tuples.NewUUID(), Name: ptr("Acme"), Slug: ptr("acme"), Status: tenancy.Active, CreatedAt: now, UpdatedAt: now}
	bare := tenancy.Org{ID: tuples.NewUUID(), Status: tenancy.Suspended, CreatedAt: now, UpdatedAt: now.Add(time.Second)}
	m1 := tenancy.Membership{ID: tuples.NewUUID(), UserID: u1, OrgID: o.ID, Role: tenancy.Owner, Status: tenancy.Active, CreatedAt: now, UpdatedAt: now}
	m2 := tenancy.Membership{ID: tuples.NewUUID(), UserID: u2, OrgID: o.ID, Role: tenancy.Guest, Status: tenancy.Revoked,
		Replaces: m1.ID, InvitedBy: u1, RemovedBy: u1, CreatedAt: now, UpdatedAt: now}
	inv := tenancy.Invitation{ID: tuples.NewUUID(), OrgID: o.ID, Identifier: "a@example.com", Role: tenancy.Member,
		Status: tenancy.InvitationPending, PreTuples: []tenancy.PreTuple{{Relation: "viewer", ObjectType: "doc", ObjectID: tuples.NewUUID()}},
		InvitedBy: u1, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	_, inv.AcceptTokenHash = tenancy.NewAcceptToken() // and lapsed and done have none: NULL
	done := tenancy.Invitation{ID: tuples.NewUUID(), OrgID: o.ID, Identifier: "b@example.com", Role: tenancy.Guest,
		Status: tenancy.InvitationAccepted, PreTuples: []tenancy.PreTuple{}, InvitedBy: u1, InvitedUserID: u2,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), TerminalAt: ptr(now.Add(time.Minute)), TerminalBy: u2}
	lapsed := tenancy.Invitation{ID: tuples.NewUUID(), OrgID: o.ID, Identifier: "c@example.com", Role: tenancy.Guest,
		Status: tenancy.InvitationPending, PreTuples: []tenancy.PreTuple{}, InvitedBy: u1, CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Second)}

	_, err := s.Update(ctx, func(tx tenancy.Tx) error {
		for _, u := range []tenancy.UUID{u1, u2} {
			if err := tx.Identity().PutUser(ctx, identity.User{ID: u, Status: identity.Active, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		for _, err := range []error{tx.PutOrg(ctx, o), tx.PutOrg(ctx, bare), tx.PutMembership(ctx, m1), tx.PutMembership(ctx, m2),
			tx.PutInvitation(ctx, inv), tx.PutInvitation(ctx, done), tx.PutInvitation(ctx, lapsed)} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}

	utc := func(v any) any {
		switch v := v.(type) {
		case tenancy.Org:
			v.CreatedAt, v.UpdatedAt = v.CreatedAt.UTC(), v.UpdatedAt.UTC()
			return v
		case tenancy.Membership:
			v.CreatedAt, v.UpdatedAt = v.CreatedAt.UTC(), v.UpdatedAt.UTC()
			return v
		case tenancy.Invitation:
			v.CreatedAt, v.ExpiresAt = v.CreatedAt.UTC(), v.ExpiresAt.UTC()
			if v.TerminalAt != nil {
				v.TerminalAt = ptr(v.TerminalAt.UTC())
			}
			return v
		}
		panic(v)
	}
	same := func(what string, got, want any) {
		t.Helper()
		if want = utc(want); !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %+v, want %+v", what, got, want)
		}
	}
	err = s.View(ctx, func(tx tenancy.Tx) error {
		for _, want := range []tenancy.Org{o, bare} {
			got, err := tx.Org(ctx, want.ID)
			if err != nil {
				return err
			}
			same("Org", got, want)
		}
		for _, want := range []tenancy.Membership{m1, m2} {
			got, err := tx.Membership(ctx, want.ID)
			if err != nil {
				return err
			}
			same("Membership", got, want)
		}
		for _, want := range []tenancy.Invitation{inv, done, lapsed} {
			got, err := tx.Invitation(ctx, want.ID)
			if err != nil {
				return err
			}
			same("Invitation", got, want)
		}
		if got, err := tx.ActiveMembership(ctx, o.ID, u1); err != nil || got.ID != m1.ID {
			t.Errorf("ActiveMembership(u1) = %v, %v, want %v", got.ID, err, m1.ID)
		}
		if _, err := tx.ActiveMembership(ctx, o.ID, u2); !errors.Is(err, tenancy.ErrMembershipNotFound) {
			t.Errorf("ActiveMembership(u2, revoked) err = %v", err)
		}
		if ms, err := tx.MembershipsOf(ctx, u2); err != nil || len(ms) != 0 {
			t.Errorf("MembershipsOf(u2) = %v, %v, want none (revoked)", ms, err)
		}
		if ms, err := tx.Memberships(ctx, tenancy.MembershipQuery{Org: o.ID, Limit: 10, Status: tenancy.Revoked}); err != nil || len(ms) != 1 || ms[0].ID != m2.ID {
			t.Errorf("Memberships(revoked) = %v, %v", ms, err)
		}
		for status, want := range map[tenancy.InvitationStatus][]tenancy.UUID{
			"": {inv.ID, done.ID, lapsed.ID}, tenancy.InvitationPending: {inv.ID},
			tenancy.InvitationExpired: {lapsed.ID}, tenancy.InvitationAccepted: {done.ID}, tenancy.InvitationDeclined: nil,
		} {
			got, err := tx.Invitations(ctx, tenancy.InvitationQuery{Org: o.ID, Limit: 10, Status: status, Now: now})
			if err != nil {
				return err
			}
			var ids []tenancy.UUID
			for _, i := range got {
				ids = append(ids, i.ID)
			}
			if !reflect.DeepEqual(ids, want) {
				t.Errorf("Invitations(%q) = %v, want %v", status, ids, want)
			}
		}
		if got, err := tx.Invitations(ctx, tenancy.InvitationQuery{Org: o.ID, After: inv.ID, Limit: 1}); err != nil || len(got) != 1 || got[0].ID != done.ID {
			t.Errorf("Invitations(after, limit 1) = %v, %v", got, err)
		}
		for name, err := range map[string]error{"PutOrg": tx.PutOrg(ctx, o), "PutMembership": tx.PutMembership(ctx, m1),
			"PutInvitation": tx.PutInvitation(ctx, inv)} {
			if tuples.KindOf(err) != tuples.Internal {
				t.Errorf("%s in a View = %v, want refused", name, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}

	// The partial unique indexes, reached without the service's checks.
	put := func(fn func(tx tenancy.Tx) error) error { _, err := s.Update(ctx, fn); return err }
	taken := tenancy.Org{ID: tuples.NewUUID(), Slug: ptr("acme"), Status: tenancy.Active, CreatedAt: now, UpdatedAt: now}
	if err := put(func(tx tenancy.Tx) error { return tx.PutOrg(ctx, taken) }); !errors.Is(err, tenancy.ErrSlugTaken) {
		t.Errorf("a second org with a live slug: %v, want ErrSlugTaken", err)
	}
	taken.Status = tenancy.Revoked
	if err := put(func(tx tenancy.Tx) error { return tx.PutOrg(ctx, taken) }); err != nil {
		t.Errorf("a revoked org with a taken slug: %v", err)
	}
	dup := m1
	dup.ID = tuples.NewUUID()
	if err := put(func(tx tenancy.Tx) error { return tx.PutMembership(ctx, dup) }); !errors.Is(err, tenancy.ErrDuplicateMembership) {
		t.Errorf("a second active membership: %v, want ErrDuplicateMembership", err)
	}
	// Not found.
	err = s.View(ctx, func(tx tenancy.Tx) error {
		id := tuples.NewUUID()
		_, e1 := tx.Org(ctx, id)
		_, e2 := tx.Membership(ctx, id)
		_, e3 := tx.Invitation(ctx, id)
		if !errors.Is(e1, tenancy.ErrOrgNotFound) || !errors.Is(e2, tenancy.ErrMembershipNotFound) || !errors.Is(e3, tenancy.ErrInvitationNotFound) {
			t.Errorf("unknown ids: %v, %v, %v", e1, e2, e3)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
