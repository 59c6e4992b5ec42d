package tenancytest

import (
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/flametrench/server/tenancy"
)

// An invitation's accept token: fresh each time, stored as its SHA-256
// with the invitation it is made for (and kept as it changes state), and
// matched in constant time. An invitation made without one matches none.
func testAcceptToken(t *testing.T, e *env) {
	o, owner := e.org(t)
	token, hash := tenancy.NewAcceptToken()
	other, _ := tenancy.NewAcceptToken()
	if !strings.HasPrefix(token, "ivt_") || len(token) != 4+43 || token == other || hash != sha256.Sum256([]byte(token)) {
		t.Fatalf("NewAcceptToken = %q, %x (and %q)", token, hash, other)
	}
	inv := must[tenancy.Invitation](t, "CreateInvitation")(e.svc.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: o.ID,
		Identifier: "t@example.com", Role: tenancy.Member, InvitedBy: owner.UserID, ExpiresAt: time.Now().Add(time.Hour), AcceptTokenHash: hash}))
	bare := must[tenancy.Invitation](t, "CreateInvitation(bare)")(e.svc.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: o.ID,
		Identifier: "u@example.com", Role: tenancy.Member, InvitedBy: owner.UserID, ExpiresAt: time.Now().Add(time.Hour)}))
	got := must[tenancy.Invitation](t, "GetInvitation")(e.svc.GetInvitation(ctx, inv.ID))
	for _, c := range []struct {
		inv   tenancy.Invitation
		token string
		want  bool
	}{
		{got, token, true},
		{got, other, false},
		{got, "", false},
		{got, token + "x", false},
		{got, string(hash[:]), false},
		{bare, "", false},
		{bare, token, false},
	} {
		if m := c.inv.AcceptTokenMatches(c.token); m != c.want {
			t.Errorf("AcceptTokenMatches(%q) on %s = %v, want %v", c.token, c.inv.Identifier, m, c.want)
		}
	}
	page := must[tenancy.Page[tenancy.Invitation]](t, "ListInvitations")(e.svc.ListInvitations(ctx, o.ID, "", "", 10))
	if len(page.Items) != 2 || page.Items[0].AcceptTokenHash != hash || page.Items[1].AcceptTokenHash != ([32]byte{}) {
		t.Fatalf("listed %+v", page.Items)
	}
	must[tenancy.Accepted](t, "AcceptInvitation")(e.svc.AcceptInvitation(ctx, inv.ID, tenancy.UUID{}, ""))
	if after := must[tenancy.Invitation](t, "GetInvitation(accepted)")(e.svc.GetInvitation(ctx, inv.ID)); after.AcceptTokenHash != hash {
		t.Fatalf("accepting changed the stored hash to %x", after.AcceptTokenHash)
	}
}
