package rewrite

import (
	"bytes"
	"maps"
	"slices"
)

// MarshalJSON writes r in the canonical ADR 0007 document form:
//
//	{"spec_version":"0.2.0","rules":{"proj":{"viewer":{"union":["this",
//	  {"computed_userset":{"relation":"editor"}},
//	  {"tuple_to_userset":{"tupleset":{"relation":"parent_org"},"computed_userset":{"relation":"viewer"}}}]}}}}
//
// without the line breaks. spec_version is left out when empty. Types and
// relations are sorted and unions keep their order, so equal rule sets give
// identical bytes: the output can be hashed, diffed, or compared across SDKs.
// Parse reads the output back to an equal Rules. A nil r writes {"rules":{}}.
//
// r is validated first (see Validate), because a canonical document that
// Parse would refuse is worse than an error.
func (r *Rules) MarshalJSON() ([]byte, error) {
	if p := r.validate(); p != nil {
		return nil, p.err("")
	}
	var b bytes.Buffer
	b.WriteByte('{')
	if r != nil && r.SpecVersion != "" {
		b.WriteString(`"spec_version":`)
		writeString(&b, r.SpecVersion)
		b.WriteByte(',')
	}
	b.WriteString(`"rules":{`)
	for i, typ := range r.ObjectTypes() {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(&b, typ)
		b.WriteString(":{")
		rels := r.Types[typ]
		for j, rel := range sortedKeys(rels) {
			if j > 0 {
				b.WriteByte(',')
			}
			writeString(&b, rel)
			b.WriteString(`:{"union":[`)
			for k, n := range rels[rel] {
				if k > 0 {
					b.WriteByte(',')
				}
				writeNode(&b, n)
			}
			b.WriteString("]}")
		}
		b.WriteByte('}')
	}
	b.WriteString("}}")
	return b.Bytes(), nil
}

func writeNode(b *bytes.Buffer, n Node) {
	switch n.Kind {
	case This:
		b.WriteString(`"this"`)
	case ComputedUserset:
		b.WriteString(`{"computed_userset":{"relation":`)
		writeString(b, n.Relation)
		b.WriteString("}}")
	case TupleToUserset:
		b.WriteString(`{"tuple_to_userset":{"tupleset":{"relation":`)
		writeString(b, n.TuplesetRelation)
		b.WriteString(`},"computed_userset":{"relation":`)
		writeString(b, n.Relation)
		b.WriteString("}}}")
	}
}

// writeString quotes s without escaping. That is only correct because every
// string written has passed validate: names are [a-z_] and spec_version is
// [0-9A-Za-z.+-], none of which JSON escapes.
func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteByte('"')
}

func sortedKeys(m map[string]Rule) []string {
	return slices.Sorted(maps.Keys(m))
}
