package etf

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"math/bits"
	"reflect"
	"slices"
	"sync"
	"unicode/utf8"
)

// maxEncodeDepth bounds nesting on encode; it is far above DefaultMaxDepth
// and only there to turn a cyclic value (a Tuple holding itself) into an error.
const maxEncodeDepth = 100000

// EncodeOptions tunes encoding. The zero value never compresses.
type EncodeOptions struct {
	// CompressThreshold, when positive, compresses terms whose encoding is at
	// least that many bytes, as term_to_binary(T, [compressed]) does, if that
	// makes them smaller.
	CompressThreshold int
	// CompressLevel is the zlib level, 1 (fastest) to 9 (smallest); 0 means zlib.DefaultCompression.
	CompressLevel int
}

// Encode returns the external term format of t, version byte 131 included.
// t may be any term of the package doc's table or a Go value that ToTerm converts.
func Encode(t Term) ([]byte, error) { return EncodeOptions{}.Encode(t) }

// AppendEncode appends the external term format of t, version byte 131
// included, to dst. On error it returns dst unchanged.
func AppendEncode(dst []byte, t Term) ([]byte, error) {
	b, err := appendValue(append(dst, versionByte), t, maxEncodeDepth, false)
	if err != nil {
		return dst, err
	}
	return b, nil
}

// AppendTerm appends the encoding of t without a version byte, as the
// distribution protocol sends terms after its header. On error it returns dst unchanged.
func AppendTerm(dst []byte, t Term) ([]byte, error) { return EncodeOptions{}.AppendTerm(dst, t) }

// Encode is like the package-level Encode, with options o.
func (o EncodeOptions) Encode(t Term) ([]byte, error) {
	return o.AppendEncode(make([]byte, 0, 64), t)
}

// AppendEncode is like the package-level AppendEncode, with options o.
func (o EncodeOptions) AppendEncode(dst []byte, t Term) ([]byte, error) {
	start := len(dst)
	b, err := appendValue(append(dst, versionByte), t, maxEncodeDepth, false)
	if err != nil {
		return dst[:start], err
	}
	if o.CompressThreshold > 0 && len(b)-start-1 >= o.CompressThreshold {
		return o.compress(b, start+1)
	}
	return b, nil
}

// AppendTerm is like the package-level AppendTerm, with options o; it never compresses.
func (o EncodeOptions) AppendTerm(dst []byte, t Term) ([]byte, error) {
	b, err := appendValue(dst, t, maxEncodeDepth, false)
	if err != nil {
		return dst, err
	}
	return b, nil
}

var zlibWriters [10]sync.Pool // by level; 0 holds zlib.DefaultCompression

// compress replaces the body b[at:] with its COMPRESSED form when that is smaller.
func (o EncodeOptions) compress(b []byte, at int) ([]byte, error) {
	level := o.CompressLevel
	if level < 0 || level > 9 {
		return b, &EncodeError{Msg: "CompressLevel not in 0..9"}
	}
	body := b[at:]
	var out bytes.Buffer
	out.Grow(len(body) / 2)
	zw, ok := zlibWriters[level].Get().(*zlib.Writer)
	if ok {
		zw.Reset(&out)
	} else {
		zl := level
		if zl == 0 {
			zl = zlib.DefaultCompression
		}
		var err error
		if zw, err = zlib.NewWriterLevel(&out, zl); err != nil {
			return b, err
		}
	}
	defer zlibWriters[level].Put(zw)
	if _, err := zw.Write(body); err != nil {
		return b, err
	}
	if err := zw.Close(); err != nil {
		return b, err
	}
	if out.Len()+5 >= len(body) || uint64(len(body)) > math.MaxUint32 {
		return b, nil
	}
	size := len(body)
	b = append(b[:at], tagCompressed)
	b = binary.BigEndian.AppendUint32(b, uint32(size))
	return append(b, out.Bytes()...), nil
}

// appendValue appends the encoding of v; left is the nesting still allowed and
// converted says v came from ToTerm, which must not be asked again. It
// writes integers, atoms and binaries itself, passes tuples, lists and maps
// on, and leaves every other type to appendOther: every level of a nested
// term holds a frame of appendValue and one of its container's function,
// so appendValue does little, to keep its frame small.
func appendValue(b []byte, v Term, left int, converted bool) ([]byte, error) {
	if x, ok := v.(int64); ok {
		return appendInt(b, x), nil
	}
	if x, ok := v.(Atom); ok {
		if !validAtomName(string(x)) {
			return b, errBadAtom
		}
		return appendAtom(b, string(x)), nil
	}
	if x, ok := v.([]byte); ok {
		return appendBinary(b, x), nil
	}
	switch x := v.(type) {
	case Tuple:
		return appendTuple(b, x, left)
	case List:
		return appendList(b, x, left)
	case Map:
		return appendMap(b, x, left)
	}
	return appendOther(b, v, left, converted)
}

// errBadAtom is the error of an Atom that cannot be encoded.
var errBadAtom = &EncodeError{Type: reflect.TypeOf(Atom("")), Msg: "atom longer than 255 characters or not UTF-8"}

// appendOther is appendValue for the types it does not write itself.
func appendOther(b []byte, v Term, left int, converted bool) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return appendAtom(b, "undefined"), nil
	case int:
		return appendInt(b, int64(x)), nil
	case string:
		b = append(b, tagBinary)
		b = binary.BigEndian.AppendUint32(b, uint32(len(x)))
		return append(b, x...), nil
	case bool:
		if x {
			return appendAtom(b, "true"), nil
		}
		return appendAtom(b, "false"), nil
	case float64:
		return appendFloat(b, x)
	case []Term:
		return appendList(b, x, left)
	case Pid:
		return appendPid(b, x)
	case Charlist:
		return appendCharlist(b, x)
	case *big.Int:
		return appendBig(b, x)
	case int8:
		return appendInt(b, int64(x)), nil
	case int16:
		return appendInt(b, int64(x)), nil
	case int32:
		return appendInt(b, int64(x)), nil
	case uint:
		return appendUint(b, uint64(x)), nil
	case uint8:
		return appendInt(b, int64(x)), nil
	case uint16:
		return appendInt(b, int64(x)), nil
	case uint32:
		return appendInt(b, int64(x)), nil
	case uint64:
		return appendUint(b, x), nil
	case float32:
		return appendFloat(b, float64(x))
	case Ref:
		return appendRef(b, x)
	case Alias:
		return appendRef(b, Ref(x))
	case Port:
		return appendPort(b, x)
	case ImproperList:
		return appendImproper(b, x, left)
	case BitString:
		return appendBitString(b, x)
	case Export:
		return appendExport(b, x)
	case Fun:
		return appendFun(b, x)
	case map[string]Term:
		return appendStringMap(b, x, left)
	}
	if converted {
		return b, &EncodeError{Type: reflect.TypeOf(v), Msg: "ToTerm returned a value that is not a term"}
	}
	t, err := ToTerm(v)
	if err != nil {
		var ee *EncodeError
		if errors.As(err, &ee) {
			return b, err
		}
		return b, &EncodeError{Type: reflect.TypeOf(v), Msg: "unsupported Go type", Err: err}
	}
	return appendValue(b, t, left, true)
}

// validAtomName reports whether s is UTF-8 of at most 255 characters. A
// name of at most 255 bytes has at most 255 characters; a longer one the
// decoder has interned was checked already.
func validAtomName(s string) bool {
	if len(s) <= maxAtomChars {
		return utf8.ValidString(s)
	}
	if cachedAtomName(s) {
		return true
	}
	if len(s) > maxAtomChars && utf8.RuneCountInString(s) > maxAtomChars {
		return false
	}
	return utf8.ValidString(s)
}

// appendAtom writes a valid atom name with SMALL_ATOM_UTF8_EXT, or ATOM_UTF8_EXT above 255 bytes.
func appendAtom(b []byte, name string) []byte {
	if len(name) <= math.MaxUint8 {
		b = append(b, tagSmallAtomUTF8, byte(len(name)))
	} else {
		b = append(b, tagAtomUTF8, byte(len(name)>>8), byte(len(name)))
	}
	return append(b, name...)
}

func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0 && v <= math.MaxUint8:
		return append(b, tagSmallInteger, byte(v))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		b = append(b, tagInteger)
		return binary.BigEndian.AppendUint32(b, uint32(v))
	case v < 0:
		return appendSmallBig(b, uint64(-v), 1)
	}
	return appendSmallBig(b, uint64(v), 0)
}

func appendUint(b []byte, v uint64) []byte {
	if v <= math.MaxInt64 {
		return appendInt(b, int64(v))
	}
	return appendSmallBig(b, v, 0)
}

// appendSmallBig writes a SMALL_BIG_EXT of magnitude u with as few digits as OTP does.
func appendSmallBig(b []byte, u uint64, sign byte) []byte {
	n := (64 - bits.LeadingZeros64(u) + 7) / 8
	b = append(b, tagSmallBig, byte(n), sign)
	for k := 0; k < n; k++ {
		b = append(b, byte(u>>(8*k)))
	}
	return b
}

func appendBig(b []byte, x *big.Int) ([]byte, error) {
	if x == nil {
		return b, &EncodeError{Type: reflect.TypeOf(x), Msg: "nil"}
	}
	if x.IsInt64() {
		return appendInt(b, x.Int64()), nil
	}
	n := (x.BitLen() + 7) / 8
	if uint64(n) > math.MaxUint32 {
		return b, &EncodeError{Type: reflect.TypeOf(x), Msg: "too large"}
	}
	var sign byte
	if x.Sign() < 0 {
		sign = 1
	}
	if n <= math.MaxUint8 {
		b = append(b, tagSmallBig, byte(n), sign)
	} else {
		b = append(b, tagLargeBig)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
		b = append(b, sign)
	}
	b = slices.Grow(b, n)
	at := len(b)
	b = b[:at+n]
	for k, w := range x.Bits() {
		if at+wordBytes*(k+1) <= len(b) {
			putWord(b[at+wordBytes*k:], w)
			continue
		}
		for p := at + wordBytes*k; p < len(b); p++ {
			b[p] = byte(w)
			w >>= 8
		}
	}
	return b, nil
}

// putWord writes w little-endian at the start of b.
func putWord(b []byte, w big.Word) {
	if wordBytes == 8 {
		binary.LittleEndian.PutUint64(b, uint64(w))
	} else {
		binary.LittleEndian.PutUint32(b, uint32(w))
	}
}

func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, &EncodeError{Type: reflect.TypeOf(f), Msg: "not finite"}
	}
	b = append(b, tagNewFloat)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(f)), nil
}

func appendBinary(b []byte, x []byte) []byte {
	n := len(b)
	b = slices.Grow(b, 5+len(x))[:n+5]
	b[n] = tagBinary
	binary.BigEndian.PutUint32(b[n+1:], uint32(len(x)))
	return append(b, x...)
}

func appendBitString(b []byte, x BitString) ([]byte, error) {
	if x.Bits == 8 {
		return appendBinary(b, x.Bytes), nil
	}
	if x.Bits < 1 || x.Bits > 8 || len(x.Bytes) == 0 {
		return b, &EncodeError{Type: reflect.TypeOf(x), Msg: "Bits not in 1..8 or no Bytes"}
	}
	b = append(b, tagBitBinary)
	b = binary.BigEndian.AppendUint32(b, uint32(len(x.Bytes)))
	b = append(b, x.Bits)
	b = append(b, x.Bytes...)
	b[len(b)-1] &= byte(0xff << (8 - x.Bits))
	return b, nil
}

func appendTuple(b []byte, t Tuple, left int) ([]byte, error) {
	b = AppendTupleHead(b, len(t))
	if len(t) == 0 {
		return b, nil
	}
	if left <= 0 {
		return b, errTooDeep
	}
	var err error
	for _, e := range t {
		switch x := e.(type) { // a container without a frame of appendValue; see there
		case int64:
			b = appendInt(b, x)
		case Tuple:
			b, err = appendTuple(b, x, left-1)
		case List:
			b, err = appendList(b, x, left-1)
		default:
			b, err = appendValue(b, e, left-1, false)
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

var errTooDeep = &EncodeError{Msg: "nesting deeper than 100000 (a cycle?)"}

// appendList writes a proper list, as STRING_EXT when OTP would: every
// element an int64 in 0..255 and fewer than 65536 of them.
func appendList(b []byte, l []Term, left int) ([]byte, error) {
	if len(l) == 0 {
		return append(b, tagNil), nil
	}
	if len(l) <= maxStringExt && bytesList(l) {
		b = append(b, tagString, byte(len(l)>>8), byte(len(l)))
		for _, e := range l {
			b = append(b, byte(e.(int64)))
		}
		return b, nil
	}
	b, err := appendElems(b, l, left)
	if err != nil {
		return b, err
	}
	return append(b, tagNil), nil
}

func bytesList(l []Term) bool {
	for _, e := range l {
		if v, ok := e.(int64); !ok || v < 0 || v > math.MaxUint8 {
			return false
		}
	}
	return true
}

// appendElems writes a LIST_EXT header and elements, leaving the tail to the caller.
func appendElems(b []byte, l []Term, left int) ([]byte, error) {
	if left <= 0 {
		return b, errTooDeep
	}
	b = append(b, tagList)
	b = binary.BigEndian.AppendUint32(b, uint32(len(l)))
	var err error
	for _, e := range l {
		switch x := e.(type) { // a container without a frame of appendValue; see there
		case int64:
			b = appendInt(b, x)
		case Tuple:
			b, err = appendTuple(b, x, left-1)
		case List:
			b, err = appendList(b, x, left-1)
		default:
			b, err = appendValue(b, e, left-1, false)
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

func appendImproper(b []byte, l ImproperList, left int) ([]byte, error) {
	if len(l.Elems) == 0 {
		return appendValue(b, l.Tail, left, false)
	}
	b, err := appendElems(b, l.Elems, left)
	if err != nil {
		return b, err
	}
	return appendValue(b, l.Tail, left-1, false)
}

// appendCharlist writes s as STRING_EXT when every code is below 256 and
// there are fewer than 65536, else as a LIST_EXT of integers.
func appendCharlist(b []byte, s Charlist) ([]byte, error) {
	if len(s) == 0 {
		return append(b, tagNil), nil
	}
	if !utf8.ValidString(string(s)) {
		return b, &EncodeError{Type: reflect.TypeOf(s), Msg: "not UTF-8"}
	}
	n, latin1 := 0, true
	for _, r := range string(s) {
		n++
		if r > math.MaxUint8 {
			latin1 = false
		}
	}
	if latin1 && n <= maxStringExt {
		b = append(b, tagString, byte(n>>8), byte(n))
		for _, r := range string(s) {
			b = append(b, byte(r))
		}
		return b, nil
	}
	b = append(b, tagList)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	for _, r := range string(s) {
		b = appendInt(b, int64(r))
	}
	return append(b, tagNil), nil
}

func appendMap(b []byte, m Map, left int) ([]byte, error) {
	if duplicateKey(m) >= 0 {
		return b, &EncodeError{Type: reflect.TypeOf(m), Msg: "duplicate key"}
	}
	b = append(b, tagMap)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
	if len(m) > 0 && left <= 0 {
		return b, errTooDeep
	}
	var err error
	for _, p := range m {
		if b, err = appendValue(b, p.Key, left-1, false); err != nil {
			return b, err
		}
		switch x := p.Value.(type) { // a container without a frame of appendValue; see there
		case Map:
			b, err = appendMap(b, x, left-1)
		case Tuple:
			b, err = appendTuple(b, x, left-1)
		default:
			b, err = appendValue(b, p.Value, left-1, false)
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

// appendStringMap writes m with binary keys in sorted order, the order OTP
// uses for small maps, so the output is deterministic.
func appendStringMap(b []byte, m map[string]Term, left int) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, tagMap)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
	if len(m) > 0 && left <= 0 {
		return b, errTooDeep
	}
	var err error
	for _, k := range keys {
		b = append(b, tagBinary)
		b = binary.BigEndian.AppendUint32(b, uint32(len(k)))
		b = append(b, k...)
		if b, err = appendValue(b, m[k], left-1, false); err != nil {
			return b, err
		}
	}
	return b, nil
}

// appendNode writes the node name of a pid, port or reference.
func appendNode(b []byte, node Atom, owner any) ([]byte, error) {
	if !validAtomName(string(node)) {
		return b, &EncodeError{Type: reflect.TypeOf(owner), Msg: "node name longer than 255 characters or not UTF-8"}
	}
	return appendAtom(b, string(node)), nil
}

// appendPid writes NEW_PID_EXT: ID is the low 32 bits of Pid.ID, Serial the high 32.
func appendPid(b []byte, p Pid) ([]byte, error) {
	b, err := appendNode(append(b, tagNewPid), p.Node, p)
	if err != nil {
		return b, err
	}
	b = binary.BigEndian.AppendUint32(b, uint32(p.ID))
	b = binary.BigEndian.AppendUint32(b, uint32(p.ID>>32))
	return binary.BigEndian.AppendUint32(b, p.Creation), nil
}

func appendPort(b []byte, p Port) ([]byte, error) {
	b, err := appendNode(append(b, tagNewPort), p.Node, p)
	if err != nil {
		return b, err
	}
	b = binary.BigEndian.AppendUint32(b, p.ID)
	return binary.BigEndian.AppendUint32(b, p.Creation), nil
}

// appendRef writes NEWER_REFERENCE_EXT with 3 ID words, or 4 or 5 when the
// later words are not zero.
func appendRef(b []byte, r Ref) ([]byte, error) {
	words := maxRefWords
	for words > 3 && r.ID[words-1] == 0 {
		words--
	}
	b = append(b, tagNewerReference, 0, byte(words))
	b, err := appendNode(b, r.Node, r)
	if err != nil {
		return b, err
	}
	b = binary.BigEndian.AppendUint32(b, r.Creation)
	for _, w := range r.ID[:words] {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	return b, nil
}

func appendExport(b []byte, e Export) ([]byte, error) {
	if !validAtomName(string(e.Module)) || !validAtomName(string(e.Function)) {
		return b, &EncodeError{Type: reflect.TypeOf(e), Msg: "Module or Function longer than 255 characters or not UTF-8"}
	}
	b = appendAtom(append(b, tagExport), string(e.Module))
	b = appendAtom(b, string(e.Function))
	return append(b, tagSmallInteger, e.Arity), nil
}
