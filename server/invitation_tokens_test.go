package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flametrench/server/tenancy"
	"github.com/flametrench/server/tuples"
)

// An invitation is accepted, declined or read by its invitee only with
// its accept token: identifiers are not verified, so whoever registers
// the identifier first and learns the inv_ id must not get in. Every way
// of not presenting the right token is answered exactly as an invitation
// that does not exist; a platform admin needs no token; the token is
// shown once and only its hash is kept.
func TestInvitationTokens(t *testing.T) {
	stores(t, func(t *testing.T, newAPI func(*testing.T, string) *api) {
		a := newAPI(t, "")
		ctx := context.Background()
		f := tnSetup(a)
		// Sam holds the invited identifier: the real invitee, or whoever
		// signed up with it first.
		sam, samS := a.user("sam")
		inv := tnInvite(a, f.aliceS, f.org.ID, "sam@example.com", "member")
		other := tnInvite(a, f.aliceS, f.org.ID, "sam@example.com", "guest")
		if inv.AcceptToken == other.AcceptToken {
			t.Fatal("two invitations have the same accept token")
		}
		path := "/v1/invitations/" + inv.ID

		// The answer for an invitation that does not exist, for each
		// route; a refusal must be exactly that.
		unknown := "/v1/invitations/" + tuples.FormatID("inv", tuples.NewUUID())
		for _, c := range []struct {
			what   string
			method string
			suffix string
			body   any
			header []string
		}{
			{"accept without a body", "POST", "/accept", nil, nil},
			{"accept with {}", "POST", "/accept", `{}`, nil},
			{"accept with an empty token", "POST", "/accept", tnTokenBody(tnInvitation{}), nil},
			{"accept with another invitation's token", "POST", "/accept", tnTokenBody(other), nil},
			{"accept with a made-up token", "POST", "/accept", map[string]string{"accept_token": "ivt_" + strings.Repeat("A", 43)}, nil},
			{"accept with the token's hash", "POST", "/accept", map[string]string{"accept_token": hex.EncodeToString(tnHash(inv.AcceptToken))}, nil},
			{"accept with a huge token", "POST", "/accept", map[string]string{"accept_token": inv.AcceptToken + strings.Repeat("x", 4096)}, nil},
			{"accept with the token in the header", "POST", "/accept", nil, tnWithToken(inv)},
			{"accept with a body that is not JSON", "POST", "/accept", `{"accept_token": "` + inv.AcceptToken, nil},
			{"decline without a body", "POST", "/decline", nil, nil},
			{"decline with another invitation's token", "POST", "/decline", tnTokenBody(other), nil},
			{"get without the header", "GET", "", nil, nil},
			{"get with another invitation's token", "GET", "", nil, tnWithToken(other)},
			{"get with the token in a body", "GET", "", tnTokenBody(inv), nil},
		} {
			want := a.call(c.method, unknown+c.suffix, samS, c.body, c.header...)
			got := a.call(c.method, path+c.suffix, samS, c.body, c.header...)
			if want.status != http.StatusNotFound || got.status != want.status || string(got.body) != string(want.body) {
				t.Errorf("%s: %d %s, want what an unknown invitation gets, %d %s", c.what, got.status, got.body, want.status, want.body)
			}
		}
		if st := tnInvitationOf(t, a.call("GET", path, f.aliceS, nil)).Status; st != "pending" {
			t.Fatalf("after the refusals the invitation is %s", st)
		}

		// The token is shown once: not in a read or a listing, by anyone.
		for _, r := range []response{
			a.call("GET", path, f.aliceS, nil),
			a.call("GET", path, serviceKey, nil),
			a.call("GET", path, samS, nil, tnWithToken(inv)...),
			a.call("GET", "/v1/orgs/"+f.org.ID+"/invitations", f.aliceS, nil),
		} {
			a.want(r, http.StatusOK)
			if strings.Contains(string(r.body), inv.AcceptToken) || strings.Contains(string(r.body), "accept_token") {
				t.Fatalf("a read shows the accept token: %s", r.body)
			}
		}
		r := a.call("GET", "/v1/orgs/"+f.org.ID+"/invitations", f.aliceS, nil)
		var listed tnPage[json.RawMessage]
		r.decode(t, &listed)
		for _, raw := range listed.Data {
			tnKeys(t, "a listed Invitation", raw, tnInvitationKeys...)
		}
		// What is stored is the token's SHA-256, not the token.
		stored, err := a.orgs.GetInvitation(ctx, tnInvID(t, inv))
		if err != nil {
			t.Fatal(err)
		}
		if stored.AcceptTokenHash != sha256.Sum256([]byte(inv.AcceptToken)) {
			t.Fatalf("stored %x for token %q, want its SHA-256", stored.AcceptTokenHash, inv.AcceptToken)
		}

		// With the token, the invitee accepts; the answer does not repeat it.
		r = tnAccept(a, samS, inv)
		a.want(r, http.StatusOK)
		if strings.Contains(string(r.body), inv.AcceptToken) {
			t.Fatalf("the acceptance shows the token: %s", r.body)
		}
		if !tnAllowed(a, sam, "member", "org", tnOrgUUID(t, f.org.ID)) {
			t.Fatal("the invitee is no member after accepting")
		}
		// The token of one invitation does not decline another; its own
		// does.
		a.want(a.call("POST", "/v1/invitations/"+other.ID+"/decline", samS, tnTokenBody(inv)), http.StatusNotFound, "not_found")
		a.want(a.call("POST", "/v1/invitations/"+other.ID+"/decline", samS, tnTokenBody(other)), http.StatusOK)

		// A platform admin accepts without a token, for a named user.
		zed, _ := a.user("zed")
		third := tnInvite(a, f.aliceS, f.org.ID, "zed@example.com", "guest")
		a.want(a.call("POST", "/v1/invitations/"+third.ID+"/accept", serviceKey,
			map[string]string{"as_usr_id": tnUsr(zed), "accepting_identifier": "zed@example.com"}), http.StatusOK)

		// An invitation made without a token (the library, directly) is no
		// invitee's to accept, whatever they present; an admin's still.
		bare, err := a.orgs.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: tnOrgUUID(t, f.org.ID), Identifier: "sam2@example.com",
			Role: tenancy.Guest, InvitedBy: f.alice, ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		_, sam2S := a.user("sam2")
		barePath := "/v1/invitations/" + tuples.FormatID("inv", bare.ID)
		for _, body := range []any{nil, `{"accept_token": ""}`, map[string]string{"accept_token": "ivt_" + strings.Repeat("A", 43)}} {
			a.want(a.call("POST", barePath+"/accept", sam2S, body), http.StatusNotFound, "not_found")
		}
		a.want(a.call("GET", barePath, sam2S, nil, "Flametrench-Accept-Token", ""), http.StatusNotFound, "not_found")
		a.want(a.call("POST", barePath+"/accept", serviceKey, nil), http.StatusOK)
	})
}

func tnHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func tnInvID(t *testing.T, inv tnInvitation) tuples.UUID {
	t.Helper()
	u, err := tuples.DecodeIDOf("inv", inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
