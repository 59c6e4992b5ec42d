package identitytest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
)

// patTests are the personal access token tests of the suite.
var patTests = []suiteTest{
	{"PATCreate", testPATCreate},
	{"PATVerify", testPATVerify},
	{"PATList", testPATList},
	{"PATCascades", testPATCascades},
	{"BootstrapAdmin", testBootstrapAdmin},
	{"PATThrottle", testPATThrottle},
}

func (e *env) pat(t *testing.T, user identity.UUID, name string, expires *time.Time) (identity.PAT, string) {
	t.Helper()
	p, token, err := e.svc.CreatePAT(ctx, identity.NewPAT{UserID: user, Name: name, Scope: []string{"tuples:read"}, ExpiresAt: expires})
	if err != nil {
		t.Fatalf("CreatePAT(%q): %v", name, err)
	}
	return p, token
}

func testPATCreate(t *testing.T, e *env) {
	u, _ := e.user(t, "pat@example.com", "pw")
	exp := time.Now().Add(24 * time.Hour)
	p, token := e.pat(t, u.ID, "ci", &exp)
	if !strings.HasPrefix(token, "pat_"+p.ID.Hex()+"_") || len(token) != 4+32+1+43 {
		t.Fatalf("token %q for %s", token, tuples.FormatID("pat", p.ID))
	}
	if id, _, ok := identity.ParsePAT(token); !ok || id != p.ID {
		t.Fatalf("ParsePAT(minted token) = %v, %v", id, ok)
	}
	if strings.Contains(p.SecretHash, token[37:]) || !strings.HasPrefix(p.SecretHash, "$argon2id$") {
		t.Fatalf("secret hash %q", p.SecretHash)
	}
	got := must[identity.PAT](t, "GetPAT")(e.svc.GetPAT(ctx, p.ID))
	if got.Name != "ci" || len(got.Scope) != 1 || got.Scope[0] != "tuples:read" || got.StatusAt(time.Now()) != identity.PATActive ||
		got.ExpiresAt == nil || !got.ExpiresAt.Equal(*p.ExpiresAt) {
		t.Fatalf("GetPAT = %+v", got)
	}
	noScope := must[identity.PAT](t, "CreatePAT(empty scope)")(func() (identity.PAT, error) {
		p, _, err := e.svc.CreatePAT(ctx, identity.NewPAT{UserID: u.ID, Name: "x", Scope: nil})
		return p, err
	}())
	if len(noScope.Scope) != 0 || noScope.ExpiresAt != nil {
		t.Fatalf("PAT without scope or expiry = %+v", noScope)
	}

	past, far := time.Now().Add(-time.Minute), time.Now().Add(366*24*time.Hour)
	bad := []struct {
		name string
		in   identity.NewPAT
		want error
	}{
		{"empty name", identity.NewPAT{UserID: u.ID}, identity.ErrPATName},
		{"121 code units", identity.NewPAT{UserID: u.ID, Name: strings.Repeat("a", 121)}, identity.ErrPATName},
		{"61 astral characters are 122 code units", identity.NewPAT{UserID: u.ID, Name: strings.Repeat("😀", 61)}, identity.ErrPATName},
		{"expires in the past", identity.NewPAT{UserID: u.ID, Name: "x", ExpiresAt: &past}, identity.ErrPATExpiresPast},
		{"expires after 365 days", identity.NewPAT{UserID: u.ID, Name: "x", ExpiresAt: &far}, identity.ErrPATLifetime},
		{"empty scope entry", identity.NewPAT{UserID: u.ID, Name: "x", Scope: []string{""}}, identity.ErrPATScope},
		{"unknown user", identity.NewPAT{UserID: tuples.NewUUID(), Name: "x"}, identity.ErrUserNotFound},
	}
	for _, tc := range bad {
		_, _, err := e.svc.CreatePAT(ctx, tc.in)
		wantErr(t, tc.name, err, tc.want)
	}
	// 60 astral characters are exactly 120 code units: allowed.
	e.pat(t, u.ID, strings.Repeat("😀", 60), nil)
	must[identity.User](t, "RevokeUser")(e.svc.RevokeUser(ctx, u.ID))
	_, _, err := e.svc.CreatePAT(ctx, identity.NewPAT{UserID: u.ID, Name: "late"})
	wantErr(t, "PAT for a revoked user", err, identity.ErrAlreadyTerminal)
}

func testPATVerify(t *testing.T, e *env) {
	u, _ := e.user(t, "pv@example.com", "pw")
	exp := time.Now().Add(time.Hour)
	p, token := e.pat(t, u.ID, "verify", &exp)

	first := must[identity.PAT](t, "VerifyPAT")(e.svc.VerifyPAT(ctx, token))
	if first.ID != p.ID || first.UserID != u.ID {
		t.Fatalf("VerifyPAT = %+v", first)
	}
	stored := must[identity.PAT](t, "GetPAT")(e.svc.GetPAT(ctx, p.ID))
	if stored.LastUsedAt == nil {
		t.Fatal("last_used_at not set by the first use")
	}
	e.advance(10 * time.Second)
	must[identity.PAT](t, "VerifyPAT (cached)")(e.svc.VerifyPAT(ctx, token))
	if again := must[identity.PAT](t, "GetPAT")(e.svc.GetPAT(ctx, p.ID)); !again.LastUsedAt.Equal(*stored.LastUsedAt) {
		t.Fatal("last_used_at moved within the 60 s coalescing window")
	}
	e.advance(time.Minute)
	must[identity.PAT](t, "VerifyPAT")(e.svc.VerifyPAT(ctx, token))
	if later := must[identity.PAT](t, "GetPAT")(e.svc.GetPAT(ctx, p.ID)); !later.LastUsedAt.After(*stored.LastUsedAt) {
		t.Fatal("last_used_at did not move after the window")
	}

	wrong := token[:len(token)-1] + "A"
	if wrong == token {
		wrong = token[:len(token)-1] + "B"
	}
	cases := []struct {
		name, token string
		want        error
	}{
		{"wrong secret", wrong, identity.ErrInvalidToken},
		{"unknown id", "pat_" + tuples.NewUUID().Hex() + "_" + token[37:], identity.ErrInvalidToken},
		{"secret over 256 characters", token[:37] + strings.Repeat("a", 257), identity.ErrInvalidToken},
		{"malformed", "pat_" + p.ID.Hex(), identity.ErrTokenFormat},
		{"uppercase id", "pat_" + strings.ToUpper(p.ID.Hex()) + "_" + token[37:], identity.ErrTokenFormat},
	}
	for _, tc := range cases {
		_, err := e.svc.VerifyPAT(ctx, tc.token)
		wantErr(t, tc.name, err, tc.want)
		if tuples.KindOf(err) != tuples.Unauthenticated {
			t.Fatalf("%s: kind %v, want Unauthenticated", tc.name, tuples.KindOf(err))
		}
	}
	// A missing row and a wrong secret are the same error, code and all (H2).
	_, e1 := e.svc.VerifyPAT(ctx, cases[0].token)
	_, e2 := e.svc.VerifyPAT(ctx, cases[1].token)
	if e1.Error() != e2.Error() {
		t.Fatalf("wrong secret %q and unknown id %q differ", e1, e2)
	}

	// Suspension stops the token; reinstating brings it back.
	must[identity.User](t, "SuspendUser")(e.svc.SuspendUser(ctx, u.ID))
	_, err := e.svc.VerifyPAT(ctx, token)
	wantErr(t, "PAT of a suspended user", err, identity.ErrInvalidToken)
	must[identity.User](t, "ReinstateUser")(e.svc.ReinstateUser(ctx, u.ID))
	must[identity.PAT](t, "VerifyPAT after reinstate")(e.svc.VerifyPAT(ctx, token))

	// Expired, then revoked: revoked wins (PAT-2 precedence), even for a
	// token the cache has seen.
	e.advance(time.Hour)
	_, err = e.svc.VerifyPAT(ctx, token)
	wantErr(t, "expired", err, identity.ErrPATExpired)
	must[identity.PAT](t, "RevokePAT")(e.svc.RevokePAT(ctx, p.ID))
	_, err = e.svc.VerifyPAT(ctx, token)
	wantErr(t, "revoked and expired", err, identity.ErrPATRevoked)

	p2, t2 := e.pat(t, u.ID, "cached", nil)
	must[identity.PAT](t, "VerifyPAT")(e.svc.VerifyPAT(ctx, t2))
	// Revoked directly in the store, as another replica would: the cache
	// must not keep the token alive.
	if _, err := e.store.Update(ctx, func(tx identity.Tx) error {
		row, err := tx.PAT(ctx, p2.ID)
		if err != nil {
			return err
		}
		now := time.Now()
		row.RevokedAt = &now
		return tx.PutPAT(ctx, row)
	}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.VerifyPAT(ctx, t2)
	wantErr(t, "cached token revoked elsewhere", err, identity.ErrPATRevoked)

	r1 := must[identity.PAT](t, "RevokePAT")(e.svc.RevokePAT(ctx, p.ID))
	if r1.RevokedAt == nil {
		t.Fatal("revoked PAT without revoked_at")
	}
	_, err = e.svc.RevokePAT(ctx, tuples.NewUUID())
	wantErr(t, "RevokePAT(unknown)", err, identity.ErrPATNotFound)
}

func testPATList(t *testing.T, e *env) {
	u, _ := e.user(t, "pl@example.com", "pw")
	soon := time.Now().Add(time.Hour)
	a, _ := e.pat(t, u.ID, "a", nil)
	b, _ := e.pat(t, u.ID, "b", &soon)
	c, _ := e.pat(t, u.ID, "c", nil)
	must[identity.PAT](t, "RevokePAT")(e.svc.RevokePAT(ctx, c.ID))
	e.advance(2 * time.Hour)

	ids := func(status identity.PATStatus, limit int) []identity.UUID {
		var out []identity.UUID
		cursor := ""
		for range 10 {
			p := must[identity.Page[identity.PAT]](t, "ListPATs")(e.svc.ListPATs(ctx, u.ID, status, cursor, limit))
			for _, x := range p.Items {
				out = append(out, x.ID)
			}
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		return out
	}
	for _, tc := range []struct {
		status identity.PATStatus
		want   []identity.UUID
	}{
		{"", []identity.UUID{a.ID, b.ID, c.ID}},
		{identity.PATActive, []identity.UUID{a.ID}},
		{identity.PATExpired, []identity.UUID{b.ID}},
		{identity.PATRevoked, []identity.UUID{c.ID}},
	} {
		got := ids(tc.status, 1)
		if len(got) != len(tc.want) {
			t.Fatalf("ListPATs(%q) = %v, want %v", tc.status, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("ListPATs(%q) = %v, want %v", tc.status, got, tc.want)
			}
		}
	}
	_, err := e.svc.ListPATs(ctx, u.ID, "gone", "", 0)
	wantErr(t, "bad status", err, identity.ErrInvalidInput)
	_, err = e.svc.ListPATs(ctx, tuples.NewUUID(), "", "", 0)
	wantErr(t, "unknown user", err, identity.ErrUserNotFound)
}

func testPATCascades(t *testing.T, e *env) {
	u, _ := e.user(t, "pc@example.com", "pw")
	p, token := e.pat(t, u.ID, "gone", nil)
	must[identity.PAT](t, "VerifyPAT")(e.svc.VerifyPAT(ctx, token))
	must[identity.User](t, "RevokeUser")(e.svc.RevokeUser(ctx, u.ID))
	got := must[identity.PAT](t, "GetPAT")(e.svc.GetPAT(ctx, p.ID))
	if got.RevokedAt == nil {
		t.Fatal("user revocation left the PAT unrevoked")
	}
	_, err := e.svc.VerifyPAT(ctx, token)
	wantErr(t, "PAT of a revoked user", err, identity.ErrPATRevoked)
	pr, err := e.svc.Resolve(ctx, token, "")
	if !errors.Is(err, identity.ErrPATRevoked) || pr.Kind != "" {
		t.Fatalf("Resolve(revoked PAT) = %+v, %v", pr, err)
	}
}

func testBootstrapAdmin(t *testing.T, e *env) {
	u, created, err := e.svc.BootstrapAdmin(ctx, "root@example.com", "first")
	if err != nil || !created || !u.Admin || u.Status != identity.Active {
		t.Fatalf("BootstrapAdmin = %+v, %v, %v", u, created, err)
	}
	e.login(t, "root@example.com", "first")
	// Idempotent: a second start with another password changes nothing.
	again, created, err := e.svc.BootstrapAdmin(ctx, "root@example.com", "second")
	if err != nil || created || again.ID != u.ID {
		t.Fatalf("BootstrapAdmin again = %+v, %v, %v", again, created, err)
	}
	e.login(t, "root@example.com", "first")
	// A suspended admin stays suspended.
	must[identity.User](t, "SuspendUser")(e.svc.SuspendUser(ctx, u.ID))
	if again, _, err := e.svc.BootstrapAdmin(ctx, "root@example.com", "first"); err != nil || again.Status != identity.Suspended {
		t.Fatalf("BootstrapAdmin of a suspended admin = %+v, %v; want it left suspended", again, err)
	}
	// Someone else who signed up with the identifier is not promoted for
	// holding it...
	squatter, _ := e.user(t, "ops@example.com", "squatter's")
	_, _, err = e.svc.BootstrapAdmin(ctx, "ops@example.com", "operator's")
	wantErr(t, "identifier held by a non-admin", err, identity.ErrAdminIdentifierTaken)
	if got := must[identity.User](t, "GetUser")(e.svc.GetUser(ctx, squatter.ID)); got.Admin {
		t.Fatal("the squatter became admin")
	}
	// ...but a user whose password is the configured one is.
	plain, _ := e.user(t, "ops2@example.com", "operator's")
	promoted, created, err := e.svc.BootstrapAdmin(ctx, "ops2@example.com", "operator's")
	if err != nil || created || promoted.ID != plain.ID || !promoted.Admin || promoted.Status != identity.Active {
		t.Fatalf("BootstrapAdmin(existing, right password) = %+v, %v, %v", promoted, created, err)
	}
	if got := must[identity.User](t, "GetUser")(e.svc.GetUser(ctx, plain.ID)); !got.Admin {
		t.Fatal("admin flag not stored")
	}
	_, _, err = e.svc.BootstrapAdmin(ctx, "", "pw")
	wantErr(t, "empty identifier", err, identity.ErrInvalidInput)
}

// Made-up PATs cost an Argon2id verification each, so one address gets a
// few and is then rate-limited; another address, and a real token from the
// throttled one once its lock-out ends, still work.
func testPATThrottle(t *testing.T, e *env) {
	u, _ := e.user(t, "pat-throttle@example.com", "pw")
	_, token := e.pat(t, u.ID, "ci", nil)
	fake := func(i int) string {
		return tuples.FormatID("pat", tuples.NewUUID()) + "_" + strings.Repeat(string(rune('a'+i%26)), 43)
	}
	var err error
	var rl *identity.RateLimitError
	n := 0
	for ; n < 20 && !errors.As(err, &rl); n++ {
		_, err = e.svc.Resolve(ctx, fake(n), "198.51.100.4")
		if err != nil && !errors.As(err, &rl) && !errors.Is(err, identity.ErrInvalidToken) {
			t.Fatalf("made-up PAT %d: %v", n, err)
		}
	}
	if !errors.As(err, &rl) || n > 7 {
		t.Fatalf("after %d made-up PATs from one address: err = %v, want a rate limit within 6", n, err)
	}
	if _, err := e.svc.Resolve(ctx, fake(0), "198.51.100.5"); !errors.Is(err, identity.ErrInvalidToken) {
		t.Fatalf("another address: %v, want invalid token", err)
	}
	// Valid tokens from a healthy address are not charged at all.
	for range 10 {
		if _, err := e.svc.Resolve(ctx, token, "198.51.100.6"); err != nil {
			t.Fatalf("a valid PAT: %v", err)
		}
	}
	e.advance(rl.RetryAfter + time.Second)
	if _, err := e.svc.Resolve(ctx, token, "198.51.100.4"); err != nil {
		t.Fatalf("a valid PAT after the lock-out: %v", err)
	}
}
