package main

import (
	"strings"

	"github.com/flametrench/server/check"
	"github.com/flametrench/server/tuples"
)

// The Zanzibar notation of a tuple or check is OBJECT#RELATION@SUBJECT, where
// OBJECT and SUBJECT are TYPE:ID (doc:0190f2a8-1b3c-7abc-8123-456789abcdef#viewer@usr:usr_0190f2a81b3c7abc8123000000000001).
// ID is any of the three accepted id forms (and, in validation files, a
// name). A check may name a set of relations, OBJECT#viewer,editor@SUBJECT,
// which it satisfies when any of them holds (ADR 0017). expand takes
// OBJECT#RELATION. Subject usersets (SUBJECT#RELATION) are not part of the
// Flametrench model and are refused.

// errNotation reports text that is not in the notation at all; problems with
// a part that is (a bad type, id or relation) carry the tuples codes instead.
var errNotation = &tuples.Error{Kind: tuples.Invalid, Code: "invalid_format.notation", Msg: "want OBJECT#RELATION@SUBJECT"}

// maxNotation bounds one notation string; the longest legal one is well under it.
const maxNotation = 4096

// notation is a split notation string, its parts not yet validated.
type notation struct {
	objType, objID   string
	relations        []string
	subjType, subjID string // empty when the text had no @SUBJECT
}

// splitNotation splits s (surrounding white space ignored). It checks the
// shape only.
func splitNotation(s string) (notation, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return notation{}, errNotation.With("empty; want OBJECT#RELATION@SUBJECT")
	case len(s) > maxNotation:
		return notation{}, errNotation.With("longer than %d bytes", maxNotation)
	case strings.ContainsAny(s, " \t\r\n"):
		return notation{}, errNotation.With("%q contains white space", clip(s))
	}
	var n notation
	obj, rest, ok := strings.Cut(s, "#")
	if !ok {
		return notation{}, errNotation.With("%q has no #RELATION; want OBJECT#RELATION@SUBJECT", clip(s))
	}
	rels, subj, hasSubj := strings.Cut(rest, "@")
	var err error
	if n.objType, n.objID, err = splitRef("object", obj, s); err != nil {
		return notation{}, err
	}
	if rels == "" {
		return notation{}, errNotation.With("%q has an empty relation", clip(s))
	}
	n.relations = strings.Split(rels, ",")
	for _, r := range n.relations {
		if r == "" {
			return notation{}, errNotation.With("%q has an empty relation in its relation list", clip(s))
		}
	}
	if hasSubj {
		if strings.Contains(subj, "#") {
			return notation{}, errNotation.With("%q: subject usersets (TYPE:ID#RELATION) are not supported; the subject is TYPE:ID", clip(s))
		}
		if strings.Contains(subj, "@") {
			return notation{}, errNotation.With("%q has more than one @", clip(s))
		}
		if n.subjType, n.subjID, err = splitRef("subject", subj, s); err != nil {
			return notation{}, err
		}
	}
	return n, nil
}

func splitRef(role, ref, whole string) (typ, id string, err error) {
	typ, id, ok := strings.Cut(ref, ":")
	switch {
	case !ok:
		return "", "", errNotation.With("%q: %s %q is not TYPE:ID", clip(whole), role, clip(ref))
	case typ == "":
		return "", "", errNotation.With("%q: %s %q has an empty type", clip(whole), role, clip(ref))
	case id == "":
		return "", "", errNotation.With("%q: %s %q has an empty id", clip(whole), role, clip(ref))
	case strings.Contains(id, ":"):
		return "", "", errNotation.With("%q: %s id %q contains a colon", clip(whole), role, clip(id))
	}
	return typ, id, nil
}

// parsed is a notation whose parts are valid.
type parsed struct {
	object    tuples.Ref
	relations []string
	subject   tuples.Ref
}

// parseTuple parses OBJECT#RELATION@SUBJECT with one relation.
func parseTuple(s string, nm *names) (tuples.Key, error) {
	p, err := parseNotation(s, nm, true)
	if err != nil {
		return tuples.Key{}, err
	}
	if len(p.relations) != 1 {
		return tuples.Key{}, errNotation.With("%q: a tuple has exactly one relation", clip(s))
	}
	return tuples.Key{Subject: p.subject, Relation: p.relations[0], Object: p.object}, nil
}

// parseObjectRelation parses OBJECT#RELATION (expand's argument).
func parseObjectRelation(s string) (tuples.Ref, string, error) {
	p, err := parseNotation(s, nil, false)
	if err != nil {
		return tuples.Ref{}, "", err
	}
	if len(p.relations) != 1 {
		return tuples.Ref{}, "", errNotation.With("%q: want exactly one relation", clip(s))
	}
	return p.object, p.relations[0], nil
}

// parseNotation splits and validates s. withSubject says whether @SUBJECT is
// required (true) or forbidden (false). nm resolves names; nil allows ids only.
func parseNotation(s string, nm *names, withSubject bool) (parsed, error) {
	n, err := splitNotation(s)
	if err != nil {
		return parsed{}, err
	}
	switch {
	case withSubject && n.subjType == "":
		return parsed{}, errNotation.With("%q has no @SUBJECT; want OBJECT#RELATION@SUBJECT", clip(s))
	case !withSubject && n.subjType != "":
		return parsed{}, errNotation.With("%q: want OBJECT#RELATION, without a subject", clip(s))
	}
	var p parsed
	if p.object, err = nm.object(n.objType, n.objID); err != nil {
		return parsed{}, err
	}
	for _, r := range n.relations {
		if err := tuples.CheckRelation(r); err != nil {
			return parsed{}, err
		}
	}
	p.relations = n.relations
	if withSubject {
		if p.subject, err = nm.subject(n.subjType, n.subjID); err != nil {
			return parsed{}, err
		}
	}
	return p, nil
}

// request is the check.Request of a parsed check notation.
func request(p parsed) check.Request {
	req := check.Request{Subject: p.subject, Object: p.object}
	if len(p.relations) == 1 {
		req.Relation = p.relations[0]
	} else {
		req.Relations = p.relations
	}
	return req
}

// formatCheck writes a check (or, with one relation, a tuple) in notation,
// showing names where nm knows them.
func formatCheck(object tuples.Ref, relations []string, subject tuples.Ref, nm *names) string {
	return nm.format(object) + "#" + strings.Join(relations, ",") + "@" + nm.format(subject)
}

// clip bounds echoed input in messages.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
