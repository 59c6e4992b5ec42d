package webauthn

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
)

func TestParsePublicKey(t *testing.T) {
	es := newES256Key(t)
	rs := newRS256Key(t, 2048)
	ed := newEdDSAKey(t)

	ecPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := ecPriv.PublicKey.Bytes()
	x, y := pt[1:33], pt[33:65]
	offCurveY := bytes.Clone(y)
	offCurveY[31] ^= 1
	n := rsaKey(t, 2048).N.Bytes()
	evenN := bytes.Clone(n)
	evenN[len(evenN)-1] &^= 1
	hugeN := make([]byte, 1025) // 8193 bits
	hugeN[0], hugeN[1024] = 0x01, 0x01
	edX := make([]byte, 32)
	edX[0] = 1

	tests := []struct {
		name string
		cose []byte
		want Reason // "" means it parses
		alg  int64
	}{
		{"ES256", es.cose, "", AlgES256},
		{"RS256", rs.cose, "", AlgRS256},
		{"EdDSA", ed.cose, "", AlgEdDSA},
		{"ES256 with kid", mustCBOR(t, map[int]any{1: 2, 2: []byte("kid"), 3: -7, -1: 1, -2: x, -3: y}), "", AlgES256},
		{"RS256 exponent with leading zero", mustCBOR(t, map[int]any{1: 3, 3: -257, -1: n, -2: []byte{0, 1, 0, 1}}), "", AlgRS256},
		{"RS256 modulus with leading zero", mustCBOR(t, map[int]any{1: 3, 3: -257, -1: append([]byte{0}, n...), -2: []byte{1, 0, 1}}), "", AlgRS256},

		// Unsupported: well-formed keys of a kind not in ADR 0010's table.
		{"RSA 1024", newRS256Key(t, 1024).cose, UnsupportedKey, 0},
		{"RSA 8193 bits", mustCBOR(t, map[int]any{1: 3, 3: -257, -1: hugeN, -2: []byte{1, 0, 1}}), UnsupportedKey, 0},
		{"RSA exponent 1", mustCBOR(t, map[int]any{1: 3, 3: -257, -1: n, -2: []byte{1}}), UnsupportedKey, 0},
		{"RSA exponent 2", mustCBOR(t, map[int]any{1: 3, 3: -257, -1: n, -2: []byte{2}}), UnsupportedKey, 0},
		{"RSA exponent even", mustCBOR(t, map[int]any{1: 3, 3: -257, -1: n, -2: []byte{1, 0, 0}}), UnsupportedKey, 0},
		{"RSA exponent 2^31+1", mustCBOR(t, map[int]any{1: 3, 3: -257, -1: n, -2: []byte{0x80, 0, 0, 1}}), UnsupportedKey, 0},
		{"RSA exponent 5 bytes", mustCBOR(t, map[int]any{1: 3, 3: -257, -1: n, -2: []byte{1, 0, 0, 0, 1}}), UnsupportedKey, 0},
		{"RSA empty exponent", mustCBOR(t, map[int]any{1: 3, 3: -257, -1: n, -2: []byte{}}), UnsupportedKey, 0},
		{"RSA empty modulus", mustCBOR(t, map[int]any{1: 3, 3: -257, -1: []byte{}, -2: []byte{1, 0, 1}}), UnsupportedKey, 0},
		{"ES384", mustCBOR(t, map[int]any{1: 2, 3: -35, -1: 2, -2: make([]byte, 48), -3: make([]byte, 48)}), UnsupportedKey, 0},
		{"ES256 on P-384", mustCBOR(t, map[int]any{1: 2, 3: -7, -1: 2, -2: x, -3: y}), UnsupportedKey, 0},
		{"ES256K", mustCBOR(t, map[int]any{1: 2, 3: -47, -1: 8, -2: x, -3: y}), UnsupportedKey, 0},
		{"ES256 compressed", mustCBOR(t, map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: true}), UnsupportedKey, 0},
		{"ES256 with kty OKP", mustCBOR(t, map[int]any{1: 1, 3: -7, -1: 1, -2: x, -3: y}), UnsupportedKey, 0},
		{"RS256 with kty EC2", mustCBOR(t, map[int]any{1: 2, 3: -257, -1: n, -2: []byte{1, 0, 1}}), UnsupportedKey, 0},
		{"EdDSA with kty EC2", mustCBOR(t, map[int]any{1: 2, 3: -8, -1: 6, -2: edX}), UnsupportedKey, 0},
		{"Ed448", mustCBOR(t, map[int]any{1: 1, 3: -8, -1: 7, -2: make([]byte, 57)}), UnsupportedKey, 0},
		{"X25519", mustCBOR(t, map[int]any{1: 1, 3: -8, -1: 4, -2: edX}), UnsupportedKey, 0},
		{"PS256", mustCBOR(t, map[int]any{1: 3, 3: -37, -1: n, -2: []byte{1, 0, 1}}), UnsupportedKey, 0},
		{"RS1", mustCBOR(t, map[int]any{1: 3, 3: -65535, -1: n, -2: []byte{1, 0, 1}}), UnsupportedKey, 0},
		{"alg 0", mustCBOR(t, map[int]any{1: 2, 3: 0, -1: 1, -2: x, -3: y}), UnsupportedKey, 0},
		{"symmetric", mustCBOR(t, map[int]any{1: 4, 3: 5, -1: make([]byte, 32)}), UnsupportedKey, 0},

		// Malformed: not a COSE key we can read.
		{"empty", nil, Malformed, 0},
		{"too large", append(bytes.Clone(es.cose), make([]byte, 16<<10)...), Malformed, 0},
		{"not CBOR", []byte("{\"kty\":2}"), Malformed, 0},
		{"CBOR array", mustCBOR(t, []any{2, -7}), Malformed, 0},
		{"CBOR null", []byte{0xf6}, Malformed, 0},
		{"empty map", []byte{0xa0}, Malformed, 0},
		{"truncated", es.cose[:len(es.cose)-1], Malformed, 0},
		{"trailing byte", append(bytes.Clone(es.cose), 0x00), Malformed, 0},
		{"text labels", mustCBOR(t, map[string]any{"kty": 2, "alg": -7, "crv": 1, "x": x, "y": y}), Malformed, 0},
		{"no kty", mustCBOR(t, map[int]any{3: -7, -1: 1, -2: x, -3: y}), Malformed, 0},
		{"no alg", mustCBOR(t, map[int]any{1: 2, -1: 1, -2: x, -3: y}), Malformed, 0},
		{"text kty", mustCBOR(t, map[int]any{1: "EC2", 3: -7, -1: 1, -2: x, -3: y}), Malformed, 0},
		{"null alg", mustCBOR(t, map[int]any{1: 2, 3: nil, -1: 1, -2: x, -3: y}), Malformed, 0},
		{"alg too large", append([]byte{0xa5, 0x01, 0x02, 0x03, 0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, es.cose[5:]...), Malformed, 0},
		{"ES256 no crv", mustCBOR(t, map[int]any{1: 2, 3: -7, -2: x, -3: y}), Malformed, 0},
		{"ES256 no y", mustCBOR(t, map[int]any{1: 2, 3: -7, -1: 1, -2: x}), Malformed, 0},
		{"ES256 text x", mustCBOR(t, map[int]any{1: 2, 3: -7, -1: 1, -2: string(x), -3: y}), Malformed, 0},
		{"ES256 short x", mustCBOR(t, map[int]any{1: 2, 3: -7, -1: 1, -2: x[1:], -3: y}), Malformed, 0},
		{"ES256 long y", mustCBOR(t, map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: append([]byte{0}, y...)}), Malformed, 0},
		{"ES256 off curve", mustCBOR(t, map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: offCurveY}), Malformed, 0},
		{"ES256 zero point", mustCBOR(t, map[int]any{1: 2, 3: -7, -1: 1, -2: make([]byte, 32), -3: make([]byte, 32)}), Malformed, 0},
		{"RS256 no n", mustCBOR(t, map[int]any{1: 3, 3: -257, -2: []byte{1, 0, 1}}), Malformed, 0},
		{"RS256 integer e", mustCBOR(t, map[int]any{1: 3, 3: -257, -1: n, -2: 65537}), Malformed, 0},
		{"RS256 even modulus", mustCBOR(t, map[int]any{1: 3, 3: -257, -1: evenN, -2: []byte{1, 0, 1}}), Malformed, 0},
		{"EdDSA no crv", mustCBOR(t, map[int]any{1: 1, 3: -8, -2: edX}), Malformed, 0},
		{"EdDSA short x", mustCBOR(t, map[int]any{1: 1, 3: -8, -1: 6, -2: edX[:31]}), Malformed, 0},
		// {1: 2, 1: 2, ...}: a duplicate label.
		{"duplicate label", append([]byte{0xa6, 0x01, 0x02}, es.cose[1:]...), Malformed, 0},
		// Indefinite-length map of the same pairs.
		{"indefinite length", append(append([]byte{0xbf}, es.cose[1:]...), 0xff), Malformed, 0},
		// Tag 24 (embedded CBOR) around the map.
		{"tagged", append([]byte{0xd8, 0x18}, es.cose...), Malformed, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParsePublicKey(tc.cose)
			if r := reasonOf(t, err); r != tc.want {
				t.Fatalf("ParsePublicKey = %v, want reason %q", err, tc.want)
			}
			if err != nil {
				if k != nil {
					t.Fatal("ParsePublicKey returned a key with an error")
				}
				return
			}
			if k.Alg != tc.alg {
				t.Fatalf("ParsePublicKey alg = %d, want %d", k.Alg, tc.alg)
			}
		})
	}
}

func TestPublicKeyVerify(t *testing.T) {
	msg := []byte("authenticator data || client data hash")
	for _, tk := range allKeys(t) {
		t.Run(tk.name, func(t *testing.T) {
			k, err := ParsePublicKey(tk.cose)
			if err != nil {
				t.Fatal(err)
			}
			sig := tk.sign(msg)
			if !k.Verify(msg, sig) {
				t.Fatal("Verify(good signature) = false")
			}
			if k.Verify(append(bytes.Clone(msg), 0), sig) {
				t.Fatal("Verify(other message) = true")
			}
			if k.Verify(msg, nil) {
				t.Fatal("Verify(no signature) = true")
			}
			// Changing Alg on a parsed key must not make another verifier run
			// against the wrong key material.
			for _, alg := range []int64{AlgES256, AlgRS256, AlgEdDSA, 0} {
				if alg == k.Alg {
					continue
				}
				other := *k
				other.Alg = alg
				if other.Verify(msg, sig) {
					t.Fatalf("key with Alg changed to %d verified", alg)
				}
			}
		})
	}
	var nilKey *PublicKey
	for _, k := range []*PublicKey{nilKey, {}, {Alg: AlgES256}, {Alg: AlgRS256}, {Alg: AlgEdDSA}} {
		if k.Verify(msg, make([]byte, 64)) {
			t.Fatalf("%+v verified", k)
		}
	}
}
