package cache

import "github.com/prometheus/client_golang/prometheus"

// Metric names. Every series carries the constant label cache=<name>, so
// several caches can share one registry.
const (
	metricHits        = "flametrench_cache_hits_total"
	metricMisses      = "flametrench_cache_misses_total"
	metricSetsDropped = "flametrench_cache_sets_dropped_total"
)

// collector exposes one cache's counters. Grouping them in one Collector
// makes registration all-or-nothing and lets Close unregister them at once.
type collector struct {
	metrics []prometheus.Collector
}

func newCollector(name string, s *stats) *collector {
	labels := prometheus.Labels{"cache": name}
	return &collector{metrics: []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        metricHits,
			Help:        "Cache lookups that found an entry for the requested key.",
			ConstLabels: labels,
		}, func() float64 { h, _ := s.totals(); return float64(h) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        metricMisses,
			Help:        "Cache lookups that found no entry for the requested key, including hash collisions.",
			ConstLabels: labels,
		}, func() float64 { _, m := s.totals(); return float64(m) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        metricSetsDropped,
			Help:        "Cache writes discarded because the write buffer was full.",
			ConstLabels: labels,
		}, func() float64 { return float64(s.dropped.Load()) }),
	}}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics {
		m.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.metrics {
		m.Collect(ch)
	}
}
