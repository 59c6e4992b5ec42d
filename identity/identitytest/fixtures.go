package identitytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/conformancetest"
)

// stepFixtures are the spec's stateful identity fixtures and the operation
// each file names.
var stepFixtures = []struct{ rel, op string }{
	{"identity/list-users.json", "list_users"},
	{"identity/user-display-name.json", "update_user"},
}

// fixtureTests runs every test of stepFixtures as a subtest, each on
// fresh stores from newStores: a fixture test owns its store (the spec's
// harness rule; list_users.empty_install needs an empty one), so the
// suite's env goes unused.
func fixtureTests(newStores func(t *testing.T) Stores) []suiteTest {
	return []suiteTest{{"Fixtures", func(t *testing.T, _ *env) {
		for _, f := range stepFixtures {
			for _, tc := range conformancetest.LoadSteps(t, f.rel, f.op).Tests {
				t.Run(tc.ID, func(t *testing.T) {
					t.Parallel()
					newEnv(t, newStores(t)).fixtureRunner().Run(t, tc)
				})
			}
		}
	}}}
}

// fixtureErrors maps the spec error names the fixtures use to ours
// (SPEC-MAP §1.4). A name that stands for a family (every NotFoundError,
// every PreconditionError subclass) matches by kind; the others by
// sentinel.
var fixtureErrors = map[string]func(error) bool{
	"NotFoundError":          func(err error) bool { return tuples.KindOf(err) == tuples.NotFound },
	"PreconditionError":      func(err error) bool { return tuples.KindOf(err) == tuples.Precondition },
	"ForbiddenError":         func(err error) bool { return tuples.KindOf(err) == tuples.Forbidden },
	"AlreadyTerminalError":   func(err error) bool { return errors.Is(err, identity.ErrAlreadyTerminal) },
	"InvalidCredentialError": func(err error) bool { return errors.Is(err, identity.ErrInvalidCredential) },
}

// fixtureRunner runs fixture steps against e.svc. Results are what the
// spec returns (snake_case, wire ids), since captures read them.
func (e *env) fixtureRunner() conformancetest.Runner {
	return conformancetest.Runner{
		Ops: map[string]conformancetest.Op{
			"create_user":                          e.opCreateUser,
			"create_user_with_password_credential": e.opCreateUserWithPassword,
			"update_user":                          e.opUpdateUser,
			"suspend_user":                         e.userOp(e.svc.SuspendUser),
			"revoke_user":                          e.userOp(e.svc.RevokeUser),
			"revoke_credential":                    e.opRevokeCredential,
			"list_users":                           e.opListUsers,
			"assert_user_fields":                   e.opAssertUserFields,
		},
		Errors: fixtureErrors,
		NewUser: func(_ testing.TB, _ string) (string, error) {
			u, err := e.svc.CreateUser(ctx, nil)
			return tuples.FormatID("usr", u.ID), err
		},
	}
}

// userView is a User on the wire.
type userView struct {
	ID          string  `json:"id"`
	Status      string  `json:"status"`
	DisplayName *string `json:"display_name"`
}

func viewUser(u identity.User) userView {
	return userView{ID: tuples.FormatID("usr", u.ID), Status: string(u.Status), DisplayName: u.DisplayName}
}

// credentialView is a Credential on the wire.
type credentialView struct {
	ID         string `json:"id"`
	UsrID      string `json:"usr_id"`
	Type       string `json:"type"`
	Identifier string `json:"identifier"`
	Status     string `json:"status"`
}

func viewCredential(c identity.Credential) credentialView {
	return credentialView{ID: tuples.FormatID("cred", c.ID), UsrID: tuples.FormatID("usr", c.UserID),
		Type: string(c.Type), Identifier: c.Identifier, Status: string(c.Status)}
}

// parseID decodes a wire id of type typ. The Nil id (typ_ and 32 zeros)
// passes as the Nil UUID: the wire decode refuses it (ID-5), but
// user-display-name.json uses it as "an id no user has" and expects the
// service's NotFoundError (SPEC-MAP §3, A49), which is what the service
// answers for the Nil UUID.
func parseID(typ, s string) (identity.UUID, error) {
	if s == typ+"_"+strings.Repeat("0", 32) {
		return identity.UUID{}, nil
	}
	return tuples.DecodeIDOf(typ, s)
}

// opCreateUser returns {user}: the fixtures capture "user.id".
func (e *env) opCreateUser(_ testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		DisplayName *string `json:"display_name"`
	}
	c.Decode(&in)
	u, err := e.svc.CreateUser(ctx, in.DisplayName)
	return map[string]any{"user": viewUser(u)}, err
}

// opCreateUserWithPassword is list-users.json's composite op: a user and
// a password credential, returned as {user, credential}.
func (e *env) opCreateUserWithPassword(_ testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		Identifier string `json:"identifier"`
		Password   string `json:"password"`
	}
	c.Decode(&in)
	u, err := e.svc.CreateUser(ctx, nil)
	if err != nil {
		return nil, err
	}
	cred, err := e.svc.CreateCredential(ctx, identity.NewCredential{
		UserID: u.ID, Type: identity.Password, Identifier: in.Identifier, Password: in.Password})
	return map[string]any{"user": viewUser(u), "credential": viewCredential(cred)}, err
}

// opUpdateUser tells an omitted display_name (no change) from an explicit
// null (clear), as X-3 requires.
func (e *env) opUpdateUser(_ testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		UsrID       string          `json:"usr_id"`
		DisplayName json.RawMessage `json:"display_name"`
	}
	c.Decode(&in)
	id, err := parseID("usr", in.UsrID)
	if err != nil {
		return nil, err
	}
	var patch identity.UserPatch
	if in.DisplayName != nil {
		var name *string
		if err := json.Unmarshal(in.DisplayName, &name); err != nil {
			return nil, fmt.Errorf("display_name: %w", err)
		}
		patch.DisplayName = &name
	}
	u, err := e.svc.UpdateUser(ctx, id, patch)
	return viewUser(u), err
}

// userOp is an op of input {usr_id} calling a user transition.
func (e *env) userOp(transition func(ctx context.Context, id identity.UUID) (identity.User, error)) conformancetest.Op {
	return func(_ testing.TB, c *conformancetest.Call) (any, error) {
		var in struct {
			UsrID string `json:"usr_id"`
		}
		c.Decode(&in)
		id, err := parseID("usr", in.UsrID)
		if err != nil {
			return nil, err
		}
		u, err := transition(ctx, id)
		return viewUser(u), err
	}
}

func (e *env) opRevokeCredential(_ testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		CredID string `json:"cred_id"`
	}
	c.Decode(&in)
	id, err := parseID("cred", in.CredID)
	if err != nil {
		return nil, err
	}
	cred, err := e.svc.RevokeCredential(ctx, id)
	return viewCredential(cred), err
}

// opListUsers returns a UserPage {data, page: {next_cursor}} and checks
// list-users.json's own expectations: data_ids_in_order,
// data_ids_unordered, next_cursor (null: the last page) and
// user_display_names (wire id → display name or null).
func (e *env) opListUsers(tb testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		Status string  `json:"status"`
		Query  string  `json:"query"`
		Cursor *string `json:"cursor"`
		Limit  int     `json:"limit"`
	}
	c.Decode(&in)
	var cursor string
	if in.Cursor != nil {
		cursor = *in.Cursor
	}
	p, err := e.svc.ListUsers(ctx, identity.Status(in.Status), in.Query, cursor, in.Limit)
	if err != nil {
		return nil, err
	}
	var page struct {
		Data []userView `json:"data"`
		Page struct {
			NextCursor *string `json:"next_cursor"`
		} `json:"page"`
	}
	page.Data = []userView{}
	ids := []string{}
	for _, u := range p.Items {
		page.Data = append(page.Data, viewUser(u))
		ids = append(ids, tuples.FormatID("usr", u.ID))
	}
	if p.Next != "" {
		page.Page.NextCursor = &p.Next
	}

	var want struct {
		DataIDsInOrder   *[]string          `json:"data_ids_in_order"`
		DataIDsUnordered *[]string          `json:"data_ids_unordered"`
		NextCursor       json.RawMessage    `json:"next_cursor"`
		UserDisplayNames map[string]*string `json:"user_display_names"`
	}
	if !c.Expect(&want) {
		return page, nil
	}
	what := fmt.Sprintf("ListUsers(status %q, query %q, cursor %q, limit %d)", in.Status, in.Query, cursor, in.Limit)
	if want.DataIDsInOrder != nil && !slices.Equal(ids, *want.DataIDsInOrder) {
		tb.Errorf("%s ids = %v, want %v", what, ids, *want.DataIDsInOrder)
	}
	if w := want.DataIDsUnordered; w != nil && !slices.Equal(slices.Sorted(slices.Values(ids)), slices.Sorted(slices.Values(*w))) {
		tb.Errorf("%s ids = %v, want %v in any order", what, ids, *w)
	}
	if want.NextCursor != nil {
		var next *string
		if err := json.Unmarshal(want.NextCursor, &next); err != nil {
			tb.Fatalf("expected next_cursor %s: %v", want.NextCursor, err)
		}
		if show(page.Page.NextCursor) != show(next) {
			tb.Errorf("%s next cursor = %s, want %s", what, show(page.Page.NextCursor), show(next))
		}
	}
	for id, name := range want.UserDisplayNames {
		i := slices.Index(ids, id)
		if i < 0 {
			tb.Errorf("%s has no %s, want it with display name %s", what, id, show(name))
		} else if got := page.Data[i].DisplayName; show(got) != show(name) {
			tb.Errorf("%s: %s display name = %s, want %s", what, id, show(got), show(name))
		}
	}
	return page, nil
}

// opAssertUserFields is user-display-name.json's pseudo-op: it reads the
// user and checks expected_display_name (null: unset).
func (e *env) opAssertUserFields(tb testing.TB, c *conformancetest.Call) (any, error) {
	var in struct {
		UsrID               string          `json:"usr_id"`
		ExpectedDisplayName json.RawMessage `json:"expected_display_name"`
	}
	c.Decode(&in)
	if in.ExpectedDisplayName == nil {
		tb.Fatalf("assert_user_fields asserts nothing")
	}
	var want *string
	if err := json.Unmarshal(in.ExpectedDisplayName, &want); err != nil {
		tb.Fatalf("expected_display_name %s: %v", in.ExpectedDisplayName, err)
	}
	id, err := parseID("usr", in.UsrID)
	if err != nil {
		return nil, err
	}
	u, err := e.svc.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	if show(u.DisplayName) != show(want) {
		tb.Errorf("GetUser(%s) display name = %s, want %s", in.UsrID, show(u.DisplayName), show(want))
	}
	return viewUser(u), nil
}

// show prints an optional string: null, or quoted.
func show(s *string) string {
	if s == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *s)
}
