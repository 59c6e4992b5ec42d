package identitytest

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
)

// shareTests are the share token tests of the suite.
var shareTests = []suiteTest{
	{"ShareLifecycle", testShareLifecycle},
	{"ShareSingleUseRace", testShareSingleUseRace},
	{"ResolveRouting", testResolveRouting},
}

func (e *env) share(t *testing.T, by identity.UUID, obj tuples.Ref, single bool, ttl time.Duration) (identity.Share, string) {
	t.Helper()
	sh, token, err := e.svc.CreateShare(ctx, identity.NewShare{Object: obj, Relation: "viewer", CreatedBy: by, ExpiresIn: ttl, SingleUse: single})
	if err != nil {
		t.Fatalf("CreateShare: %v", err)
	}
	return sh, token
}

func testShareLifecycle(t *testing.T, e *env) {
	u, _ := e.user(t, "sh@example.com", "pw")
	doc := tuples.Ref{Type: "doc", ID: tuples.NewUUID()}
	sh, token := e.share(t, u.ID, doc, false, time.Hour)
	if !strings.HasPrefix(token, identity.SharePrefix) || len(token) != 4+43 || sh.Object != doc || sh.Relation != "viewer" {
		t.Fatalf("CreateShare = %+v, %q", sh, token)
	}
	for range 2 { // reusable
		got := must[identity.Share](t, "VerifyShare")(e.svc.VerifyShare(ctx, token))
		if got.ID != sh.ID || got.ConsumedAt != nil {
			t.Fatalf("VerifyShare = %+v", got)
		}
	}
	one, oneToken := e.share(t, u.ID, doc, true, time.Hour)
	if got := must[identity.Share](t, "VerifyShare(single)")(e.svc.VerifyShare(ctx, oneToken)); got.ConsumedAt == nil {
		t.Fatal("single-use share not consumed")
	}
	_, err := e.svc.VerifyShare(ctx, oneToken)
	wantErr(t, "single-use twice", err, identity.ErrShareConsumed)
	r := must[identity.Share](t, "RevokeShare")(e.svc.RevokeShare(ctx, one.ID))
	_, err = e.svc.VerifyShare(ctx, oneToken)
	wantErr(t, "revoked beats consumed", err, identity.ErrShareRevoked)
	again := must[identity.Share](t, "RevokeShare again")(e.svc.RevokeShare(ctx, one.ID))
	if !again.RevokedAt.Equal(*r.RevokedAt) {
		t.Fatal("revoking again moved revoked_at")
	}
	_, err = e.svc.VerifyShare(ctx, identity.SharePrefix+"unknown")
	wantErr(t, "unknown token", err, identity.ErrInvalidShareToken)
	_, err = e.svc.VerifyShare(ctx, "no-prefix")
	wantErr(t, "token without prefix", err, identity.ErrInvalidShareToken)

	e.advance(time.Hour)
	_, err = e.svc.VerifyShare(ctx, token)
	wantErr(t, "expired", err, identity.ErrShareExpired)

	bad := []struct {
		name string
		in   identity.NewShare
		want error
	}{
		{"zero lifetime", identity.NewShare{Object: doc, Relation: "viewer", CreatedBy: u.ID}, identity.ErrShareLifetime},
		{"over 365 days", identity.NewShare{Object: doc, Relation: "viewer", CreatedBy: u.ID, ExpiresIn: 366 * 24 * time.Hour}, identity.ErrShareLifetime},
		{"bad relation", identity.NewShare{Object: doc, Relation: "View", CreatedBy: u.ID, ExpiresIn: time.Hour}, tuples.ErrInvalidRelation},
		{"bad object type", identity.NewShare{Object: tuples.Ref{Type: "project", ID: doc.ID}, Relation: "viewer", CreatedBy: u.ID, ExpiresIn: time.Hour}, tuples.ErrInvalidObjType},
		{"unknown creator", identity.NewShare{Object: doc, Relation: "viewer", CreatedBy: tuples.NewUUID(), ExpiresIn: time.Hour}, identity.ErrUserNotFound},
	}
	for _, tc := range bad {
		_, _, err := e.svc.CreateShare(ctx, tc.in)
		wantErr(t, tc.name, err, tc.want)
	}

	var all []identity.UUID
	cursor := ""
	for range 5 {
		p := must[identity.Page[identity.Share]](t, "ListShares")(e.svc.ListShares(ctx, doc, cursor, 1))
		for _, s := range p.Items {
			all = append(all, s.ID)
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if len(all) != 2 || all[0] != sh.ID || all[1] != one.ID {
		t.Fatalf("ListShares = %v, want [%v %v]", all, sh.ID, one.ID)
	}
	_, err = e.svc.GetShare(ctx, tuples.NewUUID())
	wantErr(t, "GetShare(unknown)", err, identity.ErrShareNotFound)
	must[identity.User](t, "SuspendUser")(e.svc.SuspendUser(ctx, u.ID))
	_, _, err = e.svc.CreateShare(ctx, identity.NewShare{Object: doc, Relation: "viewer", CreatedBy: u.ID, ExpiresIn: time.Hour})
	wantErr(t, "share by a suspended user", err, identity.ErrUserNotActive)
}

func testShareSingleUseRace(t *testing.T, e *env) {
	u, _ := e.user(t, "race-shr@example.com", "pw")
	_, token := e.share(t, u.ID, tuples.Ref{Type: "doc", ID: tuples.NewUUID()}, true, time.Hour)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.svc.VerifyShare(ctx, token)
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, identity.ErrShareConsumed):
				t.Errorf("VerifyShare: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent verifications of a single-use share succeeded, want 1", wins.Load())
	}
}

func testResolveRouting(t *testing.T, e *env) {
	u, _ := e.user(t, "route@example.com", "pw")
	_, sesToken := e.login(t, "route@example.com", "pw")
	_, patToken := e.pat(t, u.ID, "route", nil)
	sh, shrToken := e.share(t, u.ID, tuples.Ref{Type: "doc", ID: tuples.NewUUID()}, false, time.Hour)

	for _, tc := range []struct {
		token string
		kind  identity.PrincipalKind
	}{{sesToken, identity.KindSession}, {patToken, identity.KindPAT}, {shrToken, identity.KindShare}} {
		p, err := e.svc.Resolve(ctx, tc.token, "")
		if err != nil || p.Kind != tc.kind {
			t.Fatalf("Resolve(%s token) = %+v, %v", tc.kind, p.Kind, err)
		}
		if tc.kind == identity.KindShare && (p.Share.ID != sh.ID || !p.UserID.IsZero()) {
			t.Fatalf("a share resolved to a user: %+v", p)
		}
		if tc.kind != identity.KindShare && p.UserID != u.ID {
			t.Fatalf("Resolve(%s) user %v, want %v", tc.kind, p.UserID, u.ID)
		}
	}
	// No fall-through: a session token dressed as a PAT fails as a PAT.
	_, err := e.svc.Resolve(ctx, "pat_"+sesToken, "")
	wantErr(t, "session token with a pat_ prefix", err, identity.ErrTokenFormat)
	_, err = e.svc.Resolve(ctx, identity.SharePrefix+sesToken, "")
	wantErr(t, "session token with a shr_ prefix", err, identity.ErrInvalidShareToken)
}
