package check

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

type outcome int

const (
	outcomeAllowed outcome = iota
	outcomeDenied
	outcomeError
)

// metrics counts outcomes with plain atomics on the hot path and exposes them
// through CounterFuncs, so a check pays one atomic add, not a label lookup.
type metrics struct {
	outcomes [3]atomic.Uint64
	limit    atomic.Uint64
	depth    prometheus.Histogram // only for checks that needed rule evaluation
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{depth: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "flametrench_check_depth",
		Help:    "Deepest rule expansion reached by checks that needed rule evaluation.",
		Buckets: []float64{1, 2, 3, 4, 6, 8, 12, 16},
	})}
	if reg == nil {
		return m, nil
	}
	for i, name := range []string{"allowed", "denied", "error"} {
		c := &m.outcomes[i]
		if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "flametrench_check_total",
			Help:        "Checks answered, by outcome.",
			ConstLabels: prometheus.Labels{"outcome": name},
		}, func() float64 { return float64(c.Load()) })); err != nil {
			return nil, err
		}
	}
	if err := reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "flametrench_check_evaluation_limit_total",
		Help: "Checks that exceeded the depth or fan-out limit.",
	}, func() float64 { return float64(m.limit.Load()) })); err != nil {
		return nil, err
	}
	if err := reg.Register(m.depth); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *metrics) outcome(o outcome) { m.outcomes[o].Add(1) }
func (m *metrics) limited()          { m.limit.Add(1) }
func (m *metrics) evaluated(depth int) {
	m.depth.Observe(float64(depth))
}
