package tuples_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flametrench/server/tuples"
)

// FuzzDecodeID checks that the strict and the registry-free decoders never
// panic, fail only with the spec's two errors, and accept only strings they
// would have produced themselves.
func FuzzDecodeID(f *testing.F) {
	for _, id := range fixtureIDs(f) {
		f.Add(id)
	}
	for _, h := range []string{sampleHex, nilHex, maxHex, version0Hex, version9Hex, sampleUpper} {
		f.Add("usr_" + h)
		f.Add("proj_" + h)
	}
	f.Add("_" + sampleHex)
	f.Fuzz(func(t *testing.T, id string) {
		typ, u, err := tuples.DecodeID(id)
		if err != nil {
			if !errors.Is(err, tuples.ErrInvalidID) && !errors.Is(err, tuples.ErrInvalidType) {
				t.Fatalf("DecodeID(%q) error = %v, want ErrInvalidID or ErrInvalidType", id, err)
			}
			if typ != "" || !u.IsZero() || tuples.IsValidID(id, "") {
				t.Fatalf("DecodeID(%q) = %q, %v, %v: error with a result, or IsValidID disagrees", id, typ, u, err)
			}
		} else {
			if got := tuples.FormatID(typ, u); got != id {
				t.Fatalf("FormatID(DecodeID(%q)) = %q, want the input", id, got)
			}
			if !tuples.IsRegisteredType(typ) || u.Version() < 1 || u.Version() > 8 {
				t.Fatalf("DecodeID(%q) = %q, %v: unregistered type or version %d", id, typ, u, u.Version())
			}
			if !tuples.IsValidID(id, typ) || !tuples.IsValidShape(id) {
				t.Fatalf("DecodeID(%q) succeeded but IsValidID or IsValidShape is false", id)
			}
			if got, err := tuples.TypeOfID(id); got != typ || err != nil {
				t.Fatalf("TypeOfID(%q) = %q, %v; want %q, nil", id, got, err, typ)
			}
			if enc, err := tuples.EncodeID(typ, u.String()); enc != id || err != nil {
				t.Fatalf("EncodeID(%q, %q) = %q, %v; want %q", typ, u.String(), enc, err, id)
			}
		}

		atyp, au, aerr := tuples.DecodeAnyID(id)
		if aerr != nil {
			if !errors.Is(aerr, tuples.ErrInvalidID) || errors.Is(aerr, tuples.ErrInvalidType) {
				t.Fatalf("DecodeAnyID(%q) error = %v, want only ErrInvalidID", id, aerr)
			}
			if err == nil {
				t.Fatalf("DecodeID(%q) succeeded where DecodeAnyID failed: %v", id, aerr)
			}
			return
		}
		if got := tuples.FormatID(atyp, au); got != id {
			t.Fatalf("FormatID(DecodeAnyID(%q)) = %q, want the input", id, got)
		}
		if strings.Contains(atyp, "_") || au.Version() < 1 || au.Version() > 8 {
			t.Fatalf("DecodeAnyID(%q) = %q, %v: separator in type or version %d", id, atyp, au, au.Version())
		}
		if err == nil && (atyp != typ || au != u) {
			t.Fatalf("DecodeAnyID(%q) = %q, %v; DecodeID = %q, %v", id, atyp, au, typ, u)
		}
	})
}

// FuzzParseRefID checks that subject and object id parsing never panics, yields
// only versions 1..8, and accepts exactly the three documented forms.
func FuzzParseRefID(f *testing.F) {
	for _, id := range fixtureIDs(f) {
		f.Add(typeOf(id), id)
	}
	for _, typ := range []string{"usr", "org", "ab", "proj", "abcdef"} {
		for _, id := range []string{typ + "_" + sampleHex, sampleHex, sampleUpper, sampleUUID, sampleHyphUp, typ + "_" + nilHex, maxHex, hyphenate(version9Hex)} {
			f.Add(typ, id)
		}
	}
	f.Fuzz(func(t *testing.T, typ, id string) {
		u, ok := tuples.ParseRefID(typ, id)
		if ok {
			if v := u.Version(); v < 1 || v > 8 {
				t.Fatalf("ParseRefID(%q, %q) = %v with version %d", typ, id, u, v)
			}
			lower := strings.ToLower(id)
			if id != typ+"_"+u.Hex() && lower != u.Hex() && lower != u.String() {
				t.Fatalf("ParseRefID(%q, %q) = %v: input is none of the three forms", typ, id, u)
			}
			// Whichever form was given, every form of the same UUID is accepted.
			for _, form := range []string{typ + "_" + u.Hex(), u.Hex(), strings.ToUpper(u.Hex()), u.String(), strings.ToUpper(u.String())} {
				if got, ok := tuples.ParseRefID(typ, form); !ok || got != u {
					t.Fatalf("ParseRefID(%q, %q) = %v, %v; want %v, true (ParseRefID(%q, %q) accepted it)", typ, form, got, ok, u, typ, id)
				}
			}
		}
		if !tuples.ValidType(typ) {
			return
		}
		for name, parse := range map[string]func(string, string) (tuples.Ref, error){
			"ParseSubject": tuples.ParseSubject, "ParseObject": tuples.ParseObject,
		} {
			ref, err := parse(typ, id)
			if (err == nil) != ok || (ok && ref != (tuples.Ref{Type: typ, ID: u})) {
				t.Fatalf("%s(%q, %q) = %v, %v; ParseRefID = %v, %v", name, typ, id, ref, err, u, ok)
			}
		}
	})
}
