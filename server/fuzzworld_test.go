package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/identity"
	identitymemory "github.com/flametrench/server/identity/memory"
	"github.com/flametrench/server/identity/password"
	identitypg "github.com/flametrench/server/identity/postgres"
	"github.com/flametrench/server/tenancy"
	tenancymemory "github.com/flametrench/server/tenancy/memory"
	tenancypg "github.com/flametrench/server/tenancy/postgres"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/memory"
	tpg "github.com/flametrench/server/tuples/postgres"
	"github.com/flametrench/server/tuples/postgres/pgtest"
)

const fuzzKey = "fuzz-service-key-0123456789abcdef"

// The callers a fuzz input picks from (its who byte, modulo fuzzCallers).
const (
	asAdmin     = iota // the service key
	asUser             // a plain user's session
	asOwner            // the session of the fixture org's owner
	asPAT              // a PAT with some scopes (fuzzPATScopes) of an admin of that org
	asShare            // a share token
	asAnonymous        // no Authorization header
	fuzzCallers
)

var fuzzCallerNames = [fuzzCallers]string{"admin", "user", "owner", "pat", "share", "anonymous"}

// fuzzPATScopes are the PAT caller's scopes: some of each area's, so that
// both a scope's grant and its absence are reached.
var fuzzPATScopes = []string{scopeRead, scopeCheck, scopeOrgsRead, scopeSharesWrite}

// fuzzWorld is one server, over the memory stores or PostgreSQL, reused
// by every iteration of a fuzz target (a fresh schema per input would be
// far too slow), and the fixtures that inputs name: callers' tokens and
// ids that exist. An input that changes a fixture (a 2xx from a write on
// a path naming one) marks it dirty, and the next input gets fresh
// fixtures, made beside the old ones in the same stores.
type fuzzWorld struct {
	h      http.Handler
	ids    *identity.Service
	orgs   *tenancy.Service
	tuples tuples.Store

	n     int // fixture generations made, for unique identifiers
	fx    *fuzzFixtures
	dirty bool
	// pat is the PAT caller, kept across generations unless an
	// input changed it (patDirty): making and first verifying one costs
	// two Argon2id runs.
	pat      *fuzzPAT
	patDirty bool
}

// fuzzPAT is the PAT caller: its PAT, and its token.
type fuzzPAT struct {
	identity.PAT
	token string
}

// newPAT makes the PAT caller: a user of its own, with a PAT of
// fuzzPATScopes. Each generation makes the user an admin of {org} and an
// editor of doc {doc.uuid}, so that the scopes it holds are what decide.
func (w *fuzzWorld) newPAT(ctx context.Context) (*fuzzPAT, error) {
	name := "pat user"
	u, err := w.ids.CreateUser(ctx, &name)
	if err != nil {
		return nil, err
	}
	p, token, err := w.ids.CreatePAT(ctx, identity.NewPAT{UserID: u.ID, Name: "fuzz", Scope: fuzzPATScopes})
	if err != nil {
		return nil, err
	}
	return &fuzzPAT{PAT: p, token: token}, nil
}

// fuzzFixtures are one generation of fixtures: a bearer per caller kind
// ("" for anonymous) and the values of the placeholders ({usr}, {org}…)
// that bodies, path segments and queries may hold.
type fuzzFixtures struct {
	tokens [fuzzCallers]string
	values map[string]string
	rep    *strings.Replacer
}

// newFuzzWorld builds the server as serve does, over the memory stores,
// or (pg) PostgreSQL-backed identity, tenancy and tuple stores in a fresh
// schema (skipped without FLAMETRENCH_TEST_DATABASE_URL). Limits that
// would hide the handlers are off: the anonymous per-address limiter is
// not configured, and identity's failure limiter allows a million
// failures per key.
func newFuzzWorld(tb testing.TB, pg bool) *fuzzWorld {
	g := memory.New()
	var store tuples.Store = g
	var waiter tuples.Waiter = g
	var epoch func() uint64
	var users identity.Store = identitymemory.New(g)
	if pg {
		db, dbURL := pgtest.DB(tb, tpg.Config{})
		claimFuzzSchema(tb, dbURL)
		if _, err := db.Migrate(context.Background(), tpg.Migrations, identitypg.Migrations, tenancypg.Migrations); err != nil {
			tb.Fatal(err)
		}
		f := tpg.NewFollower(db, g, tpg.FollowerConfig{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); f.Run(ctx) }()
		tb.Cleanup(func() { cancel(); <-done })
		for deadline := time.Now().Add(10 * time.Second); !f.Ready(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				tb.Fatal("the follower did not hydrate in 10s")
			}
		}
		store, waiter, epoch, users = f, f, f.Epoch, identitypg.New(f)
	}
	eng, err := check.New(func() check.Graph { return g.Snapshot() }, g.Intern, check.Config{Waiter: waiter})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(eng.Close)
	var orgStore tenancy.Store = tenancymemory.New(users)
	if pg {
		orgStore = tenancypg.New(users)
	}
	orgs := tenancy.NewService(orgStore, tenancy.Config{CanGrant: Grants(eng)})
	ids := identity.NewService(users, identity.Config{OnRevokeUser: orgs.RevokeUser,
		Hasher:  password.NewPool(password.PoolConfig{QueueTimeout: time.Minute}),
		Limiter: identity.NewLimiter(identity.LimiterConfig{Free: 1_000_000})})
	h := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Engine: eng, Tuples: store, Identity: ids,
		Tenancy: orgs, Signup: true, WebAuthnOrigin: "https://example.com", Epoch: epoch, ServiceKey: fuzzKey,
		MaxBodyBytes: 64 << 10}).Handler()
	return &fuzzWorld{h: h, ids: ids, orgs: orgs, tuples: store}
}

// fixtures returns the current fixtures, made afresh when there are none
// yet or an input changed them.
func (w *fuzzWorld) fixtures(tb testing.TB) *fuzzFixtures {
	if w.fx == nil || w.dirty {
		fx, err := w.newFixtures(context.Background())
		if err != nil {
			tb.Fatalf("making fuzz fixtures: %v", err)
		}
		w.fx, w.dirty = fx, false
	}
	return w.fx
}

// newFixtures makes a generation of fixtures:
//
//   - {usr}: a plain user with an OIDC credential {cred} (identifier
//     {usr.identifier}), a session {ses} (the user caller), a pending TOTP
//     factor {mfa}, and a pending invitation {inv} into {org};
//   - {owner}: the owner of org {org} (membership {ownermem}), with a
//     session (the owner caller), the tuple {tup} (editor of doc
//     {doc.uuid}) and a share {shr} of it (the share caller);
//   - {member}: a member of {org}, membership {mem};
//   - {pat}: the PAT caller's PAT (newPAT), its user an admin of {org}
//     and an editor of the doc.
//
// {x.uuid} is the hyphenated UUID of {x}, as tuple bodies and queries
// take ids.
func (w *fuzzWorld) newFixtures(ctx context.Context) (*fuzzFixtures, error) {
	w.n++
	fx := &fuzzFixtures{values: map[string]string{}}
	set := func(name, typ string, id tuples.UUID) {
		fx.values["{"+name+"}"] = tuples.FormatID(typ, id)
		fx.values["{"+name+".uuid}"] = id.String()
	}
	user := func(name string) (identity.User, identity.Credential, error) {
		u, err := w.ids.CreateUser(ctx, &name)
		if err != nil {
			return u, identity.Credential{}, err
		}
		c, err := w.ids.CreateCredential(ctx, identity.NewCredential{UserID: u.ID, Type: identity.OIDC,
			Identifier: fmt.Sprintf("%s-%d@example.com", name, w.n), OIDCIssuer: "https://idp.example",
			OIDCSubject: fmt.Sprintf("%s-%d", name, w.n)})
		return u, c, err
	}

	plain, cred, err := user("plain")
	if err != nil {
		return nil, err
	}
	ses, userToken, err := w.ids.CreateSessionFor(ctx, plain.ID, cred.ID, time.Hour)
	if err != nil {
		return nil, err
	}
	factor, err := w.ids.EnrollFactor(ctx, plain.ID, identity.EnrollInput{Type: identity.TOTP, Identifier: "phone"})
	if err != nil {
		return nil, err
	}
	set("usr", "usr", plain.ID)
	set("cred", "cred", cred.ID)
	set("ses", "ses", ses.ID)
	set("mfa", "mfa", factor.Factor.ID)
	fx.values["{usr.identifier}"] = cred.Identifier

	owner, ownerCred, err := user("owner")
	if err != nil {
		return nil, err
	}
	_, ownerToken, err := w.ids.CreateSessionFor(ctx, owner.ID, ownerCred.ID, time.Hour)
	if err != nil {
		return nil, err
	}
	name := "Fuzz Org"
	org, ownerMem, err := w.orgs.CreateOrg(ctx, owner.ID, tenancy.OrgInput{Name: &name})
	if err != nil {
		return nil, err
	}
	member, _, err := user("member")
	if err != nil {
		return nil, err
	}
	mem, err := w.orgs.AddMember(ctx, org.ID, member.ID, tenancy.Member, owner.ID, tenancy.UUID{})
	if err != nil {
		return nil, err
	}
	inv, err := w.orgs.CreateInvitation(ctx, tenancy.NewInvitation{OrgID: org.ID, Identifier: cred.Identifier,
		Role: tenancy.Member, InvitedBy: owner.ID, ExpiresAt: time.Now().Add(24 * time.Hour)})
	if err != nil {
		return nil, err
	}
	if w.pat == nil || w.patDirty {
		if w.pat, err = w.newPAT(ctx); err != nil {
			return nil, err
		}
		w.patDirty = false
	}
	if _, err := w.orgs.AddMember(ctx, org.ID, w.pat.UserID, tenancy.Admin, owner.ID, tenancy.UUID{}); err != nil {
		return nil, err
	}
	doc := tuples.Ref{Type: "doc", ID: tuples.NewUUID()}
	res, err := w.tuples.Write(ctx, []tuples.Change{
		{Op: tuples.OpCreate, Key: tuples.Key{Subject: tuples.Ref{Type: "usr", ID: owner.ID}, Relation: "editor", Object: doc}},
		{Op: tuples.OpCreate, Key: tuples.Key{Subject: tuples.Ref{Type: "usr", ID: w.pat.UserID}, Relation: "editor", Object: doc}},
	})
	if err != nil {
		return nil, err
	}
	shr, shareToken, err := w.ids.CreateShare(ctx, identity.NewShare{Object: doc, Relation: "editor", CreatedBy: owner.ID,
		ExpiresIn: 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	set("owner", "usr", owner.ID)
	set("member", "usr", member.ID)
	set("org", "org", org.ID)
	set("ownermem", "mem", ownerMem.ID)
	set("mem", "mem", mem.ID)
	set("inv", "inv", inv.ID)
	set("pat", "pat", w.pat.ID)
	set("tup", "tup", res.Tuples[0].ID)
	set("shr", "shr", shr.ID)
	fx.values["{doc.uuid}"] = doc.ID.String()
	fx.values["{share.token}"] = shareToken

	fx.tokens = [fuzzCallers]string{asAdmin: fuzzKey, asUser: userToken, asOwner: ownerToken, asPAT: w.pat.token, asShare: shareToken}
	var pairs []string
	for k, v := range fx.values {
		pairs = append(pairs, k, v)
	}
	fx.rep = strings.NewReplacer(pairs...)
	return fx, nil
}

// claimFuzzSchema marks the schema of the database URL dbURL as a fuzz
// world's, held by this process, and drops the schemas of fuzz worlds
// whose process has gone. Go stops a fuzz worker process with a signal
// when fuzzing ends, before its cleanups run, so its schema would
// outlive it: each world holds a session advisory lock on its schema's
// name while its process lives, and a marked schema whose lock is free
// is a leftover.
func claimFuzzSchema(tb testing.TB, dbURL string) {
	u, err := url.Parse(dbURL)
	schema := ""
	if err == nil {
		schema = u.Query().Get("search_path")
	}
	if schema == "" {
		return // a key=value DSN: leftovers stay
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	const lock = "SELECT pg_advisory_lock(hashtext('flametrench fuzz world'), hashtext($1))"
	if _, err := conn.Exec(ctx, lock, schema); err != nil {
		tb.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE "+pgx.Identifier{schema, "fuzz_world"}.Sanitize()+" ()"); err != nil {
		tb.Fatal(err)
	}
	rows, err := conn.Query(ctx, "SELECT table_schema FROM information_schema.tables WHERE table_name = 'fuzz_world' AND table_schema <> $1", schema)
	if err != nil {
		tb.Fatal(err)
	}
	others, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	for _, other := range others {
		var free bool
		const try = "SELECT pg_try_advisory_lock(hashtext('flametrench fuzz world'), hashtext($1))"
		if err := conn.QueryRow(ctx, try, other).Scan(&free); err != nil || !free {
			continue
		}
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{other}.Sanitize()+" CASCADE"); err != nil {
			tb.Logf("dropping the leftover fuzz schema %s: %v", other, err)
		}
		_, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock(hashtext('flametrench fuzz world'), hashtext($1))", other)
	}
}

// fuzzParamFixture is the placeholder a path parameter's "{}" stands for:
// the fixture of that parameter's kind.
var fuzzParamFixture = map[string]string{
	"usr_id": "{usr}", "cred_id": "{cred}", "ses_id": "{ses}", "mfa_id": "{mfa}", "pat_id": "{pat}", "shr_id": "{shr}",
	"org_id": "{org}", "mem_id": "{mem}", "inv_id": "{inv}", "tup_id": "{tup}",
}
