package rewrite

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParse asserts that Parse never panics, that every error it returns is
// ErrInvalidRules, and that anything it accepts survives MarshalJSON and a
// re-parse unchanged, with the canonical bytes a fixed point.
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 30s ./rewrite
func FuzzParse(f *testing.F) {
	for _, tt := range acceptCases {
		f.Add([]byte(tt.in))
	}
	for _, tt := range errorCases {
		f.Add([]byte(tt.in))
	}
	f.Add([]byte(`{"spec_version":"0.2.0","rules":{"proj":{"viewer":{"union":["this",{"computed_userset":{"relation":"editor"}},{"tuple_to_userset":{"tupleset":{"relation":"parent_org"},"computed_userset":{"relation":"viewer"}}}]}}}}`))
	f.Add([]byte("rules:\n  doc:\n    owner: !!str this\n    viewer: [\"this\", 'computed_userset': {relation: owner}]\n"))
	f.Add([]byte("rules: {doc: {owner: [this, {this: {}}]}}"))

	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidRules) {
				t.Fatalf("Parse(%q) error = %v, want ErrInvalidRules", data, err)
			}
			if r != nil {
				t.Fatalf("Parse(%q) = %v with error %v, want nil", data, show(r), err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("Parse(%q) accepted rules that Validate refuses: %v", data, err)
		}
		out, err := r.MarshalJSON()
		if err != nil {
			t.Fatalf("Parse(%q).MarshalJSON() error = %v", data, err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%s) error = %v (canonical form of %q)", out, err, data)
		}
		if !reflect.DeepEqual(back, r) {
			t.Fatalf("Parse(%s) = %v, want %v", out, show(back), show(r))
		}
		again, err := back.MarshalJSON()
		if err != nil || string(again) != string(out) {
			t.Fatalf("MarshalJSON(Parse(%s)) = %s, %v, want the same bytes", out, again, err)
		}
	})
}
