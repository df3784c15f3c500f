package etf

import (
	ergoetf "github.com/ergo-services/ergo/etf"
)

// Term is any Erlang term as a Go value; see the package doc for the mapping.
// It is ergo's empty interface type, so that []Term converts to List and Tuple.
type Term = ergoetf.Term

// Atom is an Erlang atom; the same type as ergo's, so ergo processes accept it.
type Atom = ergoetf.Atom

// Tuple is an Erlang tuple; the same type as ergo's.
type Tuple = ergoetf.Tuple

// List is a proper Erlang list; the same type as ergo's.
type List = ergoetf.List

// Pid is an Erlang process identifier; the same type as ergo's. ID holds the
// NEW_PID_EXT ID in its low 32 bits and the Serial in its high 32 bits.
type Pid = ergoetf.Pid

// Ref is an Erlang reference; the same type as ergo's. Words of ID beyond the
// third that are zero are not written.
type Ref = ergoetf.Ref

// Alias is a process alias (a reference used as a send target); the same type as ergo's.
type Alias = ergoetf.Alias

// Port is an Erlang port identifier; the same type as ergo's.
type Port = ergoetf.Port

// Pair is one key/value association of a Map.
type Pair struct {
	Key   Term
	Value Term
}

// Map is an Erlang map: key/value pairs whose keys may be any term and are
// distinct under Erlang's =:= (so 1 and 1.0 are different keys, and a Go string
// and a []byte with the same bytes are the same binary key). Decoding keeps the
// wire order; encoding writes the pairs in slice order.
type Map []Pair

// BitString is a bitstring whose length is not a multiple of 8: all of Bytes
// but the last are whole, and only the high Bits (1..8) bits of the last byte
// belong to it.
type BitString struct {
	Bytes []byte
	Bits  uint8
}

// ImproperList is a list whose tail is not []: [Elems... | Tail].
type ImproperList struct {
	Elems []Term
	Tail  Term
}

// Charlist is an Erlang string (a list of character codes) held as UTF-8 text;
// it is a list, never a binary.
type Charlist string

// Export is an external fun, fun Module:Function/Arity.
type Export struct {
	Module   Atom
	Function Atom
	Arity    uint8
}
