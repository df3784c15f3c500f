package etf

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Defaults used for the zero fields of DecodeOptions.
const (
	DefaultMaxDepth = 10000    // nesting levels of tuples, lists, maps and fun environments
	DefaultMaxSize  = 64 << 20 // bytes of a compressed term's body, or of one term read by a Decoder
)

// DecodeOptions tunes decoding. The zero value is ready to use.
type DecodeOptions struct {
	// MaxDepth bounds how deeply terms may nest; 0 means DefaultMaxDepth.
	MaxDepth int
	// MaxSize bounds the declared uncompressed size of a compressed term
	// and, for a Decoder, the bytes it buffers for one term; 0 means DefaultMaxSize.
	MaxSize int
	// AliasBinaries lets decoded []byte values, BitString bytes and Funs share
	// the input slice instead of copying it; the caller hands the input over
	// and must not modify it afterwards. A Decoder ignores it.
	AliasBinaries bool
}

// Decode decodes b, which must hold exactly one external term starting with
// the version byte 131. See the package doc for the Go types it returns.
func Decode(b []byte) (Term, error) { return DecodeOptions{}.Decode(b) }

// DecodePrefix decodes the external term (version byte 131 included) at the
// start of b and returns it with the number of bytes it used; bytes after it are left alone.
func DecodePrefix(b []byte) (Term, int, error) { return DecodeOptions{}.DecodePrefix(b) }

// DecodeTerm decodes one term without a version byte from the start of b, as
// the distribution protocol sends them after its header, and returns it with
// the number of bytes it used.
func DecodeTerm(b []byte) (Term, int, error) { return DecodeOptions{}.DecodeTerm(b) }

// Decode is like the package-level Decode, with options o.
func (o DecodeOptions) Decode(b []byte) (Term, error) {
	t, n, err := o.DecodePrefix(b)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, &DecodeError{Offset: n, Msg: strconv.Itoa(len(b)-n) + " bytes after the term"}
	}
	return t, nil
}

// DecodePrefix is like the package-level DecodePrefix, with options o.
func (o DecodeOptions) DecodePrefix(b []byte) (Term, int, error) {
	if len(b) == 0 {
		return nil, 0, &DecodeError{Msg: "missing version byte", need: 1}
	}
	if b[0] != versionByte {
		return nil, 0, &DecodeError{Msg: "version byte " + strconv.Itoa(int(b[0])) + ", want 131"}
	}
	if t, n := loneScalar(b, 1, o.AliasBinaries); t != nil {
		return t, n, nil
	}
	var d decodeState
	d.init(o, b)
	return d.top(1)
}

// DecodeTerm is like the package-level DecodeTerm, with options o.
func (o DecodeOptions) DecodeTerm(b []byte) (Term, int, error) {
	if t, n := loneScalar(b, 0, o.AliasBinaries); t != nil {
		return t, n, nil
	}
	var d decodeState
	d.init(o, b)
	return d.top(0)
}

// loneScalar decodes the term at i when it is an integer, a finite
// NEW_FLOAT_EXT, an interned atom, a binary, or a NEW_PID_EXT or
// NEWER_REFERENCE_EXT whose node is an interned atom, whole in b (binaries
// aliasing it when alias is set), and returns it with
// the offset after it; else it returns nil and leaves the term to a
// decodeState. A term that is one such scalar is common (a reply's ok, a
// counter, a pid) and then costs no decodeState to set up, as boxing it
// takes a single value, not a slab.
func loneScalar(b []byte, i int, alias bool) (Term, int) {
	if i+1 >= len(b) {
		return nil, 0
	}
	switch b[i] {
	case tagSmallInteger:
		return smallInts[b[i+1]], i + 2
	case tagInteger:
		if i+5 <= len(b) {
			return int64(int32(binary.BigEndian.Uint32(b[i+1:]))), i + 5
		}
	case tagNewFloat:
		if i+9 <= len(b) {
			f := math.Float64frombits(binary.BigEndian.Uint64(b[i+1:]))
			if !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f, i + 9
			}
		}
	case tagSmallAtomUTF8, tagAtomUTF8, tagSmallAtom, tagAtom:
		if e, j := internedAtom(b, i); e != nil {
			return e.term, j
		}
	case tagSmallBig:
		if n, j := int(b[i+1]), i+3; j <= len(b) && n <= len(b)-j && b[j-1] <= 1 {
			return bigFromLittle(b[j:j+n], b[j-1] == 1), j + n
		}
	case tagLargeBig:
		if j := i + 6; j <= len(b) {
			if n := binary.BigEndian.Uint32(b[i+1:]); uint64(n) <= uint64(len(b)-j) && b[j-1] <= 1 {
				return bigFromLittle(b[j:j+int(n)], b[j-1] == 1), j + int(n)
			}
		}
	case tagNewPid:
		if e, j := internedAtom(b, i+1); e != nil && j+12 <= len(b) {
			be := binary.BigEndian
			return Pid{Node: e.atom, ID: uint64(be.Uint32(b[j+4:]))<<32 | uint64(be.Uint32(b[j:])), Creation: be.Uint32(b[j+8:])}, j + 12
		}
	case tagNewerReference:
		return loneRef(b, i)
	case tagBinary:
		if j := i + 5; j <= len(b) {
			if n := binary.BigEndian.Uint32(b[i+1:]); uint64(n) <= uint64(len(b)-j) {
				return loneBytes(b[j:j+int(n)], alias), j + int(n)
			}
		}
	}
	return nil, 0
}

// loneBytes is loneScalar for a binary: a copy of v (or v itself when alias
// is set) with its capacity cut to its length, as decodeState's binary gives.
func loneBytes(v []byte, alias bool) Term {
	switch {
	case len(v) == 0:
		return emptyBinary
	case alias:
		return v[:len(v):len(v)]
	case len(v) <= loneBinaryMax:
		return boxLoneBinary(v)
	}
	c := make([]byte, len(v))
	copy(c, v)
	return c
}

// loneRef is loneScalar for a NEWER_REFERENCE_EXT.
func loneRef(b []byte, i int) (Term, int) {
	if i+3 > len(b) {
		return nil, 0
	}
	words := int(binary.BigEndian.Uint16(b[i+1:]))
	e, j := internedAtom(b, i+3)
	if words < 1 || words > maxRefWords || e == nil || 4+4*words > len(b)-j {
		return nil, 0
	}
	r := Ref{Node: e.atom, Creation: binary.BigEndian.Uint32(b[j:])}
	j += 4
	for k := range words {
		r.ID[k] = binary.BigEndian.Uint32(b[j:])
		j += 4
	}
	return r, j
}

// init readies a zero d to decode b with options o. It works in place, as
// a decodeState is large enough for a copy to cost.
func (d *decodeState) init(o DecodeOptions, b []byte) {
	d.b, d.maxDepth, d.maxSize, d.alias = b, o.MaxDepth, o.MaxSize, o.AliasBinaries
	if d.maxDepth <= 0 {
		d.maxDepth = DefaultMaxDepth
	}
	if d.maxSize <= 0 {
		d.maxSize = DefaultMaxSize
	}
}

// decodeState is one pass over a byte slice; offsets are passed and returned
// explicitly so the hot path keeps them in registers.
type decodeState struct {
	b        []byte
	maxDepth int
	maxSize  int
	alias    bool
	terms    []Term // unused part of a chunk that small tuples and lists are cut from
	pairs    []Pair // the same for small maps
	termNext int    // size of the next chunk of terms; 0 means none yet
	pairNext int    // the same for pairs
	binChunk []byte // unused part of a chunk that short binaries are copied to
	binNext  int    // size of the next binary chunk; 0 means binChunkMin
	ints     slab[int64]
	floats   slab[float64]
	tuples   slab[Tuple]
	lists    slab[List]
	maps     slab[Map]
	bins     slab[[]byte]
	pids     slab[Pid]
	refs     slab[Ref]
}

// Chunk sizes for small containers: cutting them from one allocation saves
// an allocation each, and a container kept alone keeps at most a chunk alive.
// The first container of a decode gets exactly its elements, since many
// terms hold just one; the chunks after it start small and double.
const (
	termChunkMin = 8
	termChunk    = 64
	pairChunkMin = 4
	pairChunk    = 32
)

// newTerms returns n zeroed elements for a tuple or list whose elements
// start at j. A new chunk holds those n and no more terms than the input
// left could hold if each took two bytes, as every term but [] does: unused
// terms cost more (the runtime's cost of an allocation grows with its size)
// than the rare extra chunk when they were too few.
func (d *decodeState) newTerms(n, j int) []Term {
	if n == 0 {
		return []Term{}
	}
	if n > termChunk/4 {
		return make([]Term, n)
	}
	if n > len(d.terms) {
		d.termChunk(n, j)
	}
	t := d.terms[:n:n]
	d.terms = d.terms[n:]
	return t
}

// termChunk allocates the next chunk of terms, with room for at least n;
// it is the rare path of newTerms, kept out of the containers' frames.
//
//go:noinline
func (d *decodeState) termChunk(n, j int) {
	if d.termNext == 0 {
		d.termNext = termChunkMin
		d.terms = make([]Term, n)
		return
	}
	c := d.termNext
	d.termNext = min(2*c, termChunk)
	d.terms = make([]Term, max(n, min(c, (len(d.b)-j)/2)))
}

// newPairs returns n (at least one) zeroed pairs for a map whose pairs
// start at j; a pair takes at least two bytes.
func (d *decodeState) newPairs(n, j int) Map {
	if n > pairChunk/4 {
		return make(Map, n)
	}
	if n > len(d.pairs) {
		d.pairChunk(n, j)
	}
	m := d.pairs[:n:n]
	d.pairs = d.pairs[n:]
	return m
}

// pairChunk allocates the next chunk of pairs, with room for at least n;
// it is the rare path of newPairs, kept out of mapTerm's frame.
//
//go:noinline
func (d *decodeState) pairChunk(n, j int) {
	if d.pairNext == 0 {
		d.pairNext = pairChunkMin
		d.pairs = make([]Pair, n)
		return
	}
	c := d.pairNext
	d.pairNext = min(2*c, pairChunk)
	d.pairs = make([]Pair, max(n, min(c, (len(d.b)-j)/2)))
}

func (d *decodeState) fail(tag byte, off int, msg string) error {
	return &DecodeError{Tag: tag, Offset: off, Msg: msg}
}

// within passes a truncation up through the enclosing term with tag at off:
// it adds rest, the fewest bytes the enclosing term still needs after the
// part that was cut, to the length needed (so that a Decoder reading a big
// term retries a few times, not once per element), and names the enclosing
// term when the input ended right before a tag.
func within(err error, tag byte, off, rest int) error {
	if de, ok := err.(*DecodeError); ok && de.need > 0 {
		if de.Tag == 0 {
			de.Tag, de.Offset = tag, off
		}
		de.need += rest
	}
	return err
}

// short reports that the term with tag at off needs len(d.b) >= need.
func (d *decodeState) short(tag byte, off, need int) error {
	return &DecodeError{Tag: tag, Offset: off, Msg: "truncated", need: need}
}

// top decodes the term at i, which may be a compressed one.
func (d *decodeState) top(i int) (Term, int, error) {
	if i < len(d.b) && d.b[i] == tagCompressed {
		return d.compressed(i)
	}
	return d.value(i, d.maxDepth)
}

// u16 and u32 read big-endian fields the caller has bounds-checked.
func (d *decodeState) u16(i int) int    { return int(binary.BigEndian.Uint16(d.b[i:])) }
func (d *decodeState) u32(i int) uint32 { return binary.BigEndian.Uint32(d.b[i:]) }

// count reads a 32-bit length at i as an int; on 32-bit platforms a length
// above MaxInt becomes MaxInt, which no input can hold either.
func (d *decodeState) count(i int) int {
	n := uint64(d.u32(i))
	if n > math.MaxInt {
		return math.MaxInt
	}
	return int(n)
}

// sized reads the length prefix of the term at i, one byte when small and four
// otherwise, and the extra header bytes after it. It returns the length n and
// the offset j past the header, having checked that at least n bytes follow
// (every element, digit or byte takes at least one).
func (d *decodeState) sized(i int, small bool, extra int) (n, j int, err error) {
	b := d.b
	j = i + 5 + extra
	if small {
		j = i + 2 + extra
	}
	if j > len(b) {
		return 0, i, d.short(b[i], i, j)
	}
	if small {
		n = int(b[i+1])
	} else {
		n = d.count(i + 1)
	}
	if n > len(b)-j {
		return 0, i, d.short(b[i], i, j+n)
	}
	return n, j, nil
}

// smallInts holds 0..255 boxed, as the runtime keeps them too; indexing it
// saves a call to the runtime per small integer.
var smallInts = func() (t [256]Term) {
	for k := range t {
		t[k] = int64(k)
	}
	return t
}()

// emptyList is [] boxed once; an empty slice cannot be appended to in place,
// so sharing it is safe.
var emptyList Term = List{}

// emptyTuple and emptyMap are {} and #{} boxed once, shared as emptyList is.
var (
	emptyTuple Term = Tuple{}
	emptyMap   Term = Map{}
)

// value decodes the term whose tag is at i; left is the nesting still allowed.
// It decodes integers and interned atoms itself, passes containers on, and
// leaves the rest (and every error) to scalar. Every level of a nested
// term holds a frame of value and one of its container's function, so value
// does little, to keep its frame small.
func (d *decodeState) value(i, left int) (Term, int, error) {
	b := d.b
	if i+1 < len(b) {
		switch b[i] {
		case tagSmallInteger:
			return smallInts[b[i+1]], i + 2, nil
		case tagInteger:
			if i+5 <= len(b) {
				v := int64(int32(d.u32(i + 1)))
				if uint64(v) <= math.MaxUint8 {
					return smallInts[v], i + 5, nil
				}
				return d.ints.box(v, int64Type, (len(b)-i)/5), i + 5, nil
			}
		case tagSmallAtomUTF8, tagAtomUTF8, tagSmallAtom, tagAtom:
			if e, j := internedAtom(d.b, i); e != nil {
				return e.term, j, nil
			}
		case tagSmallTuple, tagLargeTuple:
			return d.tuple(i, left)
		case tagList:
			return d.list(i, left)
		case tagMap:
			return d.mapTerm(i, left)
		}
	}
	return d.scalar(i, left)
}

// tagAt returns the tag at i, or 0 (no tag) past the end of b. Tuples,
// lists and maps switch on it to decode a container element without a
// frame of value between the two, which keeps a deeply nested term's stack
// small; they do that in their own loops, since a function doing it would
// itself be such a frame.
func tagAt(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

// scalar decodes the term whose tag is at i when value does not: any term
// but a container or an integer, and any error.
func (d *decodeState) scalar(i, left int) (Term, int, error) {
	b := d.b
	if i >= len(b) {
		return nil, i, d.short(0, i, i+1)
	}
	tag := b[i]
	switch tag {
	case tagSmallInteger: // value decodes a whole one
		return nil, i, d.short(tag, i, i+2)
	case tagInteger: // the same
		return nil, i, d.short(tag, i, i+5)
	case tagNewFloat:
		if i+9 > len(b) {
			return nil, i, d.short(tag, i, i+9)
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(b[i+1:]))
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, i, d.fail(tag, i, "non-finite")
		}
		return d.floats.box(f, float64Type, (len(b)-i)/9), i + 9, nil
	case tagFloat:
		return d.oldFloat(i)
	case tagAtom, tagSmallAtom, tagAtomUTF8, tagSmallAtomUTF8:
		if e, j := internedAtom(d.b, i); e != nil {
			return e.term, j, nil
		}
		name, _, j, err := d.atomBytes(i)
		if err != nil {
			return nil, i, err
		}
		_, t, err := d.atomOf(name, tag, i)
		return t, j, err
	case tagSmallTuple, tagLargeTuple:
		return d.tuple(i, left)
	case tagNil:
		return emptyList, i + 1, nil
	case tagString:
		return d.str(i)
	case tagList:
		return d.list(i, left)
	case tagBinary:
		if i+5 > len(b) {
			return nil, i, d.short(tag, i, i+5)
		}
		n := d.count(i + 1)
		if n > len(b)-i-5 {
			return nil, i, d.short(tag, i, i+5+n)
		}
		return d.binary(i+5, n), i + 5 + n, nil
	case tagBitBinary:
		return d.bitBinary(i)
	case tagSmallBig, tagLargeBig:
		return d.bigInt(i)
	case tagMap:
		return d.mapTerm(i, left)
	case tagNewPid, tagPid:
		p, j, err := d.pid(i)
		if err != nil {
			return nil, i, err
		}
		return d.pids.box(p, pidType, (len(b)-i)/13), j, nil
	case tagNewPort, tagPort, tagV4Port:
		return d.port(i)
	case tagNewerReference, tagNewReference, tagReference:
		return d.ref(i)
	case tagNewFun:
		return d.fun(i, left)
	case tagExport:
		return d.export(i)
	case tagCompressed:
		return nil, i, d.fail(tag, i, "nested")
	case tagAtomCacheRef:
		return nil, i, d.fail(tag, i, "unsupported (no atom cache is advertised)")
	case tagFun:
		return nil, i, d.fail(tag, i, "unsupported (removed in OTP 23)")
	case tagLocal:
		return nil, i, d.fail(tag, i, "unsupported (only the encoding node can decode)")
	}
	return nil, i, d.fail(tag, i, "unknown tag "+strconv.Itoa(int(tag)))
}

// emptyBinary is <<>> boxed once; like emptyList, it is safe to share.
var emptyBinary Term = []byte{}

// binary returns the n bytes at i as a []byte term, copied unless aliasing
// is allowed. The first short binary of a decode is boxed together with its
// bytes in one allocation (often the whole term is that binary); later ones
// share slabs and chunks.
func (d *decodeState) binary(i, n int) Term {
	switch {
	case n == 0:
		return emptyBinary
	case d.bins.next == 0 && !d.alias && n <= loneBinaryMax:
		d.bins.next = 2
		return boxLoneBinary(d.b[i : i+n])
	}
	return d.bins.box(d.bytes(i, n), bytesType, (len(d.b)-i)/5)
}

// bytes returns n bytes at i, copied unless aliasing is allowed. Short
// binaries are copied into a shared chunk, each with its capacity cut to its
// length, so that appending to one cannot touch the next.
func (d *decodeState) bytes(i, n int) []byte {
	if d.alias {
		return d.b[i : i+n : i+n]
	}
	if n > shortBinary {
		c := make([]byte, n)
		copy(c, d.b[i:])
		return c
	}
	if n == 0 {
		return []byte{}
	}
	if n > len(d.binChunk) {
		c := max(d.binNext, binChunkMin)
		d.binNext = min(2*c, binChunk)
		d.binChunk = make([]byte, max(n, min(c, len(d.b)-i)))
	}
	c := d.binChunk[:n:n]
	d.binChunk = d.binChunk[n:]
	copy(c, d.b[i:])
	return c
}

// Short binaries (up to shortBinary bytes) are cut from chunks that start at
// binChunkMin bytes and double up to binChunk.
const (
	shortBinary = 64
	binChunkMin = 64
	binChunk    = 4096
)

func (d *decodeState) oldFloat(i int) (Term, int, error) {
	if i+1+floatStringLen > len(d.b) {
		return nil, i, d.short(tagFloat, i, i+1+floatStringLen)
	}
	s := d.b[i+1 : i+1+floatStringLen]
	if k := bytes.IndexByte(s, 0); k >= 0 {
		s = s[:k]
	}
	text := bytes.TrimSpace(s)
	f, ok := parseSubnormal(text)
	var err error
	if !ok {
		f, err = strconv.ParseFloat(string(text), 64)
	}
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, i, d.fail(tagFloat, i, "malformed")
	}
	return f, i + 1 + floatStringLen, nil
}

// parseSubnormal parses FLOAT_EXT text of the form [-]D[.DDD]e-NNN whose
// value is at most 2^-1022, the smallest normal float64, where
// strconv.ParseFloat falls back to a slow decimal algorithm; ok is false for
// any other text. It rounds M×10^-E half to even in units of 2^-1074, exactly,
// with big.Int arithmetic.
func parseSubnormal(text []byte) (f float64, ok bool) {
	if len(text) > floatStringLen {
		return 0, false
	}
	neg := len(text) > 0 && text[0] == '-'
	if neg {
		text = text[1:]
	}
	var digits [floatStringLen]byte
	nd, frac, k := 0, 0, 0
	for ; k < len(text) && text[k] >= '0' && text[k] <= '9'; k++ {
		digits[nd], nd = text[k], nd+1
	}
	if nd == 0 {
		return 0, false
	}
	if k < len(text) && text[k] == '.' {
		for k++; k < len(text) && text[k] >= '0' && text[k] <= '9'; k++ {
			digits[nd], nd, frac = text[k], nd+1, frac+1
		}
	}
	if k+2 >= len(text) || text[k]|0x20 != 'e' || text[k+1] != '-' {
		return 0, false
	}
	exp := 0
	for k += 2; k < len(text); k++ {
		if text[k] < '0' || text[k] > '9' || exp > 1000 {
			return 0, false
		}
		exp = 10*exp + int(text[k]-'0')
	}
	// The value is M×10^-e with e = exp+frac; it is at least 10^(nd-1-e) and
	// below 10^(nd-e), so below 10^-307 (and possibly subnormal) only if nd-e <= -307.
	e := exp + frac
	if nd-e > -307 || e > 400 {
		return 0, false
	}
	var m, q, r, den big.Int
	if _, ok := m.SetString(string(digits[:nd]), 10); !ok {
		return 0, false
	}
	den.Exp(big.NewInt(10), big.NewInt(int64(e)), nil)
	q.QuoRem(m.Lsh(&m, 1074), &den, &r)
	switch c := r.Lsh(&r, 1).Cmp(&den); {
	case c > 0, c == 0 && q.Bit(0) == 1:
		q.Add(&q, big.NewInt(1))
	}
	if !q.IsUint64() || q.Uint64() > 1<<52 {
		return 0, false
	}
	f = math.Float64frombits(q.Uint64())
	if neg {
		f = -f
	}
	return f, true
}

// atomBytes reads an atom of any of the four atom tags at i and returns its
// name bytes (aliasing the input) and tag; atomOf checks the name.
func (d *decodeState) atomBytes(i int) ([]byte, byte, int, error) {
	b := d.b
	if i >= len(b) {
		return nil, 0, i, d.short(0, i, i+1)
	}
	tag := b[i]
	var n, j int
	switch tag {
	case tagSmallAtom, tagSmallAtomUTF8:
		if i+2 > len(b) {
			return nil, tag, i, d.short(tag, i, i+2)
		}
		n, j = int(b[i+1]), i+2
	case tagAtom, tagAtomUTF8:
		if i+3 > len(b) {
			return nil, tag, i, d.short(tag, i, i+3)
		}
		n, j = d.u16(i+1), i+3
	default:
		return nil, tag, i, d.fail(0, i, "want an atom, got tag "+strconv.Itoa(int(tag)))
	}
	if n > len(b)-j {
		return nil, tag, i, d.short(tag, i, j+n)
	}
	return b[j : j+n], tag, j + n, nil
}

// internedAtom returns the interned entry of the atom at i of b and the offset
// after it, or nil when that atom is not interned or not well formed; it is
// the hot path of atomBytes and atomOf.
func internedAtom(b []byte, i int) (*atomEntry, int) {
	if i+2 > len(b) {
		return nil, 0
	}
	tag := b[i]
	n, j := int(b[i+1]), i+2
	switch tag {
	case tagSmallAtomUTF8, tagSmallAtom:
	case tagAtomUTF8, tagAtom:
		if i+3 > len(b) {
			return nil, 0
		}
		n, j = n<<8|int(b[i+2]), i+3
	default:
		return nil, 0
	}
	if n > len(b)-j {
		return nil, 0
	}
	e := cachedAtom(b[j : j+n])
	if e == nil || !e.ascii && (tag == tagAtom || tag == tagSmallAtom) {
		return nil, 0
	}
	return e, j + n
}

// atomOf returns the Atom named by the name bytes of the atom with tag at i,
// and its term: a bool for true and false, else the Atom. A UTF-8 name is
// validated only when it is not already interned.
func (d *decodeState) atomOf(name []byte, tag byte, i int) (Atom, Term, error) {
	latin1 := tag == tagAtom || tag == tagSmallAtom
	if latin1 {
		if len(name) > maxAtomChars {
			return "", nil, d.fail(tag, i, "atom longer than 255 characters in")
		}
		if !isASCII(name) {
			a := Atom(latin1ToUTF8(name))
			return a, a, nil
		}
	}
	slot, e := lookupAtom(name)
	if e != nil {
		return e.atom, e.term, nil
	}
	switch string(name) {
	case "true":
		e = trueEntry
	case "false":
		e = falseEntry
	default:
		if !latin1 && !validAtomUTF8(name) {
			return "", nil, d.fail(tag, i, "invalid UTF-8 or more than 255 characters in")
		}
		a := Atom(name)
		e = &atomEntry{atom: a, term: a, ascii: latin1 || isASCII(name)}
	}
	if slot != nil {
		slot.Store(e)
	}
	return e.atom, e.term, nil
}

// validAtomUTF8 reports whether name is UTF-8 of at most 255 characters.
func validAtomUTF8(name []byte) bool {
	if len(name) > maxAtomChars && utf8.RuneCount(name) > maxAtomChars {
		return false
	}
	return utf8.Valid(name)
}

// atom reads an atom and returns it as an Atom (never as a bool).
func (d *decodeState) atom(i int) (Atom, int, error) {
	if e, j := internedAtom(d.b, i); e != nil {
		return e.atom, j, nil
	}
	name, tag, j, err := d.atomBytes(i)
	if err != nil {
		return "", i, err
	}
	a, _, err := d.atomOf(name, tag, i)
	return a, j, err
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func latin1ToUTF8(b []byte) string {
	r := make([]byte, 0, 2*len(b))
	for _, c := range b {
		r = utf8.AppendRune(r, rune(c))
	}
	return string(r)
}

// atomEntry is an interned atom with its ready-boxed term.
type atomEntry struct {
	atom  Atom
	term  Term
	ascii bool // the name is ASCII, so its Latin-1 bytes are the same
}

const (
	atomCacheSize   = 4096             // a power of two
	atomCacheMaxLen = 4 * maxAtomChars // the longest UTF-8 atom
)

// atomCache interns short atoms so that decoding a known atom allocates
// nothing; a slot holds the last atom hashed to it.
var atomCache [atomCacheSize]atomic.Pointer[atomEntry]

var (
	trueEntry  = &atomEntry{atom: "true", term: true, ascii: true}
	falseEntry = &atomEntry{atom: "false", term: false, ascii: true}
)

// atomHash picks a cache slot from the length and up to 24 bytes of a name
// (all of a name of up to 16 bytes): cheap, and distinct for names that
// differ only in a digit, as k1..k40 or node names do.
func atomHash[S string | []byte](name S) uint32 {
	n := len(name)
	var a, b uint64
	switch {
	case n >= 8:
		a = le64(name, 0) ^ le64(name, n/2-4)<<7
		b = le64(name, n-8)
	case n >= 4:
		a, b = uint64(le32(name, 0)), uint64(le32(name, n-4))
	case n > 0:
		a, b = uint64(name[0])<<16|uint64(name[n/2])<<8|uint64(name[n-1]), 0
	}
	hi, lo := bits.Mul64(a^0x9e3779b97f4a7c15, b^uint64(n)^0xbf58476d1ce4e5b9)
	return uint32(hi ^ lo)
}

// le64 and le32 read little-endian words of name at i, in bounds.
func le64[S string | []byte](name S, i int) uint64 {
	_ = name[i+7]
	return uint64(name[i]) | uint64(name[i+1])<<8 | uint64(name[i+2])<<16 | uint64(name[i+3])<<24 |
		uint64(name[i+4])<<32 | uint64(name[i+5])<<40 | uint64(name[i+6])<<48 | uint64(name[i+7])<<56
}

func le32[S string | []byte](name S, i int) uint32 {
	_ = name[i+3]
	return uint32(name[i]) | uint32(name[i+1])<<8 | uint32(name[i+2])<<16 | uint32(name[i+3])<<24
}

// cachedAtom returns the entry interned for name, or nil; it is the hot path
// of lookupAtom and small enough to inline.
func cachedAtom(name []byte) *atomEntry {
	if e := atomCache[atomHash(name)&(atomCacheSize-1)].Load(); e != nil && string(e.atom) == string(name) {
		return e
	}
	return nil
}

// cachedAtomName reports whether the atom name is interned.
func cachedAtomName(name string) bool {
	e := atomCache[atomHash(name)&(atomCacheSize-1)].Load()
	return e != nil && string(e.atom) == name
}

// lookupAtom returns the cache slot for name and the entry interned there
// for it, if any; or neither for a name too long to intern. The slot of true
// or false holds an entry whose term is the bool.
func lookupAtom(name []byte) (*atomic.Pointer[atomEntry], *atomEntry) {
	if len(name) > atomCacheMaxLen {
		return nil, nil
	}
	slot := &atomCache[atomHash(name)&(atomCacheSize-1)]
	if e := slot.Load(); e != nil && string(e.atom) == string(name) {
		return slot, e
	}
	return slot, nil
}

func (d *decodeState) tuple(i, left int) (Term, int, error) {
	b := d.b
	tag := b[i]
	n, j, err := d.sized(i, tag == tagSmallTuple, 0)
	if err != nil {
		return nil, i, err
	}
	if n == 0 {
		return emptyTuple, j, nil
	}
	if left <= 0 {
		return nil, i, d.fail(tag, i, "nesting deeper than MaxDepth at")
	}
	t := Tuple(d.newTerms(n, j))
	for k := range t {
		if j+1 < len(b) && b[j] == tagSmallInteger {
			t[k], j = smallInts[b[j+1]], j+2
			continue
		}
		var v Term
		var next int
		switch tagAt(b, j) {
		case tagSmallTuple, tagLargeTuple:
			v, next, err = d.tuple(j, left-1)
		case tagList:
			v, next, err = d.list(j, left-1)
		case tagMap:
			v, next, err = d.mapTerm(j, left-1)
		default:
			v, next, err = d.value(j, left-1)
		}
		if err != nil {
			return nil, i, within(err, tag, i, n-k-1)
		}
		t[k], j = v, next
	}
	return d.tuples.box(t, tupleType, (len(b)-i)/2), j, nil
}

func (d *decodeState) str(i int) (Term, int, error) {
	b := d.b
	if i+3 > len(b) {
		return nil, i, d.short(tagString, i, i+3)
	}
	n := d.u16(i + 1)
	j := i + 3
	if n > len(b)-j {
		return nil, i, d.short(tagString, i, j+n)
	}
	if n == 0 {
		return emptyList, j, nil
	}
	s := b[j : j+n]
	if isASCII(s) {
		return Charlist(s), j + n, nil
	}
	return Charlist(latin1ToUTF8(s)), j + n, nil
}

func (d *decodeState) list(i, left int) (Term, int, error) {
	b := d.b
	if i+5 > len(b) {
		return nil, i, d.short(tagList, i, i+5)
	}
	n := d.count(i + 1)
	j := i + 5
	if n >= len(b)-j {
		return nil, i, d.short(tagList, i, j+n+1)
	}
	if left <= 0 {
		return nil, i, d.fail(tagList, i, "nesting deeper than MaxDepth at")
	}
	l := List(d.newTerms(n, j))
	for k := range l {
		if j+1 < len(b) && b[j] == tagSmallInteger {
			l[k], j = smallInts[b[j+1]], j+2
			continue
		}
		var v Term
		var next int
		var err error
		switch tagAt(b, j) {
		case tagSmallTuple, tagLargeTuple:
			v, next, err = d.tuple(j, left-1)
		case tagList:
			v, next, err = d.list(j, left-1)
		case tagMap:
			v, next, err = d.mapTerm(j, left-1)
		default:
			v, next, err = d.value(j, left-1)
		}
		if err != nil {
			return nil, i, within(err, tagList, i, n-k)
		}
		l[k], j = v, next
	}
	if j < len(b) && b[j] == tagNil {
		return d.lists.box(l, listType, (len(b)-i)/6), j + 1, nil
	}
	return d.listTail(l, i, j, left)
}

// listTail decodes the tail at j of the list at i, whose elements are l,
// when the tail is not []. It is kept out of list so that list's frame,
// which every level of a nested list holds, stays small.
//
//go:noinline
func (d *decodeState) listTail(l List, i, j, left int) (Term, int, error) {
	tail, j, err := d.value(j, left-1)
	if err != nil {
		return nil, i, within(err, tagList, i, 0)
	}
	return joinList(l, tail), j, nil
}

// joinList returns [elems... | tail], flattening a tail that is itself a list
// so that an ImproperList's Tail is never a list.
func joinList(elems []Term, tail Term) Term {
	switch t := tail.(type) {
	case List:
		return List(append(elems, t...))
	case Charlist:
		for _, r := range string(t) {
			elems = append(elems, int64(r))
		}
		return List(elems)
	case ImproperList:
		return ImproperList{Elems: append(elems, t.Elems...), Tail: t.Tail}
	}
	if len(elems) == 0 {
		return tail
	}
	return ImproperList{Elems: elems, Tail: tail}
}

func (d *decodeState) bitBinary(i int) (Term, int, error) {
	b := d.b
	if i+6 > len(b) {
		return nil, i, d.short(tagBitBinary, i, i+6)
	}
	n := d.count(i + 1)
	bits := b[i+5]
	j := i + 6
	if n > len(b)-j {
		return nil, i, d.short(tagBitBinary, i, j+n)
	}
	if bits < 1 || bits > 8 || n == 0 {
		return nil, i, d.fail(tagBitBinary, i, "bad Bits "+strconv.Itoa(int(bits))+" in")
	}
	if bits == 8 {
		return d.bytes(j, n), j + n, nil
	}
	data := d.bytes(j, n)
	if mask := byte(0xff << (8 - bits)); data[n-1]&^mask != 0 {
		if d.alias {
			data = append([]byte(nil), data...)
		}
		data[n-1] &= mask
	}
	return BitString{Bytes: data, Bits: bits}, j + n, nil
}

func (d *decodeState) bigInt(i int) (Term, int, error) {
	b := d.b
	tag := b[i]
	n, j, err := d.sized(i, tag == tagSmallBig, 1)
	if err != nil {
		return nil, i, err
	}
	sign := b[j-1]
	if sign > 1 {
		return nil, i, d.fail(tag, i, "bad sign in")
	}
	return bigFromLittle(b[j:j+n], sign == 1), j + n, nil
}

// bigFromLittle returns the integer with little-endian magnitude digits,
// as an int64 when it fits and as a *big.Int otherwise.
func bigFromLittle(digits []byte, neg bool) Term {
	n := len(digits)
	for n > 0 && digits[n-1] == 0 {
		n--
	}
	if n <= 8 {
		var u uint64
		for k := n - 1; k >= 0; k-- {
			u = u<<8 | uint64(digits[k])
		}
		switch {
		case !neg && u <= math.MaxInt64:
			return int64(u)
		case neg && u <= 1<<63:
			return -int64(u)
		}
		return bigOfUint64(u, neg)
	}
	words := make([]big.Word, (n+wordBytes-1)/wordBytes)
	for k := range words {
		if wordBytes*(k+1) <= n {
			words[k] = getWord(digits[wordBytes*k:])
			continue
		}
		for p := n - 1; p >= wordBytes*k; p-- {
			words[k] = words[k]<<8 | big.Word(digits[p])
		}
	}
	z := new(big.Int).SetBits(words)
	if neg {
		z.Neg(z)
	}
	return z
}

// getWord reads a little-endian big.Word from the start of b.
func getWord(b []byte) big.Word {
	if wordBytes == 8 {
		return big.Word(binary.LittleEndian.Uint64(b))
	}
	return big.Word(binary.LittleEndian.Uint32(b))
}

// bigWords is a big.Int with room for 64 bits of words, allocated together.
type bigWords struct {
	z big.Int
	w [8 / wordBytes]big.Word
}

// bigOfUint64 returns u, negated if neg, as a *big.Int in one allocation.
func bigOfUint64(u uint64, neg bool) *big.Int {
	bw := new(bigWords)
	for k := range bw.w {
		bw.w[k] = big.Word(u >> (8 * wordBytes * k))
	}
	bw.z.SetBits(bw.w[:])
	if neg {
		bw.z.Neg(&bw.z)
	}
	return &bw.z
}

// wordBytes is the size of a big.Word.
const wordBytes = bits.UintSize / 8

// smallMapDupScan is the largest map whose keys are checked pairwise.
const smallMapDupScan = 8

func (d *decodeState) mapTerm(i, left int) (Term, int, error) {
	b := d.b
	if i+5 > len(b) {
		return nil, i, d.short(tagMap, i, i+5)
	}
	n := d.count(i + 1)
	j := i + 5
	if n > (len(b)-j)/2 {
		return nil, i, d.short(tagMap, i, j+2*n)
	}
	if n == 0 {
		return emptyMap, j, nil
	}
	if left <= 0 {
		return nil, i, d.fail(tagMap, i, "nesting deeper than MaxDepth at")
	}
	m := d.newPairs(n, j)
	for k := range m {
		key, next, err := d.value(j, left-1)
		if err != nil {
			return nil, i, within(err, tagMap, i, 2*(n-k)-1)
		}
		var val Term
		switch tagAt(b, next) {
		case tagSmallTuple, tagLargeTuple:
			val, next, err = d.tuple(next, left-1)
		case tagList:
			val, next, err = d.list(next, left-1)
		case tagMap:
			val, next, err = d.mapTerm(next, left-1)
		default:
			val, next, err = d.value(next, left-1)
		}
		if err != nil {
			return nil, i, within(err, tagMap, i, 2*(n-k-1))
		}
		m[k], j = Pair{Key: key, Value: val}, next
	}
	if duplicateKey(m) >= 0 {
		return nil, i, d.fail(tagMap, i, "duplicate key in")
	}
	return d.maps.box(m, mapType, (len(b)-i)/5), j, nil
}

// pid reads a PID_EXT or NEW_PID_EXT at i.
func (d *decodeState) pid(i int) (Pid, int, error) {
	tag := d.b[i]
	size := 12
	if tag == tagPid {
		size = 9
	}
	node, j, err := d.atom(i + 1)
	if err != nil {
		return Pid{}, i, within(err, tag, i, size)
	}
	if size > len(d.b)-j {
		return Pid{}, i, d.short(tag, i, j+size)
	}
	p := Pid{Node: node, ID: uint64(d.u32(j+4))<<32 | uint64(d.u32(j))}
	if tag == tagPid {
		p.Creation = uint32(d.b[j+8])
	} else {
		p.Creation = d.u32(j + 8)
	}
	return p, j + size, nil
}

func (d *decodeState) port(i int) (Term, int, error) {
	tag := d.b[i]
	size := 8
	switch tag {
	case tagPort:
		size = 5
	case tagV4Port:
		size = 12
	}
	node, j, err := d.atom(i + 1)
	if err != nil {
		return nil, i, within(err, tag, i, size)
	}
	if size > len(d.b)-j {
		return nil, i, d.short(tag, i, j+size)
	}
	p := Port{Node: node}
	switch tag {
	case tagPort:
		p.ID, p.Creation = d.u32(j), uint32(d.b[j+4])
	case tagNewPort:
		p.ID, p.Creation = d.u32(j), d.u32(j+4)
	default:
		id := binary.BigEndian.Uint64(d.b[j:])
		if id > math.MaxUint32 {
			return nil, i, d.fail(tag, i, "port ID above 2^32 (Port.ID is 32 bits) in")
		}
		p.ID, p.Creation = uint32(id), d.u32(j+8)
	}
	return p, j + size, nil
}

func (d *decodeState) ref(i int) (Term, int, error) {
	b := d.b
	tag := b[i]
	words, j := 1, i+1
	if tag != tagReference {
		if i+3 > len(b) {
			return nil, i, d.short(tag, i, i+3)
		}
		words, j = d.u16(i+1), i+3
		if words < 1 || words > maxRefWords {
			return nil, i, d.fail(tag, i, "bad Len "+strconv.Itoa(words)+" in")
		}
	}
	node, j, err := d.atom(j)
	if err != nil {
		return nil, i, within(err, tag, i, 4*words)
	}
	r := Ref{Node: node}
	if tag == tagReference {
		if 5 > len(b)-j {
			return nil, i, d.short(tag, i, j+5)
		}
		r.ID[0], r.Creation = d.u32(j), uint32(b[j+4])
		return d.refs.box(r, refType, (len(b)-i)/8), j + 5, nil
	}
	cre := 4
	if tag == tagNewReference {
		cre = 1
	}
	if cre+4*words > len(b)-j {
		return nil, i, d.short(tag, i, j+cre+4*words)
	}
	if cre == 1 {
		r.Creation = uint32(b[j])
	} else {
		r.Creation = d.u32(j)
	}
	j += cre
	for k := 0; k < words; k++ {
		r.ID[k] = d.u32(j)
		j += 4
	}
	return d.refs.box(r, refType, (len(b)-i)/8), j, nil
}

func (d *decodeState) export(i int) (Term, int, error) {
	mod, j, err := d.atom(i + 1)
	if err != nil {
		return nil, i, within(err, tagExport, i, 4)
	}
	fn, j, err := d.atom(j)
	if err != nil {
		return nil, i, within(err, tagExport, i, 2)
	}
	if j+2 > len(d.b) {
		return nil, i, d.short(tagExport, i, j+2)
	}
	if d.b[j] != tagSmallInteger {
		return nil, i, d.fail(tagExport, i, "arity not a SMALL_INTEGER_EXT in")
	}
	return Export{Module: mod, Function: fn, Arity: d.b[j+1]}, j + 2, nil
}

// compressed decodes the COMPRESSED term at i: a 4-byte uncompressed size
// and a zlib stream that must inflate to exactly that many bytes.
func (d *decodeState) compressed(i int) (Term, int, error) {
	if i+5 > len(d.b) {
		return nil, i, d.short(tagCompressed, i, i+5)
	}
	size := uint64(d.u32(i + 1))
	if size > uint64(d.maxSize) {
		return nil, i, d.fail(tagCompressed, i, "uncompressed size "+strconv.FormatUint(size, 10)+" above MaxSize "+strconv.Itoa(d.maxSize)+" in")
	}
	if size == 0 {
		return nil, i, d.fail(tagCompressed, i, "empty")
	}
	src := bytes.NewReader(d.b[i+5:])
	body, err := inflate(src, int(size))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, i, d.short(tagCompressed, i, len(d.b)+1)
		}
		return nil, i, d.fail(tagCompressed, i, "bad zlib data ("+err.Error()+") in")
	}
	used := len(d.b) - src.Len()
	inner := decodeState{b: body, maxDepth: d.maxDepth, maxSize: d.maxSize, alias: true}
	t, n, err := inner.value(0, d.maxDepth)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.need = 0
		}
		return nil, i, err
	}
	if n != len(body) {
		return nil, i, d.fail(tagCompressed, i, "body longer than its term in")
	}
	return t, used, nil
}

var zlibReaders sync.Pool

// inflate reads exactly size bytes of zlib data from src and checks that the
// stream ends there. It grows its buffer as data arrives, so a small input
// that declares a huge size costs little.
func inflate(src *bytes.Reader, size int) ([]byte, error) {
	var zr io.ReadCloser
	if r, ok := zlibReaders.Get().(io.ReadCloser); ok {
		if err := r.(zlib.Resetter).Reset(src, nil); err != nil {
			return nil, err
		}
		zr = r
	} else {
		r, err := zlib.NewReader(src)
		if err != nil {
			return nil, err
		}
		zr = r
	}
	defer zlibReaders.Put(zr)
	body := make([]byte, 0, min(size, 4*src.Len()+512))
	for len(body) < size {
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
		n, err := zr.Read(body[len(body):min(cap(body), size)])
		body = body[:len(body)+n]
		if err == io.EOF && len(body) < size {
			return nil, errors.New("shorter than declared")
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
	}
	var one [1]byte
	if n, err := zr.Read(one[:]); n > 0 || err != io.EOF {
		if err != nil && err != io.EOF {
			return nil, err
		}
		return nil, errors.New("longer than declared")
	}
	return body, nil
}
