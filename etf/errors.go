package etf

import (
	"errors"
	"reflect"
	"strconv"
)

// Tags of the external term format, named after the spec (erl_ext_dist).
const (
	versionByte       = 131
	tagNewFloat       = 70
	tagBitBinary      = 77
	tagCompressed     = 80
	tagAtomCacheRef   = 82
	tagNewPid         = 88
	tagNewPort        = 89
	tagNewerReference = 90
	tagSmallInteger   = 97
	tagInteger        = 98
	tagFloat          = 99
	tagAtom           = 100
	tagReference      = 101
	tagPort           = 102
	tagPid            = 103
	tagSmallTuple     = 104
	tagLargeTuple     = 105
	tagNil            = 106
	tagString         = 107
	tagList           = 108
	tagBinary         = 109
	tagSmallBig       = 110
	tagLargeBig       = 111
	tagNewFun         = 112
	tagExport         = 113
	tagNewReference   = 114
	tagSmallAtom      = 115
	tagMap            = 116
	tagFun            = 117
	tagAtomUTF8       = 118
	tagSmallAtomUTF8  = 119
	tagV4Port         = 120
	tagLocal          = 121
)

// Sizes of fixed wire fields.
const (
	floatStringLen = 31 // FLOAT_EXT's "%.20e" text, NUL padded
	funUniqLen     = 16 // NEW_FUN_EXT's MD5
	maxRefWords    = 5  // NEWER_REFERENCE_EXT's largest Len
	maxAtomChars   = 255
	maxStringExt   = 65535 // STRING_EXT's largest Length
)

// tagName returns the spec name of tag, or "" if tag is not one.
func tagName(tag byte) string {
	switch tag {
	case tagNewFloat:
		return "NEW_FLOAT_EXT"
	case tagBitBinary:
		return "BIT_BINARY_EXT"
	case tagCompressed:
		return "COMPRESSED"
	case tagAtomCacheRef:
		return "ATOM_CACHE_REF"
	case tagNewPid:
		return "NEW_PID_EXT"
	case tagNewPort:
		return "NEW_PORT_EXT"
	case tagNewerReference:
		return "NEWER_REFERENCE_EXT"
	case tagSmallInteger:
		return "SMALL_INTEGER_EXT"
	case tagInteger:
		return "INTEGER_EXT"
	case tagFloat:
		return "FLOAT_EXT"
	case tagAtom:
		return "ATOM_EXT"
	case tagReference:
		return "REFERENCE_EXT"
	case tagPort:
		return "PORT_EXT"
	case tagPid:
		return "PID_EXT"
	case tagSmallTuple:
		return "SMALL_TUPLE_EXT"
	case tagLargeTuple:
		return "LARGE_TUPLE_EXT"
	case tagNil:
		return "NIL_EXT"
	case tagString:
		return "STRING_EXT"
	case tagList:
		return "LIST_EXT"
	case tagBinary:
		return "BINARY_EXT"
	case tagSmallBig:
		return "SMALL_BIG_EXT"
	case tagLargeBig:
		return "LARGE_BIG_EXT"
	case tagNewFun:
		return "NEW_FUN_EXT"
	case tagExport:
		return "EXPORT_EXT"
	case tagNewReference:
		return "NEW_REFERENCE_EXT"
	case tagSmallAtom:
		return "SMALL_ATOM_EXT"
	case tagMap:
		return "MAP_EXT"
	case tagFun:
		return "FUN_EXT"
	case tagAtomUTF8:
		return "ATOM_UTF8_EXT"
	case tagSmallAtomUTF8:
		return "SMALL_ATOM_UTF8_EXT"
	case tagV4Port:
		return "V4_PORT_EXT"
	case tagLocal:
		return "LOCAL_EXT"
	}
	return ""
}

// ErrTruncated is matched by errors.Is for a DecodeError caused by input
// that ends inside a term; more bytes could complete it.
var ErrTruncated = errors.New("etf: truncated term")

// DecodeError describes input that is not a valid external term.
// Offset counts bytes from the start of the input given to the decode call;
// for a compressed term it counts bytes in the uncompressed body instead.
type DecodeError struct {
	Tag    byte   // tag of the term being decoded; 0 for the version byte
	Offset int    // offset of that term's tag byte
	Msg    string // what is wrong, e.g. "truncated"
	need   int    // for truncation: the input length that could complete the term
}

// Error returns a message such as "etf: truncated SMALL_TUPLE_EXT at offset 7".
func (e *DecodeError) Error() string {
	s := "etf: " + e.Msg
	if name := tagName(e.Tag); name != "" {
		s += " " + name
	}
	return s + " at offset " + strconv.Itoa(e.Offset)
}

// Unwrap returns ErrTruncated when the input ended inside a term, else nil.
func (e *DecodeError) Unwrap() error {
	if e.need > 0 {
		return ErrTruncated
	}
	return nil
}

// EncodeError describes a value that cannot be encoded as a term.
type EncodeError struct {
	Type reflect.Type // Go type of the value; nil when only the value is wrong
	Msg  string       // what is wrong with it
	Err  error        // underlying error, e.g. from ToTerm; may be nil
}

// Error returns a message such as "etf: cannot encode chan int: unsupported Go type".
func (e *EncodeError) Error() string {
	if e.Type == nil {
		return "etf: cannot encode: " + e.Msg
	}
	return "etf: cannot encode " + e.Type.String() + ": " + e.Msg
}

// Unwrap returns the underlying error, if any.
func (e *EncodeError) Unwrap() error { return e.Err }
