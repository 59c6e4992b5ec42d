package check

import "math/bits"

// frameSet is the set of frames a lookup has visited: an open-addressing
// table with linear probing, cheaper than a map for the walk's one question
// (visited yet?). Frames are packed into one word, (relation << 32 | object);
// a frame's relation is never 0, so 0 marks an empty slot.
//
// Walks are pooled, and emptying the table for the next one costs the frames
// it holds, not its size: undo finds each one from its home slot and clears
// it. Every frame is removed whatever the order; in the reverse of their
// insertion order the probes stay as short as they were.
type frameSet struct {
	slots []uint64
	shift uint // 64 - log2(len(slots))
	n     int
}

func pack(f frame) uint64 { return uint64(f.rel)<<32 | uint64(f.obj) }

func (s *frameSet) slot(k uint64) int { return int((k * 0x9e3779b97f4a7c15) >> s.shift) }

// add inserts f and reports whether it was new.
func (s *frameSet) add(f frame) bool {
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	k, mask := pack(f), len(s.slots)-1
	for i := s.slot(k); ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			s.slots[i] = k
			s.n++
			return true
		case k:
			return false
		}
	}
}

func (s *frameSet) has(f frame) bool {
	if s.n == 0 {
		return false
	}
	k, mask := pack(f), len(s.slots)-1
	for i := s.slot(k); ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			return false
		case k:
			return true
		}
	}
}

func (s *frameSet) grow() {
	old := s.slots
	size := max(64, 2*len(old))
	s.slots, s.shift, s.n = make([]uint64, size), uint(64-bits.TrailingZeros(uint(size))), 0
	mask := size - 1
	for _, k := range old {
		if k == 0 {
			continue
		}
		i := s.slot(k)
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = k
		s.n++
	}
}

// undo empties the set; frames must be every frame added, in the order they
// were added.
func (s *frameSet) undo(frames []item) {
	mask := len(s.slots) - 1
	for j := len(frames) - 1; j >= 0; j-- {
		k := pack(frames[j].frame)
		i := s.slot(k)
		for s.slots[i] != k { // past slots already cleared, if need be
			i = (i + 1) & mask
		}
		s.slots[i] = 0
	}
	s.n = 0
}
