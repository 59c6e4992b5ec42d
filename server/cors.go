package server

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// corsMaxAge is how long a browser may cache a preflight's answer.
const corsMaxAge = 10 * 60

// cors answers cross-origin requests from the configured origins (none by
// default: the API is for backends, and a browser app must be named by the
// operator). Credentials are bearer tokens, never cookies, so
// Access-Control-Allow-Credentials is never sent. A preflight from an
// origin not listed gets no CORS headers, which the browser reads as a
// refusal.
func (s *Server) cors(next http.Handler) http.Handler {
	if len(s.cfg.CORSOrigins) == 0 {
		return next
	}
	anyOrigin := slices.Contains(s.cfg.CORSOrigins, "*")
	allowed := func(origin string) bool { return anyOrigin || slices.Contains(s.cfg.CORSOrigins, origin) }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		if !allowed(origin) {
			next.ServeHTTP(w, r)
			return
		}
		if anyOrigin {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
			h.Set("Access-Control-Allow-Headers", strings.Join(corsAllowHeaders, ", "))
			h.Set("Access-Control-Max-Age", strconv.Itoa(corsMaxAge))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", strings.Join(corsExposeHeaders, ", "))
		next.ServeHTTP(w, r)
	})
}

// The headers a browser may send and read: REST's, and those of the
// Connect and gRPC-Web protocols (so a browser client of the Connect
// service works too).
var (
	corsAllowHeaders = []string{"Authorization", "Content-Type", consistencyHeader, "X-Request-Id",
		"Connect-Protocol-Version", "Connect-Timeout-Ms", "Grpc-Timeout", "X-Grpc-Web", "X-User-Agent"}
	corsExposeHeaders = []string{consistencyHeader, "X-Request-Id", "Retry-After", "Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin"}
)
