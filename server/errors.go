package server

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"connectrpc.com/connect"

	"github.com/flametrench/server/identity"
	"github.com/flametrench/server/tuples"
)

// errorKinds is the one table from error kinds to what each transport
// answers (STYLE §4, DESIGN §3): an HTTP status on REST, a Connect code on
// the Connect service.
var errorKinds = map[tuples.Kind]struct {
	status int
	code   connect.Code
}{
	tuples.Invalid:         {http.StatusBadRequest, connect.CodeInvalidArgument},
	tuples.NotFound:        {http.StatusNotFound, connect.CodeNotFound},
	tuples.Conflict:        {http.StatusConflict, connect.CodeAlreadyExists},
	tuples.Precondition:    {http.StatusConflict, connect.CodeFailedPrecondition},
	tuples.Unauthenticated: {http.StatusUnauthorized, connect.CodeUnauthenticated},
	tuples.Forbidden:       {http.StatusForbidden, connect.CodePermissionDenied},
	tuples.LimitExceeded:   {http.StatusBadRequest, connect.CodeFailedPrecondition},
	tuples.Unavailable:     {http.StatusServiceUnavailable, connect.CodeUnavailable},
	tuples.RateLimited:     {http.StatusTooManyRequests, connect.CodeResourceExhausted},
	tuples.TooLarge:        {http.StatusRequestEntityTooLarge, connect.CodeResourceExhausted},
	tuples.Internal:        {http.StatusInternalServerError, connect.CodeInternal},
}

// statusClientClosed is nginx's status for a request whose client went away
// before the answer: nobody reads it, but logs and metrics tell it apart.
const statusClientClosed = 499

// errorBody is the spec's Error envelope.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// errInternal is what a client sees of an error that has no kind: a bug or
// a failing dependency, whose text may hold anything and is only logged.
var errInternal = &tuples.Error{Kind: tuples.Internal, Code: "internal_error", Msg: "internal error"}

// statusOf returns the status and the envelope an error is answered with.
func statusOf(err error) (int, errorBody) {
	switch {
	case errors.Is(err, context.Canceled):
		return statusClientClosed, errorBody{"canceled", "the request was canceled"}
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, errorBody{"deadline_exceeded", "the request took too long"}
	}
	var te *tuples.Error
	if !errors.As(err, &te) || te.Kind == tuples.Internal {
		te = errInternal
	}
	return errorKinds[te.Kind].status, errorBody{te.Code, te.Msg}
}

// writeError answers a request with err. An internal error is logged, once,
// here at the edge, and the client learns nothing of it; a rate limit
// carries Retry-After in whole seconds, rounded up.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := statusOf(err)
	if status == http.StatusInternalServerError {
		s.log.LogAttrs(r.Context(), slog.LevelError, "internal error", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("request_id", requestID(r.Context())), slog.Any("err", err))
	}
	var rl *identity.RateLimitError
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rl.RetryAfter.Seconds()))))
	}
	_ = writeJSON(w, status, body) // two strings: it cannot fail
}
