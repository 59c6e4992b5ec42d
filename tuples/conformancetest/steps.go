package conformancetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// StepFile is a fixture file of stateful tests (the spec's "state-machine"
// form, used by tenancy/* and identity/list-users, user-display-name): each
// test declares users, then runs ordered steps against a fresh store.
type StepFile struct {
	Header
	Tests []StepTest `json:"tests"`
}

// StepTest is one stateful test. Each name in Users is a variable bound,
// before the first step, to a freshly created user's id.
type StepTest struct {
	ID          string   `json:"id"`
	Description string   `json:"description"`
	Users       []string `json:"users"`
	Steps       []Step   `json:"steps"`
}

// Step calls Op with Input. Captures maps a variable name to a dotted path
// into the op's result. Expected is absent (the step must succeed),
// {"error": name, "error_matches"?: substring}, or keys the op itself
// checks (list-users' data_ids_in_order, for one). Input and Expected stay
// raw: each op decodes them into its own types.
type Step struct {
	Op       string            `json:"op"`
	Input    json.RawMessage   `json:"input"`
	Captures map[string]string `json:"captures"`
	Expected json.RawMessage   `json:"expected"`
}

// LoadSteps decodes fixtures/<rel> strictly and fails tb unless the file
// names operation op and every one of its tests has steps.
func LoadSteps(tb testing.TB, rel, op string) StepFile {
	tb.Helper()
	var f StepFile
	Decode(tb, filepath.Join("fixtures", rel), &f)
	if f.Operation != op || len(f.Tests) == 0 {
		tb.Fatalf("%s: operation %q with %d tests, want %q with some", rel, f.Operation, len(f.Tests), op)
	}
	for _, tc := range f.Tests {
		if len(tc.Steps) == 0 {
			tb.Fatalf("%s: test %s has no steps", rel, tc.ID)
		}
	}
	return f
}

// Op runs one step: it decodes c's input (Call.Decode), calls the code
// under test, and on success checks the step's op-specific expectations
// (Call.Expect) before returning the result that captures read. The
// result is marshalled to JSON for capturing, so it should be what the
// spec's result looks like: maps or json-tagged structs with snake_case
// keys and wire ids. An error is returned as it is, for the runner to
// match against the step's expected error.
type Op func(tb testing.TB, c *Call) (any, error)

// Runner runs stateful tests against one store: make one per test.
type Runner struct {
	// Ops holds every op the fixtures may name; an op not in it fails the
	// test before its first step.
	Ops map[string]Op
	// Errors maps each spec error name (NotFoundError, SoleOwnerError…)
	// to whether an error is of that name; a name not in it fails the step.
	// A key "op Name" is used for that op's steps before the plain name: a
	// name that stands for a family (PreconditionError) can then mean the
	// one error the op should fail with.
	Errors map[string]func(error) bool
	// NewUser creates the user a test declares and returns its wire id,
	// which {name} then stands for. Nil is fine for files without users.
	NewUser func(tb testing.TB, name string) (string, error)
}

// Run runs test's steps in order. A step with an expected error must fail
// with it; the steps after it still run (invitation-accept-binding and
// org-name-slug assert the state after a refused step). Any other step
// must succeed. Fixture mistakes (an unknown op, an undefined variable, a
// capture path the result lacks, expectations no op read) fail the test.
func (r Runner) Run(tb testing.TB, test StepTest) {
	tb.Helper()
	for i, s := range test.Steps {
		if r.Ops[s.Op] == nil {
			tb.Fatalf("step %d: unknown op %q (this runner has %s)", i+1, s.Op, strings.Join(slices.Sorted(maps.Keys(r.Ops)), ", "))
		}
	}
	vars := Vars{}
	for _, name := range test.Users {
		if r.NewUser == nil {
			tb.Fatalf("users: the test declares %q but the runner has no NewUser", name)
		}
		id, err := r.NewUser(tb, name)
		if err != nil {
			tb.Fatalf("users: creating %q: %v", name, err)
		}
		if err := vars.Set(name, id); err != nil {
			tb.Fatalf("users: %v", err)
		}
	}
	for i, s := range test.Steps {
		r.step(tb, fmt.Sprintf("step %d (%s)", i+1, s.Op), s, vars)
	}
}

func (r Runner) step(tb testing.TB, name string, s Step, vars Vars) {
	tb.Helper()
	c := &Call{tb: tb, name: name}
	var err error
	if c.input, err = vars.Substitute(s.Input); err != nil {
		tb.Fatalf("%s: input: %v", name, err)
	}
	if len(c.input) == 0 {
		c.input = json.RawMessage("{}")
	}
	want, err := splitExpected(vars, s.Expected)
	if err != nil {
		tb.Fatalf("%s: expected: %v", name, err)
	}
	c.expected = want.rest
	if want.err != "" && len(s.Captures) > 0 {
		tb.Fatalf("%s: a step expected to fail captures nothing", name)
	}
	match := r.Errors[s.Op+" "+want.err]
	if match == nil {
		match = r.Errors[want.err]
	}
	if want.err != "" && match == nil {
		tb.Fatalf("%s: no matcher for error %q", name, want.err)
	}

	result, err := r.Ops[s.Op](tb, c)
	if !c.decoded && !bytes.Equal(c.input, []byte("{}")) {
		tb.Fatalf("%s: the op ignored its input %s", name, c.input)
	}
	switch {
	case want.err != "" && err == nil:
		tb.Fatalf("%s succeeded, want %s", name, want.err)
	case want.err != "" && !match(err):
		tb.Fatalf("%s: err = %v, want %s", name, err, want.err)
	case want.err != "" && !strings.Contains(err.Error(), want.matches):
		tb.Fatalf("%s: err = %v, want one containing %q", name, err, want.matches)
	case want.err != "":
		return
	case err != nil:
		tb.Fatalf("%s: %v", name, err)
	case c.expected != nil && !c.checked:
		tb.Fatalf("%s: the op did not check expected %s", name, c.expected)
	}
	for _, v := range slices.Sorted(maps.Keys(s.Captures)) {
		val, err := Capture(result, s.Captures[v])
		if err != nil {
			tb.Fatalf("%s: capture %s: %v", name, v, err)
		}
		if err := vars.Set(v, val); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
	}
}

type expectation struct {
	err, matches string
	rest         json.RawMessage // the op-specific keys, or nil
}

// splitExpected substitutes raw and separates the runner's keys (error,
// error_matches) from the op's.
func splitExpected(vars Vars, raw json.RawMessage) (expectation, error) {
	var x expectation
	raw, err := vars.Substitute(raw)
	if err != nil || len(raw) == 0 {
		return x, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return x, err
	}
	for key, dst := range map[string]*string{"error": &x.err, "error_matches": &x.matches} {
		if v, ok := m[key]; ok {
			if err := json.Unmarshal(v, dst); err != nil || *dst == "" {
				return x, fmt.Errorf("%s must be a non-empty string, not %s", key, v)
			}
			delete(m, key)
		}
	}
	switch {
	case x.matches != "" && x.err == "":
		return x, fmt.Errorf("error_matches without error")
	case x.err != "" && len(m) > 0:
		return x, fmt.Errorf("error with other keys %v", slices.Sorted(maps.Keys(m)))
	case len(m) > 0:
		x.rest, err = json.Marshal(m)
	}
	return x, err
}

// Call is one step as its op sees it: the input and the op-specific
// expectations, with every {var} substituted.
type Call struct {
	tb              testing.TB
	name            string // "step 3 (list_users)"
	input, expected json.RawMessage
	decoded         bool // Decode was called
	checked         bool // Expect was called
}

// Decode decodes the input into v strictly: a field v lacks fails the
// test. A step without input decodes as {}.
func (c *Call) Decode(v any) {
	c.tb.Helper()
	c.decoded = true
	if err := strictUnmarshal(c.input, v); err != nil {
		c.tb.Fatalf("%s: input %s: %v", c.name, c.input, err)
	}
}

// Expect decodes the step's op-specific expectations into v strictly and
// reports whether there are any. An op whose step may carry expectations
// calls it after a successful call and checks them; the runner fails a
// step whose expectations went unread.
func (c *Call) Expect(v any) bool {
	c.tb.Helper()
	c.checked = true
	if c.expected == nil {
		return false
	}
	if err := strictUnmarshal(c.expected, v); err != nil {
		c.tb.Fatalf("%s: expected %s: %v", c.name, c.expected, err)
	}
	return true
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Vars is a test's variables: the declared users and every capture so far.
// A value is a JSON value as encoding/json decodes it into an any, with
// numbers as json.Number.
type Vars map[string]any

// Set defines a variable. Defining one twice is an error: in a fixture it
// is a typo, and shadowing would make later steps read the wrong value.
func (v Vars) Set(name string, val any) error {
	if _, ok := v[name]; ok {
		return fmt.Errorf("variable {%s} is defined twice", name)
	}
	v[name] = val
	return nil
}

// Substitute replaces every JSON string of raw that is exactly "{name}",
// and every object key that is, with the variable's value (a key's must be
// a string). Strings that merely contain braces are left alone. An
// undefined variable is an error. Empty raw stays empty.
func (v Vars) Substitute(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 {
		return raw, nil
	}
	tree, err := decodeTree(raw)
	if err != nil {
		return nil, err
	}
	if tree, err = v.substitute(tree); err != nil {
		return nil, err
	}
	return json.Marshal(tree)
}

func (v Vars) substitute(node any) (any, error) {
	switch n := node.(type) {
	case string:
		name, ok := placeholder(n)
		if !ok {
			return n, nil
		}
		val, ok := v[name]
		if !ok {
			return nil, fmt.Errorf("undefined variable {%s} (defined: %s)", name, strings.Join(slices.Sorted(maps.Keys(v)), ", "))
		}
		return val, nil
	case []any:
		out := make([]any, len(n))
		for i, e := range n {
			var err error
			if out[i], err = v.substitute(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(n))
		for key, e := range n {
			k, err := v.substitute(key)
			if err != nil {
				return nil, err
			}
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("object key %q stands for %v, not a string", key, k)
			}
			if _, dup := out[ks]; dup {
				return nil, fmt.Errorf("object key %q duplicates %q after substitution", key, ks)
			}
			if out[ks], err = v.substitute(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return node, nil
}

// placeholder reports whether s is "{name}", name being an identifier.
func placeholder(s string) (string, bool) {
	if len(s) < 3 || s[0] != '{' || s[len(s)-1] != '}' {
		return "", false
	}
	name := s[1 : len(s)-1]
	for i, r := range name {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return "", false
		}
	}
	return name, true
}

// Capture returns the value at a dotted path ("user.id", "page.next_cursor",
// "data.0.id") in result's JSON form. A path the result lacks is an error;
// a null on the path's last segment is a value.
func Capture(result any, path string) (any, error) {
	data, err := json.Marshal(result)
	if err != nil {
		return nil, fmt.Errorf("result: %v", err)
	}
	node, err := decodeTree(data)
	if err != nil {
		return nil, err
	}
	for i, seg := range strings.Split(path, ".") {
		at := strings.Join(strings.Split(path, ".")[:i], ".")
		switch n := node.(type) {
		case map[string]any:
			v, ok := n[seg]
			if !ok {
				return nil, fmt.Errorf("path %q: no %q in the result%s (keys: %s)", path, seg, atSuffix(at), strings.Join(slices.Sorted(maps.Keys(n)), ", "))
			}
			node = v
		case []any:
			j, err := strconv.Atoi(seg)
			if err != nil || j < 0 || j >= len(n) {
				return nil, fmt.Errorf("path %q: %q is not an index of the %d-element array%s", path, seg, len(n), atSuffix(at))
			}
			node = n[j]
		default:
			return nil, fmt.Errorf("path %q: the result%s is %v, not an object", path, atSuffix(at), node)
		}
	}
	return node, nil
}

func atSuffix(at string) string {
	if at == "" {
		return ""
	}
	return " at " + at
}

func decodeTree(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return tree, nil
}
