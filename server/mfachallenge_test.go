package server_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
)

// mfWebAuthnFactor enrols and confirms a WebAuthn factor of the user over
// HTTP with the user's session, and returns its authenticator (whose
// signature counter is at 1).
func mfWebAuthnFactor(a *api, ses string, user tuples.UUID) *mfAuthenticator {
	a.t.Helper()
	au := mfNewAuthenticator(a.t)
	r := a.call("POST", "/v1/users/"+mfUsr(user)+"/mfa-factors", ses, map[string]string{"type": "webauthn"})
	a.want(r, http.StatusCreated)
	m := mfObj(a.t, r)
	id := m["factor"].(map[string]any)["id"].(string)
	challenge := m["webauthn_enrollment"].(map[string]any)["challenge_b64u"].(string)
	a.want(a.call("POST", "/v1/mfa-factors/"+id+"/confirm", ses, map[string]any{"type": "webauthn", "attestation": au.attestation(a.t, challenge)}),
		http.StatusOK)
	return au
}

// A ticket holder's challenge: a live ticket of the user gets the user's
// credential IDs, and is not used up by it; any other ticket gets what a
// missing user gets, a challenge that was never stored and no IDs (A10).
func TestMFAChallengeForTicket(t *testing.T) {
	idStores(t, func(t *testing.T, newAPI func(*testing.T, ...apiOption) *api) {
		clock := &idClock{}
		a := newAPI(t, clock.option)
		alice, _, ident, pw, ses := mfPasswordUser(a, "alice")
		_, _, bident, bpw, _ := mfPasswordUser(a, "bob")
		au := mfWebAuthnFactor(a, ses, alice)
		count := uint32(1)
		chURL := "/v1/users/" + mfUsr(alice) + "/mfa/challenge"
		verify := "/v1/users/" + mfUsr(alice) + "/mfa/verify"
		challenge := func(url, ticket string) map[string]any {
			t.Helper()
			r := a.call("POST", url, "", map[string]string{"verification_ticket": ticket, "rp_id": "example.com"})
			a.want(r, http.StatusCreated)
			ch := mfKeys(t, "challenge", mfObj(t, r), mfChallengeKeys...)
			if ch["rp_id"] != "example.com" || ch["timeout_ms"] != 60000.0 {
				t.Fatalf("challenge = %s", r.body)
			}
			// On the API's clock, which the test has moved.
			now := time.Now().Add(time.Duration(clock.offset.Load()))
			if exp := mfTime(t, "expires_at", ch["expires_at"]); exp.Before(now) || exp.After(now.Add(identity.ChallengeTTL+time.Minute)) {
				t.Fatalf("expires_at = %v, want about %v", exp, now.Add(identity.ChallengeTTL))
			}
			return ch
		}
		// assert answers the challenge with the next signature counter.
		assert := func(ch map[string]any) map[string]any {
			t.Helper()
			count++
			return au.assertion(t, ch["challenge_id"].(string), ch["challenge_b64u"].(string), count)
		}

		// A live ticket of the user: the credential IDs, twice (the first
		// challenge did not use the ticket up), then the ticket verifies and,
		// upgraded, mints a session.
		tk := mfTicket(a, ident, pw)
		var ch map[string]any
		for range 2 {
			ch = challenge(chURL, tk.Ticket)
			creds, _ := ch["allow_credentials"].([]any)
			if len(creds) != 1 {
				t.Fatalf("allow_credentials for a live ticket = %v, want alice's one credential", ch["allow_credentials"])
			}
			if c := mfKeys(t, "allowed credential", creds[0], "type", "id", "transports"); c["type"] != "public-key" || c["id"] != mfB64(au.credID) ||
				!slices.Equal(c["transports"].([]any), []any{"usb", "internal"}) {
				t.Fatalf("allow_credentials = %v", creds)
			}
		}
		a.want(a.call("POST", verify, "", map[string]any{"type": "webauthn", "assertion": assert(ch), "verification_ticket": tk.Ticket}), http.StatusOK)
		if _, _, err := a.ids.CreateSession(context.Background(), tk, time.Hour); err != nil {
			t.Fatalf("CreateSession from the ticket after the challenge and verifyMfa: %v", err)
		}

		// Any other ticket: no IDs, and a challenge no assertion answers
		// (answered with the session, which would verify a stored one).
		bad := func(what, url, ticket string) {
			t.Helper()
			ch := challenge(url, ticket)
			if ch["allow_credentials"] != nil {
				t.Fatalf("allow_credentials for %s = %v, want null", what, ch["allow_credentials"])
			}
			if url == chURL {
				a.want(a.call("POST", verify, ses, map[string]any{"type": "webauthn", "assertion": assert(ch)}),
					http.StatusUnauthorized, "webauthn.challenge_mismatch")
			}
		}
		bad("a used ticket", chURL, tk.Ticket)
		bad("a made-up ticket", chURL, "made-up-ticket")
		bad("another user's ticket", chURL, mfTicket(a, bident, bpw).Ticket)
		fresh := mfTicket(a, ident, pw)
		bad("a missing user", "/v1/users/"+tuples.FormatID("usr", tuples.NewUUID())+"/mfa/challenge", fresh.Ticket)
		clock.offset.Add(int64(identity.TicketTTL + time.Second))
		bad("an expired ticket", chURL, fresh.Ticket)

		// The session still verifies a stored challenge with the same
		// authenticator: the refusals above were the challenges'.
		r := a.call("POST", chURL, ses, nil)
		a.want(r, http.StatusCreated)
		a.want(a.call("POST", verify, ses, map[string]any{"type": "webauthn", "assertion": assert(mfObj(t, r))}), http.StatusOK)
	})
}
