package totp_test

import (
	"bytes"
	"encoding/base32"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flametrench/server/identity/totp"
	"github.com/flametrench/server/tuples/conformancetest"
)

// totpInput is the input of identity/mfa/totp-rfc6238.json.
type totpInput struct {
	SecretASCII string         `json:"secret_ascii"`
	Timestamp   int64          `json:"timestamp"`
	Digits      int            `json:"digits"`
	Algorithm   totp.Algorithm `json:"algorithm"`
}

func TestConformance(t *testing.T) {
	fx := conformancetest.Load[totpInput, conformancetest.Result[string]](t, "identity/mfa/totp-rfc6238.json", "totp_compute")
	for _, tc := range fx.Tests {
		t.Run(tc.ID, func(t *testing.T) {
			in := tc.Input
			secret, at := []byte(in.SecretASCII), time.Unix(in.Timestamp, 0)
			got, err := totp.Code(secret, at, in.Digits, in.Algorithm)
			if err != nil || got != tc.Expected.Result {
				t.Errorf("Code(%q, %d, %d, %s) = %q, %v, want %q", in.SecretASCII, in.Timestamp, in.Digits, in.Algorithm, got, err, tc.Expected.Result)
			}
			// The same vector verifies, at its own step.
			step, ok := totp.Verify(secret, tc.Expected.Result, at, in.Digits, in.Algorithm)
			if !ok || step != in.Timestamp/totp.Period {
				t.Errorf("Verify(vector %s) = %d, %v, want %d, true", tc.ID, step, ok, in.Timestamp/totp.Period)
			}
		})
	}
}

func TestCodeRefuses(t *testing.T) {
	good := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	for _, tc := range []struct {
		name   string
		secret []byte
		t      time.Time
		digits int
		alg    totp.Algorithm
	}{
		{"5 digits", good, now, 5, totp.SHA1},
		{"11 digits", good, now, 11, totp.SHA1},
		{"zero digits", good, now, 0, totp.SHA1},
		{"empty algorithm", good, now, 6, ""},
		{"uppercase algorithm", good, now, 6, "SHA1"},
		{"md5", good, now, 6, "md5"},
		{"15-byte secret", good[:15], now, 6, totp.SHA1},
		{"nil secret", nil, now, 6, totp.SHA1},
		{"before 1970", good, time.Unix(-1, 0), 6, totp.SHA1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, err := totp.Code(tc.secret, tc.t, tc.digits, tc.alg)
			if !errors.Is(err, totp.ErrInvalid) || code != "" {
				t.Errorf("Code = %q, %v, want ErrInvalid", code, err)
			}
			if step, ok := totp.Verify(tc.secret, "123456", tc.t, tc.digits, tc.alg); ok {
				t.Errorf("Verify = %d, true, want false", step)
			}
		})
	}
}

func TestCodeLengths(t *testing.T) {
	secret := []byte("12345678901234567890")
	at := time.Unix(59, 0)
	// RFC 6238's 8-digit vector is 94287082; fewer digits keep its tail, and
	// more keep the whole 31-bit truncated value, zero-padded.
	const truncated = 1094287082 // the 31-bit value behind the vector
	for digits := totp.MinDigits; digits <= totp.MaxDigits; digits++ {
		got, err := totp.Code(secret, at, digits, totp.SHA1)
		want := strconv.FormatInt(truncated, 10)
		if len(want) > digits {
			want = want[len(want)-digits:]
		}
		want = strings.Repeat("0", digits-len(want)) + want
		if err != nil || got != want {
			t.Errorf("Code(digits=%d) = %q, %v, want %q", digits, got, err, want)
		}
	}
}

func TestVerifyWindow(t *testing.T) {
	secret := []byte("an enrollment secret, 32 bytes..")
	now := time.Unix(1_700_000_015, 0) // mid-step
	cur := now.Unix() / totp.Period
	for _, alg := range []totp.Algorithm{totp.SHA1, totp.SHA256, totp.SHA512} {
		for _, digits := range []int{6, 8} {
			codeAt := func(offset time.Duration) string {
				c, err := totp.Code(secret, now.Add(offset), digits, alg)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			for _, tc := range []struct {
				offset time.Duration
				ok     bool
				step   int64
			}{
				{-30 * time.Second, true, cur - 1},
				{0, true, cur},
				{30 * time.Second, true, cur + 1},
				{-60 * time.Second, false, 0},
				{60 * time.Second, false, 0},
				{-90 * time.Second, false, 0},
			} {
				code := codeAt(tc.offset)
				step, ok := totp.Verify(secret, code, now, digits, alg)
				if ok != tc.ok || step != tc.step {
					t.Errorf("%s/%d: Verify(code at now%+v) = %d, %v, want %d, %v", alg, digits, tc.offset, step, ok, tc.step, tc.ok)
				}
			}
			// Step edges: the last second of the previous step and the
			// first of the next still fall in the window around now.
			for _, at := range []time.Time{time.Unix((cur-1)*totp.Period, 0), time.Unix((cur+2)*totp.Period-1, 0)} {
				c, _ := totp.Code(secret, at, digits, alg)
				if step, ok := totp.Verify(secret, c, now, digits, alg); !ok || step != at.Unix()/totp.Period {
					t.Errorf("%s/%d: Verify(code at %d) = %d, %v, want %d, true", alg, digits, at.Unix(), step, ok, at.Unix()/totp.Period)
				}
			}
			// A different secret's code for the same step is refused.
			other, _ := totp.Code(bytes.Repeat([]byte{7}, 20), now, digits, alg)
			if other != codeAt(0) {
				if _, ok := totp.Verify(secret, other, now, digits, alg); ok {
					t.Errorf("%s/%d: Verify accepted another secret's code", alg, digits)
				}
			}
		}
	}
}

func TestVerifyMalformedCode(t *testing.T) {
	secret := []byte("12345678901234567890")
	now := time.Unix(59, 0)
	if _, ok := totp.Verify(secret, "94287082", now, 8, totp.SHA1); !ok {
		t.Fatal("the RFC vector does not verify")
	}
	for _, code := range []string{
		"", "9428708", "942870820", "4287082", // wrong lengths
		" 94287082", "94287082 ", "9428 7082", "9428-082", "+4287082", "-4287082",
		"9428708a", "９４２８７０８２", "٩٤٢٨٧٠٨٢", "94287082\x00",
	} {
		if step, ok := totp.Verify(secret, code, now, 8, totp.SHA1); ok {
			t.Errorf("Verify(%q) = %d, true, want false", code, step)
		}
	}
	// The right code with the wrong digits setting is refused too.
	if _, ok := totp.Verify(secret, "287082", now, 8, totp.SHA1); ok {
		t.Error("Verify(6-digit code, digits=8) = true")
	}
}

func TestVerifyAtEpoch(t *testing.T) {
	secret := []byte("12345678901234567890")
	now := time.Unix(5, 0) // step 0 has no predecessor
	c, _ := totp.Code(secret, now, 6, totp.SHA1)
	if step, ok := totp.Verify(secret, c, now, 6, totp.SHA1); !ok || step != 0 {
		t.Errorf("Verify at step 0 = %d, %v, want 0, true", step, ok)
	}
}

func TestNewSecret(t *testing.T) {
	a, b := totp.NewSecret(), totp.NewSecret()
	if len(a) != totp.SecretLen || len(a) < totp.MinSecretLen || bytes.Equal(a, b) {
		t.Errorf("NewSecret() = %x, %x: want two different %d-byte secrets", a, b, totp.SecretLen)
	}
	enc := totp.EncodeSecret(a)
	if len(enc) != 32 || strings.ToUpper(enc) != enc || strings.Contains(enc, "=") {
		t.Errorf("EncodeSecret = %q, want 32 uppercase base32 characters without padding", enc)
	}
	if got, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(enc); err != nil || !bytes.Equal(got, a) {
		t.Errorf("decoding EncodeSecret(%x) = %x, %v", a, got, err)
	}
	if got := totp.EncodeSecret([]byte("12345678901234567890")); got != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Errorf("EncodeSecret(RFC secret) = %q", got)
	}
	// 16 bytes do not fill whole base32 groups: padding must be left off.
	if got := totp.EncodeSecret(make([]byte, 16)); got != strings.Repeat("A", 26) {
		t.Errorf("EncodeSecret(16 zero bytes) = %q, want 26 A's", got)
	}
}

func TestURI(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, tc := range []struct {
		name, issuer, account string
		digits                int
		alg                   totp.Algorithm
		wantPath, wantAlg     string
	}{
		{"plain", "Flametrench", "alice@example.com", 6, totp.SHA1, "/Flametrench:alice@example.com", "SHA1"},
		{"spaces and symbols", "ACME Co & Sons", "bob+tag@example.com", 8, totp.SHA256, "/ACME Co & Sons:bob+tag@example.com", "SHA256"},
		{"colon inside", "a:b", "c:d/e?f#g", 8, totp.SHA512, "/a:b:c:d/e?f#g", "SHA512"},
		{"unicode", "Zürich Bank", "渡辺", 6, totp.SHA1, "/Zürich Bank:渡辺", "SHA1"},
		{"no issuer", "", "carol", 6, totp.SHA1, "/carol", "SHA1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := totp.URI(tc.issuer, tc.account, secret, tc.digits, tc.alg)
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatalf("url.Parse(%q) error = %v", raw, err)
			}
			if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != tc.wantPath || u.Fragment != "" {
				t.Errorf("URI = %q: scheme %q host %q path %q fragment %q, want otpauth, totp, %q, none", raw, u.Scheme, u.Host, u.Path, u.Fragment, tc.wantPath)
			}
			if strings.Contains(raw, "+") && !strings.Contains(tc.account, "+") {
				t.Errorf("URI = %q: a space became '+'", raw)
			}
			// The label's only literal colon separates issuer from account.
			label := strings.TrimPrefix(u.EscapedPath(), "/")
			if want := map[bool]int{true: 1, false: 0}[tc.issuer != ""]; strings.Count(label, ":") != want {
				t.Errorf("URI = %q: escaped label %q has %d literal colons, want %d", raw, label, strings.Count(label, ":"), want)
			}
			q := u.Query()
			want := url.Values{
				"secret":    {"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"},
				"algorithm": {tc.wantAlg},
				"digits":    {strconv.Itoa(tc.digits)},
				"period":    {"30"},
			}
			if tc.issuer != "" {
				want["issuer"] = []string{tc.issuer}
			}
			if len(q) != len(want) {
				t.Errorf("URI = %q: query %v, want %v", raw, q, want)
			}
			for k, v := range want {
				if len(q[k]) != 1 || q[k][0] != v[0] {
					t.Errorf("URI = %q: %s = %q, want %q", raw, k, q[k], v)
				}
			}
		})
	}
}
