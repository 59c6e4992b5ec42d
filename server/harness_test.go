package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/identity"
	identitymemory "github.com/flametrench/server/identity/memory"
	"github.com/flametrench/server/identity/password"
	identitypg "github.com/flametrench/server/identity/postgres"
	"github.com/flametrench/server/rewrite"
	"github.com/flametrench/server/server"
	"github.com/flametrench/server/tenancy"
	tenancymemory "github.com/flametrench/server/tenancy/memory"
	tenancypg "github.com/flametrench/server/tenancy/postgres"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
	tpg "github.com/flametrench/server/tuples/postgres"
	"github.com/flametrench/server/tuples/postgres/pgtest"
)

// serviceKey is the test servers' FLAMETRENCH_SERVICE_KEY.
const serviceKey = "test-service-key-0123456789abcdef"

// webauthnOrigin is the test servers' WebAuthn origin (RP ID example.com).
const webauthnOrigin = "https://example.com"

var hasher = password.NewPool(password.PoolConfig{QueueTimeout: time.Minute})

// api is one real HTTP server over real stores, built the way serve builds
// it, and a client for it.
type api struct {
	t    *testing.T
	url  string
	ids  *identity.Service
	orgs *tenancy.Service
	eng  *check.Engine
	reg  *prometheus.Registry
	http *http.Client
	srv  *server.Server
}

// stores runs fn once per store: memory, and PostgreSQL when
// FLAMETRENCH_TEST_DATABASE_URL is set (pgtest skips, or fails when set
// but unreachable).
func stores(t *testing.T, fn func(t *testing.T, newAPI func(t *testing.T, rulesDoc string) *api)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		fn(t, func(t *testing.T, r string) *api { return newAPI(t, r, false) })
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, func(t *testing.T, r string) *api { return newAPI(t, r, true) })
	})
}

// apiOption adjusts the configuration newAPI builds a server from (closed
// sign-up, a test clock).
type apiOption func(*identity.Config, *server.Config)

func newAPI(t *testing.T, rulesDoc string, pg bool, opts ...apiOption) *api {
	t.Helper()
	return newAPIWith(t, rulesDoc, pg, nil, opts...)
}

// newAPIWith is newAPI whose tenancy store is wrap's wrapping of the real
// one, when wrap is not nil (a test that needs to act between two of a
// request's reads).
func newAPIWith(t *testing.T, rulesDoc string, pg bool, wrap func(tenancy.Store) tenancy.Store, opts ...apiOption) *api {
	t.Helper()
	g := memory.New()
	var store tuples.Store = g
	var waiter tuples.Waiter = g
	var epoch func() uint64
	var users identity.Store = identitymemory.New(g)
	if pg {
		db, _ := pgtest.DB(t, tpg.Config{})
		if _, err := db.Migrate(context.Background(), tpg.Migrations, identitypg.Migrations, tenancypg.Migrations); err != nil {
			t.Fatal(err)
		}
		f := tpg.NewFollower(db, g, tpg.FollowerConfig{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); f.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		for deadline := time.Now().Add(10 * time.Second); !f.Ready(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the follower did not hydrate in 10s")
			}
		}
		store, waiter, epoch, users = f, f, f.Epoch, identitypg.New(f)
	}
	var rules *rewrite.Rules
	if rulesDoc != "" {
		var err error
		if rules, err = rewrite.Parse([]byte(rulesDoc)); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	eng, err := check.New(func() check.Graph { return g.Snapshot() }, g.Intern, check.Config{Rules: rules, Waiter: waiter})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Close)
	var orgStore tenancy.Store = tenancymemory.New(users)
	if pg {
		orgStore = tenancypg.New(users)
	}
	if wrap != nil {
		orgStore = wrap(orgStore)
	}
	orgs := tenancy.NewService(orgStore, tenancy.Config{CanGrant: server.Grants(eng)})
	idCfg := identity.Config{Hasher: hasher, OnRevokeUser: orgs.RevokeUser}
	cfg := server.Config{Metrics: reg, Registerer: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Engine: eng, Tuples: store, Tenancy: orgs, Signup: true, WebAuthnOrigin: webauthnOrigin, Epoch: epoch, ServiceKey: serviceKey,
		MaxBodyBytes: 64 << 10}
	for _, o := range opts {
		o(&idCfg, &cfg)
	}
	ids := identity.NewService(users, idCfg)
	cfg.Identity = ids
	srv := server.New(cfg)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &api{t: t, url: ts.URL, ids: ids, orgs: orgs, eng: eng, reg: reg, http: ts.Client(), srv: srv}
}

// response is what a call got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// decode decodes the body into v, failing the test if it cannot.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// errCode is the code of an error body ("" if none).
func (r response) errCode() string {
	var e struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Code
}

// call makes a request with a bearer token ("" for none) and a body (a
// string is sent as is; anything else as JSON; nil for none).
func (a *api) call(method, path, token string, body any, header ...string) response {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.url+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := a.http.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// want fails the test unless the response has the status (and, for an
// error, the code when one is given).
func (a *api) want(r response, status int, code ...string) {
	a.t.Helper()
	if r.status != status || (len(code) > 0 && r.errCode() != code[0]) {
		a.t.Fatalf("got %d %s, want %d %v", r.status, r.body, status, code)
	}
}

// user makes an active user with an OIDC credential (no Argon2id) and a
// session, and returns the user and the session's token.
func (a *api) user(name string) (tuples.UUID, string) {
	a.t.Helper()
	ctx := context.Background()
	u, err := a.ids.CreateUser(ctx, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	c, err := a.ids.CreateCredential(ctx, identity.NewCredential{UserID: u.ID, Type: identity.OIDC,
		Identifier: name + "@example.com", OIDCIssuer: "https://idp.example", OIDCSubject: name})
	if err != nil {
		a.t.Fatal(err)
	}
	_, token, err := a.ids.CreateSessionFor(ctx, u.ID, c.ID, time.Hour)
	if err != nil {
		a.t.Fatal(err)
	}
	return u.ID, token
}

// admin bootstraps a platform admin, signs it in and returns its session
// token.
func (a *api) admin() string {
	a.t.Helper()
	ctx := context.Background()
	if _, _, err := a.ids.BootstrapAdmin(ctx, "root@example.com", "correct horse battery staple"); err != nil {
		a.t.Fatal(err)
	}
	v, err := a.ids.VerifyCredential(ctx, identity.VerifyInput{Type: identity.Password, Identifier: "root@example.com",
		Password: "correct horse battery staple"})
	if err != nil {
		a.t.Fatal(err)
	}
	_, token, err := a.ids.CreateSession(ctx, v, time.Hour)
	if err != nil {
		a.t.Fatal(err)
	}
	return token
}

// pat makes a PAT of the user with the scopes and returns its token.
func (a *api) pat(user tuples.UUID, scopes ...string) string {
	a.t.Helper()
	_, token, err := a.ids.CreatePAT(context.Background(), identity.NewPAT{UserID: user, Name: "test", Scope: scopes})
	if err != nil {
		a.t.Fatal(err)
	}
	return token
}
