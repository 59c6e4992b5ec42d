package password

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the pool's collectors. They exist (unregistered) even without a
// Registerer, so the hot path never checks for nil.
type metrics struct {
	depth  prometheus.Gauge
	wait   prometheus.Histogram
	busy   prometheus.Counter
	hashes struct{ hash, verify, dummy prometheus.Counter }
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{}
	m.depth = register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "flametrench_argon2_queue_depth",
		Help: "Callers waiting for an Argon2id worker.",
	}))
	m.wait = register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "flametrench_argon2_wait_seconds",
		Help: "Time from asking for an Argon2id worker to getting one, being refused (busy) or giving up (context ended).",
		// 1ms to 2s: the default queue timeout is 2s.
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 12),
	}))
	m.busy = register(reg, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "flametrench_argon2_busy_total",
		Help: "Argon2id requests refused because no worker became free within the queue timeout.",
	}))
	hashes := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flametrench_argon2_hashes_total",
		Help: "Argon2id computations run, by operation (hash, verify, dummy).",
	}, []string{"op"}))
	// Creating the children up front makes all three series visible at 0.
	m.hashes.hash = hashes.WithLabelValues("hash")
	m.hashes.verify = hashes.WithLabelValues("verify")
	m.hashes.dummy = hashes.WithLabelValues("dummy")
	return m
}

// register registers c on reg (when reg is set). If an identical collector is
// already registered (a second Pool on the same registry), it returns that one,
// so both pools feed the same series. Any other failure is a programming error
// and panics, as prometheus.MustRegister does.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(err)
}
