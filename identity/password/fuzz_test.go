package password

import (
	"errors"
	"strings"
	"testing"
)

const fixtureHash = "$argon2id$v=19$m=19456,t=2,p=1$779z4UHkLWR4w0TEo9gcHg$Gz0+nGnpokhsKi1cPlx8i74FBN1Nq0OURZ3xso1AHMU"

var phcSeeds = []string{
	fixtureHash,
	"$argon2id$v=19$m=262144,t=10,p=16$" + strings.Repeat("A", 86) + "$" + strings.Repeat("A", 86),
	"$argon2i$v=19$m=19456,t=2,p=1$779z4UHkLWR4w0TEo9gcHg$Gz0+nGnpokhsKi1cPlx8i74FBN1Nq0OURZ3xso1AHMU",
	"$argon2id$v=19$m=4294967295,t=2,p=1$779z4UHkLWR4w0TEo9gcHg$Gz0+nGnpokhsKi1cPlx8i74FBN1Nq0OURZ3xso1AHMU",
	"$argon2id$v=19$m=19456,t=2,p=1$779z4UHkLWR4w0TEo9gcHg==$Gz0+nGnpokhsKi1cPlx8i74FBN1Nq0OURZ3xso1AHMU",
	"$argon2id$v=19$m=019456,t=2,p=1$779z4UHkLWR4w0TEo9gcHg$Gz0+nGnpokhsKi1cPlx8i74FBN1Nq0OURZ3xso1AHMU",
	"",
	"$",
	"$argon2id$v=19$m=19456,t=2,p=1$$",
}

// FuzzParsePHC: ParsePHC never panics, fails only with this package's two
// errors and zero results, and accepts only canonical strings: whatever it
// accepts, encodePHC writes back byte for byte, within [Floor, Max].
func FuzzParsePHC(f *testing.F) {
	for _, s := range phcSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, phc string) {
		p, salt, key, err := ParsePHC(phc)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) && !errors.Is(err, ErrParams) {
				t.Fatalf("ParsePHC(%q) error = %v, want ErrMalformedHash or ErrParams", phc, err)
			}
			if p != (Params{}) || salt != nil || key != nil {
				t.Fatalf("ParsePHC(%q) returned results with error %v", phc, err)
			}
			return
		}
		if verr := p.Validate(); verr != nil {
			t.Fatalf("ParsePHC(%q) accepted params %+v that Validate refuses: %v", phc, p, verr)
		}
		if got := encodePHC(p, salt, key); got != phc {
			t.Fatalf("encodePHC(ParsePHC(%q)) = %q: accepted a non-canonical string", phc, got)
		}
	})
}

// FuzzVerify: Verify never panics and agrees with ParsePHC. Inputs that parse
// to a cost well above the floor are skipped, so the fuzzer spends its time on
// parsing, not on Argon2 (which x/crypto tests).
func FuzzVerify(f *testing.F) {
	for _, s := range phcSeeds {
		f.Add(s, "correcthorsebatterystaple")
	}
	f.Add(fixtureHash, "")
	f.Add(fixtureHash, "wrong-password")
	f.Fuzz(func(t *testing.T, phc, pw string) {
		p, _, _, perr := ParsePHC(phc)
		if perr == nil && (uint64(p.Memory)*uint64(p.Time) > 2*uint64(Floor.Memory)*uint64(Floor.Time) || p.Threads > 4) {
			t.Skip("too costly to fuzz")
		}
		ok, err := Verify(phc, pw)
		if (err == nil) != (perr == nil) || (err != nil && ok) {
			t.Fatalf("Verify(%q, %q) = %v, %v; ParsePHC error = %v", phc, pw, ok, err, perr)
		}
		if phc == fixtureHash && ok != (pw == "correcthorsebatterystaple") {
			t.Fatalf("Verify(fixture, %q) = %v", pw, ok)
		}
	})
}
