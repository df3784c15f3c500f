// Package etf encodes and decodes the Erlang External Term Format, the
// format of term_to_binary/1 and of messages between distributed nodes.
//
// Decode, DecodePrefix and DecodeTerm turn bytes into a Term; Encode,
// AppendEncode and AppendTerm turn a Term back into bytes; Decoder and
// Encoder do the same over a stream. Equal compares terms as Erlang's =:=
// does, and Compare orders them in Erlang's term order.
//
// Decoding yields, and encoding accepts, these Go types:
//
//	Erlang term                  wire tags                               Go type decoded        Go types encoded
//	integer                      SMALL_INTEGER, INTEGER, SMALL/LARGE_BIG int64 if it fits,      int64, int, int8..int32, uint..uint64,
//	                                                                     else *big.Int          *big.Int
//	float                        NEW_FLOAT, FLOAT (decode only)          float64                float64, float32 (finite only)
//	true, false                  any atom tag                            bool                   bool
//	undefined                    any atom tag                            Atom("undefined")      Atom("undefined"), nil
//	other atom                   ATOM, SMALL_ATOM (Latin-1),             Atom (UTF-8)           Atom (≤255 characters; written as
//	                             ATOM_UTF8, SMALL_ATOM_UTF8                                     SMALL_ATOM_UTF8 or ATOM_UTF8)
//	binary                       BINARY, BIT_BINARY with 8 bits          []byte                 []byte, string, BitString{Bits: 8}
//	bitstring                    BIT_BINARY                              BitString              BitString
//	tuple                        SMALL_TUPLE, LARGE_TUPLE                Tuple                  Tuple
//	[]                           NIL, STRING of length 0                 List{}                 List{}, []Term{}, Charlist(""), nil List
//	list of bytes ("abc")        STRING                                  Charlist               Charlist; a List of int64 0..255
//	proper list                  LIST ending in NIL                      List                   List, []Term, Charlist
//	improper list [a|b]          LIST not ending in NIL                  ImproperList           ImproperList
//	map                          MAP                                     Map (wire order)       Map, map[string]Term (binary keys)
//	pid                          NEW_PID, PID                            Pid                    Pid (as NEW_PID)
//	port                         V4_PORT, NEW_PORT, PORT                 Port                   Port (as NEW_PORT)
//	reference                    NEWER_REFERENCE, NEW_REFERENCE,         Ref                    Ref, Alias (as NEWER_REFERENCE)
//	                             REFERENCE
//	fun M:F/A                    EXPORT                                  Export                 Export
//	local fun                    NEW_FUN                                 Fun (opaque)           Fun, byte for byte as decoded
//	any term                     COMPRESSED (zlib), at the top only      as above               with EncodeOptions.CompressThreshold
//	(refused)                    FUN (old), ATOM_CACHE_REF, LOCAL_EXT    a *DecodeError         -
//	anything else                -                                       -                      what ToTerm converts it to
//
// Integers never wrap: one that does not fit an int64 is a *big.Int, and a
// big integer on the wire that fits is an int64. An atom named true or false
// decodes as a Go bool, and Equal treats the bool and the atom as one term.
// A Charlist holds its codes as UTF-8 text and is a list, never a binary;
// Equal treats it as the List of its codes. Encoding writes a List of small
// integers as STRING_EXT, as the runtime does, so decoding and re-encoding the
// output of term_to_binary (OTP 26 or later) gives the same bytes.
//
// Pid.ID holds NEW_PID_EXT's ID in its low 32 bits and its Serial in the high
// 32. A Ref is written with three ID words, or four or five when the later
// words are not zero; OTP 25 makes references of three words. A V4_PORT_EXT
// whose ID does not fit Port's 32-bit ID is refused.
//
// Decoding checks every length against the bytes left before allocating,
// bounds nesting by DecodeOptions.MaxDepth and a compressed term's size by
// DecodeOptions.MaxSize, refuses maps with duplicate keys, and never panics.
// Encoding refuses a Map with duplicate keys, which the peer would refuse too.
package etf
