// Package identitytest is the store suite of the identity module: it runs
// identity.Service over a store and checks every rule, so the memory and
// PostgreSQL stores behave the same at the service's boundary.
package identitytest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/identity/password"
	"github.com/flametrench/server/tuples"
)

// Stores is what a suite test runs against: an empty identity store and the
// tuple store its transactions write to.
type Stores struct {
	Identity identity.Store
	Tuples   tuples.Store
}

// Run runs the suite. newStores must return empty stores for each call.
func Run(t *testing.T, newStores func(t *testing.T) Stores) {
	tests := []suiteTest{
		{"UserLifecycle", testUserLifecycle},
		{"UpdateUser", testUpdateUser},
		{"ListUsers", testListUsers},
		{"CreateCredential", testCreateCredential},
		{"HadCredential", testHadCredential},
		{"FirstCredentialOnce", testFirstCredentialOnce},
		{"CredentialLifecycle", testCredentialLifecycle},
		{"RotateCredential", testRotateCredential},
		{"VerifyAndMint", testVerifyAndMint},
		{"TicketRules", testTicketRules},
		{"PeekTicket", testPeekTicket},
		{"MFARequired", testMFARequired},
		{"Sessions", testSessions},
		{"RevokeUserCascade", testRevokeUserCascade},
		{"Throttling", testThrottling},
		{"ConcurrentTicketUse", testConcurrentTicketUse},
	}
	tests = append(tests, mfaTests...)
	tests = append(tests, patTests...)
	tests = append(tests, shareTests...)
	tests = append(tests, fixtureTests(newStores)...)
	tests = append(tests, signInTests...)
	tests = append(tests, textTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := newStores(t)
			tc.fn(t, newEnv(t, st))
		})
	}
}

type suiteTest struct {
	name string
	fn   func(t *testing.T, e *env)
}

var ctx = context.Background()

// hasher is shared by every test: Argon2id at the floor is the slow part of
// this suite, and one pool keeps its memory bounded under t.Parallel.
var hasher = password.NewPool(password.PoolConfig{QueueTimeout: time.Minute})

// env is one test's service, stores and clock.
type env struct {
	svc    *identity.Service
	tuples tuples.Store
	store  identity.Store
	skew   atomic.Int64 // nanoseconds added to the wall clock

	// mu guards sessions: one session per user for MFA verifications,
	// which need a session or a ticket to stamp.
	mu       sync.Mutex
	sessions map[identity.UUID]identity.UUID
}

func newEnv(t *testing.T, st Stores) *env {
	e := &env{tuples: st.Tuples, store: st.Identity}
	now := func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) }
	e.svc = identity.NewService(st.Identity, identity.Config{
		Hasher: hasher,
		Now:    now,
		// Lock-outs of a minute, not a second: the real clock moves too,
		// and under -race a few Argon2id runs take longer than a second.
		Limiter: identity.NewLimiter(identity.LimiterConfig{Now: now, Base: time.Minute}),
	})
	return e
}

// advance moves the test's clock forward.
func (e *env) advance(d time.Duration) { e.skew.Add(int64(d)) }

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

func ptr[T any](v T) *T { return &v }

// user creates an active user with a password credential.
func (e *env) user(t *testing.T, identifier, pw string) (identity.User, identity.Credential) {
	t.Helper()
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	c := must[identity.Credential](t, "CreateCredential")(e.svc.CreateCredential(ctx, identity.NewCredential{
		UserID: u.ID, Type: identity.Password, Identifier: identifier, Password: pw}))
	return u, c
}

// login verifies a password and mints a session from the ticket.
func (e *env) login(t *testing.T, identifier, pw string) (identity.Session, string) {
	t.Helper()
	v := must[identity.Verification](t, "VerifyCredential")(e.svc.VerifyCredential(ctx, identity.VerifyInput{
		Type: identity.Password, Identifier: identifier, Password: pw}))
	ses, token, err := e.svc.CreateSession(ctx, v, time.Hour)
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return ses, token
}

func testUserLifecycle(t *testing.T, e *env) {
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, ptr("Ada")))
	if u.Status != identity.Active || u.DisplayName == nil || *u.DisplayName != "Ada" || u.ID.Version() != 7 {
		t.Fatalf("CreateUser = %+v", u)
	}
	got := must[identity.User](t, "GetUser")(e.svc.GetUser(ctx, u.ID))
	if got.ID != u.ID || !got.CreatedAt.Equal(u.CreatedAt) || *got.DisplayName != "Ada" {
		t.Fatalf("GetUser = %+v, want %+v", got, u)
	}
	_, err := e.svc.GetUser(ctx, tuples.NewUUID())
	wantErr(t, "GetUser(unknown)", err, identity.ErrUserNotFound)

	steps := []struct {
		name string
		do   func(context.Context, identity.UUID) (identity.User, error)
		want identity.Status
		err  error
	}{
		{"reinstate active (no-op)", e.svc.ReinstateUser, identity.Active, nil},
		{"suspend", e.svc.SuspendUser, identity.Suspended, nil},
		{"suspend again (no-op)", e.svc.SuspendUser, identity.Suspended, nil},
		{"reinstate", e.svc.ReinstateUser, identity.Active, nil},
		{"suspend", e.svc.SuspendUser, identity.Suspended, nil},
		{"revoke from suspended", e.svc.RevokeUser, identity.Revoked, nil},
		{"revoke again", e.svc.RevokeUser, identity.Revoked, identity.ErrAlreadyTerminal},
		{"reinstate revoked", e.svc.ReinstateUser, identity.Revoked, identity.ErrAlreadyTerminal},
		{"suspend revoked", e.svc.SuspendUser, identity.Revoked, identity.ErrAlreadyTerminal},
	}
	for _, st := range steps {
		got, err := st.do(ctx, u.ID)
		if st.err != nil {
			wantErr(t, st.name, err, st.err)
		} else if err != nil || got.Status != st.want {
			t.Fatalf("%s = %s, %v; want %s", st.name, got.Status, err, st.want)
		}
		if now := must[identity.User](t, "GetUser")(e.svc.GetUser(ctx, u.ID)); now.Status != st.want {
			t.Fatalf("after %s: status %s, want %s", st.name, now.Status, st.want)
		}
	}
	_, err = e.svc.SuspendUser(ctx, tuples.NewUUID())
	wantErr(t, "SuspendUser(unknown)", err, identity.ErrUserNotFound)
}

func testUpdateUser(t *testing.T, e *env) {
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	if u.DisplayName != nil {
		t.Fatalf("CreateUser(nil) display name %q", *u.DisplayName)
	}
	name := "  Zoë 🚀 (unnormalised)  "
	up := must[identity.User](t, "UpdateUser(set)")(e.svc.UpdateUser(ctx, u.ID, identity.UserPatch{DisplayName: ptr(&name)}))
	if up.DisplayName == nil || *up.DisplayName != name {
		t.Fatalf("UpdateUser(set) = %+v", up)
	}
	same := must[identity.User](t, "UpdateUser({})")(e.svc.UpdateUser(ctx, u.ID, identity.UserPatch{}))
	if same.DisplayName == nil || *same.DisplayName != name || !same.UpdatedAt.Equal(up.UpdatedAt) {
		t.Fatalf("UpdateUser(empty patch) = %+v, want unchanged %+v", same, up)
	}
	cleared := must[identity.User](t, "UpdateUser(clear)")(e.svc.UpdateUser(ctx, u.ID, identity.UserPatch{DisplayName: ptr[*string](nil)}))
	if cleared.DisplayName != nil {
		t.Fatalf("UpdateUser(null) kept %q", *cleared.DisplayName)
	}
	must[identity.User](t, "SuspendUser")(e.svc.SuspendUser(ctx, u.ID))
	must[identity.User](t, "UpdateUser(suspended)")(e.svc.UpdateUser(ctx, u.ID, identity.UserPatch{DisplayName: ptr(&name)}))
	must[identity.User](t, "RevokeUser")(e.svc.RevokeUser(ctx, u.ID))
	_, err := e.svc.UpdateUser(ctx, u.ID, identity.UserPatch{DisplayName: ptr(&name)})
	wantErr(t, "UpdateUser(revoked)", err, identity.ErrAlreadyTerminal)
	_, err = e.svc.UpdateUser(ctx, tuples.NewUUID(), identity.UserPatch{})
	wantErr(t, "UpdateUser(unknown)", err, identity.ErrUserNotFound)
}

func testListUsers(t *testing.T, e *env) {
	var ids []identity.UUID
	for i, ident := range []string{"alice@example.com", "bob@example.com", "carol@other.org", "ALICIA@EXAMPLE.COM"} {
		u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
		ids = append(ids, u.ID)
		c := must[identity.Credential](t, "CreateCredential")(e.svc.CreateCredential(ctx, identity.NewCredential{
			UserID: u.ID, Type: identity.OIDC, Identifier: ident, OIDCIssuer: "https://idp.example", OIDCSubject: ident}))
		if i == 1 { // bob's identifier stops counting once revoked
			must[identity.Credential](t, "RevokeCredential")(e.svc.RevokeCredential(ctx, c.ID))
		}
	}
	must[identity.User](t, "SuspendUser")(e.svc.SuspendUser(ctx, ids[2]))

	list := func(status identity.Status, q string, limit int) []identity.UUID {
		t.Helper()
		var got []identity.UUID
		cursor := ""
		for range 10 {
			p := must[identity.Page[identity.User]](t, "ListUsers")(e.svc.ListUsers(ctx, status, q, cursor, limit))
			if len(p.Items) > limit {
				t.Fatalf("page of %d > limit %d", len(p.Items), limit)
			}
			for _, u := range p.Items {
				got = append(got, u.ID)
			}
			if cursor = p.Next; cursor == "" {
				return got
			}
		}
		t.Fatal("listing does not end")
		return nil
	}
	same := func(what string, got, want []identity.UUID) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s = %v, want %v (in id order)", what, got, want)
			}
		}
	}
	same("all, pages of 1", list("", "", 1), ids)
	same("all, pages of 3", list("", "", 3), ids)
	same("status active", list(identity.Active, "", 2), []identity.UUID{ids[0], ids[1], ids[3]})
	same("status suspended", list(identity.Suspended, "", 2), []identity.UUID{ids[2]})
	same("query ali, case-insensitive", list("", "ali", 1), []identity.UUID{ids[0], ids[3]})
	same("query example.com (bob's is revoked)", list("", "EXAMPLE.com", 50), []identity.UUID{ids[0], ids[3]})
	same("query with a LIKE wildcard matches literally", list("", "%", 50), nil)
	same("query and status", list(identity.Suspended, "other", 50), []identity.UUID{ids[2]})

	_, err := e.svc.ListUsers(ctx, "", "", "usr_garbage", 10)
	wantErr(t, "bad cursor", err, tuples.ErrInvalidCursor)
	_, err = e.svc.ListUsers(ctx, "", "", "", 201)
	wantErr(t, "limit 201", err, tuples.ErrInvalidLimit)
	_, err = e.svc.ListUsers(ctx, "deleted", "", "", 10)
	wantErr(t, "bad status", err, identity.ErrInvalidInput)
}

func testCreateCredential(t *testing.T, e *env) {
	u, c := e.user(t, "ada@example.com", "correct horse")
	if c.Status != identity.Active || c.UserID != u.ID || c.Type != identity.Password || c.PasswordHash == "" || c.ID.Version() != 7 {
		t.Fatalf("created %+v", c)
	}
	got := must[identity.Credential](t, "GetCredential")(e.svc.GetCredential(ctx, c.ID))
	if got.PasswordHash != c.PasswordHash || got.Identifier != "ada@example.com" {
		t.Fatalf("GetCredential = %+v", got)
	}
	_, err := e.svc.GetCredential(ctx, tuples.NewUUID())
	wantErr(t, "GetCredential(unknown)", err, identity.ErrCredentialNotFound)

	other := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	dup := identity.NewCredential{UserID: other.ID, Type: identity.Password, Identifier: "ada@example.com", Password: "x"}
	_, err = e.svc.CreateCredential(ctx, dup)
	wantErr(t, "duplicate active identifier", err, identity.ErrDuplicateCredential)
	// The same identifier under another type is another credential.
	must[identity.Credential](t, "oidc with same identifier")(e.svc.CreateCredential(ctx, identity.NewCredential{
		UserID: other.ID, Type: identity.OIDC, Identifier: "ada@example.com", OIDCIssuer: "HTTPS://IdP.Example.com/", OIDCSubject: "sub-1"}))

	bad := []struct {
		name string
		in   identity.NewCredential
		want error
	}{
		{"unknown type", identity.NewCredential{UserID: other.ID, Type: "magic", Identifier: "x"}, identity.ErrInvalidInput},
		{"empty identifier", identity.NewCredential{UserID: other.ID, Type: identity.Password, Password: "x"}, identity.ErrInvalidInput},
		{"empty password", identity.NewCredential{UserID: other.ID, Type: identity.Password, Identifier: "p@x"}, identity.ErrPasswordUnacceptable},
		{"passkey without key", identity.NewCredential{UserID: other.ID, Type: identity.Passkey, Identifier: "AAEC", RPID: "example.com"}, identity.ErrInvalidInput},
		{"passkey garbage key", identity.NewCredential{UserID: other.ID, Type: identity.Passkey, Identifier: "AAEC", RPID: "example.com", PublicKey: []byte{1, 2, 3}}, identity.ErrInvalidInput},
		{"passkey identifier not base64url", identity.NewCredential{UserID: other.ID, Type: identity.Passkey, Identifier: "a+b/", RPID: "example.com"}, identity.ErrInvalidInput},
		{"oidc relative issuer", identity.NewCredential{UserID: other.ID, Type: identity.OIDC, Identifier: "o", OIDCIssuer: "idp", OIDCSubject: "s"}, identity.ErrInvalidInput},
		{"unknown user", identity.NewCredential{UserID: tuples.NewUUID(), Type: identity.OIDC, Identifier: "o", OIDCIssuer: "https://i", OIDCSubject: "s"}, identity.ErrUserNotFound},
	}
	for _, tc := range bad {
		_, err := e.svc.CreateCredential(ctx, tc.in)
		wantErr(t, tc.name, err, tc.want)
	}
	must[identity.User](t, "SuspendUser")(e.svc.SuspendUser(ctx, other.ID))
	_, err = e.svc.CreateCredential(ctx, identity.NewCredential{UserID: other.ID, Type: identity.OIDC, Identifier: "o2", OIDCIssuer: "https://i", OIDCSubject: "s"})
	wantErr(t, "credential for a suspended user", err, identity.ErrUserNotActive)
}

// HadCredential counts credentials of every status: a user whose only
// credential was revoked still had one.
func testHadCredential(t *testing.T, e *env) {
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	if had := must[bool](t, "HadCredential(new user)")(e.svc.HadCredential(ctx, u.ID)); had {
		t.Fatal("HadCredential(new user) = true, want false")
	}
	c := must[identity.Credential](t, "CreateCredential")(e.svc.CreateCredential(ctx, identity.NewCredential{
		UserID: u.ID, Type: identity.OIDC, Identifier: "had@example.com", OIDCIssuer: "https://idp.example", OIDCSubject: "had"}))
	if had := must[bool](t, "HadCredential(with one)")(e.svc.HadCredential(ctx, u.ID)); !had {
		t.Fatal("HadCredential(with a credential) = false, want true")
	}
	must[identity.Credential](t, "RevokeCredential")(e.svc.RevokeCredential(ctx, c.ID))
	if had := must[bool](t, "HadCredential(revoked)")(e.svc.HadCredential(ctx, u.ID)); !had {
		t.Fatal("HadCredential(only a revoked credential) = false, want true")
	}
	_, err := e.svc.HadCredential(ctx, tuples.NewUUID())
	wantErr(t, "HadCredential(unknown user)", err, identity.ErrUserNotFound)
}

// Of concurrent first credentials (sign-up's second step) for one user,
// exactly one is added: the check is made in the transaction that writes.
func testFirstCredentialOnce(t *testing.T, e *env) {
	u := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	const racers = 8
	errs := make(chan error, racers)
	for i := range racers {
		go func() {
			_, err := e.svc.CreateCredential(ctx, identity.NewCredential{UserID: u.ID, Type: identity.OIDC, FirstOnly: true,
				Identifier: fmt.Sprintf("first-%d@example.com", i), OIDCIssuer: "https://idp.example", OIDCSubject: fmt.Sprint("first-", i)})
			errs <- err
		}()
	}
	won := 0
	for range racers {
		switch err := <-errs; {
		case err == nil:
			won++
		case !errors.Is(err, identity.ErrUserNotFound):
			t.Errorf("a losing first credential: %v, want ErrUserNotFound", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent first credentials were added, want exactly 1", won, racers)
	}
	_, err := e.svc.CreateCredential(ctx, identity.NewCredential{UserID: u.ID, Type: identity.OIDC, FirstOnly: true,
		Identifier: "late@example.com", OIDCIssuer: "https://idp.example", OIDCSubject: "late"})
	wantErr(t, "a first credential for a user who has one", err, identity.ErrUserNotFound)
}

func testCredentialLifecycle(t *testing.T, e *env) {
	_, c := e.user(t, "grace@example.com", "pw-1")
	ses, token := e.login(t, "grace@example.com", "pw-1")

	sus := must[identity.Credential](t, "SuspendCredential")(e.svc.SuspendCredential(ctx, c.ID))
	if sus.Status != identity.Suspended {
		t.Fatalf("SuspendCredential status %s", sus.Status)
	}
	_, err := e.svc.Authenticate(ctx, token)
	wantErr(t, "session of a suspended credential", err, identity.ErrSessionExpired)
	if got := must[identity.Session](t, "GetSession")(e.svc.GetSession(ctx, ses.ID)); got.RevokedAt == nil {
		t.Fatal("suspending the credential left its session unrevoked")
	}
	_, err = e.svc.VerifyCredential(ctx, identity.VerifyInput{Type: identity.Password, Identifier: "grace@example.com", Password: "pw-1"})
	wantErr(t, "verify a suspended credential", err, identity.ErrInvalidCredential)

	// While suspended, its identifier is free; reinstating then collides.
	u2 := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	taker := must[identity.Credential](t, "take identifier")(e.svc.CreateCredential(ctx, identity.NewCredential{
		UserID: u2.ID, Type: identity.Password, Identifier: "grace@example.com", Password: "other"}))
	_, err = e.svc.ReinstateCredential(ctx, c.ID)
	wantErr(t, "reinstate onto a taken identifier", err, identity.ErrDuplicateCredential)
	must[identity.Credential](t, "RevokeCredential(taker)")(e.svc.RevokeCredential(ctx, taker.ID))
	if got := must[identity.Credential](t, "ReinstateCredential")(e.svc.ReinstateCredential(ctx, c.ID)); got.Status != identity.Active {
		t.Fatalf("ReinstateCredential status %s", got.Status)
	}
	live, liveToken := e.login(t, "grace@example.com", "pw-1")
	rev := must[identity.Credential](t, "RevokeCredential")(e.svc.RevokeCredential(ctx, c.ID))
	if rev.Status != identity.Revoked {
		t.Fatalf("RevokeCredential status %s", rev.Status)
	}
	if got := must[identity.Session](t, "GetSession")(e.svc.GetSession(ctx, live.ID)); got.RevokedAt == nil {
		t.Fatal("revoking the credential left its session live")
	}
	if _, err := e.svc.Authenticate(ctx, liveToken); err == nil {
		t.Fatal("a session of a revoked credential still authenticates")
	}
	_, err = e.svc.RevokeCredential(ctx, c.ID)
	wantErr(t, "revoke twice", err, identity.ErrAlreadyTerminal)
	_, err = e.svc.ReinstateCredential(ctx, c.ID)
	wantErr(t, "reinstate revoked", err, identity.ErrAlreadyTerminal)
}

func testRotateCredential(t *testing.T, e *env) {
	u, c := e.user(t, "rot@example.com", "old-pw")
	_, oldToken := e.login(t, "rot@example.com", "old-pw")
	oidc := must[identity.Credential](t, "oidc")(e.svc.CreateCredential(ctx, identity.NewCredential{
		UserID: u.ID, Type: identity.OIDC, Identifier: "rot-oidc", OIDCIssuer: "https://idp.example", OIDCSubject: "s"}))
	other := must[identity.Session](t, "session of the other credential")(func() (identity.Session, error) {
		s, _, err := e.svc.CreateSessionFor(ctx, u.ID, oidc.ID, time.Hour)
		return s, err
	}())

	nc := must[identity.Credential](t, "RotateCredential")(e.svc.RotateCredential(ctx, c.ID, identity.NewCredential{Password: "new-pw"}))
	if nc.Replaces != c.ID || nc.ID == c.ID || nc.Status != identity.Active || nc.Identifier != c.Identifier || nc.UserID != u.ID {
		t.Fatalf("rotated %+v", nc)
	}
	if old := must[identity.Credential](t, "old")(e.svc.GetCredential(ctx, c.ID)); old.Status != identity.Revoked {
		t.Fatalf("old credential %s after rotation", old.Status)
	}
	_, err := e.svc.Authenticate(ctx, oldToken)
	wantErr(t, "session of the rotated credential", err, identity.ErrSessionExpired)
	if s := must[identity.Session](t, "GetSession")(e.svc.GetSession(ctx, other.ID)); s.RevokedAt != nil {
		t.Fatal("rotation ended a session of another credential")
	}
	_, err = e.svc.VerifyCredential(ctx, identity.VerifyInput{Type: identity.Password, Identifier: "rot@example.com", Password: "old-pw"})
	wantErr(t, "old password after rotation", err, identity.ErrInvalidCredential)
	e.login(t, "rot@example.com", "new-pw")

	_, err = e.svc.RotateCredential(ctx, c.ID, identity.NewCredential{Password: "again"})
	wantErr(t, "rotate a revoked credential", err, identity.ErrCredentialNotActive)
	_, err = e.svc.RotateCredential(ctx, nc.ID, identity.NewCredential{})
	wantErr(t, "rotate to an empty password", err, identity.ErrPasswordUnacceptable)
	if cur := must[identity.Credential](t, "after failed rotation")(e.svc.GetCredential(ctx, nc.ID)); cur.Status != identity.Active {
		t.Fatal("a failed rotation changed the credential")
	}
	ro := must[identity.Credential](t, "RotateCredential(oidc)")(e.svc.RotateCredential(ctx, oidc.ID, identity.NewCredential{OIDCIssuer: "https://idp2.example/", OIDCSubject: "s2"}))
	if ro.OIDCIssuer != "https://idp2.example" || ro.OIDCSubject != "s2" || ro.Replaces != oidc.ID {
		t.Fatalf("rotated oidc %+v", ro)
	}
}

func testVerifyAndMint(t *testing.T, e *env) {
	u, c := e.user(t, "mint@example.com", "s3cret")
	v := must[identity.Verification](t, "VerifyCredential")(e.svc.VerifyCredential(ctx, identity.VerifyInput{
		Type: identity.Password, Identifier: "mint@example.com", Password: "s3cret"}))
	if v.UserID != u.ID || v.CredentialID != c.ID || v.MFARequired || len(v.Ticket) < 43 {
		t.Fatalf("Verification = %+v", v)
	}
	for _, bad := range []identity.VerifyInput{
		{Type: identity.Password, Identifier: "mint@example.com", Password: "wrong"},
		{Type: identity.Password, Identifier: "nobody@example.com", Password: "s3cret"},
		{Type: identity.Password, Identifier: "mint@example.com", Password: ""},
	} {
		_, err := e.svc.VerifyCredential(ctx, bad)
		wantErr(t, "verify "+bad.Identifier+"/"+bad.Password, err, identity.ErrInvalidCredential)
	}
	_, _, err := e.svc.CreateSession(ctx, v, 30*time.Second)
	wantErr(t, "ttl under a minute", err, identity.ErrInvalidTTL)
	ses, token, err := e.svc.CreateSession(ctx, v, 2*time.Hour)
	if err != nil || ses.UserID != u.ID || ses.CredentialID != c.ID || ses.RevokedAt != nil || len(token) < 43 {
		t.Fatalf("CreateSession = %+v, %q, %v", ses, token, err)
	}
	if d := ses.ExpiresAt.Sub(ses.CreatedAt); d != 2*time.Hour {
		t.Fatalf("session lifetime %v, want 2h", d)
	}
	got := must[identity.Session](t, "Authenticate")(e.svc.Authenticate(ctx, token))
	if got.ID != ses.ID {
		t.Fatalf("Authenticate = %v, want %v", got.ID, ses.ID)
	}
	if sameBytes(ses.TokenHash[:], []byte(token)) {
		t.Fatal("token stored in the clear")
	}
	for _, bad := range []string{"", "nope", token + "x", string(make([]byte, 600))} {
		_, err := e.svc.Authenticate(ctx, bad)
		wantErr(t, "Authenticate(bad token)", err, identity.ErrInvalidToken)
	}
	// Suspended users cannot verify; their tickets cannot mint.
	v2 := must[identity.Verification](t, "VerifyCredential")(e.svc.VerifyCredential(ctx, identity.VerifyInput{
		Type: identity.Password, Identifier: "mint@example.com", Password: "s3cret"}))
	must[identity.User](t, "SuspendUser")(e.svc.SuspendUser(ctx, u.ID))
	_, _, err = e.svc.CreateSession(ctx, v2, time.Hour)
	wantErr(t, "mint for a suspended user", err, identity.ErrUserNotActive)
	_, err = e.svc.VerifyCredential(ctx, identity.VerifyInput{Type: identity.Password, Identifier: "mint@example.com", Password: "s3cret"})
	wantErr(t, "verify a suspended user", err, identity.ErrInvalidCredential)
	_, err = e.svc.Authenticate(ctx, token)
	wantErr(t, "session after suspension", err, identity.ErrSessionExpired)
}

func sameBytes(a, b []byte) bool { return string(a) == string(b) }

func testTicketRules(t *testing.T, e *env) {
	e.user(t, "tk@example.com", "pw")
	verify := func() identity.Verification {
		return must[identity.Verification](t, "VerifyCredential")(e.svc.VerifyCredential(ctx, identity.VerifyInput{
			Type: identity.Password, Identifier: "tk@example.com", Password: "pw"}))
	}
	v := verify()
	// Claimed for another user or credential, it mints nothing and stays
	// unused.
	other, otherCred := e.user(t, "tk-other@example.com", "pw")
	for name, claim := range map[string]identity.Verification{
		"another user":       {Ticket: v.Ticket, UserID: other.ID, CredentialID: v.CredentialID},
		"another credential": {Ticket: v.Ticket, UserID: v.UserID, CredentialID: otherCred.ID},
	} {
		_, _, err := e.svc.CreateSession(ctx, claim, time.Hour)
		wantErr(t, "ticket claimed for "+name, err, identity.ErrInvalidTicket)
	}
	if _, _, err := e.svc.CreateSession(ctx, v, time.Hour); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.svc.CreateSession(ctx, v, time.Hour)
	wantErr(t, "ticket used twice", err, identity.ErrInvalidTicket)
	_, _, err = e.svc.CreateSession(ctx, identity.Verification{Ticket: "made-up"}, time.Hour)
	wantErr(t, "made-up ticket", err, identity.ErrInvalidTicket)

	old := verify()
	e.advance(identity.TicketTTL + time.Second)
	_, _, err = e.svc.CreateSession(ctx, old, time.Hour)
	wantErr(t, "expired ticket", err, identity.ErrInvalidTicket)

	// A ticket is bound to its credential: once that credential is revoked,
	// the ticket mints nothing, even for the same user.
	v = verify()
	must[identity.Credential](t, "RevokeCredential")(e.svc.RevokeCredential(ctx, v.CredentialID))
	_, _, err = e.svc.CreateSession(ctx, v, time.Hour)
	wantErr(t, "ticket of a revoked credential", err, identity.ErrCredentialNotActive)
}

// PeekTicket reads a ticket without using it up, and refuses exactly what
// CreateSession would refuse as a bad ticket.
func testPeekTicket(t *testing.T, e *env) {
	u, c := e.user(t, "peek@example.com", "pw")
	verify := func() identity.Verification {
		return must[identity.Verification](t, "VerifyCredential")(e.svc.VerifyCredential(ctx, identity.VerifyInput{
			Type: identity.Password, Identifier: "peek@example.com", Password: "pw"}))
	}
	v := verify()
	for i := range 2 { // twice: the first peek must not use it up
		tk, err := e.svc.PeekTicket(ctx, v.Ticket)
		if err != nil {
			t.Fatalf("PeekTicket #%d: %v", i+1, err)
		}
		if tk.UserID != u.ID || tk.CredentialID != c.ID || !tk.ExpiresAt.Equal(v.ExpiresAt) || tk.MFARequired || tk.MFAVerified != nil {
			t.Fatalf("PeekTicket #%d = %+v, want user %v credential %v expiring %v", i+1, tk, u.ID, c.ID, v.ExpiresAt)
		}
	}
	if _, _, err := e.svc.CreateSession(ctx, v, time.Hour); err != nil {
		t.Fatalf("CreateSession after peeks: %v", err)
	}
	_, err := e.svc.PeekTicket(ctx, v.Ticket)
	wantErr(t, "peek at a used ticket", err, identity.ErrInvalidTicket)
	for name, tk := range map[string]string{"empty": "", "made-up": "made-up", "too long": strings.Repeat("a", 513)} {
		_, err := e.svc.PeekTicket(ctx, tk)
		wantErr(t, "peek at a "+name+" ticket", err, identity.ErrInvalidTicket)
	}

	// It shows whether MFA is required and whether the ticket has passed it.
	_, secret, _ := e.confirmedTOTP(t, u.ID)
	must[identity.Policy](t, "SetPolicy")(e.svc.SetPolicy(ctx, u.ID, true, nil))
	v = verify()
	if tk := must[identity.Ticket](t, "PeekTicket(mfa)")(e.svc.PeekTicket(ctx, v.Ticket)); !tk.MFARequired || tk.MFAVerified != nil {
		t.Fatalf("PeekTicket with the policy in force = %+v, want MFA required and not verified", tk)
	}
	now := e.mfaAlign()
	r := must[identity.MFAResult](t, "VerifyMFA(ticket)")(e.svc.VerifyMFA(ctx, u.ID,
		identity.MFAProof{Type: identity.TOTP, Code: totpCode(t, secret, now)}, identity.UUID{}, v.Ticket))
	if tk := must[identity.Ticket](t, "PeekTicket(upgraded)")(e.svc.PeekTicket(ctx, v.Ticket)); tk.MFAVerified == nil || !tk.MFAVerified.Equal(r.VerifiedAt) {
		t.Fatalf("PeekTicket after VerifyMFA: MFAVerified = %v, want %v", tk.MFAVerified, r.VerifiedAt)
	}

	// Expiry is the ticket's: valid up to its last instant, not after.
	v = verify()
	e.advance(identity.TicketTTL - time.Second)
	must[identity.Ticket](t, "PeekTicket(just inside TTL)")(e.svc.PeekTicket(ctx, v.Ticket))
	e.advance(2 * time.Second)
	_, err = e.svc.PeekTicket(ctx, v.Ticket)
	wantErr(t, "peek at an expired ticket", err, identity.ErrInvalidTicket)
}

func testMFARequired(t *testing.T, e *env) {
	u, _ := e.user(t, "mfa@example.com", "pw")
	must[identity.Policy](t, "SetPolicy")(e.svc.SetPolicy(ctx, u.ID, true, nil))
	v := must[identity.Verification](t, "VerifyCredential")(e.svc.VerifyCredential(ctx, identity.VerifyInput{
		Type: identity.Password, Identifier: "mfa@example.com", Password: "pw"}))
	if !v.MFARequired {
		t.Fatal("MFARequired false with a policy in force")
	}
	_, _, err := e.svc.CreateSession(ctx, v, time.Hour)
	wantErr(t, "mint before MFA", err, identity.ErrMFARequired)

	// In the grace window the policy is not yet in force.
	grace := time.Now().Add(time.Hour)
	p := must[identity.Policy](t, "SetPolicy(grace)")(e.svc.SetPolicy(ctx, u.ID, true, &grace))
	if !p.Required || p.GraceUntil == nil {
		t.Fatalf("policy %+v", p)
	}
	v = must[identity.Verification](t, "VerifyCredential")(e.svc.VerifyCredential(ctx, identity.VerifyInput{
		Type: identity.Password, Identifier: "mfa@example.com", Password: "pw"}))
	if v.MFARequired {
		t.Fatal("MFARequired true inside the grace window")
	}
	if _, _, err := e.svc.CreateSession(ctx, v, time.Hour); err != nil {
		t.Fatalf("mint in grace window: %v", err)
	}
	got := must[identity.Policy](t, "GetPolicy")(e.svc.GetPolicy(ctx, u.ID))
	if !got.Required || got.GraceUntil == nil || !got.GraceUntil.Equal(p.GraceUntil.UTC().Truncate(time.Microsecond)) {
		t.Fatalf("GetPolicy = %+v", got)
	}
	none := must[identity.User](t, "CreateUser")(e.svc.CreateUser(ctx, nil))
	if p := must[identity.Policy](t, "GetPolicy(none)")(e.svc.GetPolicy(ctx, none.ID)); p.Required || p.GraceUntil != nil {
		t.Fatalf("default policy %+v", p)
	}
	_, err = e.svc.GetPolicy(ctx, tuples.NewUUID())
	wantErr(t, "GetPolicy(unknown user)", err, identity.ErrUserNotFound)
}

func testSessions(t *testing.T, e *env) {
	u, _ := e.user(t, "ses@example.com", "pw")
	s1, t1 := e.login(t, "ses@example.com", "pw")
	s2, t2 := e.login(t, "ses@example.com", "pw")

	ns, nt, err := e.svc.RefreshSession(ctx, s1.ID)
	if err != nil || ns.ID == s1.ID || nt == t1 || ns.CredentialID != s1.CredentialID || ns.ExpiresAt.Sub(ns.CreatedAt) != time.Hour {
		t.Fatalf("RefreshSession = %+v, %v", ns, err)
	}
	_, err = e.svc.Authenticate(ctx, t1)
	wantErr(t, "old token after refresh", err, identity.ErrSessionExpired)
	must[identity.Session](t, "new token")(e.svc.Authenticate(ctx, nt))
	_, _, err = e.svc.RefreshSession(ctx, s1.ID)
	wantErr(t, "refresh a refreshed session", err, identity.ErrSessionExpired)

	r := must[identity.Session](t, "RevokeSession")(e.svc.RevokeSession(ctx, s2.ID))
	if r.RevokedAt == nil {
		t.Fatal("RevokeSession left revoked_at empty")
	}
	again := must[identity.Session](t, "RevokeSession again")(e.svc.RevokeSession(ctx, s2.ID))
	if !again.RevokedAt.Equal(*r.RevokedAt) {
		t.Fatal("revoking twice moved revoked_at")
	}
	_, err = e.svc.Authenticate(ctx, t2)
	wantErr(t, "revoked token", err, identity.ErrSessionExpired)
	_, err = e.svc.RevokeSession(ctx, tuples.NewUUID())
	wantErr(t, "revoke unknown", err, identity.ErrSessionNotFound)

	p := must[identity.Page[identity.Session]](t, "ListSessions")(e.svc.ListSessions(ctx, u.ID, "", 2))
	if len(p.Items) != 2 || p.Next == "" || p.Items[0].ID != s1.ID || p.Items[1].ID != s2.ID {
		t.Fatalf("ListSessions page 1 = %+v", p)
	}
	p = must[identity.Page[identity.Session]](t, "ListSessions")(e.svc.ListSessions(ctx, u.ID, p.Next, 2))
	if len(p.Items) != 1 || p.Next != "" || p.Items[0].ID != ns.ID {
		t.Fatalf("ListSessions page 2 = %+v", p)
	}
	_, err = e.svc.ListSessions(ctx, tuples.NewUUID(), "", 0)
	wantErr(t, "ListSessions(unknown user)", err, identity.ErrUserNotFound)

	e.advance(time.Hour + time.Second)
	_, err = e.svc.Authenticate(ctx, nt)
	wantErr(t, "expired session", err, identity.ErrSessionExpired)
	_, _, err = e.svc.RefreshSession(ctx, ns.ID)
	wantErr(t, "refresh an expired session", err, identity.ErrSessionExpired)
}

func testRevokeUserCascade(t *testing.T, e *env) {
	u, c := e.user(t, "gone@example.com", "pw")
	_, token := e.login(t, "gone@example.com", "pw")
	oidc := must[identity.Credential](t, "oidc")(e.svc.CreateCredential(ctx, identity.NewCredential{
		UserID: u.ID, Type: identity.OIDC, Identifier: "gone", OIDCIssuer: "https://i", OIDCSubject: "s"}))
	must[identity.Credential](t, "SuspendCredential")(e.svc.SuspendCredential(ctx, oidc.ID))
	other, _ := e.user(t, "stays@example.com", "pw")
	doc := tuples.Ref{Type: "doc", ID: tuples.NewUUID()}
	mine := tuples.Ref{Type: "usr", ID: u.ID}
	theirs := tuples.Ref{Type: "usr", ID: other.ID}
	if _, err := e.tuples.Write(ctx, []tuples.Change{
		{Op: tuples.OpCreate, Key: tuples.Key{Subject: mine, Relation: "viewer", Object: doc}},
		{Op: tuples.OpCreate, Key: tuples.Key{Subject: mine, Relation: "editor", Object: doc}},
		{Op: tuples.OpCreate, Key: tuples.Key{Subject: theirs, Relation: "viewer", Object: doc}},
	}); err != nil {
		t.Fatal(err)
	}
	before := e.tuples.Revision()

	factor := must[identity.Enrollment](t, "EnrollFactor")(e.svc.EnrollFactor(ctx, u.ID, identity.EnrollInput{Type: identity.TOTP, Identifier: "phone"}))

	must[identity.User](t, "RevokeUser")(e.svc.RevokeUser(ctx, u.ID))
	_, err := e.svc.Authenticate(ctx, token)
	wantErr(t, "session after revoke", err, identity.ErrSessionExpired)
	if f := must[identity.Factor](t, "GetFactor")(e.svc.GetFactor(ctx, factor.Factor.ID)); f.Status != identity.FactorRevoked {
		t.Fatalf("MFA factor %s after user revoke", f.Status)
	}
	for _, id := range []identity.UUID{c.ID, oidc.ID} {
		if got := must[identity.Credential](t, "GetCredential")(e.svc.GetCredential(ctx, id)); got.Status != identity.Revoked {
			t.Fatalf("credential %s after user revoke", got.Status)
		}
	}
	if p, _ := e.tuples.ListBySubject(ctx, mine, "", 0); len(p.Tuples) != 0 {
		t.Fatalf("revoked user keeps tuples %v", p.Tuples)
	}
	if p, _ := e.tuples.ListBySubject(ctx, theirs, "", 0); len(p.Tuples) != 1 {
		t.Fatalf("another user's tuples: %v", p.Tuples)
	}
	if e.tuples.Revision() <= before {
		t.Fatal("the cascade did not move the tuple revision")
	}
	// The identifier is free again once its credential is revoked.
	e.user(t, "gone@example.com", "pw2")
}

func testThrottling(t *testing.T, e *env) {
	e.user(t, "slow@example.com", "right")
	bad := identity.VerifyInput{Type: identity.Password, Identifier: "slow@example.com", Password: "wrong", Address: "192.0.2.1"}
	for i := range 5 {
		_, err := e.svc.VerifyCredential(ctx, bad)
		wantErr(t, "failure "+string(rune('1'+i)), err, identity.ErrInvalidCredential)
	}
	_, err := e.svc.VerifyCredential(ctx, bad)
	wantErr(t, "sixth failure", err, identity.ErrInvalidCredential) // counted, and now locked
	good := bad
	good.Password, good.Address = "right", "198.51.100.7"
	_, err = e.svc.VerifyCredential(ctx, good)
	var rl *identity.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 || tuples.KindOf(err) != tuples.RateLimited {
		t.Fatalf("verify while locked = %v, want a RateLimitError", err)
	}
	e.advance(rl.RetryAfter + time.Millisecond)
	if _, err := e.svc.VerifyCredential(ctx, good); err != nil {
		t.Fatalf("verify after the lock-out: %v", err)
	}
	// The address that failed is throttled for other identifiers too.
	e.user(t, "other@example.com", "pw")
	for range 6 {
		e.svc.VerifyCredential(ctx, identity.VerifyInput{Type: identity.Password, Identifier: "ghost@example.com", Password: "x", Address: "203.0.113.9"})
	}
	_, err = e.svc.VerifyCredential(ctx, identity.VerifyInput{Type: identity.Password, Identifier: "other@example.com", Password: "pw", Address: "203.0.113.9"})
	wantErr(t, "verify from a throttled address", err, identity.ErrRateLimited)
}

func testConcurrentTicketUse(t *testing.T, e *env) {
	e.user(t, "race@example.com", "pw")
	v := must[identity.Verification](t, "VerifyCredential")(e.svc.VerifyCredential(ctx, identity.VerifyInput{
		Type: identity.Password, Identifier: "race@example.com", Password: "pw"}))
	const n = 8
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := e.svc.CreateSession(ctx, v, time.Hour)
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, identity.ErrInvalidTicket):
				t.Errorf("CreateSession: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d of %d concurrent mints from one ticket succeeded, want exactly 1", wins.Load(), n)
	}
}
