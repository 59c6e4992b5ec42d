package password

import "github.com/flametrench/server/tuples"

// Params are Argon2id's cost parameters plus the salt and tag sizes.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes (the PHC "p")
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes of tag
}

// Floor is the spec's pinned minimum (CRED-3: m=19456 KiB, t=2, p=1, the OWASP
// floor) with the 16-byte salt and 32-byte tag of the conformance fixture and
// every reference SDK. No field may be lower, in Hash or in a stored hash.
var Floor = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Max bounds every field from above. The spec sets no ceiling; this one exists
// so that a stored hash, which names its own cost, cannot make a single Verify
// allocate more than 256 MiB or hold a core for more than a few seconds (about
// 3 s at Max, against 0.1 s at Floor, on the 2-core development machine). It
// is 13 times the floor's memory, four times RFC 9106's 64 MiB recommendation
// and five times the floor's passes, so any deliberately strengthened
// configuration fits.
var Max = Params{Memory: 256 * 1024, Time: 10, Threads: 16, SaltLen: 64, KeyLen: 64}

// Sentinels of this package. Both are Invalid: the caller handed over (or read
// back from storage) something that is not a conformant Argon2id hash.
var (
	// ErrMalformedHash: not a PHC string this package accepts (wrong algorithm
	// or version, bad syntax, bad base64).
	ErrMalformedHash = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.password_hash", Msg: "not an Argon2id PHC string"}
	// ErrParams: well-formed, but the parameters are below Floor or above Max.
	ErrParams = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.argon2_params", Msg: "Argon2id parameters outside [Floor, Max]"}
)

// Validate reports an ErrParams error unless every field of p lies within
// [Floor, Max].
func (p Params) Validate() error {
	type field struct {
		name            string
		val, floor, max uint32
	}
	for _, f := range [...]field{
		{"m", p.Memory, Floor.Memory, Max.Memory},
		{"t", p.Time, Floor.Time, Max.Time},
		{"p", uint32(p.Threads), uint32(Floor.Threads), uint32(Max.Threads)},
		{"salt length", p.SaltLen, Floor.SaltLen, Max.SaltLen},
		{"tag length", p.KeyLen, Floor.KeyLen, Max.KeyLen},
	} {
		if f.val < f.floor {
			return ErrParams.With("%s=%d is below the spec floor %d", f.name, f.val, f.floor)
		}
		if f.val > f.max {
			return ErrParams.With("%s=%d is above the cap %d", f.name, f.val, f.max)
		}
	}
	return nil
}

// orFloor returns p with each zero field replaced by Floor's.
func (p Params) orFloor() Params {
	if p.Memory == 0 {
		p.Memory = Floor.Memory
	}
	if p.Time == 0 {
		p.Time = Floor.Time
	}
	if p.Threads == 0 {
		p.Threads = Floor.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = Floor.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = Floor.KeyLen
	}
	return p
}
