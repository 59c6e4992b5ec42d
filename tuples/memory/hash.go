package memory

import (
	"crypto/rand"
	"encoding/binary"
	"math/bits"

	"github.com/flametrench/server/tuples"
)

// seed makes the hash tables' layout unpredictable, so chosen ids cannot be used
// to provoke long probe sequences (hash flooding).
type seed struct{ a, b uint64 }

func newSeed() seed {
	var buf [16]byte
	if _, err := rand.Read(buf[:]); err != nil {
		panic("memory: no random source: " + err.Error())
	}
	return seed{binary.LittleEndian.Uint64(buf[:8]) | 1, binary.LittleEndian.Uint64(buf[8:])}
}

// mix is a 64×64→128 multiply fold, the core of wyhash-style hashing.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (s seed) uuid(typ tuples.Sym, u tuples.UUID) uint64 {
	x := binary.LittleEndian.Uint64(u[:8])
	y := binary.LittleEndian.Uint64(u[8:])
	return mix(x^s.a, y^s.b^uint64(typ)*0x9e3779b97f4a7c15)
}
