package tuples

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// Token is a consistency token (Zanzibar's zookie, SpiceDB's ZedToken): the
// revision a write produced, and the epoch of the tuple store that produced
// it. A check or listing that presents a token is answered only from a graph
// at that revision or later.
//
// The epoch tells tokens of different stores apart: a PostgreSQL database
// draws one when it is migrated, an in-memory store when it starts. A token
// from another epoch could name any state at all, so it is refused rather
// than compared.
type Token struct {
	Epoch    uint64
	Revision uint64
}

const tokenVersion = 1

var tokenEncoding = base64.RawURLEncoding

// String returns the token's opaque wire form: base64url of a version byte,
// the epoch and the revision.
func (t Token) String() string {
	var b [1 + 8 + binary.MaxVarintLen64]byte
	b[0] = tokenVersion
	binary.BigEndian.PutUint64(b[1:9], t.Epoch)
	n := binary.PutUvarint(b[9:], t.Revision)
	return tokenEncoding.EncodeToString(b[:9+n])
}

// Consistency errors. ErrStale is what a request gets when the local graph did
// not reach the revision of its token in time: the answer it could give is
// older than the caller has asked for, so it gives none (503, try again).
var (
	ErrInvalidToken = &Error{Kind: Invalid, Code: "invalid_format.consistency_token", Msg: "invalid consistency token"}
	ErrForeignToken = &Error{Kind: Invalid, Code: "invalid_format.consistency_token", Msg: "consistency token from another store"}
	ErrStale        = &Error{Kind: Unavailable, Code: "unavailable.consistency", Msg: "the graph has not reached the requested revision"}
)

// maxToken bounds the wire form a parser will look at.
const maxToken = 64

// ParseToken parses a token's wire form, and refuses one whose epoch is not
// epoch (ErrForeignToken).
func ParseToken(s string, epoch uint64) (Token, error) {
	if len(s) == 0 || len(s) > maxToken {
		return Token{}, ErrInvalidToken.With("consistency token must be 1..%d characters", maxToken)
	}
	b, err := tokenEncoding.DecodeString(s)
	if err != nil || len(b) < 10 || b[0] != tokenVersion {
		return Token{}, ErrInvalidToken.With("consistency token %q is not one this server issued", truncate(s))
	}
	rev, n := binary.Uvarint(b[9:])
	if n <= 0 || 9+n != len(b) {
		return Token{}, ErrInvalidToken.With("consistency token %q is not one this server issued", truncate(s))
	}
	t := Token{Epoch: binary.BigEndian.Uint64(b[1:9]), Revision: rev}
	if t.Epoch != epoch {
		return Token{}, ErrForeignToken.With("consistency token %q was issued by another store (a different database, or an in-memory server since restarted)", truncate(s))
	}
	return t, nil
}

// Waiter is something whose revision advances and can be waited for: a graph.
type Waiter interface {
	Revision() uint64
	// Wait returns nil once the revision is at least rev, or ctx's error.
	Wait(ctx context.Context, rev uint64) error
}

// AwaitRevision waits up to timeout for w to reach rev. It returns nil at
// once when w is there already, ErrStale when the time runs out, and ctx's
// error when ctx ends first.
func AwaitRevision(ctx context.Context, w Waiter, rev uint64, timeout time.Duration) error {
	if w.Revision() >= rev {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := w.Wait(wctx, rev)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, context.DeadlineExceeded):
		return ErrStale.With("the graph is at revision %d, the request asks for %d; still behind after %v", w.Revision(), rev, timeout)
	}
	return err
}
