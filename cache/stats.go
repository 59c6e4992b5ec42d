package cache

import "sync/atomic"

// numStripes spreads the hit and miss counters over several cache lines. One
// shared atomic would make every Get on every core contend for one line; the
// stripe is picked from the key hash, which Ristretto also uses to pick its
// store shard, so counting adds no hot spot that the lookup does not have.
const numStripes = 32

// stripe is padded to 128 bytes (two cache lines, because x86 prefetches
// lines in pairs) so neighbouring stripes do not share a line.
type stripe struct {
	hits   atomic.Uint64
	misses atomic.Uint64
	_      [128 - 16]byte
}

// stats holds a cache's counters. They are plain atomics read by the
// Prometheus collector at scrape time, so Get never calls into Prometheus.
type stats struct {
	stripes [numStripes]stripe
	// dropped counts Sets that Ristretto discarded because its Set buffer
	// was full. Set returns that answer for free, without Ristretto Metrics.
	dropped atomic.Uint64
}

func (s *stats) hit(h uint64)  { s.stripes[h%numStripes].hits.Add(1) }
func (s *stats) miss(h uint64) { s.stripes[h%numStripes].misses.Add(1) }

func (s *stats) totals() (hits, misses uint64) {
	for i := range s.stripes {
		hits += s.stripes[i].hits.Load()
		misses += s.stripes[i].misses.Load()
	}
	return hits, misses
}
