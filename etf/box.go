package etf

import "unsafe"

// Boxing a decoded value in a Term allocates a copy of it on the heap, one
// small allocation per integer above 255, float, tuple, list, map, binary,
// pid or reference. A slab instead copies values into a larger slice and builds
// each Term by hand, with its data word pointing at the value's element of
// the slice: one allocation serves many values.
//
// This is the only file that builds interface values with unsafe. It relies
// on two facts of the gc runtime's layout of an empty interface (type word,
// then data word): a value whose type is not pointer-shaped is held through a
// pointer to an immutable copy, and a pointer into the middle of an
// allocation keeps all of it alive. So T must not be pointer-shaped (a
// pointer, map, chan, func, or a struct or array of one such field); int64,
// float64, slices, Pid and Ref are not. Nothing writes to an element once it is
// boxed, so the boxed values are immutable as Go requires. The cost is
// retention: a Term kept alone keeps its whole slab (at most slabMax
// elements) alive. FuzzDecode and the corpus tests cover every boxed kind.

// eface is the layout of an empty interface value (runtime.eface).
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// typeWord returns the type word of v's dynamic type.
func typeWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

// slabMax bounds a slab's length: slabs start at one element and double, so
// a term with one boxed value allocates no more than the runtime would, and
// one with many allocates about log2 of them plus one per slabMax.
const slabMax = 512

// slab boxes values of type T, cut from slices it allocates.
type slab[T any] struct {
	free []T
	next int // elements of the next slice; 0 means 1
}

// box returns v as a Term. left is how many more values of T the input
// could hold at most, which bounds the slab allocated.
func (s *slab[T]) box(v T, typ unsafe.Pointer, left int) Term {
	if len(s.free) == 0 {
		s.refill(left)
	}
	p := &s.free[0]
	s.free = s.free[1:]
	*p = v
	var t Term
	e := (*eface)(unsafe.Pointer(&t))
	e.typ, e.data = typ, unsafe.Pointer(p)
	return t
}

// refill allocates the slab's next slice. It is box's rare path, kept out
// of it so that box, inlined into the decoder, keeps the frames of the
// functions it is inlined into small.
//
//go:noinline
func (s *slab[T]) refill(left int) {
	n := max(s.next, 1)
	s.next = min(2*n, slabMax)
	s.free = make([]T, max(1, min(n, left)))
}

// Type words of the boxed types.
var (
	int64Type   = typeWord(int64(0))
	float64Type = typeWord(float64(0))
	tupleType   = typeWord(Tuple(nil))
	listType    = typeWord(List(nil))
	mapType     = typeWord(Map(nil))
	bytesType   = typeWord([]byte(nil))
	pidType     = typeWord(Pid{})
	refType     = typeWord(Ref{})
)

// loneBinaryMax is the longest binary boxLoneBinary takes: a loneBinary is
// then 32 bytes, one of the runtime's size classes and no more than the
// header and a tiny allocation would cost apart.
const loneBinaryMax = 8

// loneBinary is a short binary and its slice header in one allocation.
type loneBinary struct {
	s []byte
	b [loneBinaryMax]byte
}

// boxLoneBinary returns a copy of b (at most loneBinaryMax bytes) as a
// []byte Term in one allocation: the Term's data word points to the
// header, whose slice points into the same loneBinary, and whose capacity is
// its length, so that appending to it copies.
func boxLoneBinary(b []byte) Term {
	lb := new(loneBinary)
	lb.s = lb.b[:len(b):len(b)]
	copy(lb.s, b)
	var t Term
	e := (*eface)(unsafe.Pointer(&t))
	e.typ, e.data = bytesType, unsafe.Pointer(&lb.s)
	return t
}
