package webauthn

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
)

// The clientData types of the two ceremonies (WebAuthn §5.8.1).
const (
	typeGet    = "webauthn.get"
	typeCreate = "webauthn.create"
)

// clientData holds the members of CollectedClientData this package checks.
// Others (crossOrigin, topOrigin, tokenBinding) are not read.
type clientData struct {
	typ, challenge, origin string
}

// parseClientData reads clientDataJSON. It must be one JSON object whose
// type, challenge and origin members are present once each, spelled exactly
// so (encoding/json would match "Type" too) and strings. Anything else is
// Malformed.
func parseClientData(b []byte) (clientData, *Failure) {
	var cd clientData
	if len(b) == 0 {
		return cd, failf(Malformed, "clientDataJSON is empty")
	}
	if len(b) > maxClientDataJSON {
		return cd, failf(Malformed, "clientDataJSON is %d bytes; the limit is %d", len(b), maxClientDataJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return cd, failf(Malformed, "clientDataJSON is not a JSON object")
	}
	var seenType, seenChallenge, seenOrigin bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return cd, failf(Malformed, "clientDataJSON: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return cd, failf(Malformed, "clientDataJSON is not a JSON object")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return cd, failf(Malformed, "clientDataJSON: %v", err)
		}
		var dst *string
		var seen *bool
		switch key {
		case "type":
			dst, seen = &cd.typ, &seenType
		case "challenge":
			dst, seen = &cd.challenge, &seenChallenge
		case "origin":
			dst, seen = &cd.origin, &seenOrigin
		default:
			continue
		}
		if *seen {
			return cd, failf(Malformed, "clientDataJSON has %s twice", key)
		}
		*seen = true
		if len(raw) == 0 || raw[0] != '"' {
			return cd, failf(Malformed, "clientDataJSON %s is not a string", key)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return cd, failf(Malformed, "clientDataJSON %s: %v", key, err)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return cd, failf(Malformed, "clientDataJSON is not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return cd, failf(Malformed, "clientDataJSON has data after the object")
	}
	switch {
	case !seenType:
		return cd, failf(Malformed, "clientDataJSON has no type")
	case !seenChallenge:
		return cd, failf(Malformed, "clientDataJSON has no challenge")
	case !seenOrigin:
		return cd, failf(Malformed, "clientDataJSON has no origin")
	}
	return cd, nil
}

// check runs the clientData steps in order: type, challenge, origin.
//
// The challenge is compared in its encoded form: the expected bytes are
// encoded as unpadded base64url and compared with the member in constant
// time. That accepts exactly the canonical encoding, where decoding first
// would also accept padding, line breaks and non-zero trailing bits. An empty
// expected challenge or origin is a caller bug and matches nothing.
func (cd clientData) check(wantType string, challenge []byte, origin string) *Failure {
	if cd.typ != wantType {
		return failf(TypeMismatch, "clientData type is %q, want %q", clip(cd.typ), wantType)
	}
	if len(challenge) == 0 {
		return failf(ChallengeMismatch, "no expected challenge was given")
	}
	want := base64.RawURLEncoding.EncodeToString(challenge)
	if subtle.ConstantTimeCompare([]byte(cd.challenge), []byte(want)) != 1 {
		return failf(ChallengeMismatch, "clientData challenge is not the one issued")
	}
	if origin == "" {
		return failf(OriginMismatch, "no expected origin was given")
	}
	if cd.origin != origin {
		return failf(OriginMismatch, "clientData origin is %q, want %q", clip(cd.origin), origin)
	}
	return nil
}
