package tenancytest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
)

// Two or more simultaneous accepts of one invitation: exactly one wins,
// and exactly one membership comes of it.
func testConcurrentAccept(t *testing.T, e *env) {
	o, owner := e.org(t)
	inv := must[tenancy.Invitation](t, "CreateInvitation")(e.svc.CreateInvitation(ctx, tenancy.NewInvitation{
		OrgID: o.ID, Identifier: "race@example.com", Role: tenancy.Member, InvitedBy: owner.UserID, ExpiresAt: time.Now().Add(time.Hour)}))
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.svc.AcceptInvitation(ctx, inv.ID, tenancy.UUID{}, "")
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, tenancy.ErrInvitationNotPending):
			t.Errorf("a losing accept: %v, want ErrInvitationNotPending", err)
		}
	}
	members := must[tenancy.Page[tenancy.Membership]](t, "ListMembers")(e.svc.ListMembers(ctx, o.ID, tenancy.Active, "", 50))
	if wins != 1 || len(members.Items) != 2 {
		t.Fatalf("%d accepts won and the org has %d active members, want 1 and 2", wins, len(members.Items))
	}
}

// Simultaneous transfers, and simultaneous demotions of the two owners,
// never leave the org without exactly the owners one winner implies.
func testConcurrentTransfers(t *testing.T, e *env) {
	o, owner := e.org(t)
	var ms []tenancy.Membership
	for range 4 {
		ms = append(ms, must[tenancy.Membership](t, "AddMember")(e.svc.AddMember(ctx, o.ID, e.user(t), tenancy.Member, owner.UserID, tenancy.UUID{})))
	}
	// A watcher reads the org's owner tuples throughout: never two, never
	// none (MEM-7: no state with zero or two owners is observable).
	stop := make(chan struct{})
	watched := make(chan error, 1)
	go func() {
		var bad error
		for {
			select {
			case <-stop:
				watched <- bad
				return
			default:
			}
			p, err := e.tuples.ListByObject(ctx, tuples.Ref{Type: "org", ID: o.ID}, string(tenancy.Owner), "", 10)
			if err == nil && len(p.Tuples) != 1 && bad == nil {
				bad = fmt.Errorf("a reader saw %d owner tuples", len(p.Tuples))
			}
		}
	}()
	var wg sync.WaitGroup
	for _, to := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.svc.TransferOwnership(ctx, o.ID, owner.ID, to.ID, tenancy.UUID{}) // all but one must fail
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-watched; err != nil {
		t.Fatal(err)
	}
	owners := e.activeOwners(t, o.ID)
	if len(owners) != 1 || owners[0] == owner.UserID {
		t.Fatalf("after concurrent transfers the owners are %v, want exactly one new owner", owners)
	}
	e.checkDuality(t, o.ID)

	// Two owners demoting each other at once: one stays.
	p, po := e.org(t)
	second := must[tenancy.Membership](t, "AddMember(owner)")(e.svc.AddMember(ctx, p.ID, e.user(t), tenancy.Owner, po.UserID, tenancy.UUID{}))
	for range 5 {
		var ok [2]bool
		wg.Add(2)
		for i, m := range []tenancy.Membership{po, second} {
			go func() {
				defer wg.Done()
				_, err := e.svc.ChangeRole(ctx, m.ID, tenancy.Member, tenancy.UUID{})
				ok[i] = err == nil
			}()
		}
		wg.Wait()
		if ok[0] && ok[1] {
			t.Fatal("both owners were demoted")
		}
		if n := len(e.activeOwners(t, p.ID)); n != 1 {
			t.Fatalf("%d active owners after concurrent demotions, want 1", n)
		}
		// Restore two owners for the next round.
		owners := e.memberships(t, p.ID)
		po, second = tenancy.Membership{}, tenancy.Membership{}
		for _, m := range owners {
			if m.Role == tenancy.Owner {
				po = m
			} else {
				second = must[tenancy.Membership](t, "re-promote")(e.svc.ChangeRole(ctx, m.ID, tenancy.Owner, tenancy.UUID{}))
			}
		}
	}
	e.checkDuality(t, p.ID)
}

// memberships lists an org's active memberships.
func (e *env) memberships(t *testing.T, org tenancy.UUID) []tenancy.Membership {
	t.Helper()
	return collect(t, "ListMembers", func(cursor string) ([]tenancy.Membership, string, error) {
		p, err := e.svc.ListMembers(ctx, org, tenancy.Active, cursor, tuples.MaxLimit)
		return p.Items, p.Next, err
	})
}

func (e *env) activeOwners(t *testing.T, org tenancy.UUID) []tenancy.UUID {
	t.Helper()
	var out []tenancy.UUID
	for _, m := range e.memberships(t, org) {
		if m.Role == tenancy.Owner {
			out = append(out, m.UserID)
		}
	}
	return out
}

// checkDuality holds an org to the module's two invariants: its membership
// tuples are exactly those of its active memberships while it is active
// (none otherwise), and if it has an active member it has an active owner.
func (e *env) checkDuality(t *testing.T, org tenancy.UUID) {
	t.Helper()
	o := must[tenancy.Org](t, "GetOrg")(e.svc.GetOrg(ctx, org))
	want := map[string]bool{}
	owners := 0
	members := e.memberships(t, org)
	for _, m := range members {
		if o.Status == tenancy.Active {
			want[fmt.Sprint(m.UserID, "#", m.Role)] = true
		}
		if m.Role == tenancy.Owner {
			owners++
		}
	}
	got := map[string]bool{}
	for _, tup := range collect(t, "ListByObject", tuplePages(func(cursor string) (tuples.Page, error) {
		return e.tuples.ListByObject(ctx, tuples.Ref{Type: "org", ID: org}, "", cursor, tuples.MaxLimit)
	})) {
		if tup.Key.Subject.Type == "usr" && tenancy.Role(tup.Key.Relation).Valid() {
			got[fmt.Sprint(tup.Key.Subject.ID, "#", tup.Key.Relation)] = true
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("org %s (%s): membership tuples %v, want %v", tuples.FormatID("org", org), o.Status, got, want)
	}
	if len(members) > 0 && owners == 0 {
		t.Fatalf("org %s has %d active members and no active owner", tuples.FormatID("org", org), len(members))
	}
}

// A user's revocation racing changes to their memberships never leaves a
// revoked user an active membership or a tuple.
func testRevokeUserRace(t *testing.T, e *env) {
	o, owner := e.org(t)
	for round := range 5 {
		u := e.user(t)
		m := must[tenancy.Membership](t, "AddMember")(e.svc.AddMember(ctx, o.ID, u, tenancy.Member, owner.UserID, tenancy.UUID{}))
		m = must[tenancy.Membership](t, "SuspendMembership")(e.svc.SuspendMembership(ctx, m.ID, tenancy.UUID{}))
		var wg sync.WaitGroup
		wg.Add(3)
		go func() { defer wg.Done(); e.ids.RevokeUser(ctx, u) }()
		go func() { defer wg.Done(); e.svc.ReinstateMembership(ctx, m.ID, tenancy.UUID{}) }()
		go func() { defer wg.Done(); e.svc.ChangeRole(ctx, m.ID, tenancy.Guest, tenancy.UUID{}) }()
		wg.Wait()
		for _, mm := range e.memberships(t, o.ID) {
			if mm.UserID == u {
				t.Fatalf("round %d: the revoked user keeps active membership %+v", round, mm)
			}
		}
		if got := e.relationsOn(t, u, o.ID); len(got) != 0 {
			t.Fatalf("round %d: the revoked user keeps %v", round, got)
		}
		e.checkDuality(t, o.ID)
	}
}
