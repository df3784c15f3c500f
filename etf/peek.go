package etf

import "encoding/binary"

// Byte peeks read the heads of encoded terms without decoding them, for hot paths that decide from a few bytes
// whether a term needs decoding at all, and for error paths that read what they can from a term whose rest
// does not decode. Each takes the offset of a term in b and returns the offset after what it read; ok is false
// when b holds something else there or is too short. None allocates or keeps b.

// PeekTuple reads the head of the tuple that the external term b (version byte included) holds: its arity
// and the offset of its first element.
func PeekTuple(b []byte) (arity, next int, ok bool) {
	if len(b) < 3 || b[0] != versionByte {
		return 0, 0, false
	}
	switch b[1] {
	case tagSmallTuple:
		return int(b[2]), 3, true
	case tagLargeTuple:
		if len(b) < 6 {
			return 0, 0, false
		}
		return int(binary.BigEndian.Uint32(b[2:])), 6, true
	}
	return 0, 0, false
}

// PeekSmallInt reads the SMALL_INTEGER_EXT at b[i].
func PeekSmallInt(b []byte, i int) (v, next int, ok bool) {
	if i < 0 || i+2 > len(b) || b[i] != tagSmallInteger {
		return 0, 0, false
	}
	return int(b[i+1]), i + 2, true
}

// PeekAtom reads the UTF-8 atom (SMALL_ATOM_UTF8_EXT or ATOM_UTF8_EXT) at b[i]; name shares b's memory.
func PeekAtom(b []byte, i int) (name []byte, next int, ok bool) {
	if i < 0 || i+2 > len(b) {
		return nil, 0, false
	}
	var n int
	switch b[i] {
	case tagSmallAtomUTF8:
		n, i = int(b[i+1]), i+2
	case tagAtomUTF8:
		if i+3 > len(b) {
			return nil, 0, false
		}
		n, i = int(binary.BigEndian.Uint16(b[i+1:])), i+3
	default:
		return nil, 0, false
	}
	if i+n > len(b) {
		return nil, 0, false
	}
	return b[i : i+n], i + n, true
}

// newPidTail is the size of NEW_PID_EXT's ID, Serial and Creation after the node atom.
const newPidTail = 12

// SkipPid returns the offset after the NEW_PID_EXT at b[i].
func SkipPid(b []byte, i int) (next int, ok bool) {
	if i < 0 || i+1 > len(b) || b[i] != tagNewPid {
		return 0, false
	}
	_, next, ok = PeekAtom(b, i+1)
	if !ok || next+newPidTail > len(b) {
		return 0, false
	}
	return next + newPidTail, true
}

// DecodeTupleHead decodes the first n elements of the tuple of the given arity that the external term b
// (version byte included) holds, even when the elements after them do not decode.
func DecodeTupleHead(b []byte, arity, n int) ([]Term, bool) {
	a, i, ok := PeekTuple(b)
	if !ok || a != arity || n > arity {
		return nil, false
	}
	elems := make([]Term, n)
	for k := range elems {
		t, m, err := DecodeTerm(b[i:])
		if err != nil {
			return nil, false
		}
		elems[k], i = t, i+m
	}
	return elems, true
}
