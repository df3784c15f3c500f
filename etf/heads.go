package etf

import (
	"encoding/binary"
	"math"
)

// Heads of container terms, for a caller that encodes a known shape straight into a buffer (a request frame,
// say) without building the tuple or list first: each appends the bytes that come before the elements, which
// the caller then appends with AppendTerm.

// AppendVersion appends the version byte that starts an encoded term.
func AppendVersion(dst []byte) []byte { return append(dst, versionByte) }

// AppendTupleHead appends the head of a tuple of arity elements.
func AppendTupleHead(dst []byte, arity int) []byte {
	if arity <= math.MaxUint8 {
		return append(dst, tagSmallTuple, byte(arity))
	}
	return binary.BigEndian.AppendUint32(append(dst, tagLargeTuple), uint32(arity))
}

// AppendListHead appends the head of a proper list of n elements; after the elements, AppendNil ends it. A
// list of no elements is AppendNil alone.
func AppendListHead(dst []byte, n int) []byte {
	return binary.BigEndian.AppendUint32(append(dst, tagList), uint32(n))
}

// AppendNil appends [], which also ends a list begun with AppendListHead.
func AppendNil(dst []byte) []byte { return append(dst, tagNil) }

// AppendMapHead appends the head of a map of n pairs; each key and then its value follow.
func AppendMapHead(dst []byte, n int) []byte {
	return binary.BigEndian.AppendUint32(append(dst, tagMap), uint32(n))
}
