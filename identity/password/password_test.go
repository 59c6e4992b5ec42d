package password_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/flametrench/server/identity/password"
	"github.com/flametrench/server/tuples"
	"github.com/flametrench/server/tuples/conformancetest"
)

// fixtureHash is the cross-SDK parity hash of identity/argon2id.json.
const fixtureHash = "$argon2id$v=19$m=19456,t=2,p=1$779z4UHkLWR4w0TEo9gcHg$Gz0+nGnpokhsKi1cPlx8i74FBN1Nq0OURZ3xso1AHMU"

// argon2Input is the input of identity/argon2id.json.
type argon2Input struct {
	PHCHash           string `json:"phc_hash"`
	CandidatePassword string `json:"candidate_password"`
}

func TestConformance(t *testing.T) {
	fx := conformancetest.Load[argon2Input, conformancetest.Result[bool]](t, "identity/argon2id.json", "verify_password")
	for _, tc := range fx.Tests {
		t.Run(tc.ID, func(t *testing.T) {
			t.Parallel()
			got, err := password.Verify(tc.Input.PHCHash, tc.Input.CandidatePassword)
			if err != nil || got != tc.Expected.Result {
				t.Errorf("Verify(%q, %q) = %v, %v, want %v, nil", tc.Input.PHCHash, tc.Input.CandidatePassword, got, err, tc.Expected.Result)
			}
		})
	}
}

func TestParsePHCFixture(t *testing.T) {
	p, salt, key, err := password.ParsePHC(fixtureHash)
	if err != nil {
		t.Fatalf("ParsePHC(fixture) error = %v", err)
	}
	if p != password.Floor || len(salt) != 16 || len(key) != 32 {
		t.Errorf("ParsePHC(fixture) = %+v, %d-byte salt, %d-byte key, want Floor, 16, 32", p, len(salt), len(key))
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	strong := password.Params{Memory: 32768, Time: 3, Threads: 2, SaltLen: 24, KeyLen: 64}
	for _, tc := range []struct {
		name string
		p    password.Params
	}{{"floor", password.Floor}, {"stronger", strong}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const pw = "correct horse battery staple ✓"
			phc, err := password.Hash(pw, tc.p)
			if err != nil {
				t.Fatalf("Hash error = %v", err)
			}
			if !strings.HasPrefix(phc, "$argon2id$v=19$") || strings.Contains(phc, "=$") || strings.HasSuffix(phc, "=") {
				t.Errorf("Hash = %q, want an unpadded $argon2id$v=19$ PHC string", phc)
			}
			got, _, _, err := password.ParsePHC(phc)
			if err != nil || got != tc.p {
				t.Errorf("ParsePHC(Hash(p)) = %+v, %v, want %+v", got, err, tc.p)
			}
			for _, c := range []struct {
				pw   string
				want bool
			}{{pw, true}, {pw + " ", false}, {"", false}, {strings.ToUpper(pw), false}} {
				if ok, err := password.Verify(phc, c.pw); ok != c.want || err != nil {
					t.Errorf("Verify(%q, %q) = %v, %v, want %v, nil", phc, c.pw, ok, err, c.want)
				}
			}
			again, err := password.Hash(pw, tc.p)
			if err != nil || again == phc {
				t.Errorf("two Hash calls gave %q and %q (%v): want different salts", phc, again, err)
			}
		})
	}
}

func TestHashRefusesParamsOutOfRange(t *testing.T) {
	cases := map[string]password.Params{"zero": {}}
	set := func(name string, f func(*password.Params)) {
		p := password.Floor
		f(&p)
		cases[name] = p
	}
	set("m below floor", func(p *password.Params) { p.Memory = 19455 })
	set("t below floor", func(p *password.Params) { p.Time = 1 })
	set("p below floor", func(p *password.Params) { p.Threads = 0 })
	set("salt below floor", func(p *password.Params) { p.SaltLen = 8 })
	set("key below floor", func(p *password.Params) { p.KeyLen = 16 })
	set("m above cap", func(p *password.Params) { p.Memory = password.Max.Memory + 1 })
	set("t above cap", func(p *password.Params) { p.Time = password.Max.Time + 1 })
	set("p above cap", func(p *password.Params) { p.Threads = password.Max.Threads + 1 })
	set("salt above cap", func(p *password.Params) { p.SaltLen = password.Max.SaltLen + 1 })
	set("key above cap", func(p *password.Params) { p.KeyLen = password.Max.KeyLen + 1 })
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			phc, err := password.Hash("pw", p)
			if !errors.Is(err, password.ErrParams) || phc != "" {
				t.Errorf("Hash(%+v) = %q, %v, want ErrParams", p, phc, err)
			}
			if tuples.KindOf(err) != tuples.Invalid {
				t.Errorf("Hash(%+v) error kind = %v, want invalid", p, tuples.KindOf(err))
			}
		})
	}
}

// zero16 and zero32 are valid base64 fields of the floor's salt and tag sizes.
const (
	zero16 = "AAAAAAAAAAAAAAAAAAAAAA"
	zero32 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)

func TestParsePHCRefuses(t *testing.T) {
	salt, tag := "$779z4UHkLWR4w0TEo9gcHg", "$Gz0+nGnpokhsKi1cPlx8i74FBN1Nq0OURZ3xso1AHMU"
	malformed := map[string]string{
		"empty":                   "",
		"no leading $":            strings.TrimPrefix(fixtureHash, "$"),
		"argon2i":                 strings.Replace(fixtureHash, "argon2id", "argon2i", 1),
		"argon2d":                 strings.Replace(fixtureHash, "argon2id", "argon2d", 1),
		"bcrypt":                  "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
		"uppercase alg":           strings.Replace(fixtureHash, "argon2id", "ARGON2ID", 1),
		"missing version":         "$argon2id$m=19456,t=2,p=1" + salt + tag,
		"version 16":              strings.Replace(fixtureHash, "v=19", "v=16", 1),
		"version 019":             strings.Replace(fixtureHash, "v=19", "v=019", 1),
		"missing hash":            "$argon2id$v=19$m=19456,t=2,p=1" + salt,
		"missing salt and hash":   "$argon2id$v=19$m=19456,t=2,p=1",
		"extra field":             fixtureHash + "$AAAA",
		"trailing $":              fixtureHash + "$",
		"empty salt":              "$argon2id$v=19$m=19456,t=2,p=1$" + tag,
		"empty hash":              "$argon2id$v=19$m=19456,t=2,p=1" + salt + "$",
		"params out of order":     "$argon2id$v=19$t=2,m=19456,p=1" + salt + tag,
		"missing p":               "$argon2id$v=19$m=19456,t=2" + salt + tag,
		"extra param keyid":       "$argon2id$v=19$m=19456,t=2,p=1,keyid=abc" + salt + tag,
		"spaces in params":        "$argon2id$v=19$m=19456, t=2, p=1" + salt + tag,
		"leading zero":            "$argon2id$v=19$m=019456,t=2,p=1" + salt + tag,
		"signed number":           "$argon2id$v=19$m=+19456,t=2,p=1" + salt + tag,
		"negative number":         "$argon2id$v=19$m=-1,t=2,p=1" + salt + tag,
		"empty number":            "$argon2id$v=19$m=,t=2,p=1" + salt + tag,
		"overflowing m":           "$argon2id$v=19$m=99999999999999999999,t=2,p=1" + salt + tag,
		"m just over 32 bits":     "$argon2id$v=19$m=4294967296,t=2,p=1" + salt + tag,
		"padded salt":             "$argon2id$v=19$m=19456,t=2,p=1$779z4UHkLWR4w0TEo9gcHg==" + tag,
		"padded hash":             "$argon2id$v=19$m=19456,t=2,p=1" + salt + tag + "=",
		"base64url alphabet":      strings.Replace(fixtureHash, "+", "-", 1),
		"newline in salt":         "$argon2id$v=19$m=19456,t=2,p=1$779z4UHkLWR4\nw0TEo9gcHg" + tag,
		"non-canonical last char": "$argon2id$v=19$m=19456,t=2,p=1$779z4UHkLWR4w0TEo9gcHh" + tag,
		"impossible length":       "$argon2id$v=19$m=19456,t=2,p=1$A" + tag,
		"trailing space":          fixtureHash + " ",
		"too long":                fixtureHash + strings.Repeat("A", 300),
	}
	outOfRange := map[string]string{
		"m below floor":    "$argon2id$v=19$m=4096,t=2,p=1" + salt + tag,
		"t below floor":    "$argon2id$v=19$m=19456,t=1,p=1" + salt + tag,
		"p zero":           "$argon2id$v=19$m=19456,t=2,p=0" + salt + tag,
		"owasp alt m12288": "$argon2id$v=19$m=12288,t=3,p=1" + salt + tag,
		"short salt":       "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAA" + tag,
		"short tag":        "$argon2id$v=19$m=19456,t=2,p=1" + salt + "$" + zero16,
		"huge m":           "$argon2id$v=19$m=4294967295,t=2,p=1" + salt + tag,
		"1 GiB m":          "$argon2id$v=19$m=1048576,t=2,p=1" + salt + tag,
		"huge t":           "$argon2id$v=19$m=19456,t=4294967295,p=1" + salt + tag,
		"p 255":            "$argon2id$v=19$m=19456,t=2,p=255" + salt + tag,
		"p over 255":       "$argon2id$v=19$m=19456,t=2,p=256" + salt + tag,
		"long salt":        "$argon2id$v=19$m=19456,t=2,p=1$" + strings.Repeat("A", 88) + tag,
	}
	check := func(t *testing.T, phc string, want error) {
		p, s, k, err := password.ParsePHC(phc)
		if !errors.Is(err, want) || p != (password.Params{}) || s != nil || k != nil {
			t.Errorf("ParsePHC(%q) = %+v, %x, %x, %v, want %v", phc, p, s, k, err, want)
		}
		ok, err := password.Verify(phc, "correcthorsebatterystaple")
		if ok || !errors.Is(err, want) {
			t.Errorf("Verify(%q) = %v, %v, want false, %v", phc, ok, err, want)
		}
	}
	for name, phc := range malformed {
		t.Run(name, func(t *testing.T) { check(t, phc, password.ErrMalformedHash) })
	}
	for name, phc := range outOfRange {
		t.Run(name, func(t *testing.T) { check(t, phc, password.ErrParams) })
	}
}

func TestParsePHCAcceptsCaps(t *testing.T) {
	phc := "$argon2id$v=19$m=262144,t=10,p=16$" + strings.Repeat("A", 86) + "$" + strings.Repeat("A", 86)
	p, _, _, err := password.ParsePHC(phc)
	if err != nil || p != password.Max {
		t.Errorf("ParsePHC(at Max) = %+v, %v, want Max, nil", p, err)
	}
	if _, _, _, err := password.ParsePHC("$argon2id$v=19$m=19456,t=2,p=1$" + zero16 + "$" + zero32); err != nil {
		t.Errorf("ParsePHC(at Floor) error = %v", err)
	}
}
