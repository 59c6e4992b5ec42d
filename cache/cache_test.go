package cache

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// key has the shape check uses: fixed-size integers, no pointers.
type key struct {
	rev            uint64
	subj, rel, obj uint32
}

// small keeps Ristretto's sketch tiny: the default MaxCost allocates tens of
// megabytes of counters per cache, which slows every test under -race.
var small = Config{MaxCost: 1 << 10}

func newTest[K comparable, V any](t testing.TB, cfg Config, reg prometheus.Registerer, name string, hash func(K) uint64) *Cache[K, V] {
	t.Helper()
	c, err := newCache[K, V](cfg, reg, name, hash)
	if err != nil {
		t.Fatalf("newCache(%+v, %q) error: %v", cfg, name, err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestGetAfterSet(t *testing.T) {
	c := newTest[key, bool](t, small, nil, "t", nil)
	tests := []struct {
		name string
		k    key
		v    bool
	}{
		{"allow", key{rev: 1, subj: 2, rel: 3, obj: 4}, true},
		{"deny", key{rev: 1, subj: 2, rel: 3, obj: 5}, false},
		{"zero key", key{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.Set(tt.k, tt.v)
			c.Wait()
			if got, ok := c.Get(tt.k); !ok || got != tt.v {
				t.Errorf("Get(%v) = %v, %v; want %v, true", tt.k, got, ok, tt.v)
			}
		})
	}
}

func TestGetAbsentMisses(t *testing.T) {
	c := newTest[key, bool](t, small, nil, "t", nil)
	c.Set(key{rev: 1}, true)
	c.Wait()
	for _, k := range []key{{rev: 2}, {rev: 1, subj: 1}, {obj: 1}} {
		if got, ok := c.Get(k); ok {
			t.Errorf("Get(%v) = %v, true; want miss", k, got)
		}
	}
	if hits, misses := c.Stats(); hits != 0 || misses != 3 {
		t.Errorf("Stats() = %d, %d; want 0, 3", hits, misses)
	}
}

// Every key maps to one Ristretto key; the stored full key must keep them
// apart. A wrong answer here would be an authorization bug.
func TestCollisionNeverReturnsOtherKeysValue(t *testing.T) {
	c := newTest[key, int](t, small, nil, "t", func(key) uint64 { return 42 })
	a, b := key{rev: 1, obj: 1}, key{rev: 1, obj: 2}

	c.Set(a, 1)
	c.Wait()
	if got, ok := c.Get(a); !ok || got != 1 {
		t.Fatalf("Get(%v) = %v, %v; want 1, true", a, got, ok)
	}
	if got, ok := c.Get(b); ok {
		t.Errorf("Get(%v) = %v, true; want miss (collides with %v)", b, got, a)
	}

	c.Set(b, 2) // replaces a's entry
	c.Wait()
	if got, ok := c.Get(a); ok {
		t.Errorf("after Set(%v): Get(%v) = %v, true; want miss", b, a, got)
	}
	if got, ok := c.Get(b); !ok || got != 2 {
		t.Errorf("Get(%v) = %v, %v; want 2, true", b, got, ok)
	}
	if hits, misses := c.Stats(); hits != 2 || misses != 2 {
		t.Errorf("Stats() = %d, %d; want 2, 2 (collisions count as misses)", hits, misses)
	}
}

func TestCollisionConcurrent(t *testing.T) {
	c := newTest[key, uint32](t, small, nil, "t", func(k key) uint64 { return uint64(k.obj % 2) })
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				k := key{rev: 7, obj: uint32(g*2000 + i)}
				c.Set(k, k.obj)
				probe := key{rev: 7, obj: uint32((g*2000 + i*7) % 16000)}
				if got, ok := c.Get(probe); ok && got != probe.obj {
					t.Errorf("Get(%v) = %v, true; want %v or miss", probe, got, probe.obj)
					return
				}
			}
		})
	}
	wg.Wait()
}

// Ristretto adds its per-item overhead to every cost unless told not to; with
// cost 1 per entry MaxCost must count entries.
func TestMaxCostCountsEntries(t *testing.T) {
	const n = 100
	c := newTest[key, bool](t, Config{MaxCost: n}, nil, "t", nil)
	for i := range uint32(n) {
		c.Set(key{obj: i}, true)
		c.Wait()
	}
	for i := range uint32(n) {
		if _, ok := c.Get(key{obj: i}); !ok {
			t.Fatalf("Get(%v) missed after %d Sets into MaxCost %d", key{obj: i}, n, n)
		}
	}
}

func TestDisabledAndNil(t *testing.T) {
	reg := prometheus.NewRegistry()
	disabled, err := New[key, bool](Config{Disabled: true}, reg, "t")
	if err != nil || disabled != nil {
		t.Fatalf("New(Disabled) = %v, %v; want nil, nil", disabled, err)
	}
	var zero *Cache[key, bool]
	for name, c := range map[string]*Cache[key, bool]{"disabled": disabled, "nil": zero} {
		t.Run(name, func(t *testing.T) {
			c.Set(key{rev: 1}, true)
			c.Wait()
			if got, ok := c.Get(key{rev: 1}); ok || got {
				t.Errorf("Get = %v, %v; want false, false", got, ok)
			}
			if h, m := c.Stats(); h != 0 || m != 0 {
				t.Errorf("Stats() = %d, %d; want 0, 0", h, m)
			}
			c.Close()
		})
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 0 {
		t.Errorf("GatherAndCount = %d, %v; want 0 metrics", n, err)
	}
}

func TestNewErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	newTest[key, bool](t, small, reg, "taken", nil)
	tests := []struct {
		name  string
		cfg   Config
		cname string
		want  string
	}{
		{"empty name", small, "", "empty name"},
		{"negative MaxCost", Config{MaxCost: -1}, "x", "negative"},
		{"negative NumCounters", Config{NumCounters: -1}, "x", "negative"},
		{"negative BufferItems", Config{BufferItems: -1}, "x", "negative"},
		{"huge MaxCost", Config{MaxCost: 1 << 62}, "x", "too large"},
		{"duplicate name", small, "taken", "register metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New[key, bool](tt.cfg, reg, tt.cname)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				c.Close()
				t.Fatalf("New(%+v, %q) error = %v; want one containing %q", tt.cfg, tt.cname, err, tt.want)
			}
		})
	}
	_, err := New[key, bool](small, reg, "taken")
	if !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
		t.Errorf("New(duplicate) error = %v; want it to wrap prometheus.AlreadyRegisteredError", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		name    string
		in, out Config
	}{
		{"zero", Config{}, Config{MaxCost: 1 << 20, NumCounters: 10 << 20, BufferItems: 64}},
		{"MaxCost only", Config{MaxCost: 100}, Config{MaxCost: 100, NumCounters: 1000, BufferItems: 64}},
		{"all set", Config{MaxCost: 5, NumCounters: 7, BufferItems: 9}, Config{MaxCost: 5, NumCounters: 7, BufferItems: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := tt.in.withDefaults(); err != nil || got != tt.out {
				t.Errorf("withDefaults(%+v) = %+v, %v; want %+v, nil", tt.in, got, err, tt.out)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := newTest[key, bool](t, small, reg, "check", nil)
	c.Set(key{rev: 1}, true)
	c.Wait()
	c.Get(key{rev: 1})
	c.Get(key{rev: 1})
	c.Get(key{rev: 2})

	want := `
# HELP flametrench_cache_hits_total Cache lookups that found an entry for the requested key.
# TYPE flametrench_cache_hits_total counter
flametrench_cache_hits_total{cache="check"} 2
# HELP flametrench_cache_misses_total Cache lookups that found no entry for the requested key, including hash collisions.
# TYPE flametrench_cache_misses_total counter
flametrench_cache_misses_total{cache="check"} 1
# HELP flametrench_cache_sets_dropped_total Cache writes discarded because the write buffer was full.
# TYPE flametrench_cache_sets_dropped_total counter
flametrench_cache_sets_dropped_total{cache="check"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) != 0 {
		t.Errorf("GatherAndLint = %v, %v; want no problems", problems, err)
	}
}

func TestTwoCachesShareRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := newTest[key, bool](t, small, reg, "a", nil)
	b := newTest[uint64, string](t, small, reg, "b", nil)
	a.Get(key{})
	b.Set(1, "x")
	b.Wait()
	b.Get(1)

	want := `
# HELP flametrench_cache_hits_total Cache lookups that found an entry for the requested key.
# TYPE flametrench_cache_hits_total counter
flametrench_cache_hits_total{cache="a"} 0
flametrench_cache_hits_total{cache="b"} 1
# HELP flametrench_cache_misses_total Cache lookups that found no entry for the requested key, including hash collisions.
# TYPE flametrench_cache_misses_total counter
flametrench_cache_misses_total{cache="a"} 1
flametrench_cache_misses_total{cache="b"} 0
`
	err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"flametrench_cache_hits_total", "flametrench_cache_misses_total")
	if err != nil {
		t.Error(err)
	}

	// Close unregisters, so the name can be used again.
	a.Close()
	again, err := New[key, bool](small, reg, "a")
	if err != nil {
		t.Fatalf("New after Close: %v", err)
	}
	again.Close()
}

func TestClose(t *testing.T) {
	c := newTest[key, bool](t, small, nil, "t", nil)
	c.Set(key{rev: 1}, true)
	c.Wait()
	c.Close()
	if got, ok := c.Get(key{rev: 1}); ok {
		t.Errorf("Get after Close = %v, true; want miss", got)
	}
	c.Set(key{rev: 2}, true)
	c.Wait()
	c.Close()
}

// A hit must not allocate: hashing a pointer-free key stays on the stack and
// the entry is returned by value. Ristretto itself allocates one 64-key
// access batch per BufferItems Gets when its policy accepts the batch, so the
// average is a little above zero but never near one.
func TestGetHitDoesNotAllocate(t *testing.T) {
	c := newTest[key, bool](t, small, nil, "t", nil)
	k := key{rev: 1, subj: 2, rel: 3, obj: 4}
	c.Set(k, true)
	c.Wait()
	if avg := testing.AllocsPerRun(10000, func() { c.Get(k) }); avg > 0.1 {
		t.Errorf("Get allocates %.3f times per call; want ~0", avg)
	}
}

func TestConcurrentGetSet(t *testing.T) {
	c := newTest[key, uint32](t, Config{MaxCost: 512}, nil, "t", nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5000 {
				k := key{rev: uint64(i % 3), obj: uint32((g*31 + i) % 1024)}
				if i%4 == 0 {
					c.Set(k, k.obj)
					continue
				}
				if got, ok := c.Get(k); ok && got != k.obj {
					t.Errorf("Get(%v) = %v, true; want %v", k, got, k.obj)
					return
				}
			}
		})
	}
	wg.Wait()
	hits, misses := c.Stats()
	if hits+misses != 8*5000*3/4 {
		t.Errorf("Stats() = %d, %d; want them to add up to %d Gets", hits, misses, 8*5000*3/4)
	}
}

// benchKeys preloads n keys and returns them; every Get on them hits.
func benchKeys(b *testing.B, c *Cache[key, bool], n int) []key {
	keys := make([]key, n)
	for i := range keys {
		keys[i] = key{rev: 9, subj: uint32(i), rel: 3, obj: uint32(i * 7)}
		c.Set(keys[i], true)
		c.Wait()
	}
	for _, k := range keys {
		if _, ok := c.Get(k); !ok {
			b.Fatalf("Get(%v) missed after Set+Wait", k)
		}
	}
	return keys
}

func BenchmarkGet(b *testing.B) {
	c := newTest[key, bool](b, Config{}, prometheus.NewRegistry(), "bench", nil)
	keys := benchKeys(b, c, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, ok := c.Get(keys[i&1023]); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkGetParallel(b *testing.B) {
	c := newTest[key, bool](b, Config{}, prometheus.NewRegistry(), "bench", nil)
	keys := benchKeys(b, c, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	var start sync.Mutex
	next := 0
	b.RunParallel(func(pb *testing.PB) {
		start.Lock()
		i := next * 97 // spread goroutines over the key set
		next++
		start.Unlock()
		for pb.Next() {
			if _, ok := c.Get(keys[i&1023]); !ok {
				b.Error("miss")
				return
			}
			i++
		}
	})
}
