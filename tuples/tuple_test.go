package tuples_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flametrench/server/tuples"
)

func mustUUID(t *testing.T, hex string) tuples.UUID {
	t.Helper()
	_, u, err := tuples.DecodeAnyID("x_" + hex)
	if err != nil {
		t.Fatalf("mustUUID(%q): %v", hex, err)
	}
	return u
}

// hyphenate renders 32 hex digits as 8-4-4-4-12, keeping their case.
func hyphenate(h string) string {
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func TestParseRefIDAccepts(t *testing.T) {
	mixed := "0190f2A81b3C7aBc8123456789AbCdEf"
	tests := []struct{ typ, id, wantHex string }{
		// The wire form, for prefixes of 2, 3, 4 and 6 characters.
		{"usr", "usr_" + sampleHex, sampleHex},
		{"org", "org_" + sampleHex, sampleHex},
		{"ab", "ab_" + sampleHex, sampleHex},
		{"proj", "proj_" + sampleHex, sampleHex},
		{"abcdef", "abcdef_" + sampleHex, sampleHex},
		// 32 hex digits, any case.
		{"usr", sampleHex, sampleHex},
		{"usr", sampleUpper, sampleHex},
		{"proj", mixed, sampleHex},
		// Hyphenated, any case.
		{"usr", sampleUUID, sampleHex},
		{"usr", sampleHyphUp, sampleHex},
		{"proj", hyphenate(mixed), sampleHex},
		// Every version 1..8 is accepted.
		{"usr", "usr_" + version1Hex, version1Hex},
		{"usr", version8Hex, version8Hex},
		{"usr", hyphenate(version1Hex), version1Hex},
	}
	for _, tt := range tests {
		u, ok := tuples.ParseRefID(tt.typ, tt.id)
		if !ok || u.Hex() != tt.wantHex {
			t.Errorf("ParseRefID(%q, %q) = %s, %v; want %s, true", tt.typ, tt.id, u.Hex(), ok, tt.wantHex)
		}
	}
}

func TestParseRefIDRejects(t *testing.T) {
	var tests []struct{ typ, id string }
	add := func(typ string, ids ...string) {
		for _, id := range ids {
			tests = append(tests, struct{ typ, id string }{typ, id})
		}
	}
	// Nil, Max and versions 0, 9 and f, in each of the three forms.
	for _, h := range []string{nilHex, maxHex, version0Hex, version9Hex, versionFHex} {
		add("usr", "usr_"+h, h, strings.ToUpper(h), hyphenate(h), strings.ToUpper(hyphenate(h)))
	}
	add("usr",
		// The wire prefix must equal the declared type (audit M9).
		"org_"+sampleHex, "us_"+sampleHex, "usrs_"+sampleHex, "USR_"+sampleHex,
		// The wire form is lowercase only, as ids.md decoding requires.
		"usr_"+sampleUpper,
		// Wrong separators and lengths.
		"usr-"+sampleHex, "usr"+sampleHex, "usr__"+sampleHex, "usr_"+sampleUUID,
		"usr_"+sampleHex[:31], "usr_"+sampleHex+"0", "usr_",
		"", sampleHex[:31], sampleHex+"0", sampleUUID[:35], sampleUUID+"0",
		// Hyphens misplaced, missing or added; braces and URNs.
		"0190f2a81-b3c-7abc-8123-456789abcdef", "0190f2a8-1b3c-7abc-8123456789abcdef",
		"0190f2a8-1b3c-7abc-8123-456789abcde-", "{"+sampleUUID+"}", "urn:uuid:"+sampleUUID,
		// Non-hex characters.
		"0190f2a81b3c7abc8123456789abcdeg", "0190f2a8-1b3c-7abc-8123-456789abcdeg",
		"usr_0190f2a81b3c7abc8123456789abcdeg", "0190f2a8 1b3c 7abc 8123 456789abcdef",
	)
	// A 2-character type whose wire form is 35 characters long.
	add("ab", "ab_"+nilHex, "ac_"+sampleHex, "ab_"+sampleHex[:31]+"g")
	for _, tt := range tests {
		if u, ok := tuples.ParseRefID(tt.typ, tt.id); ok {
			t.Errorf("ParseRefID(%q, %q) = %v, true; want false", tt.typ, tt.id, u)
		}
	}
}

func TestParseSubjectAndObject(t *testing.T) {
	parsers := []struct {
		name                  string
		parse                 func(typ, id string) (tuples.Ref, error)
		errType, errID, other error
	}{
		{"ParseSubject", tuples.ParseSubject, tuples.ErrInvalidSubjType, tuples.ErrInvalidSubjectID, tuples.ErrInvalidObjType},
		{"ParseObject", tuples.ParseObject, tuples.ErrInvalidObjType, tuples.ErrInvalidObjectID, tuples.ErrInvalidSubjType},
	}
	for _, p := range parsers {
		t.Run(p.name, func(t *testing.T) {
			for _, tt := range []struct{ typ, id string }{
				{"usr", "usr_" + sampleHex},
				{"usr", sampleHex},
				{"usr", sampleUpper},
				{"usr", sampleUUID},
				{"usr", sampleHyphUp},
				{"proj", "proj_" + sampleHex},
				{"ab", "ab_" + sampleHex},
				{"abcdef", sampleUUID},
			} {
				ref, err := p.parse(tt.typ, tt.id)
				if err != nil || ref.Type != tt.typ || ref.ID.Hex() != sampleHex {
					t.Errorf("%s(%q, %q) = %v, %v; want %s:%s, nil", p.name, tt.typ, tt.id, ref, err, tt.typ, sampleUUID)
				}
			}
			for _, typ := range []string{"", "u", "abcdefg", "Usr", "USR", "us1", "us_r", "us r", "usé"} {
				ref, err := p.parse(typ, sampleUUID)
				if !errors.Is(err, p.errType) || errors.Is(err, p.other) || ref != (tuples.Ref{}) {
					t.Errorf("%s(%q, %q) = %v, %v; want zero, %v", p.name, typ, sampleUUID, ref, err, p.errType)
				}
			}
			for _, id := range []string{"", "org_" + sampleHex, "usr_" + nilHex, maxHex, hyphenate(version0Hex), version9Hex, "usr_" + sampleUpper, "garbage"} {
				ref, err := p.parse("usr", id)
				if !errors.Is(err, p.errID) || ref != (tuples.Ref{}) {
					t.Errorf("%s(usr, %q) = %v, %v; want zero, %v", p.name, id, ref, err, p.errID)
				}
				if tuples.KindOf(err) != tuples.Invalid {
					t.Errorf("KindOf(%s(usr, %q) error) = %v, want invalid", p.name, id, tuples.KindOf(err))
				}
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	good := []string{"usr", "usr_" + sampleHex, "viewer", "proj", sampleUUID}
	key, err := tuples.ParseKey(good[0], good[1], good[2], good[3], good[4])
	if err != nil {
		t.Fatalf("ParseKey(%q) = %v", good, err)
	}
	want := tuples.Key{
		Subject:  tuples.Ref{Type: "usr", ID: mustUUID(t, sampleHex)},
		Relation: "viewer",
		Object:   tuples.Ref{Type: "proj", ID: mustUUID(t, sampleHex)},
	}
	if key != want {
		t.Errorf("ParseKey(%q) = %v, want %v", good, key, want)
	}
	if err := key.Validate(); err != nil {
		t.Errorf("ParseKey(%q).Validate() = %v, want nil", good, err)
	}
	if got, want := key.String(), "usr:"+sampleUUID+"#viewer@proj:"+sampleUUID; got != want {
		t.Errorf("Key.String() = %q, want %q", got, want)
	}

	sentinels := []error{tuples.ErrInvalidSubjType, tuples.ErrInvalidSubjectID, tuples.ErrInvalidRelation, tuples.ErrInvalidObjType, tuples.ErrInvalidObjectID}
	tests := []struct {
		field int
		value string
		want  error
	}{
		{0, "User", tuples.ErrInvalidSubjType},
		{0, "u", tuples.ErrInvalidSubjType},
		{1, "org_" + sampleHex, tuples.ErrInvalidSubjectID},
		{1, "usr_" + nilHex, tuples.ErrInvalidSubjectID},
		{2, "Viewer", tuples.ErrInvalidRelation},
		{2, "v", tuples.ErrInvalidRelation},
		{3, "project", tuples.ErrInvalidObjType},
		{3, "", tuples.ErrInvalidObjType},
		{4, maxHex, tuples.ErrInvalidObjectID},
		{4, "usr_" + sampleHex, tuples.ErrInvalidObjectID},
	}
	for _, tt := range tests {
		in := append([]string(nil), good...)
		in[tt.field] = tt.value
		key, err := tuples.ParseKey(in[0], in[1], in[2], in[3], in[4])
		if !errors.Is(err, tt.want) || key != (tuples.Key{}) {
			t.Errorf("ParseKey(%q) = %v, %v; want zero, %v", in, key, err, tt.want)
			continue
		}
		for _, s := range sentinels {
			if s != tt.want && errors.Is(err, s) {
				t.Errorf("ParseKey(%q) error %v also matches %v", in, err, s)
			}
		}
	}
}

func TestKeyValidate(t *testing.T) {
	u := mustUUID(t, sampleHex)
	good := tuples.Key{Subject: tuples.Ref{Type: "usr", ID: u}, Relation: "owner", Object: tuples.Ref{Type: "org", ID: u}}
	tests := []struct {
		name string
		edit func(*tuples.Key)
		want error
	}{
		{"valid", func(*tuples.Key) {}, nil},
		{"subject type", func(k *tuples.Key) { k.Subject.Type = "USR" }, tuples.ErrInvalidSubjType},
		{"subject nil", func(k *tuples.Key) { k.Subject.ID = tuples.UUID{} }, tuples.ErrInvalidSubjectID},
		{"relation", func(k *tuples.Key) { k.Relation = "" }, tuples.ErrInvalidRelation},
		{"object type", func(k *tuples.Key) { k.Object.Type = "o" }, tuples.ErrInvalidObjType},
		{"object max", func(k *tuples.Key) { k.Object.ID = mustUUIDMax() }, tuples.ErrInvalidObjectID},
	}
	for _, tt := range tests {
		k := good
		tt.edit(&k)
		err := k.Validate()
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: %v.Validate() = %v, want %v", tt.name, k, err, tt.want)
		}
	}
}

func mustUUIDMax() tuples.UUID {
	var u tuples.UUID
	for i := range u {
		u[i] = 0xff
	}
	return u
}

func TestTupleAccessors(t *testing.T) {
	u := mustUUID(t, sampleHex)
	tup := tuples.Tuple{ID: u}
	if got, want := tup.WireID(), "tup_"+sampleHex; got != want {
		t.Errorf("Tuple.WireID() = %q, want %q", got, want)
	}
	// 0x0190f2a81b3c ms after the epoch.
	want := time.UnixMilli(0x0190f2a81b3c).UTC()
	if got := tup.CreatedAt(); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("Tuple.CreatedAt() = %v, want %v", got, want)
	}
	if got, want := (tuples.Ref{Type: "usr", ID: u}).String(), "usr:"+sampleUUID; got != want {
		t.Errorf("Ref.String() = %q, want %q", got, want)
	}
}

func TestValidRelation(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"ab", true},
		{"a", false},
		{"", false},
		{strings.Repeat("a", 32), true},
		{strings.Repeat("a", 33), false},
		{"can_view", true},
		{"__", true},
		{"_", false},
		{"_" + strings.Repeat("b", 31), true},
		{"Viewer", false},
		{"viewer2", false},
		{"vi-ew", false},
		{"vi ew", false},
		{"vié", false},
		{"viewer\n", false},
	}
	for _, tt := range tests {
		if got := tuples.ValidRelation(tt.s); got != tt.want {
			t.Errorf("ValidRelation(%q) = %v, want %v", tt.s, got, tt.want)
		}
		err := tuples.CheckRelation(tt.s)
		if tt.want != (err == nil) || (err != nil && !errors.Is(err, tuples.ErrInvalidRelation)) {
			t.Errorf("CheckRelation(%q) = %v, want valid=%v", tt.s, err, tt.want)
		}
	}
}

func TestValidType(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"ab", true},
		{"a", false},
		{"", false},
		{"abcdef", true},
		{"abcdefg", false},
		{"usr", true},
		{"us_r", false},
		{"Usr", false},
		{"USR", false},
		{"us1", false},
		{"u-r", false},
		{"usé", false},
	}
	for _, tt := range tests {
		if got := tuples.ValidType(tt.s); got != tt.want {
			t.Errorf("ValidType(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
