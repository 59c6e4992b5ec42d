package server

import "net/http"

type statusBody struct {
	Status string `json:"status"`
}

// handleHealthz reports that the process is up and serving HTTP. It checks
// nothing else, so that an orchestrator restarts the process only when it is
// truly wedged, not when a dependency is down (that is /readyz's job).
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	_ = writeJSON(w, http.StatusOK, statusBody{"ok"})
}

// handleReadyz reports whether the server should receive traffic: the
// caller's Ready says so, and Serve is not shutting down.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if s.ready() {
		_ = writeJSON(w, http.StatusOK, statusBody{"ready"})
		return
	}
	_ = writeJSON(w, http.StatusServiceUnavailable, statusBody{"not_ready"})
}

func (s *Server) ready() bool {
	return !s.draining.Load() && (s.cfg.Ready == nil || s.cfg.Ready())
}
