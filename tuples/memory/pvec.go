package memory

// A pvec is a persistent vector: a directory of fixed-size chunks. A published
// pvec is never modified; a batch copies the directory once and each chunk it
// touches once (copy-on-write at chunk granularity), so old snapshots keep
// reading their own chunks while the batch builds the next one.
const (
	chunkBits = 10
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1
)

type chunk[T any] struct {
	gen uint64 // the batch that created this chunk; only that batch may write it
	v   [chunkSize]T
}

type pvec[T any] struct {
	chunks []*chunk[T]
	n      int
}

func (p *pvec[T]) len() int { return p.n }

// get returns element i, or the zero T when i is out of range.
func (p *pvec[T]) get(i int) T {
	if uint(i) >= uint(p.n) {
		var zero T
		return zero
	}
	return p.chunks[i>>chunkBits].v[i&chunkMask]
}

// pvecBuilder derives a new pvec from a published one within batch gen.
type pvecBuilder[T any] struct {
	p       pvec[T]
	gen     uint64
	ownsDir bool
}

func newPvecBuilder[T any](p pvec[T], gen uint64) pvecBuilder[T] {
	return pvecBuilder[T]{p: p, gen: gen}
}

// ptr returns a pointer to element i, or nil when i is out of range. The
// element must not be modified through it once the pvec is published.
func (p *pvec[T]) ptr(i int) *T {
	if uint(i) >= uint(p.n) {
		return nil
	}
	return &p.chunks[i>>chunkBits].v[i&chunkMask]
}

func (b *pvecBuilder[T]) get(i int) T { return b.p.get(i) }

// set stores x at i, growing the vector with zero values as needed.
func (b *pvecBuilder[T]) set(i int, x T) {
	if !b.ownsDir {
		b.p.chunks = append(make([]*chunk[T], 0, len(b.p.chunks)+1), b.p.chunks...)
		b.ownsDir = true
	}
	for i >= len(b.p.chunks)*chunkSize {
		b.p.chunks = append(b.p.chunks, &chunk[T]{gen: b.gen})
	}
	if i >= b.p.n {
		b.p.n = i + 1
	}
	c := b.p.chunks[i>>chunkBits]
	if c.gen != b.gen {
		cp := *c
		cp.gen = b.gen
		c = &cp
		b.p.chunks[i>>chunkBits] = c
	}
	c.v[i&chunkMask] = x
}

func (b *pvecBuilder[T]) build() pvec[T] { return b.p }
