package postgres

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/flametrench/server/tuples"
)

// The changelog holds one row per revision: (rev, committed_at, changes). The
// changes column is what the revision did to tup, as created and deleted
// tuples, in this binary form (version 1):
//
//	version   byte = 1
//	count     uvarint
//	count times:
//	  op           byte: 1 create, 2 delete
//	  id           16 bytes
//	  subject_type uvarint length, bytes
//	  subject_id   16 bytes
//	  relation     uvarint length, bytes
//	  object_type  uvarint length, bytes
//	  object_id    16 bytes
//	  created_by   byte 0, or byte 1 and 16 bytes
//
// One row per revision keeps a large batch one cheap insert, and a replica
// reads whole revisions, which it must apply atomically anyway.

const changelogVersion = 1

const (
	logCreate = 1
	logDelete = 2
)

// encodeChanges encodes resolved changes: creates and deletes of whole tuples.
func encodeChanges(cs []tuples.Change) []byte {
	size := 1 + binary.MaxVarintLen64
	for _, c := range cs {
		size += 1 + 16*4 + 3 + len(c.Key.Subject.Type) + len(c.Key.Relation) + len(c.Key.Object.Type) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, changelogVersion)
	b = binary.AppendUvarint(b, uint64(len(cs)))
	for _, c := range cs {
		op := byte(logCreate)
		if c.Op == tuples.OpDelete {
			op = logDelete
		}
		b = append(b, op)
		b = append(b, c.ID[:]...)
		b = appendString(b, c.Key.Subject.Type)
		b = append(b, c.Key.Subject.ID[:]...)
		b = appendString(b, c.Key.Relation)
		b = appendString(b, c.Key.Object.Type)
		b = append(b, c.Key.Object.ID[:]...)
		if c.CreatedBy.IsZero() {
			b = append(b, 0)
		} else {
			b = append(b, 1)
			b = append(b, c.CreatedBy[:]...)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errChangelog = errors.New("malformed changelog entry")

// decodeChanges decodes what encodeChanges wrote. Deletes carry their id and
// key; creates their id, key and creator. names interns the short strings that
// repeat from change to change, so a large revision does not allocate each.
func decodeChanges(b []byte, names map[string]string) ([]tuples.Change, error) {
	d := decoder{b: b, names: names}
	if d.byte() != changelogVersion {
		return nil, fmt.Errorf("%w: unknown version", errChangelog)
	}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(b)) {
		return nil, fmt.Errorf("%w: bad count", errChangelog)
	}
	cs := make([]tuples.Change, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		var c tuples.Change
		switch d.byte() {
		case logCreate:
			c.Op = tuples.OpCreate
		case logDelete:
			c.Op = tuples.OpDelete
		default:
			d.fail()
		}
		c.ID = d.uuid()
		c.Key.Subject.Type = d.string()
		c.Key.Subject.ID = d.uuid()
		c.Key.Relation = d.string()
		c.Key.Object.Type = d.string()
		c.Key.Object.ID = d.uuid()
		switch d.byte() {
		case 0:
		case 1:
			c.CreatedBy = d.uuid()
		default:
			d.fail()
		}
		cs = append(cs, c)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	if d.err != nil {
		return nil, d.err
	}
	return cs, nil
}

type decoder struct {
	b     []byte
	names map[string]string
	err   error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or corrupt", errChangelog)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uuid() tuples.UUID {
	var u tuples.UUID
	if len(d.b) < 16 {
		d.fail()
		return u
	}
	copy(u[:], d.b)
	d.b = d.b[16:]
	return u
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	raw := d.b[:n]
	d.b = d.b[n:]
	if s, ok := d.names[string(raw)]; ok {
		return s
	}
	s := string(raw)
	if d.names != nil && len(d.names) < 1024 {
		d.names[s] = s
	}
	return s
}
