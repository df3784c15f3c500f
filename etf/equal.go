package etf

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strings"
)

// Equal reports whether a and b are the same Erlang term under =:=, that is,
// whether they encode to the same term: a string equals a []byte with the
// same bytes, an int64 equals a *big.Int or any Go integer of the same value,
// true equals Atom("true"), nil equals Atom("undefined"), a Charlist equals the
// List of its codes, and 1 and 1.0 differ. Floats compare bit for bit, so
// 0.0 and -0.0 differ, as in OTP 27. Values of Go types that Encode
// would pass to ToTerm are never equal to anything.
func Equal(a, b Term) bool {
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return x == y
		}
	case Atom:
		if y, ok := b.(Atom); ok {
			return x == y
		}
	case []byte:
		if y, ok := b.([]byte); ok {
			return bytes.Equal(x, y)
		}
	case string:
		if y, ok := b.(string); ok {
			return x == y
		}
	case Tuple:
		if y, ok := b.(Tuple); ok {
			return termsEqual(x, y)
		}
	case List:
		if y, ok := b.(List); ok {
			return termsEqual(x, y)
		}
	}
	return equalSlow(a, b)
}

func termsEqual(a, b []Term) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !Equal(a[k], b[k]) {
			return false
		}
	}
	return true
}

// kind is a class of terms, numbered in Erlang's term order.
type kind uint8

const (
	kindInvalid kind = iota // a Go value that is not a term
	kindNumber
	kindAtom
	kindRef
	kindFun
	kindPort
	kindPid
	kindTuple
	kindMap
	kindNil
	kindList
	kindBits
)

func kindOf(t Term) kind {
	switch x := t.(type) {
	case int64, int, int8, int16, int32, uint, uint8, uint16, uint32, uint64, float64, float32:
		return kindNumber
	case *big.Int:
		if x == nil {
			return kindInvalid
		}
		return kindNumber
	case Atom, bool, nil:
		return kindAtom
	case Ref, Alias:
		return kindRef
	case Fun, Export:
		return kindFun
	case Port:
		return kindPort
	case Pid:
		return kindPid
	case Tuple:
		return kindTuple
	case Map, map[string]Term:
		return kindMap
	case List:
		return listKind(len(x))
	case []Term:
		return listKind(len(x))
	case Charlist:
		return listKind(len(x))
	case ImproperList:
		if len(x.Elems) == 0 {
			return kindOf(x.Tail)
		}
		return kindList
	case []byte, string, BitString:
		return kindBits
	}
	return kindInvalid
}

func listKind(n int) kind {
	if n == 0 {
		return kindNil
	}
	return kindList
}

func equalSlow(a, b Term) bool {
	k := kindOf(a)
	if k != kindOf(b) {
		return false
	}
	switch k {
	case kindNumber:
		ai, az, aInt := intOf(a)
		bi, bz, bInt := intOf(b)
		switch {
		case aInt != bInt:
			return false
		case !aInt:
			return math.Float64bits(floatOf(a)) == math.Float64bits(floatOf(b))
		case az == nil && bz == nil:
			return ai == bi
		}
		return az != nil && bz != nil && az.Cmp(bz) == 0
	case kindAtom:
		return atomName(a) == atomName(b)
	case kindRef:
		return refOf(a) == refOf(b)
	case kindFun:
		switch x := a.(type) {
		case Fun:
			y, ok := b.(Fun)
			return ok && bytes.Equal(x.raw, y.raw)
		case Export:
			y, ok := b.(Export)
			return ok && x == y
		}
	case kindPort:
		return a.(Port) == b.(Port)
	case kindPid:
		return a.(Pid) == b.(Pid)
	case kindTuple:
		return termsEqual(a.(Tuple), b.(Tuple))
	case kindMap:
		return mapsEqual(mapOf(a), mapOf(b))
	case kindNil:
		return true
	case kindList:
		ae, at, aImp := listOf(a)
		be, bt, bImp := listOf(b)
		return aImp == bImp && termsEqual(ae, be) && (!aImp || Equal(at, bt))
	case kindBits:
		return bitsEqual(a, b)
	}
	return false
}

// intOf returns the value of an integer term as an int64 i, or as z when it
// does not fit; ok is false for floats.
func intOf(t Term) (i int64, z *big.Int, ok bool) {
	switch x := t.(type) {
	case int64:
		return x, nil, true
	case int:
		return int64(x), nil, true
	case int8:
		return int64(x), nil, true
	case int16:
		return int64(x), nil, true
	case int32:
		return int64(x), nil, true
	case uint:
		return uintOf(uint64(x))
	case uint8:
		return int64(x), nil, true
	case uint16:
		return int64(x), nil, true
	case uint32:
		return int64(x), nil, true
	case uint64:
		return uintOf(x)
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), nil, true
		}
		return 0, x, true
	}
	return 0, nil, false
}

func uintOf(u uint64) (int64, *big.Int, bool) {
	if u <= math.MaxInt64 {
		return int64(u), nil, true
	}
	return 0, new(big.Int).SetUint64(u), true
}

func floatOf(t Term) float64 {
	if f, ok := t.(float32); ok {
		return float64(f)
	}
	return t.(float64)
}

func atomName(t Term) string {
	switch x := t.(type) {
	case Atom:
		return string(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return "undefined"
}

func refOf(t Term) Ref {
	if a, ok := t.(Alias); ok {
		return Ref(a)
	}
	return t.(Ref)
}

func mapOf(t Term) Map {
	if m, ok := t.(Map); ok {
		return m
	}
	sm := t.(map[string]Term)
	m := make(Map, 0, len(sm))
	for k, v := range sm {
		m = append(m, Pair{Key: k, Value: v})
	}
	return m
}

// listOf returns the elements of a non-empty list term and, for an improper
// one, its tail, which is then never a list.
func listOf(t Term) (elems []Term, tail Term, improper bool) {
	switch x := t.(type) {
	case List:
		return x, nil, false
	case []Term:
		return x, nil, false
	case Charlist:
		elems = make([]Term, 0, len(x))
		for _, r := range string(x) {
			elems = append(elems, int64(r))
		}
		return elems, nil, false
	case ImproperList:
		switch j := joinList(slices.Clip(x.Elems), x.Tail).(type) {
		case List:
			return j, nil, false
		case ImproperList:
			return j.Elems, j.Tail, true
		}
	}
	return nil, nil, false
}

// bitsOf returns the bytes of a bitstring term, as b or as s when it is a
// Go string, and the bits used in its last byte.
func bitsOf(t Term) (b []byte, s string, isString bool, bits uint8) {
	switch x := t.(type) {
	case []byte:
		return x, "", false, 8
	case string:
		return nil, x, true, 8
	case BitString:
		return x.Bytes, "", false, x.Bits
	}
	return nil, "", false, 8
}

func bitsEqual(a, b Term) bool {
	ab, as, aStr, aBits := bitsOf(a)
	bb, bs, bStr, bBits := bitsOf(b)
	if aBits != bBits {
		return false
	}
	switch {
	case aStr && bStr:
		return as == bs
	case aStr:
		return as == string(bb)
	case bStr:
		return string(ab) == bs
	case aBits == 8:
		return bytes.Equal(ab, bb)
	}
	n := len(ab)
	if n != len(bb) || n == 0 {
		return n == len(bb)
	}
	mask := byte(0xff << (8 - aBits))
	return bytes.Equal(ab[:n-1], bb[:n-1]) && ab[n-1]&mask == bb[n-1]&mask
}

func mapsEqual(a, b Map) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) <= smallMapDupScan {
		for _, p := range a {
			v, ok := b.Get(p.Key)
			if !ok || !Equal(p.Value, v) {
				return false
			}
		}
		return true
	}
	idx := newKeyIndex(b)
	for _, p := range a {
		k := idx.find(b, p.Key)
		if k < 0 || !Equal(p.Value, b[k].Value) {
			return false
		}
	}
	return true
}

// Get returns the value for key, compared with Equal, and whether it is present.
// It scans the pairs in order.
func (m Map) Get(key Term) (Term, bool) {
	for _, p := range m {
		if Equal(p.Key, key) {
			return p.Value, true
		}
	}
	return nil, false
}

// Put sets the value for key, replacing the pair whose key is Equal to it or
// appending a new pair.
func (m *Map) Put(key, value Term) {
	for k, p := range *m {
		if Equal(p.Key, key) {
			(*m)[k].Value = value
			return
		}
	}
	*m = append(*m, Pair{Key: key, Value: value})
}

// duplicateKey returns the index of the first key of m Equal to an earlier
// one, or -1. Keys in strictly increasing order, as OTP writes small maps,
// are distinct and need nothing more; other small maps are checked pairwise,
// and big ones through a table of keyed hashes of the keys, so hostile keys
// cannot make it quadratic.
func duplicateKey(m Map) int {
	if increasingKeys(m) {
		return -1
	}
	if len(m) <= smallMapDupScan {
		if k, ok := duplicateAtomKey(m); ok {
			return k
		}
		for k := 1; k < len(m); k++ {
			for j := 0; j < k; j++ {
				if Equal(m[j].Key, m[k].Key) {
					return k
				}
			}
		}
		return -1
	}
	if k, ok := duplicateDenseInt(m); ok {
		return k
	}
	if uint64(len(m)) >= math.MaxUint32 {
		idx := keyIndex{first: make(map[uint64]int, len(m))}
		for k := range m {
			if idx.add(m, k) {
				return k
			}
		}
		return -1
	}
	size := 4
	for size < 2*len(m) {
		size <<= 1
	}
	var small [smallKeyTable]keySlot
	table := small[:]
	if size > smallKeyTable {
		table = make([]keySlot, size)
	}
	mask := uint64(size - 1)
	for k, p := range m {
		h := hashKey(p.Key)
		for x := h & mask; ; x = (x + 1) & mask {
			s := &table[x]
			if s.next == 0 {
				s.h, s.next = uint32(h>>32), uint32(k+1)
				break
			}
			if s.h == uint32(h>>32) && Equal(m[s.next-1].Key, p.Key) {
				return k
			}
		}
	}
	return -1
}

// duplicateDenseInt is duplicateKey for a map whose keys are all int64s
// within a range of at most 16 per key, such as 1..N: it marks each key in a
// bitmap of that range, no bigger than two bytes per key. ok is false for
// other maps.
func duplicateDenseInt(m Map) (k int, ok bool) {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, p := range m {
		i, ok := p.Key.(int64)
		if !ok {
			return -1, false
		}
		lo, hi = min(lo, i), max(hi, i)
	}
	span := uint64(hi) - uint64(lo)
	if span >= 16*uint64(len(m)) {
		return -1, false
	}
	seen := make([]uint64, span/64+1)
	for k, p := range m {
		d := uint64(p.Key.(int64)) - uint64(lo)
		w, bit := &seen[d/64], uint64(1)<<(d%64)
		if *w&bit != 0 {
			return k, true
		}
		*w |= bit
	}
	return -1, true
}

// increasingKeys reports whether the keys of m are all int64s, all Atoms or
// all []bytes, each greater than the one before: then no two are Equal. It
// stops at the first key out of order, so it costs little when it fails.
func increasingKeys(m Map) bool {
	if len(m) < 2 {
		return true
	}
	switch first := m[0].Key.(type) {
	case Atom:
		prev := first
		for _, p := range m[1:] {
			a, ok := p.Key.(Atom)
			if !ok || a <= prev {
				return false
			}
			prev = a
		}
		return true
	case []byte:
		prev := first
		for _, p := range m[1:] {
			b, ok := p.Key.([]byte)
			if !ok || bytes.Compare(b, prev) <= 0 {
				return false
			}
			prev = b
		}
		return true
	case int64:
		prev := first
		for _, p := range m[1:] {
			i, ok := p.Key.(int64)
			if !ok || i <= prev {
				return false
			}
			prev = i
		}
		return true
	}
	return false
}

// keySlot is a slot of duplicateKey's open-addressing table: the high half
// of the hash of the key at index next-1, or empty when next is 0.
type keySlot struct {
	h    uint32
	next uint32
}

// smallKeyTable is the size of the table duplicateKey keeps on the stack,
// enough for maps of up to 64 keys.
const smallKeyTable = 128

// atomSalt keeps the hash of an atom apart from that of a binary with the same bytes.
const atomSalt = 0x9e3779b97f4a7c15

// hashKey is hashTerm, quicker for atoms and binaries; Equal keys hash alike.
func hashKey(t Term) uint64 {
	switch x := t.(type) {
	case Atom:
		return hashName(string(x)) ^ atomSalt
	case bool, nil:
		return hashName(atomName(x)) ^ atomSalt
	case []byte:
		return hashBinary(x)
	case string:
		return hashName(x)
	case BitString:
		if x.Bits == 8 {
			return hashBinary(x.Bytes)
		}
	case int64:
		return hashInt(x)
	}
	if i, z, ok := intOf(t); ok && z == nil {
		return hashInt(i)
	}
	return hashTerm(t)
}

// intSeeds key hashInt; they are drawn from hashSeed, fresh in each process.
var intSeeds = [3]uint64{
	maphash.String(hashSeed, "int0"), maphash.String(hashSeed, "int1"), maphash.String(hashSeed, "int2"),
}

// hashInt is a keyed hash of an integer: two rounds of a 128-bit multiply
// folded to 64 bits, as the runtime hashes 8-byte keys without AES.
func hashInt(i int64) uint64 {
	hi, lo := bits.Mul64(uint64(i)^intSeeds[0], intSeeds[1]|1)
	hi, lo = bits.Mul64(hi^lo^intSeeds[2], intSeeds[1]|1)
	return hi ^ lo
}

// hashName and hashBinary are keyed hashes of a name or binary; a string
// and a []byte with the same bytes hash alike.
func hashName(s string) uint64 {
	if len(s) <= 16 {
		return hashShort(s)
	}
	return maphash.String(hashSeed, s)
}

func hashBinary(b []byte) uint64 {
	if len(b) <= 16 {
		return hashShort(b)
	}
	return maphash.Bytes(hashSeed, b)
}

// hashShort hashes up to 16 bytes, as most keys are, the way hashInt hashes
// an integer: from two words that hold all of them, and their count.
func hashShort[S string | []byte](s S) uint64 {
	n := len(s)
	var a, b uint64
	switch {
	case n >= 8:
		a, b = le64(s, 0), le64(s, n-8)
	case n >= 4:
		a, b = uint64(le32(s, 0)), uint64(le32(s, n-4))
	case n > 0:
		a = uint64(s[0])<<16 | uint64(s[n/2])<<8 | uint64(s[n-1])
	}
	hi, lo := bits.Mul64(a^intSeeds[0], b^uint64(n)<<56^intSeeds[2])
	hi, lo = bits.Mul64(hi^lo^intSeeds[2], intSeeds[1]|1)
	return hi ^ lo
}

// duplicateAtomKey is duplicateKey for a map whose keys are all atoms, the
// common case; ok is false if some key is not an Atom.
func duplicateAtomKey(m Map) (k int, ok bool) {
	for _, p := range m {
		if _, ok := p.Key.(Atom); !ok {
			return -1, false
		}
	}
	for k := 1; k < len(m); k++ {
		a := m[k].Key.(Atom)
		for j := 0; j < k; j++ {
			if m[j].Key.(Atom) == a {
				return k, true
			}
		}
	}
	return -1, true
}

// keyIndex finds the keys of a Map by hash.
type keyIndex struct {
	first map[uint64]int // hash to the first key with it
	more  map[uint64][]int
}

func newKeyIndex(m Map) keyIndex {
	idx := keyIndex{first: make(map[uint64]int, len(m))}
	for k := range m {
		idx.add(m, k)
	}
	return idx
}

// add indexes m[k] and reports whether an Equal key was already there.
func (idx *keyIndex) add(m Map, k int) bool {
	h := hashTerm(m[k].Key)
	j, ok := idx.first[h]
	if !ok {
		idx.first[h] = k
		return false
	}
	if Equal(m[j].Key, m[k].Key) {
		return true
	}
	for _, j := range idx.more[h] {
		if Equal(m[j].Key, m[k].Key) {
			return true
		}
	}
	if idx.more == nil {
		idx.more = make(map[uint64][]int)
	}
	idx.more[h] = append(idx.more[h], k)
	return false
}

// find returns the index in m of the key Equal to key, or -1.
func (idx *keyIndex) find(m Map, key Term) int {
	h := hashTerm(key)
	j, ok := idx.first[h]
	if !ok {
		return -1
	}
	if Equal(m[j].Key, key) {
		return j
	}
	for _, j := range idx.more[h] {
		if Equal(m[j].Key, key) {
			return j
		}
	}
	return -1
}

var hashSeed = maphash.MakeSeed()

// hashTerm returns a keyed hash of t; Equal terms hash alike.
func hashTerm(t Term) uint64 {
	var h maphash.Hash
	h.SetSeed(hashSeed)
	hashInto(&h, t)
	return h.Sum64()
}

func hashUint(h *maphash.Hash, u uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], u)
	h.Write(b[:])
}

func hashString(h *maphash.Hash, s string) {
	hashUint(h, uint64(len(s)))
	h.WriteString(s)
}

func hashInto(h *maphash.Hash, t Term) {
	k := kindOf(t)
	h.WriteByte(byte(k))
	switch k {
	case kindNumber:
		i, z, isInt := intOf(t)
		switch {
		case !isInt:
			h.WriteByte('f')
			hashUint(h, math.Float64bits(floatOf(t)))
		case z == nil:
			hashUint(h, uint64(i))
		default:
			h.WriteByte(byte(z.Sign() + 1))
			h.Write(z.Bytes())
		}
	case kindAtom:
		hashString(h, atomName(t))
	case kindRef:
		r := refOf(t)
		hashString(h, string(r.Node))
		hashUint(h, uint64(r.Creation))
		for _, w := range r.ID {
			hashUint(h, uint64(w))
		}
	case kindFun:
		switch x := t.(type) {
		case Fun:
			h.Write(x.raw)
		case Export:
			hashString(h, string(x.Module))
			hashString(h, string(x.Function))
			h.WriteByte(x.Arity)
		}
	case kindPort:
		p := t.(Port)
		hashString(h, string(p.Node))
		hashUint(h, uint64(p.ID)<<32|uint64(p.Creation))
	case kindPid:
		p := t.(Pid)
		hashString(h, string(p.Node))
		hashUint(h, p.ID)
		hashUint(h, uint64(p.Creation))
	case kindTuple:
		x := t.(Tuple)
		hashUint(h, uint64(len(x)))
		for _, e := range x {
			hashInto(h, e)
		}
	case kindMap:
		m := mapOf(t)
		var sum uint64
		for _, p := range m {
			var ph maphash.Hash
			ph.SetSeed(hashSeed)
			hashInto(&ph, p.Key)
			hashInto(&ph, p.Value)
			sum += ph.Sum64()
		}
		hashUint(h, uint64(len(m)))
		hashUint(h, sum)
	case kindList:
		if s, ok := t.(Charlist); ok {
			for _, r := range string(s) {
				h.WriteByte(byte(kindNumber))
				hashUint(h, uint64(r))
			}
			h.WriteByte(byte(kindNil))
			return
		}
		elems, tail, improper := listOf(t)
		for _, e := range elems {
			hashInto(h, e)
		}
		if improper {
			hashInto(h, tail)
		} else {
			h.WriteByte(byte(kindNil))
		}
	case kindBits:
		b, s, isString, bits := bitsOf(t)
		h.WriteByte(bits)
		switch {
		case isString:
			hashString(h, s)
		case bits == 8 || len(b) == 0:
			hashUint(h, uint64(len(b)))
			h.Write(b)
		default:
			hashUint(h, uint64(len(b)))
			h.Write(b[:len(b)-1])
			h.WriteByte(b[len(b)-1] & byte(0xff<<(8-bits)))
		}
	}
}

// Compare returns -1, 0 or +1 as a is less than, equal to (==, so 1 and 1.0
// compare equal) or greater than b in Erlang's term order: number < atom <
// reference < fun < port < pid < tuple < map < [] < list < bitstring. Among
// pids, ports and references of different nodes the order is consistent but
// may differ from the runtime's. Values that are not terms sort first.
func Compare(a, b Term) int {
	ka, kb := kindOf(a), kindOf(b)
	if ka != kb {
		return cmp.Compare(ka, kb)
	}
	switch ka {
	case kindNumber:
		return compareNumbers(a, b)
	case kindAtom:
		return strings.Compare(atomName(a), atomName(b))
	case kindRef:
		x, y := refOf(a), refOf(b)
		if c := strings.Compare(string(x.Node), string(y.Node)); c != 0 {
			return c
		}
		for k := maxRefWords - 1; k >= 0; k-- {
			if c := cmp.Compare(x.ID[k], y.ID[k]); c != 0 {
				return c
			}
		}
		return cmp.Compare(x.Creation, y.Creation)
	case kindFun:
		return compareFuns(a, b)
	case kindPort:
		x, y := a.(Port), b.(Port)
		if c := strings.Compare(string(x.Node), string(y.Node)); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(x.ID, y.ID), cmp.Compare(x.Creation, y.Creation))
	case kindPid:
		x, y := a.(Pid), b.(Pid)
		if c := strings.Compare(string(x.Node), string(y.Node)); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(x.ID>>32, y.ID>>32), cmp.Compare(uint32(x.ID), uint32(y.ID)), cmp.Compare(x.Creation, y.Creation))
	case kindTuple:
		x, y := a.(Tuple), b.(Tuple)
		if len(x) != len(y) {
			return cmp.Compare(len(x), len(y))
		}
		return compareTerms(x, y)
	case kindMap:
		return compareMaps(mapOf(a), mapOf(b))
	case kindList:
		ae, at, aImp := listOf(a)
		be, bt, bImp := listOf(b)
		n := min(len(ae), len(be))
		if c := compareTerms(ae[:n], be[:n]); c != 0 {
			return c
		}
		switch {
		case len(ae) > n:
			return compareTail(ae[n:], bt, bImp, 1)
		case len(be) > n:
			return compareTail(be[n:], at, aImp, -1)
		case aImp && bImp:
			return Compare(at, bt)
		case aImp:
			return Compare(at, List{})
		case bImp:
			return Compare(List{}, bt)
		}
		return 0
	case kindBits:
		return compareBits(a, b)
	}
	return 0
}

// compareTail compares the rest of the longer list, rest, with the tail of
// the shorter one; sign is +1 when the longer list is a.
func compareTail(rest []Term, tail Term, improper bool, sign int) int {
	if !improper {
		return sign
	}
	return sign * Compare(List(rest), tail)
}

func compareTerms(a, b []Term) int {
	for k := range a {
		if c := Compare(a[k], b[k]); c != 0 {
			return c
		}
	}
	return 0
}

func compareNumbers(a, b Term) int {
	ai, az, aInt := intOf(a)
	bi, bz, bInt := intOf(b)
	switch {
	case aInt && bInt && az == nil && bz == nil:
		return cmp.Compare(ai, bi)
	case !aInt && !bInt:
		return cmp.Compare(floatOf(a), floatOf(b))
	}
	return bigFloat(a, ai, az, aInt).Cmp(bigFloat(b, bi, bz, bInt))
}

func bigFloat(t Term, i int64, z *big.Int, isInt bool) *big.Float {
	switch {
	case !isInt:
		return big.NewFloat(floatOf(t))
	case z != nil:
		return new(big.Float).SetInt(z)
	}
	return new(big.Float).SetInt64(i)
}

// compareExact is Compare, except that an integer sorts before a float of the
// same value, as in the key order of maps.
func compareExact(a, b Term) int {
	if c := Compare(a, b); c != 0 {
		return c
	}
	if kindOf(a) == kindNumber {
		_, _, aInt := intOf(a)
		_, _, bInt := intOf(b)
		switch {
		case aInt && !bInt:
			return -1
		case !aInt && bInt:
			return 1
		}
	}
	return 0
}

func compareMaps(a, b Map) int {
	if len(a) != len(b) {
		return cmp.Compare(len(a), len(b))
	}
	byKey := func(p, q Pair) int { return compareExact(p.Key, q.Key) }
	a, b = slices.SortedFunc(slices.Values(a), byKey), slices.SortedFunc(slices.Values(b), byKey)
	for k := range a {
		if c := compareExact(a[k].Key, b[k].Key); c != 0 {
			return c
		}
	}
	for k := range a {
		if c := Compare(a[k].Value, b[k].Value); c != 0 {
			return c
		}
	}
	return 0
}

func compareFuns(a, b Term) int {
	switch x := a.(type) {
	case Fun:
		y, ok := b.(Fun)
		if !ok {
			return -1
		}
		if c := strings.Compare(string(x.module), string(y.module)); c != 0 {
			return c
		}
		return bytes.Compare(x.raw, y.raw)
	case Export:
		y, ok := b.(Export)
		if !ok {
			return 1
		}
		return cmp.Or(strings.Compare(string(x.Module), string(y.Module)),
			strings.Compare(string(x.Function), string(y.Function)), cmp.Compare(x.Arity, y.Arity))
	}
	return 0
}

// compareBits compares bitstrings bit by bit; a prefix sorts first.
func compareBits(a, b Term) int {
	ab, as, aStr, aBits := bitsOf(a)
	bb, bs, bStr, bBits := bitsOf(b)
	if aStr {
		ab = []byte(as)
	}
	if bStr {
		bb = []byte(bs)
	}
	la, lb := bitLen(ab, aBits), bitLen(bb, bBits)
	n := min(la, lb)
	if c := bytes.Compare(ab[:n/8], bb[:n/8]); c != 0 {
		return c
	}
	if r := n % 8; r != 0 {
		mask := byte(0xff << (8 - r))
		if c := cmp.Compare(ab[n/8]&mask, bb[n/8]&mask); c != 0 {
			return c
		}
	}
	return cmp.Compare(la, lb)
}

func bitLen(b []byte, bits uint8) int {
	if len(b) == 0 {
		return 0
	}
	return 8*(len(b)-1) + int(bits)
}
