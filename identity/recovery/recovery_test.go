package recovery_test

import (
	"strings"
	"testing"

	"github.com/flametrench/server/identity/recovery"
	"github.com/flametrench/server/tuples/conformancetest"
)

// formatInput is the input of identity/mfa/recovery-code-format.json.
// Despite its operation name (generate_recovery_code) the file tests the
// format predicate.
type formatInput struct {
	Code string `json:"code"`
}

func TestConformance(t *testing.T) {
	fx := conformancetest.Load[formatInput, conformancetest.Result[bool]](t, "identity/mfa/recovery-code-format.json", "generate_recovery_code")
	for _, tc := range fx.Tests {
		t.Run(tc.ID, func(t *testing.T) {
			if got := recovery.Valid(tc.Input.Code); got != tc.Expected.Result {
				t.Errorf("Valid(%q) = %v, want %v", tc.Input.Code, got, tc.Expected.Result)
			}
		})
	}
}

func TestAlphabet(t *testing.T) {
	if len(recovery.Alphabet) != 31 || strings.ContainsAny(recovery.Alphabet, "0O1IL") {
		t.Fatalf("Alphabet = %q: want 31 characters without 0 O 1 I L", recovery.Alphabet)
	}
	for c := 0; c < 256; c++ {
		want := ('A' <= c && c <= 'Z' || '2' <= c && c <= '9') && !strings.ContainsRune("OIL", rune(c))
		code := strings.Repeat(string(rune(c)), 4) + "-AAAA-AAAA"
		if c >= 0x80 {
			code = string([]byte{byte(c), byte(c), byte(c), byte(c)}) + "-AAAA-AAAA"
		}
		if got := recovery.Valid(code); got != want {
			t.Errorf("Valid(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestValid(t *testing.T) {
	for code, want := range map[string]bool{
		"ABCD-EFGH-JKMN":    true,
		"2345-6789-ZZZZ":    true,
		"":                  false,
		"ABCD-EFGH-JKMN ":   false,
		" ABCD-EFGH-JKMN":   false,
		"ABCD-EFGH-JKMNP":   false,
		"ABCD-EFGH-JKM":     false,
		"ABCDE-FGH-JKMN":    false,
		"ABCD_EFGH_JKMN":    false,
		"ABCD--EFGH-JKMN":   false,
		"ABCD-EFGH-JKMN-":   false,
		"ABCD-EFGH-JKM\x00": false,
		"ABCD-EFGH-JKMÑ":    false,
	} {
		if got := recovery.Valid(code); got != want {
			t.Errorf("Valid(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"ABCD-EFGH-JKMN", "ABCD-EFGH-JKMN", true},
		{"abcd-efgh-jkmn", "ABCD-EFGH-JKMN", true},
		{"  abcd-EFGH-jkmn\t\n", "ABCD-EFGH-JKMN", true},
		{"ABCDEFGHJKMN", "ABCD-EFGH-JKMN", true},
		{"abcdefghjkmn", "ABCD-EFGH-JKMN", true},
		{" 23456789abcd ", "2345-6789-ABCD", true},
		{"", "", false},
		{"   ", "", false},
		{"ABCD EFGH JKMN", "", false}, // inner spaces are not separators
		{"ABCD-EFGHJKMN", "", false},  // half-hyphenated
		{"ABC-DEFGH-JKMN", "", false}, // hyphens in the wrong place
		{"ABCDEFGHJKM", "", false},    // 11 characters
		{"ABCDEFGHJKMNP", "", false},  // 13 characters
		{"abcd-efgh-jkmo", "", false}, // o is O, not in the alphabet
		{"abcd-efgh-jkm0", "", false}, // no mapping of 0 to anything
		{"abcd-efgh-jkml", "", false}, // l is L
		{"abcd-efgh-jkmi", "", false}, // i is I
		{"abcd-efgh-jkmſ", "", false}, // ſ uppercases to S in Unicode, not here
		{"ABCD-EFGH-JKMN\x00", "", false},
	} {
		got, ok := recovery.Normalize(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Normalize(%q) = %q, %v, want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok && !recovery.Valid(got) {
			t.Errorf("Normalize(%q) = %q, which Valid refuses", tc.in, got)
		}
	}
}

func TestGenerate(t *testing.T) {
	codes, err := recovery.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != recovery.Count {
		t.Fatalf("Generate() returned %d codes, want %d", len(codes), recovery.Count)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if !recovery.Valid(c) || seen[c] {
			t.Errorf("Generate() = %q: %q is invalid or repeated", codes, c)
		}
		seen[c] = true
		if n, ok := recovery.Normalize(strings.ToLower(strings.ReplaceAll(c, "-", ""))); !ok || n != c {
			t.Errorf("Normalize(lowercase unhyphenated %q) = %q, %v", c, n, ok)
		}
	}
	again, _ := recovery.Generate()
	for _, c := range again {
		if seen[c] {
			t.Errorf("two Generate() calls share %q", c)
		}
	}
}

// TestGenerateUniform is a rough check that every character is used and none
// is much likelier than another. With 1,000 sets (120,000 characters, about
// 3,870 per symbol) a chi-squared statistic above 80 on 30 degrees of freedom
// happens with probability 2e-6 for a uniform source, while the bias of a
// plain "% 31" over bytes (the first 8 characters 9/8 as likely) scores about
// 370.
func TestGenerateUniform(t *testing.T) {
	counts := map[rune]int{}
	total := 0
	for range 1000 {
		codes, err := recovery.Generate()
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range codes {
			for _, r := range strings.ReplaceAll(c, "-", "") {
				counts[r]++
				total++
			}
		}
	}
	expected := float64(total) / float64(len(recovery.Alphabet))
	chi2 := 0.0
	for _, r := range recovery.Alphabet {
		d := float64(counts[r]) - expected
		chi2 += d * d / expected
	}
	if len(counts) != len(recovery.Alphabet) {
		t.Errorf("saw %d distinct characters, want exactly the %d of the alphabet: %v", len(counts), len(recovery.Alphabet), counts)
	}
	if chi2 > 80 {
		t.Errorf("chi-squared = %.1f over 30 degrees of freedom, want < 80: counts %v", chi2, counts)
	}
}
