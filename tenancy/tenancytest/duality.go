package tenancytest

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
)

// testDuality is the property test: after every step of a random sequence
// of tenancy operations, failing ones included,
//   - every org's membership tuples are exactly those its active
//     memberships imply while it is active, and none otherwise;
//   - no org with an active member lacks an active owner;
//   - the pre-tuples in the engine are exactly those of the accepted
//     invitations, less those of revoked users;
//   - a terminal invitation never changes again.
func testDuality(t *testing.T, e *env) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	w := &world{t: t, e: e, r: rand.New(rand.NewPCG(seed, 42)), ident: map[tenancy.UUID]string{},
		invs: map[tenancy.UUID]tenancy.Invitation{}, granted: map[string]bool{}}
	for range 6 {
		w.newUser()
	}
	for range 3 {
		w.objects = append(w.objects, tuples.NewUUID())
	}
	ops := []struct {
		name   string
		weight int
		run    func() error
	}{
		{"CreateOrg", 4, w.createOrg},
		{"UpdateOrg", 2, w.updateOrg},
		{"AddMember", 8, w.addMember},
		{"ChangeRole", 6, w.changeRole},
		{"SuspendMembership", 3, w.suspendMembership},
		{"ReinstateMembership", 3, w.reinstateMembership},
		{"SelfLeave", 4, w.selfLeave},
		{"AdminRemove", 4, w.adminRemove},
		{"TransferOwnership", 4, w.transfer},
		{"SuspendOrg", 1, func() error { _, err := e.svc.SuspendOrg(ctx, w.org()); return err }},
		{"ReinstateOrg", 2, func() error { _, err := e.svc.ReinstateOrg(ctx, w.anyOrg()); return err }},
		{"RevokeOrg", 2, w.revokeOrg},
		{"CreateInvitation", 8, w.createInvitation},
		{"AcceptInvitation", 8, w.acceptInvitation},
		{"DeclineInvitation", 2, w.declineInvitation},
		{"RevokeInvitation", 2, w.revokeInvitation},
		{"SuspendUser", 1, func() error { _, err := e.ids.SuspendUser(ctx, w.user()); return err }},
		{"ReinstateUser", 2, func() error { _, err := e.ids.ReinstateUser(ctx, w.user()); return err }},
		{"RevokeUser", 1, w.revokeUser},
	}
	total := 0
	for _, op := range ops {
		total += op.weight
	}
	succeeded, failed := map[string]int{}, map[string]int{}
	steps := 400
	if testing.Short() {
		steps = 100
	}
	// The test is only as good as the operations it gets through: it runs
	// on past steps until every kind has succeeded at least once, up to
	// four times as many.
	covered := func() bool { return len(succeeded) == len(ops) }
	step := 0
	for ; step < steps || (!covered() && step < 4*steps); step++ {
		k := w.r.IntN(total)
		i := 0
		for ; k >= ops[i].weight; i++ {
			k -= ops[i].weight
		}
		if len(w.orgs) == 0 {
			i = 0
		}
		err := ops[i].run()
		// An internal error is a bug; so is a tuple that is missing or
		// already there when a rule writes one: the duality broke.
		if err != nil && err != errSkip && (tuples.KindOf(err) == tuples.Internal || tupleBroke(err)) {
			t.Fatalf("step %d %s: %v", step, ops[i].name, err)
		}
		switch {
		case err == errSkip:
			continue
		case err == nil:
			succeeded[ops[i].name]++
		default:
			failed[ops[i].name+":"+codeOf(err)]++
		}
		w.check(step, ops[i].name)
	}
	t.Logf("%d steps; succeeded: %v", step, succeeded)
	t.Logf("failed: %v", failed)
	for _, op := range ops {
		if succeeded[op.name] == 0 && !testing.Short() {
			t.Errorf("%s never succeeded in %d steps (rerun with the logged seed to see why)", op.name, step)
		}
	}
}

// tupleBroke reports a tuple write that found the store other than the
// rules expect: a duplicate, or a missing tuple (ErrTupleNotFound shares
// not_found with every other missing row, so its message tells).
func tupleBroke(err error) bool {
	return errors.Is(err, tuples.ErrDuplicateTuple) ||
		(errors.Is(err, tuples.ErrTupleNotFound) && strings.Contains(err.Error(), "tuple"))
}

// errSkip is an operation that chose not to run this step.
var errSkip = errors.New("skipped")

func codeOf(err error) string {
	var te *tuples.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return err.Error()
}

// world is the property test's model: what it made, and the pre-tuples it
// expects in the engine.
type world struct {
	t         *testing.T
	e         *env
	r         *rand.Rand
	users     []tenancy.UUID
	ident     map[tenancy.UUID]string // each user's credential identifier
	orgs      []tenancy.UUID
	mems      []tenancy.UUID
	suspended []tenancy.UUID                      // memberships once suspended
	invs      map[tenancy.UUID]tenancy.Invitation // as last seen
	objects   []tenancy.UUID                      // what pre-tuples grant on
	granted   map[string]bool                     // "usr#relation#object" of accepted pre-tuples
}

func pick[T any](r *rand.Rand, xs []T) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	return xs[r.IntN(len(xs))]
}

// newUser makes a user holding an OIDC credential with its own identifier
// (no Argon2id), so it can accept invitations to that identifier.
func (w *world) newUser() tenancy.UUID {
	u := w.e.user(w.t)
	w.ident[u] = fmt.Sprintf("u%d@example.com", len(w.ident))
	must[identity.Credential](w.t, "CreateCredential")(w.e.ids.CreateCredential(ctx, identity.NewCredential{UserID: u,
		Type: identity.OIDC, Identifier: w.ident[u], OIDCIssuer: "https://idp.example", OIDCSubject: w.ident[u]}))
	w.users = append(w.users, u)
	return u
}

func (w *world) user() tenancy.UUID { return pick(w.r, w.users) }

func (w *world) anyOrg() tenancy.UUID { return pick(w.r, w.orgs) }

// org picks an org, preferring an active one: most operations need it.
func (w *world) org() tenancy.UUID {
	for range 4 {
		id := w.anyOrg()
		if o, err := w.e.svc.GetOrg(ctx, id); err == nil && o.Status == tenancy.Active {
			return id
		}
	}
	return w.anyOrg()
}

func roleOf(r *rand.Rand) tenancy.Role {
	return pick(r, []tenancy.Role{tenancy.Owner, tenancy.Admin, tenancy.Member, tenancy.Guest, tenancy.Viewer, tenancy.Editor})
}

// active picks an active membership of the org with one of the roles (any
// role if none are given); ok is false if there is none.
func (w *world) active(org tenancy.UUID, roles ...tenancy.Role) (tenancy.Membership, bool) {
	var fit []tenancy.Membership
	for _, m := range w.e.memberships(w.t, org) {
		if len(roles) == 0 || slices.Contains(roles, m.Role) {
			fit = append(fit, m)
		}
	}
	return pick(w.r, fit), len(fit) > 0
}

// memOf is mostly an active membership of the org with one of the roles,
// sometimes any membership ever made: stale, revoked or another org's.
func (w *world) memOf(org tenancy.UUID, roles ...tenancy.Role) tenancy.UUID {
	if m, ok := w.active(org, roles...); ok && w.r.IntN(6) > 0 {
		return m.ID
	}
	return pick(w.r, w.mems)
}

func (w *world) createOrg() error {
	o, m, err := w.e.svc.CreateOrg(ctx, w.user(), tenancy.OrgInput{})
	if err == nil {
		w.orgs, w.mems = append(w.orgs, o.ID), append(w.mems, m.ID)
	}
	return err
}

func (w *world) updateOrg() error {
	slug := pick(w.r, []*string{nil, ptr("acme"), ptr("globex"), ptr("Bad Slug")})
	_, err := w.e.svc.UpdateOrg(ctx, w.anyOrg(), tenancy.OrgPatch{Slug: &slug}, tenancy.UUID{})
	return err
}

func (w *world) addMember() error {
	m, err := w.e.svc.AddMember(ctx, w.org(), w.user(), roleOf(w.r), tenancy.UUID{}, tenancy.UUID{})
	if err == nil {
		w.mems = append(w.mems, m.ID)
	}
	return err
}

func (w *world) changeRole() error {
	m, err := w.e.svc.ChangeRole(ctx, w.memOf(w.org()), roleOf(w.r), tenancy.UUID{})
	if err == nil {
		w.mems = append(w.mems, m.ID)
	}
	return err
}

// nonOwners are the roles a sole owner's rules do not guard.
var nonOwners = []tenancy.Role{tenancy.Admin, tenancy.Member, tenancy.Guest, tenancy.Viewer, tenancy.Editor}

func (w *world) suspendMembership() error {
	m, err := w.e.svc.SuspendMembership(ctx, w.memOf(w.org(), pick(w.r, [][]tenancy.Role{nonOwners, nil})...), tenancy.UUID{})
	if err == nil {
		w.suspended = append(w.suspended, m.ID)
	}
	return err
}

func (w *world) reinstateMembership() error {
	id := pick(w.r, w.mems)
	if len(w.suspended) > 0 && w.r.IntN(4) > 0 {
		id = pick(w.r, w.suspended)
	}
	_, err := w.e.svc.ReinstateMembership(ctx, id, tenancy.UUID{})
	return err
}

func (w *world) selfLeave() error {
	org := w.org()
	leaver := w.memOf(org)
	var to tenancy.UUID
	if m, ok := w.active(org); ok && w.r.IntN(2) == 0 {
		to = m.UserID
	}
	_, err := w.e.svc.SelfLeave(ctx, leaver, to)
	if err == nil { // a transfer made new memberships
		for _, m := range w.e.memberships(w.t, org) {
			w.mems = append(w.mems, m.ID)
		}
	}
	return err
}

func (w *world) adminRemove() error {
	org := w.org()
	admin := w.user()
	if m, ok := w.active(org, tenancy.Owner, tenancy.Admin); ok && w.r.IntN(4) > 0 {
		admin = m.UserID
	}
	_, err := w.e.svc.AdminRemove(ctx, admin, w.memOf(org, nonOwners...))
	return err
}

func (w *world) transfer() error {
	org := w.org()
	from, to, err := w.e.svc.TransferOwnership(ctx, org, w.memOf(org, tenancy.Owner), w.memOf(org, pick(w.r, [][]tenancy.Role{nonOwners, nil})...), tenancy.UUID{})
	if err == nil {
		w.mems = append(w.mems, from.ID, to.ID)
	}
	return err
}

func (w *world) revokeOrg() error {
	if w.r.IntN(3) > 0 { // rarely: it ends an org for good
		return errSkip
	}
	_, err := w.e.svc.RevokeOrg(ctx, w.anyOrg(), tenancy.UUID{})
	return err
}

func (w *world) createInvitation() error {
	org := w.org()
	by := w.user()
	if m, ok := w.active(org, tenancy.Owner, tenancy.Admin); ok && w.r.IntN(4) > 0 {
		by = m.UserID
	}
	var pts []tenancy.PreTuple
	for range w.r.IntN(3) {
		pt := tenancy.PreTuple{Relation: pick(w.r, []string{"viewer", "editor"}), ObjectType: "proj", ObjectID: pick(w.r, w.objects)}
		if !slices.Contains(pts, pt) {
			pts = append(pts, pt)
		}
	}
	inv, err := w.e.svc.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: org, Identifier: w.ident[w.user()],
		Role: roleOf(w.r), PreTuples: pts, InvitedBy: by, ExpiresAt: time.Now().Add(time.Hour)})
	if err == nil {
		w.invs[inv.ID] = inv
	}
	return err
}

// invitation picks an invitation, mostly a pending one.
func (w *world) invitation() tenancy.Invitation {
	var pending, all []tenancy.Invitation
	for _, id := range slices.SortedFunc(maps.Keys(w.invs), tenancy.UUID.Compare) {
		all = append(all, w.invs[id])
		if w.invs[id].Status == tenancy.InvitationPending {
			pending = append(pending, w.invs[id])
		}
	}
	if len(pending) > 0 && w.r.IntN(5) > 0 {
		return pick(w.r, pending)
	}
	return pick(w.r, all)
}

func (w *world) acceptInvitation() error {
	inv := w.invitation()
	// Mostly the invitee (the user holding the identifier), sometimes a
	// stranger claiming it, sometimes a new user.
	var as tenancy.UUID
	switch w.r.IntN(8) {
	case 0:
	case 1:
		as = w.user()
	default:
		for u, id := range w.ident {
			if id == inv.Identifier {
				as = u
			}
		}
	}
	claim := inv.Identifier
	if as.IsZero() {
		claim = ""
	}
	a, err := w.e.svc.AcceptInvitation(ctx, inv.ID, as, claim)
	if err != nil {
		return err
	}
	w.mems = append(w.mems, a.Membership.ID)
	w.invs[inv.ID] = a.Invitation
	for _, pt := range inv.PreTuples {
		w.granted[fmt.Sprint(a.Membership.UserID, "#", pt.Relation, "#", pt.ObjectID)] = true
	}
	return nil
}

// declineInvitation declines as the invitee, anonymously, or sometimes
// as a stranger (refused).
func (w *world) declineInvitation() error {
	inv := w.invitation()
	var by tenancy.UUID
	switch w.r.IntN(3) {
	case 0:
		by = w.user()
	case 1:
		for u, id := range w.ident {
			if id == inv.Identifier && slices.Contains(w.users, u) {
				by = u
			}
		}
	}
	return w.ended(w.e.svc.DeclineInvitation(ctx, inv.ID, by))
}

// revokeInvitation revokes as an owner or admin of the org, or sometimes
// as anyone (refused unless they are one).
func (w *world) revokeInvitation() error {
	inv := w.invitation()
	by := w.user()
	if inv.ID.IsZero() {
		return errSkip // none made yet
	}
	if m, ok := w.active(inv.OrgID, tenancy.Owner, tenancy.Admin); ok && w.r.IntN(4) > 0 {
		by = m.UserID
	}
	return w.ended(w.e.svc.RevokeInvitation(ctx, inv.ID, by))
}

func (w *world) ended(inv tenancy.Invitation, err error) error {
	if err == nil {
		w.invs[inv.ID] = inv
	}
	return err
}

func (w *world) revokeUser() error {
	u := w.user()
	if w.r.IntN(2) == 0 { // one who owns no org, whose revocation must succeed
		u = w.nonOwner()
	}
	if _, err := w.e.ids.RevokeUser(ctx, u); err != nil {
		return err
	}
	for k := range w.granted { // the user's tuples went with them
		if strings.HasPrefix(k, fmt.Sprint(u, "#")) {
			delete(w.granted, k)
		}
	}
	w.users = slices.DeleteFunc(w.users, func(v tenancy.UUID) bool { return v == u })
	w.newUser()
	return nil
}

// nonOwner picks a user who holds no active owner membership; if all do,
// a new user who is made a member of an org.
func (w *world) nonOwner() tenancy.UUID {
	users := slices.Clone(w.users)
	w.r.Shuffle(len(users), func(i, j int) { users[i], users[j] = users[j], users[i] })
next:
	for _, u := range users {
		for _, org := range w.e.orgsOf(w.t, u) {
			for _, m := range w.e.memberships(w.t, org) {
				if m.UserID == u && m.Role == tenancy.Owner {
					continue next
				}
			}
		}
		return u
	}
	u := w.newUser()
	if m, err := w.e.svc.AddMember(ctx, w.org(), u, tenancy.Member, tenancy.UUID{}, tenancy.UUID{}); err == nil {
		w.mems = append(w.mems, m.ID)
	}
	return u
}

// check holds the world to the invariants after a step.
func (w *world) check(step int, after string) {
	w.t.Helper()
	for _, o := range w.orgs {
		w.e.checkDuality(w.t, o)
	}
	got := map[string]bool{}
	for _, obj := range w.objects {
		for _, tup := range collect(w.t, "ListByObject", tuplePages(func(cursor string) (tuples.Page, error) {
			return w.e.tuples.ListByObject(ctx, tuples.Ref{Type: "proj", ID: obj}, "", cursor, tuples.MaxLimit)
		})) {
			got[fmt.Sprint(tup.Key.Subject.ID, "#", tup.Key.Relation, "#", obj)] = true
		}
	}
	if !maps.Equal(got, w.granted) {
		w.t.Fatalf("step %d (%s): pre-tuples in the engine %v, want %v", step, after, got, w.granted)
	}
	for id, seen := range w.invs {
		if seen.Status == tenancy.InvitationPending {
			continue
		}
		now := must[tenancy.Invitation](w.t, "GetInvitation")(w.e.svc.GetInvitation(ctx, id))
		if now.Status != seen.Status || !now.TerminalAt.Equal(*seen.TerminalAt) || now.TerminalBy != seen.TerminalBy {
			w.t.Fatalf("step %d (%s): terminal invitation changed from %+v to %+v", step, after, seen, now)
		}
	}
}
