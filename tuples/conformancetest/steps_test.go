package conformancetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestSubstitute(t *testing.T) {
	vars := Vars{"id": "usr_1", "n": json.Number("2"), "none": nil, "list": []any{"a"}}
	tests := []struct {
		name, in, want string
	}{
		{"whole string", `{"usr_id": "{id}"}`, `{"usr_id":"usr_1"}`},
		{"nested in arrays and objects", `{"a": [{"b": "{id}"}, "{n}"]}`, `{"a":[{"b":"usr_1"},2]}`},
		{"null value", `{"cursor": "{none}"}`, `{"cursor":null}`},
		{"array value", `{"x": "{list}"}`, `{"x":["a"]}`},
		{"object key", `{"{id}": "Alice", "other": null}`, `{"other":null,"usr_1":"Alice"}`},
		{"not placeholders", `["{}", "a{id}", "{id}b", "{ id }", "{1d}", "{i-d}", "id"]`, `["{}","a{id}","{id}b","{ id }","{1d}","{i-d}","id"]`},
		{"scalars untouched", `[1.50, true, null]`, `[1.50,true,null]`},
		{"top-level string", `"{id}"`, `"usr_1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := vars.Substitute(json.RawMessage(tc.in))
			if err != nil || string(got) != tc.want {
				t.Errorf("Substitute(%s) = %s, %v; want %s, nil", tc.in, got, err, tc.want)
			}
		})
	}
	if got, err := vars.Substitute(nil); err != nil || got != nil {
		t.Errorf("Substitute(nil) = %s, %v; want nil, nil", got, err)
	}

	bad := []struct {
		name, in, want string
	}{
		{"undefined variable", `{"usr_id": "{nobody}"}`, "undefined variable {nobody} (defined: id, list, n, none)"},
		{"undefined deep in an array", `[[{"x": "{u9}"}]]`, "undefined variable {u9}"},
		{"undefined key", `{"{nobody}": 1}`, "undefined variable {nobody}"},
		{"key of a non-string", `{"{n}": 1}`, `object key "{n}" stands for 2, not a string`},
		{"keys colliding", `{"{id}": 1, "usr_1": 2}`, "duplicates"},
		{"malformed JSON", `{"a": `, "unexpected EOF"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			got, err := vars.Substitute(json.RawMessage(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Substitute(%s) = %s, %v; want an error containing %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestVarsSetTwice(t *testing.T) {
	v := Vars{}
	if err := v.Set("alice", "usr_1"); err != nil {
		t.Fatal(err)
	}
	if err := v.Set("alice", "usr_2"); err == nil || v["alice"] != "usr_1" {
		t.Errorf("Set(alice) twice = %v, value %v; want an error and the first value", err, v["alice"])
	}
}

func TestCapture(t *testing.T) {
	type user struct {
		ID          string  `json:"id"`
		DisplayName *string `json:"display_name"`
	}
	result := map[string]any{
		"user": user{ID: "usr_1"},
		"page": map[string]any{"next_cursor": nil},
		"data": []user{{ID: "usr_1"}, {ID: "usr_2"}},
		"n":    3,
	}
	tests := []struct {
		path string
		want any
	}{
		{"user.id", "usr_1"},
		{"user.display_name", nil},
		{"page.next_cursor", nil},
		{"data.1.id", "usr_2"},
		{"n", json.Number("3")},
		{"page", map[string]any{"next_cursor": nil}},
	}
	for _, tc := range tests {
		got, err := Capture(result, tc.path)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("Capture(%q) = %#v, %v; want %#v, nil", tc.path, got, err, tc.want)
		}
	}
	if got, err := Capture(user{ID: "usr_9"}, "id"); err != nil || got != "usr_9" {
		t.Errorf(`Capture(user, "id") = %v, %v; want usr_9, nil`, got, err)
	}

	bad := []struct {
		path, want string
	}{
		{"user.name", `no "name" in the result at user (keys: display_name, id)`},
		{"org.id", `no "org" in the result (keys: data, n, page, user)`},
		{"data.2.id", "not an index of the 2-element array at data"},
		{"data.x", "not an index"},
		{"user.id.x", "the result at user.id is usr_1, not an object"},
		{"page.next_cursor.x", "not an object"},
		{"", `no "" in the result`},
	}
	for _, tc := range bad {
		got, err := Capture(result, tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Capture(%q) = %v, %v; want an error containing %q", tc.path, got, err, tc.want)
		}
	}
	if _, err := Capture(func() {}, "x"); err == nil {
		t.Error("Capture(a func) succeeded, want a marshalling error")
	}
}

// fakeTB records the first fatal failure and every error; Fatalf ends the
// goroutine as testing's does.
type fakeTB struct {
	testing.TB
	fatal  string
	errors []string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

// run runs test (JSON) with r on a fakeTB.
func run(t *testing.T, r Runner, test string) *fakeTB {
	t.Helper()
	var st StepTest
	if err := strictUnmarshal([]byte(test), &st); err != nil {
		t.Fatalf("test JSON: %v", err)
	}
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(f, st)
	}()
	<-done
	return f
}

var errNotFound = errors.New("not found")

// kvRunner is a tiny store with ops that exercise every part of Run.
func kvRunner(calls *[]string) Runner {
	store := map[string]string{}
	n := 0
	return Runner{
		Ops: map[string]Op{
			"put": func(tb testing.TB, c *Call) (any, error) {
				var in struct{ Key, Value string }
				c.Decode(&in)
				*calls = append(*calls, "put "+in.Key+"="+in.Value)
				store[in.Key] = in.Value
				return map[string]any{"entry": map[string]string{"key": in.Key}}, nil
			},
			"get": func(tb testing.TB, c *Call) (any, error) {
				var in struct{ Key string }
				c.Decode(&in)
				*calls = append(*calls, "get "+in.Key)
				v, ok := store[in.Key]
				if !ok {
					return nil, fmt.Errorf("get %s: %w", in.Key, errNotFound)
				}
				var want struct {
					Value *string `json:"value"`
				}
				if c.Expect(&want) && want.Value != nil && *want.Value != v {
					tb.Errorf("get %s = %q, want %q", in.Key, v, *want.Value)
				}
				return map[string]string{"value": v}, nil
			},
			"lazy": func(tb testing.TB, c *Call) (any, error) { return nil, nil },
		},
		Errors: map[string]func(error) bool{
			"NotFoundError": func(err error) bool { return errors.Is(err, errNotFound) },
		},
		NewUser: func(tb testing.TB, name string) (string, error) {
			n++
			*calls = append(*calls, "user "+name)
			return fmt.Sprintf("usr_%d", n), nil
		},
	}
}

func TestRun(t *testing.T) {
	var calls []string
	f := run(t, kvRunner(&calls), `{
		"id": "kv.round_trip", "description": "d", "users": ["alice", "bob"],
		"steps": [
			{"op": "put", "input": {"key": "{alice}", "value": "{bob}"}, "captures": {"k": "entry.key"}},
			{"op": "get", "input": {"key": "{k}"}, "captures": {"v": "value"}, "expected": {"value": "usr_2"}},
			{"op": "get", "input": {"key": "{v}"}, "expected": {"error": "NotFoundError", "error_matches": "usr_2"}},
			{"op": "put", "input": {"key": "{v}", "value": "{k}"}},
			{"op": "get", "input": {"key": "{v}"}, "expected": {"value": "{alice}"}},
			{"op": "lazy"}
		]}`)
	if f.fatal != "" || len(f.errors) > 0 {
		t.Fatalf("Run: fatal %q, errors %q", f.fatal, f.errors)
	}
	want := "user alice, user bob, put usr_1=usr_2, get usr_1, get usr_2, put usr_2=usr_1, get usr_2"
	if got := strings.Join(calls, ", "); got != want {
		t.Errorf("calls = %s, want %s", got, want)
	}

	// The op's own assertion reports through tb.
	f = run(t, kvRunner(&calls), `{"id": "x", "description": "d", "steps": [
		{"op": "put", "input": {"key": "a", "value": "1"}},
		{"op": "get", "input": {"key": "a"}, "expected": {"value": "2"}}]}`)
	if f.fatal != "" || len(f.errors) != 1 || f.errors[0] != `get a = "1", want "2"` {
		t.Errorf("Run(wrong value): fatal %q, errors %q", f.fatal, f.errors)
	}
}

func TestRunFails(t *testing.T) {
	tests := []struct {
		name, steps, want string
		users             string
	}{
		{"unknown op", `[{"op": "put", "input": {"key": "a"}}, {"op": "delete", "input": {}}]`,
			`step 2: unknown op "delete" (this runner has get, lazy, put)`, ""},
		{"undefined variable", `[{"op": "put", "input": {"key": "a"}, "captures": {"k": "entry.key"}}, {"op": "get", "input": {"key": "{key}"}}]`,
			"step 2 (get): input: undefined variable {key} (defined: k)", ""},
		{"undefined variable in expected", `[{"op": "put", "input": {"key": "a"}}, {"op": "get", "input": {"key": "a"}, "expected": {"value": "{v}"}}]`,
			"step 2 (get): expected: undefined variable {v}", ""},
		{"variable defined twice", `[{"op": "put", "input": {"key": "a"}, "captures": {"alice": "entry.key"}}]`,
			"step 1 (put): variable {alice} is defined twice", `["alice"]`},
		{"capture path missing", `[{"op": "put", "input": {"key": "a"}, "captures": {"k": "entry.id"}}]`,
			`step 1 (put): capture k: path "entry.id": no "id" in the result at entry (keys: key)`, ""},
		{"step fails", `[{"op": "get", "input": {"key": "a"}}]`, "step 1 (get): get a: not found", ""},
		{"error expected, none", `[{"op": "put", "input": {"key": "a"}, "expected": {"error": "NotFoundError"}}]`,
			"step 1 (put) succeeded, want NotFoundError", ""},
		{"another error", `[{"op": "get", "input": {"key": "a"}, "expected": {"error": "NotFoundError", "error_matches": "b"}}]`,
			`step 1 (get): err = get a: not found, want one containing "b"`, ""},
		{"unknown error name", `[{"op": "get", "input": {"key": "a"}, "expected": {"error": "GoneError"}}]`,
			`step 1 (get): no matcher for error "GoneError"`, ""},
		{"error with other keys", `[{"op": "get", "input": {"key": "a"}, "expected": {"error": "NotFoundError", "value": "1"}}]`,
			"step 1 (get): expected: error with other keys [value]", ""},
		{"captures on a failing step", `[{"op": "get", "input": {"key": "a"}, "captures": {"v": "value"}, "expected": {"error": "NotFoundError"}}]`,
			"step 1 (get): a step expected to fail captures nothing", ""},
		{"expectations unread", `[{"op": "put", "input": {"key": "a"}, "expected": {"stored": true}}]`,
			`step 1 (put): the op did not check expected {"stored":true}`, ""},
		{"input ignored", `[{"op": "lazy", "input": {"key": "a"}}]`,
			`step 1 (lazy): the op ignored its input {"key":"a"}`, ""},
		{"unknown input field", `[{"op": "put", "input": {"key": "a", "ttl": 1}}]`,
			`json: unknown field "ttl"`, ""},
		{"unknown expected field", `[{"op": "put", "input": {"key": "a"}}, {"op": "get", "input": {"key": "a"}, "expected": {"values": []}}]`,
			`json: unknown field "values"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls []string
			users := tc.users
			if users == "" {
				users = "[]"
			}
			f := run(t, kvRunner(&calls), `{"id": "x", "description": "d", "users": `+users+`, "steps": `+tc.steps+`}`)
			if !strings.Contains(f.fatal, tc.want) {
				t.Errorf("Run: fatal %q, want one containing %q", f.fatal, tc.want)
			}
		})
	}

	var calls []string
	r := kvRunner(&calls)
	r.NewUser = nil
	if f := run(t, r, `{"id": "x", "description": "d", "users": ["alice"], "steps": [{"op": "lazy"}]}`); !strings.Contains(f.fatal, "no NewUser") {
		t.Errorf("Run(users, no NewUser): fatal %q", f.fatal)
	}
	if len(calls) != 0 {
		t.Errorf("a failing test ran %v", calls)
	}
}

// TestLoadSteps decodes every stateful fixture, so a fixture whose shape
// the step types do not cover fails here first.
func TestLoadSteps(t *testing.T) {
	files := map[string]string{
		"identity/list-users.json":        "list_users",
		"identity/user-display-name.json": "update_user",
	}
	for _, rel := range Glob(t, "tenancy/*.json") {
		data, err := os.ReadFile(filepath.Join(Dir(), "fixtures", rel))
		var h Header
		if err == nil {
			err = json.Unmarshal(data, &h)
		}
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		files[rel] = h.Operation
	}
	for rel, op := range files {
		f := LoadSteps(t, rel, op)
		for _, tc := range f.Tests {
			for i, s := range tc.Steps {
				if s.Op == "" {
					t.Errorf("%s %s: step %d has no op", rel, tc.ID, i+1)
				}
			}
		}
	}
}
