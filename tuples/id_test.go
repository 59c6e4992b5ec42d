package tuples_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/conformancetest"
)

// idFixtureFile is one file of fixtures/ids.
type (
	idFixtureFile = conformancetest.File[idInput, idExpected]
	idFixtureTest = conformancetest.Test[idInput, idExpected]
)

type idInput struct {
	Type         string `json:"type"`
	UUID         string `json:"uuid"`
	ID           string `json:"id"`
	ExpectedType string `json:"expected_type"`
}

type idExpected struct {
	Result       json.RawMessage `json:"result"`
	Error        string          `json:"error"`
	ErrorMatches string          `json:"error_matches"`
}

// decodeResult is the expected result of the decode operation.
type decodeResult struct {
	Type string `json:"type"`
	UUID string `json:"uuid"`
}

// specErrors maps the spec's error names to this package's sentinels.
var specErrors = map[string]error{
	"InvalidIdError":   tuples.ErrInvalidID,
	"InvalidTypeError": tuples.ErrInvalidType,
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// loadIDFixtures decodes every fixtures/ids/*.json file, keyed by its slash
// path relative to testdata/conformance ("fixtures/ids/encode.json").
func loadIDFixtures(tb testing.TB) map[string]idFixtureFile {
	tb.Helper()
	files := map[string]idFixtureFile{}
	for _, rel := range conformancetest.Glob(tb, "ids/*.json") {
		var f idFixtureFile
		conformancetest.Decode(tb, filepath.Join("fixtures", rel), &f)
		if f.Capability != "ids" {
			tb.Fatalf("%s: capability = %q, want %q", rel, f.Capability, "ids")
		}
		if len(f.Tests) == 0 {
			tb.Fatalf("%s: no tests", rel)
		}
		if f.Shared != nil {
			tb.Fatalf("%s: a shared input, which this harness does not merge", rel)
		}
		files["fixtures/"+filepath.ToSlash(rel)] = f
	}
	return files
}

// TestIDFixturesMatchIndex checks that the glob in TestIDConformance sees exactly
// the ids fixtures the spec's index.json lists, with the same operations.
func TestIDFixturesMatchIndex(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(conformancetest.Dir(), "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index struct {
		Fixtures []struct {
			Path       string `json:"path"`
			Capability string `json:"capability"`
			Operation  string `json:"operation"`
		} `json:"fixtures"`
	}
	if err := json.Unmarshal(data, &index); err != nil {
		t.Fatal(err)
	}
	files := loadIDFixtures(t)
	listed := map[string]bool{}
	for _, e := range index.Fixtures {
		if e.Capability != "ids" {
			continue
		}
		listed[e.Path] = true
		f, ok := files[e.Path]
		if !ok {
			t.Errorf("index.json lists %s, which is not vendored", e.Path)
			continue
		}
		if f.Operation != e.Operation {
			t.Errorf("%s: operation = %q, index.json says %q", e.Path, f.Operation, e.Operation)
		}
	}
	for p := range files {
		if !listed[p] {
			t.Errorf("%s is vendored but not listed in index.json", p)
		}
	}
}

// TestIDConformance runs every vector of fixtures/ids against this package.
func TestIDConformance(t *testing.T) {
	files := loadIDFixtures(t)
	names := slices.Sorted(func(yield func(string) bool) {
		for p := range files {
			if !yield(p) {
				return
			}
		}
	})
	want, ran := 0, 0
	seen := map[string]string{}
	for _, name := range names {
		f := files[name]
		for _, test := range f.Tests {
			want++
			if prev, dup := seen[test.ID]; dup {
				t.Errorf("test id %q appears in both %s and %s", test.ID, prev, name)
			}
			seen[test.ID] = name
			t.Run(test.ID, func(t *testing.T) {
				ran++
				runIDTest(t, f.Operation, test)
			})
		}
	}
	if filtered() {
		t.Logf("ran %d of %d id vectors (-run or -skip filter set)", ran, want)
		return
	}
	if ran < want {
		t.Errorf("ran %d id conformance vectors, want at least %d", ran, want)
	}
	t.Logf("ran %d id conformance vectors from %d files", ran, len(files))
}

// filtered reports whether -run or -skip may have filtered out subtests.
func filtered() bool {
	run, skip := flag.Lookup("test.run"), flag.Lookup("test.skip")
	return (run != nil && strings.Contains(run.Value.String(), "/")) ||
		(skip != nil && skip.Value.String() != "")
}

func runIDTest(t *testing.T, op string, test idFixtureTest) {
	t.Helper()
	exp := test.Expected
	hasResult := len(exp.Result) > 0
	if hasResult == (exp.Error != "") {
		t.Fatalf("fixture must set exactly one of expected.result and expected.error: %+v", exp)
	}
	if exp.ErrorMatches != "" && exp.Error == "" {
		t.Fatalf("fixture sets error_matches without error")
	}
	in := test.Input
	switch op {
	case "encode":
		got, err := tuples.EncodeID(in.Type, in.UUID)
		if !hasResult {
			checkSpecError(t, "EncodeID", err, exp)
			if got != "" {
				t.Errorf("EncodeID(%q, %q) = %q with an error, want \"\"", in.Type, in.UUID, got)
			}
			return
		}
		var want string
		mustResult(t, exp.Result, &want)
		if err != nil || got != want {
			t.Errorf("EncodeID(%q, %q) = %q, %v; want %q, nil", in.Type, in.UUID, got, err, want)
		}
	case "decode":
		typ, u, err := tuples.DecodeID(in.ID)
		if !hasResult {
			checkSpecError(t, "DecodeID", err, exp)
			if typ != "" || !u.IsZero() {
				t.Errorf("DecodeID(%q) = %q, %v with an error, want zero values", in.ID, typ, u)
			}
			return
		}
		var want decodeResult
		mustResult(t, exp.Result, &want)
		if err != nil || typ != want.Type || u.String() != want.UUID {
			t.Errorf("DecodeID(%q) = %q, %q, %v; want %q, %q, nil", in.ID, typ, u.String(), err, want.Type, want.UUID)
		}
	case "is_valid":
		if !hasResult {
			t.Fatalf("is_valid never raises; fixture expects %s", exp.Error)
		}
		var want bool
		mustResult(t, exp.Result, &want)
		if got := tuples.IsValidID(in.ID, in.ExpectedType); got != want {
			t.Errorf("IsValidID(%q, %q) = %v, want %v", in.ID, in.ExpectedType, got, want)
		}
	case "type_of":
		got, err := tuples.TypeOfID(in.ID)
		if !hasResult {
			checkSpecError(t, "TypeOfID", err, exp)
			if got != "" {
				t.Errorf("TypeOfID(%q) = %q with an error, want \"\"", in.ID, got)
			}
			return
		}
		var want string
		mustResult(t, exp.Result, &want)
		if err != nil || got != want {
			t.Errorf("TypeOfID(%q) = %q, %v; want %q, nil", in.ID, got, err, want)
		}
	default:
		t.Fatalf("unknown ids operation %q: teach runIDTest about it", op)
	}
}

func mustResult(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := decodeStrict(raw, v); err != nil {
		t.Fatalf("expected.result %s: %v", raw, err)
	}
}

// checkSpecError asserts that err is the spec error exp names and, when the
// fixture pins one, that its message contains error_matches (any case).
func checkSpecError(t *testing.T, call string, err error, exp idExpected) {
	t.Helper()
	sentinel, ok := specErrors[exp.Error]
	if !ok {
		t.Fatalf("unknown spec error name %q: add it to specErrors", exp.Error)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("%s error = %v, want %s (%v)", call, err, exp.Error, sentinel)
	}
	for name, other := range specErrors {
		if name != exp.Error && errors.Is(err, other) {
			t.Errorf("%s error = %v also matches %s", call, err, name)
		}
	}
	if m := exp.ErrorMatches; m != "" && !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(m)) {
		t.Errorf("%s error = %q, want it to contain %q", call, err.Error(), m)
	}
}

const (
	sampleHex    = "0190f2a81b3c7abc8123456789abcdef"
	sampleUUID   = "0190f2a8-1b3c-7abc-8123-456789abcdef"
	nilHex       = "00000000000000000000000000000000"
	maxHex       = "ffffffffffffffffffffffffffffffff"
	version0Hex  = "0190f2a81b3c0abc8123456789abcdef"
	version9Hex  = "0190f2a81b3c9abc8123456789abcdef"
	versionFHex  = "0190f2a81b3cfabc8123456789abcdef"
	version1Hex  = "0190f2a81b3c1abc8123456789abcdef"
	version8Hex  = "0190f2a81b3c8abc8123456789abcdef"
	sampleUpper  = "0190F2A81B3C7ABC8123456789ABCDEF"
	sampleHyphUp = "0190F2A8-1B3C-7ABC-8123-456789ABCDEF"
)

// registeredTypes is the prefix registry of docs/ids.md v0.2 plus pat (ADR 0016).
var registeredTypes = []string{"usr", "ses", "cred", "mfa", "org", "mem", "inv", "tup", "shr", "pat"}

func TestIsRegisteredType(t *testing.T) {
	for _, typ := range registeredTypes {
		if !tuples.IsRegisteredType(typ) {
			t.Errorf("IsRegisteredType(%q) = false, want true", typ)
		}
	}
	// Reserved prefixes are not usable yet; the rest are near misses.
	for _, typ := range []string{"aud", "not", "file", "flag", "sub", "", "USR", "us", "usrs", "proj", "xyz"} {
		if tuples.IsRegisteredType(typ) {
			t.Errorf("IsRegisteredType(%q) = true, want false", typ)
		}
	}
}

func TestEncodeIDForms(t *testing.T) {
	tests := []struct {
		typ, uuid string
		want      string
		err       error
	}{
		{"usr", sampleUUID, "usr_" + sampleHex, nil},
		{"usr", sampleHyphUp, "usr_" + sampleHex, nil},
		{"usr", sampleHex, "usr_" + sampleHex, nil},
		{"usr", sampleUpper, "usr_" + sampleHex, nil},
		// Encoding does not check the version (ids.md encoding rule 3).
		{"org", "00000000-0000-0000-0000-000000000000", "org_" + nilHex, nil},
		{"org", version9Hex, "org_" + version9Hex, nil},
		{"usr", "", "", tuples.ErrInvalidID},
		{"usr", "usr_" + sampleHex, "", tuples.ErrInvalidID},
		{"usr", "{" + sampleUUID + "}", "", tuples.ErrInvalidID},
		{"usr", "urn:uuid:" + sampleUUID, "", tuples.ErrInvalidID},
		{"usr", "0190f2a8-1b3c-7abc-8123-456789abcdeg", "", tuples.ErrInvalidID},
		{"usr", "0190f2a81-b3c-7abc-8123-456789abcdef", "", tuples.ErrInvalidID},
		{"usr", sampleHex[:31], "", tuples.ErrInvalidID},
		{"xyz", sampleUUID, "", tuples.ErrInvalidType},
		{"USR", sampleUUID, "", tuples.ErrInvalidType},
		{"", sampleUUID, "", tuples.ErrInvalidType},
		// The type is checked first (encoding rule 1).
		{"xyz", "garbage", "", tuples.ErrInvalidType},
	}
	for _, tt := range tests {
		got, err := tuples.EncodeID(tt.typ, tt.uuid)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("EncodeID(%q, %q) = %q, %v; want %q, %v", tt.typ, tt.uuid, got, err, tt.want, tt.err)
		}
	}
}

func TestNewID(t *testing.T) {
	for _, typ := range registeredTypes {
		before := time.Now().UnixMilli()
		id, u, err := tuples.NewID(typ)
		after := time.Now().UnixMilli()
		if err != nil {
			t.Fatalf("NewID(%q) error = %v", typ, err)
		}
		if want := typ + "_" + u.Hex(); id != want {
			t.Errorf("NewID(%q) = %q, want %q", typ, id, want)
		}
		gotTyp, gotU, err := tuples.DecodeID(id)
		if err != nil || gotTyp != typ || gotU != u {
			t.Errorf("DecodeID(NewID(%q) = %q) = %q, %v, %v; want %q, %v, nil", typ, id, gotTyp, gotU, err, typ, u)
		}
		if v := u.Version(); v != 7 {
			t.Errorf("NewID(%q) version = %d, want 7", typ, v)
		}
		if ms := u.UnixMilli(); ms < before || ms > after {
			t.Errorf("NewID(%q) UnixMilli = %d, want within [%d, %d]", typ, ms, before, after)
		}
	}
	for _, typ := range []string{"xyz", "", "aud", "USR", "proj"} {
		id, u, err := tuples.NewID(typ)
		if !errors.Is(err, tuples.ErrInvalidType) || id != "" || !u.IsZero() {
			t.Errorf("NewID(%q) = %q, %v, %v; want \"\", zero, ErrInvalidType", typ, id, u, err)
		}
	}
}

// TestNewIDSortable checks the property listings rely on: ids generated in
// sequence sort in generation order, even within one millisecond.
func TestNewIDSortable(t *testing.T) {
	ids := make([]string, 2000)
	for i := range ids {
		id, _, err := tuples.NewID("tup")
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	for i := 1; i < len(ids); i++ {
		if ids[i-1] >= ids[i] {
			t.Fatalf("NewID #%d = %s, not after #%d = %s", i, ids[i], i-1, ids[i-1])
		}
	}
}

func TestDecodeID(t *testing.T) {
	tests := []struct {
		id      string
		wantTyp string
		wantHex string
		err     error
	}{
		{"usr_" + sampleHex, "usr", sampleHex, nil},
		{"pat_" + sampleHex, "pat", sampleHex, nil},
		{"usr_" + version1Hex, "usr", version1Hex, nil},
		{"usr_" + version8Hex, "usr", version8Hex, nil},
		{"usr_" + version0Hex, "", "", tuples.ErrInvalidID},
		{"usr_" + version9Hex, "", "", tuples.ErrInvalidID},
		{"usr_" + versionFHex, "", "", tuples.ErrInvalidID},
		{"usr_" + sampleUUID, "", "", tuples.ErrInvalidID},
		{"usr__" + sampleHex, "", "", tuples.ErrInvalidID},
		{"usr_" + sampleHex + "\n", "", "", tuples.ErrInvalidID},
		{" usr_" + sampleHex, "", "", tuples.ErrInvalidType},
		{"_" + sampleHex, "", "", tuples.ErrInvalidType},
		{"proj_" + sampleHex, "", "", tuples.ErrInvalidType},
		// The prefix is checked before the payload (ids.md decoding rules 2
		// and 3), so an unregistered prefix wins over a bad payload.
		{"xyz_garbage", "", "", tuples.ErrInvalidType},
		{"proj_" + nilHex, "", "", tuples.ErrInvalidType},
		{"xyz_", "", "", tuples.ErrInvalidType},
	}
	for _, tt := range tests {
		typ, u, err := tuples.DecodeID(tt.id)
		gotHex := ""
		if !u.IsZero() {
			gotHex = u.Hex()
		}
		if typ != tt.wantTyp || gotHex != tt.wantHex || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("DecodeID(%q) = %q, %q, %v; want %q, %q, %v", tt.id, typ, gotHex, err, tt.wantTyp, tt.wantHex, tt.err)
		}
	}
}

func TestDecodeAnyID(t *testing.T) {
	valid := []struct{ id, typ string }{
		{"proj_" + sampleHex, "proj"},
		{"doc_" + sampleHex, "doc"},
		{"team_" + sampleHex, "team"},
		{"xyz_" + sampleHex, "xyz"},
		{"usr_" + sampleHex, "usr"},
		// decodeAny does not validate the prefix's format (ids.md).
		{"Proj9_" + sampleHex, "Proj9"},
	}
	for _, tt := range valid {
		typ, u, err := tuples.DecodeAnyID(tt.id)
		if err != nil || typ != tt.typ || u.String() != sampleUUID {
			t.Errorf("DecodeAnyID(%q) = %q, %v, %v; want %q, %s, nil", tt.id, typ, u, err, tt.typ, sampleUUID)
		}
	}
	invalid := []string{
		"", "proj", "proj" + sampleHex, "proj_", "proj_" + sampleHex[:31], "proj_" + sampleHex + "0",
		"proj_" + sampleUpper, "proj_" + nilHex, "proj_" + maxHex, "proj_" + version0Hex,
		"proj_" + version9Hex, "proj_" + versionFHex, "proj_" + sampleUUID, "proj_" + sampleHex[:31] + "g",
	}
	for _, id := range invalid {
		typ, u, err := tuples.DecodeAnyID(id)
		if !errors.Is(err, tuples.ErrInvalidID) || typ != "" || !u.IsZero() {
			t.Errorf("DecodeAnyID(%q) = %q, %v, %v; want \"\", zero, ErrInvalidID", id, typ, u, err)
		}
	}
	// decodeAny never raises InvalidTypeError, whatever the input.
	for _, f := range loadIDFixtures(t) {
		for _, test := range f.Tests {
			for _, id := range []string{test.Input.ID, test.Input.Type + "_" + test.Input.UUID} {
				if _, _, err := tuples.DecodeAnyID(id); errors.Is(err, tuples.ErrInvalidType) {
					t.Errorf("DecodeAnyID(%q) error = %v, must never be ErrInvalidType", id, err)
				}
			}
		}
	}
}

func TestIsValidShape(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"proj_" + sampleHex, true},
		{"usr_" + sampleHex, true},
		{"xyz_" + sampleHex, true},
		{"proj_" + sampleUpper, false},
		{"proj_" + nilHex, false},
		{"proj_" + maxHex, false},
		{"proj" + sampleHex, false},
		{"proj_", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := tuples.IsValidShape(tt.id); got != tt.want {
			t.Errorf("IsValidShape(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

func TestIsValidIDExpectedType(t *testing.T) {
	tests := []struct {
		id, expectedType string
		want             bool
	}{
		{"usr_" + sampleHex, "", true},
		{"usr_" + sampleHex, "usr", true},
		{"usr_" + sampleHex, "org", false},
		{"proj_" + sampleHex, "proj", false}, // unregistered even when expected
		{"usr_" + nilHex, "usr", false},
	}
	for _, tt := range tests {
		if got := tuples.IsValidID(tt.id, tt.expectedType); got != tt.want {
			t.Errorf("IsValidID(%q, %q) = %v, want %v", tt.id, tt.expectedType, got, tt.want)
		}
	}
}

func TestDecodeIDOf(t *testing.T) {
	tests := []struct {
		want, id string
		err      error
	}{
		{"usr", "usr_" + sampleHex, nil},
		{"tup", "tup_" + sampleHex, nil},
		{"org", "usr_" + sampleHex, tuples.ErrInvalidID},
		{"proj", "proj_" + sampleHex, tuples.ErrInvalidType},
		{"usr", "usr_" + sampleUpper, tuples.ErrInvalidID},
		{"usr", "garbage", tuples.ErrInvalidID},
		{"usr", "", tuples.ErrInvalidID},
	}
	for _, tt := range tests {
		u, err := tuples.DecodeIDOf(tt.want, tt.id)
		if tt.err == nil {
			if err != nil || u.Hex() != sampleHex {
				t.Errorf("DecodeIDOf(%q, %q) = %v, %v; want %s, nil", tt.want, tt.id, u, err, sampleUUID)
			}
			continue
		}
		if !errors.Is(err, tt.err) || !u.IsZero() {
			t.Errorf("DecodeIDOf(%q, %q) = %v, %v; want zero, %v", tt.want, tt.id, u, err, tt.err)
		}
	}
}

// TestUUIDAgainstGoogle cross-checks the hand-written rendering and the embedded
// timestamp against github.com/google/uuid.
func TestUUIDAgainstGoogle(t *testing.T) {
	inputs := []string{
		sampleUUID,
		"01000000-0000-7000-8000-000000000000",
		"01ffffff-ffff-7fff-bfff-ffffffffffff",
		"ffffffff-ffff-7fff-bfff-ffffffffffff",
		"00000000-0000-7000-8000-000000000001",
	}
	for range 64 {
		inputs = append(inputs, uuid.Must(uuid.NewV7()).String(), uuid.NewString())
	}
	for _, s := range inputs {
		g := uuid.MustParse(s)
		u := tuples.UUID(g)
		if got := u.String(); got != g.String() || got != s {
			t.Errorf("UUID(%s).String() = %q, want %q", s, got, g.String())
		}
		if got, want := u.Hex(), strings.ReplaceAll(g.String(), "-", ""); got != want {
			t.Errorf("UUID(%s).Hex() = %q, want %q", s, got, want)
		}
		back, err := uuid.Parse(u.String())
		if err != nil || tuples.UUID(back) != u {
			t.Errorf("uuid.Parse(%q) = %v, %v; want %v", u.String(), back, err, g)
		}
		if back, err := uuid.Parse(u.Hex()); err != nil || tuples.UUID(back) != u {
			t.Errorf("uuid.Parse(%q) = %v, %v; want %v", u.Hex(), back, err, g)
		}
		if got, want := u.Version(), int(g.Version()); got != want {
			t.Errorf("UUID(%s).Version() = %d, want %d", s, got, want)
		}
		if g.Version() == 7 {
			sec, nsec := g.Time().UnixTime()
			if got, want := u.UnixMilli(), sec*1000+nsec/1e6; got != want {
				t.Errorf("UUID(%s).UnixMilli() = %d, want %d", s, got, want)
			}
		}
		text, err := u.MarshalText()
		if err != nil || string(text) != s {
			t.Errorf("UUID(%s).MarshalText() = %q, %v; want %q, nil", s, text, err, s)
		}
		js, err := json.Marshal(u)
		if err != nil || string(js) != `"`+s+`"` {
			t.Errorf("json.Marshal(UUID(%s)) = %s, %v; want %q", s, js, err, s)
		}
		if id := tuples.FormatID("usr", u); id != "usr_"+u.Hex() {
			t.Errorf("FormatID(usr, %s) = %q", s, id)
		}
	}
}

func TestNewUUID(t *testing.T) {
	before := time.Now().UnixMilli()
	u := tuples.NewUUID()
	after := time.Now().UnixMilli()
	if u.Version() != 7 {
		t.Errorf("NewUUID().Version() = %d, want 7", u.Version())
	}
	if ms := u.UnixMilli(); ms < before || ms > after {
		t.Errorf("NewUUID().UnixMilli() = %d, want within [%d, %d]", ms, before, after)
	}
	if g := uuid.UUID(u); g.Variant() != uuid.RFC4122 {
		t.Errorf("NewUUID() variant = %v, want RFC4122", g.Variant())
	}
	if u.IsZero() || !(tuples.UUID{}).IsZero() {
		t.Errorf("IsZero: NewUUID() = %v, UUID{} = %v", u.IsZero(), (tuples.UUID{}).IsZero())
	}
}

// fixtureIDs returns every id-like string in the ids fixtures, for fuzz seeds.
func fixtureIDs(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, f := range loadIDFixtures(tb) {
		for _, test := range f.Tests {
			in := test.Input
			if in.Type != "" || in.UUID != "" {
				out = append(out, in.Type+"_"+in.UUID, in.UUID)
				if id, err := tuples.EncodeID(in.Type, in.UUID); err == nil {
					out = append(out, id)
				}
			} else {
				out = append(out, in.ID)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// typeOf returns the prefix before the first underscore, or "usr".
func typeOf(id string) string {
	if i := strings.IndexByte(id, '_'); i > 0 {
		return id[:i]
	}
	return "usr"
}
