package check

import (
	"sync/atomic"

	"github.com/flametrench/server/tuples"
)

// worthFilter remembers, lossily, which (subject, relation, object) triples
// have had an evaluation long enough to be cached. Most evaluations are short,
// and for them even a cache miss costs more than evaluating (a Ristretto Get
// is a hash, a shard lookup and a policy update); a clear bit lets them skip
// the cache entirely. It is a single-hash Bloom filter of 1<<20 bits without a
// revision in its key, so it stays useful across writes; a set bit only sends
// a check to the cache, which decides. When half its bits are set it is
// cleared and relearns. Races between Or and the clearing only cost a miss.
type worthFilter struct {
	words [filterBits / 64]atomic.Uint64
	set   atomic.Int64 // bits set since the last clear (approximate)
}

const filterBits = 1 << 20

func filterHash(subj tuples.NodeID, rel tuples.Sym, obj tuples.NodeID) uint64 {
	h := (uint64(subj)<<32 | uint64(obj)) * 0x9e3779b97f4a7c15
	h ^= uint64(rel) * 0xc2b2ae3d27d4eb4f
	return (h ^ h>>29) & (filterBits - 1)
}

func (f *worthFilter) has(h uint64) bool {
	return f.words[h/64].Load()&(1<<(h%64)) != 0
}

func (f *worthFilter) add(h uint64) {
	bit := uint64(1) << (h % 64)
	if f.words[h/64].Or(bit)&bit != 0 {
		return
	}
	if f.set.Add(1) > filterBits/2 {
		f.set.Store(0)
		for i := range f.words {
			f.words[i].Store(0)
		}
	}
}
