package etf

import "errors"

// Fun is a local fun (NEW_FUN_EXT) received from a peer. It is opaque: it
// keeps its exact encoding, which Encode writes back unchanged, so a fun can
// be passed back to the node that made it. Only Decode makes a usable Fun.
type Fun struct {
	raw    []byte
	module Atom
	arity  uint8
}

// Module returns the module the fun was defined in.
func (f Fun) Module() Atom { return f.module }

// Arity returns the number of arguments the fun takes.
func (f Fun) Arity() int { return int(f.arity) }

// NEW_FUN_EXT's fixed fields after the tag: Size, Arity, Uniq, Index, NumFree.
const funFixedLen = 4 + 1 + funUniqLen + 4 + 4

// fun decodes the NEW_FUN_EXT at i, checking every field against its Size.
func (d *decodeState) fun(i, left int) (Term, int, error) {
	b := d.b
	if i+5 > len(b) {
		return nil, i, d.short(tagNewFun, i, i+5)
	}
	size := d.count(i + 1)
	if size > len(b)-i-1 {
		return nil, i, d.short(tagNewFun, i, i+1+size)
	}
	if size < funFixedLen {
		return nil, i, d.fail(tagNewFun, i, "bad Size in")
	}
	if left <= 0 {
		return nil, i, d.fail(tagNewFun, i, "nesting deeper than MaxDepth at")
	}
	end := i + 1 + size
	inner := *d
	inner.b = b[:end]
	mod, j, err := inner.funFields(i+1+funFixedLen, d.count(i+1+funFixedLen-4), left)
	d.terms, d.pairs = inner.terms, inner.pairs
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) && de.need > 0 {
			return nil, i, d.fail(tagNewFun, i, "fields overrun Size in")
		}
		return nil, i, err
	}
	if j != end {
		return nil, i, d.fail(tagNewFun, i, "fields underrun Size in")
	}
	return Fun{raw: d.bytes(i, end-i), module: mod, arity: b[i+5]}, end, nil
}

// funFields reads Module, OldIndex, OldUniq, Pid and the free variables.
func (d *decodeState) funFields(j, numFree, left int) (Atom, int, error) {
	mod, j, err := d.atom(j)
	if err != nil {
		return "", j, err
	}
	for k := 0; k < 2; k++ {
		if j < len(d.b) && d.b[j] != tagSmallInteger && d.b[j] != tagInteger {
			return "", j, d.fail(tagNewFun, j, "OldIndex or OldUniq not an integer in")
		}
		if _, j, err = d.value(j, left); err != nil {
			return "", j, err
		}
	}
	if j < len(d.b) && d.b[j] != tagPid && d.b[j] != tagNewPid {
		return "", j, d.fail(tagNewFun, j, "Pid not a pid in")
	}
	if _, j, err = d.value(j, left); err != nil {
		return "", j, err
	}
	if numFree > len(d.b)-j {
		return "", j, d.fail(tagNewFun, j, "NumFree overruns Size in")
	}
	for k := 0; k < numFree; k++ {
		if _, j, err = d.value(j, left-1); err != nil {
			return "", j, err
		}
	}
	return mod, j, nil
}

// appendFun writes f's encoding, or fails for a Fun that Decode did not make.
func appendFun(b []byte, f Fun) ([]byte, error) {
	if len(f.raw) == 0 {
		return b, &EncodeError{Msg: "zero Fun (only Decode makes a Fun)"}
	}
	return append(b, f.raw...), nil
}
