package cache

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for zero fields of Config.
const (
	defaultMaxCost     = 1 << 20
	defaultBufferItems = 64
	// counterRatio is Ristretto's advice: about ten frequency counters per
	// entry the cache can hold.
	counterRatio = 10
)

// Config sizes a Cache. Its zero value means "enabled with defaults".
type Config struct {
	// Disabled makes New return a nil *Cache, on which every method is a
	// no-op and every Get misses.
	Disabled bool
	// MaxCost is the total cost budget. Every entry costs 1, so this is the
	// maximum number of entries. 0 means 1<<20.
	MaxCost int64
	// NumCounters is the number of TinyLFU frequency counters.
	// 0 means 10 × MaxCost.
	NumCounters int64
	// BufferItems is the size of Ristretto's Get buffers.
	// 0 means 64.
	BufferItems int64
}

// withDefaults fills zero fields and rejects values Ristretto cannot use.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.MaxCost < 0 || cfg.NumCounters < 0 || cfg.BufferItems < 0 {
		return cfg, fmt.Errorf("negative size in %+v", cfg)
	}
	if cfg.MaxCost == 0 {
		cfg.MaxCost = defaultMaxCost
	}
	if cfg.NumCounters == 0 {
		if cfg.MaxCost > math.MaxInt64/counterRatio {
			return cfg, fmt.Errorf("MaxCost %d too large to derive NumCounters", cfg.MaxCost)
		}
		cfg.NumCounters = counterRatio * cfg.MaxCost
	}
	if cfg.BufferItems == 0 {
		cfg.BufferItems = defaultBufferItems
	}
	return cfg, nil
}

// entry is what Ristretto stores: the full key next to the value, so that Get
// can tell a 64-bit hash collision from a hit.
type entry[K comparable, V any] struct {
	key K
	val V
}

// Cache is a concurrency-safe, lossy, fixed-size cache from K to V.
//
// K should be a pointer-free value, such as a struct of integers: keys are
// hashed and compared with ==, so two keys holding different pointers to
// equal data are different keys, and a pointer makes Get allocate.
//
// A nil *Cache is valid: Get always misses and the other methods do nothing.
type Cache[K comparable, V any] struct {
	rc   *ristretto.Cache[uint64, entry[K, V]]
	seed maphash.Seed
	// hash replaces maphash in tests that need forced collisions; nil in
	// production so the hot path makes no indirect call.
	hash  func(K) uint64
	stats *stats
	// reg and coll are kept so Close can unregister the metrics.
	reg  prometheus.Registerer
	coll prometheus.Collector
}

// New returns a Cache sized by cfg whose metrics are registered on reg and
// labelled cache=name. reg may be nil for no metrics; name must be non-empty
// and unique among the caches sharing reg.
//
// If cfg.Disabled, New returns a nil *Cache and a nil error.
// It fails if cfg holds negative sizes or if the metrics cannot be
// registered (for example because name is already in use on reg).
func New[K comparable, V any](cfg Config, reg prometheus.Registerer, name string) (*Cache[K, V], error) {
	return newCache[K, V](cfg, reg, name, nil)
}

// newCache is New with a replaceable key hash, so tests can force distinct
// keys onto one Ristretto key.
func newCache[K comparable, V any](cfg Config, reg prometheus.Registerer, name string, hash func(K) uint64) (*Cache[K, V], error) {
	if cfg.Disabled {
		return nil, nil
	}
	if name == "" {
		return nil, errors.New("cache: empty name")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("cache %q: %w", name, err)
	}
	rc, err := ristretto.NewCache(&ristretto.Config[uint64, entry[K, V]]{
		NumCounters: cfg.NumCounters,
		MaxCost:     cfg.MaxCost,
		BufferItems: cfg.BufferItems,
		// Every entry costs 1 so that MaxCost counts entries; without this
		// Ristretto adds its own per-item overhead (tens of "bytes") to each
		// cost and the cache would hold a small fraction of MaxCost entries.
		IgnoreInternalCost: true,
		// The key is already a seeded 64-bit hash; returning 0 as the
		// conflict hash is fine because Get compares the stored full key.
		KeyToHash: func(h uint64) (uint64, uint64) { return h, 0 },
		// Metrics stays off: it adds sharded atomics to every Get and time
		// tracking to every admission, and we count what we need ourselves.
	})
	if err != nil {
		return nil, fmt.Errorf("cache %q: %w", name, err)
	}
	c := &Cache[K, V]{
		rc:    rc,
		seed:  maphash.MakeSeed(),
		hash:  hash,
		stats: new(stats),
	}
	if reg != nil {
		coll := newCollector(name, c.stats)
		if err := reg.Register(coll); err != nil {
			rc.Close()
			return nil, fmt.Errorf("cache %q: register metrics: %w", name, err)
		}
		c.reg, c.coll = reg, coll
	}
	return c, nil
}

// key maps k to the Ristretto key. The seed is random per cache, so callers
// cannot choose keys that collide.
func (c *Cache[K, V]) key(k K) uint64 {
	if c.hash != nil {
		return c.hash(k)
	}
	return maphash.Comparable(c.seed, k)
}

// Get returns the value cached for k. It reports a miss when k is absent,
// when its entry was dropped or evicted, and when another key that hashes
// to the same 64 bits occupies the slot: a hit always means the stored key
// equals k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	if c == nil {
		var zero V
		return zero, false
	}
	h := c.key(k)
	e, ok := c.rc.Get(h)
	if !ok || e.key != k {
		c.stats.miss(h)
		var zero V
		return zero, false
	}
	c.stats.hit(h)
	return e.val, true
}

// Set caches v for k with cost 1. It may be dropped (Ristretto buffers Sets
// and discards them under contention or when admission refuses them), so a
// following Get may still miss; call Wait to apply buffered Sets. A Set for a
// key whose hash collides with a cached key replaces that entry.
func (c *Cache[K, V]) Set(k K, v V) {
	if c == nil {
		return
	}
	if !c.rc.Set(c.key(k), entry[K, V]{key: k, val: v}, 1) {
		c.stats.dropped.Add(1)
	}
}

// Wait blocks until every Set made before it has been applied or rejected.
func (c *Cache[K, V]) Wait() {
	if c == nil {
		return
	}
	c.rc.Wait()
}

// Close stops the cache's background goroutine, empties it and unregisters
// its metrics, so a cache of the same name can be registered again. Close
// must not run concurrently with other methods; after it, Get misses and Set
// does nothing. Closing twice is harmless.
func (c *Cache[K, V]) Close() {
	if c == nil {
		return
	}
	c.rc.Close()
	if c.reg != nil {
		c.reg.Unregister(c.coll)
	}
}

// Stats returns the number of hits and misses Get has counted since New.
// A nil cache returns zeros.
func (c *Cache[K, V]) Stats() (hits, misses uint64) {
	if c == nil {
		return 0, 0
	}
	return c.stats.totals()
}
