package etf

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"testing"
)

func TestEqual(t *testing.T) {
	cases := []struct {
		a, b Term
		want bool
	}{
		{"k", []byte("k"), true},
		{[]byte("k"), BitString{Bytes: []byte("k"), Bits: 8}, true},
		{int64(1), big.NewInt(1), true},
		{int64(1), 1, true},
		{uint64(1 << 63), new(big.Int).Lsh(big.NewInt(1), 63), true},
		{int64(1), 1.0, false},
		{0.0, math.Copysign(0, -1), false},
		{true, Atom("true"), true},
		{nil, Atom("undefined"), true},
		{Atom("a"), "a", false},
		{Charlist("ab"), List{int64('a'), int64('b')}, true},
		{Charlist(""), List{}, true},
		{List{}, Tuple{}, false},
		{ImproperList{Elems: []Term{int64(1)}, Tail: List{int64(2)}}, List{int64(1), int64(2)}, true},
		{ImproperList{Elems: []Term{int64(1)}, Tail: int64(2)}, List{int64(1), int64(2)}, false},
		{Tuple{"a", int64(1)}, Tuple{[]byte("a"), big.NewInt(1)}, true},
		{Map{{"a", 1}, {"b", 2}}, Map{{[]byte("b"), 2}, {[]byte("a"), 1}}, true},
		{Map{{"a", 1}}, Map{{"a", 2}}, false},
		{map[string]Term{"a": 1}, Map{{[]byte("a"), int64(1)}}, true},
		{BitString{Bytes: []byte{0xf0}, Bits: 4}, BitString{Bytes: []byte{0xff}, Bits: 4}, true},
		{BitString{Bytes: []byte{0xf0}, Bits: 4}, BitString{Bytes: []byte{0xf0}, Bits: 5}, false},
		{Ref{Node: "n", ID: [5]uint32{1}}, Alias{Node: "n", ID: [5]uint32{1}}, true},
		{make(chan int), make(chan int), false},
	}
	for _, c := range cases {
		if got := Equal(c.a, c.b); got != c.want {
			t.Errorf("Equal(%#v, %#v) = %v; want %v", c.a, c.b, got, c.want)
		}
		if got := Equal(c.b, c.a); got != c.want {
			t.Errorf("Equal(%#v, %#v) = %v; want %v", c.b, c.a, got, c.want)
		}
		if c.want && (hashTerm(c.a) != hashTerm(c.b) || hashKey(c.a) != hashKey(c.b)) {
			t.Errorf("hash of %#v and %#v differ; want the same for Equal terms", c.a, c.b)
		}
	}
}

func TestBigMapKeys(t *testing.T) {
	m := Map{}
	for k := 0; k < 100; k++ {
		m.Put(int64(k), k)
	}
	m.Put(big.NewInt(5), "five")
	if v, ok := m.Get(5); !ok || v != "five" {
		t.Errorf("Get(5) = %v, %v; want five, true", v, ok)
	}
	if len(m) != 100 {
		t.Errorf("len after replacing Put = %d; want 100", len(m))
	}
	if got := duplicateKey(m); got != -1 {
		t.Errorf("duplicateKey(distinct) = %d; want -1", got)
	}
	m = append(m, Pair{Key: 1.0, Value: 0})
	if got := duplicateKey(m); got != -1 {
		t.Errorf("duplicateKey with 1 and 1.0 = %d; want -1", got)
	}
	m = append(m, Pair{Key: big.NewInt(99), Value: 0})
	if got := duplicateKey(m); got != 101 {
		t.Errorf("duplicateKey with 99 twice = %d; want 101", got)
	}
	for _, pair := range [][2]Term{{nil, Atom("undefined")}, {true, Atom("true")}, {"k", BitString{Bytes: []byte("k"), Bits: 8}}} {
		keys := append(Map{{pair[0], 0}}, m[:50]...)
		keys = append(keys, Pair{Key: pair[1]})
		if got := duplicateKey(keys); got != 51 {
			t.Errorf("duplicateKey with %#v and %#v = %d; want 51", pair[0], pair[1], got)
		}
	}
	rev := make(Map, 0, 100)
	for k := 99; k >= 0; k-- {
		rev = append(rev, m[k])
	}
	if !Equal(m[:100], rev) {
		t.Errorf("Equal of a 100-key map and its reverse = false; want true")
	}
}

func TestCompare(t *testing.T) {
	order := []Term{
		int64(-1), 1.5, int64(2), new(big.Int).Lsh(big.NewInt(1), 70),
		Atom("a"), Atom("b"),
		Ref{Node: "n", ID: [5]uint32{1}},
		Export{Module: "m", Function: "f", Arity: 1},
		Port{Node: "n", ID: 1},
		Pid{Node: "n", ID: 1},
		Tuple{int64(9)}, Tuple{int64(1), int64(1)},
		Map{{Atom("a"), int64(1)}}, Map{{Atom("a"), int64(2)}}, Map{{Atom("a"), int64(1)}, {Atom("b"), int64(1)}},
		List{},
		ImproperList{Elems: []Term{int64(1)}, Tail: int64(0)}, List{int64(1)}, List{int64(1), int64(2), int64(3)}, List{int64(2)}, Charlist("ab"),
		BitString{Bytes: []byte{0x80}, Bits: 1}, []byte{0x80}, "\x80\x00", []byte{0x81},
	}
	for i, a := range order {
		for j, b := range order {
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := Compare(a, b); got != want {
				t.Errorf("Compare(%#v, %#v) = %d; want %d", a, b, got, want)
			}
		}
	}
	if got := Compare(int64(1), 1.0); got != 0 {
		t.Errorf("Compare(1, 1.0) = %d; want 0", got)
	}
}

func TestDuplicateKey(t *testing.T) {
	ints := func(keys ...Term) Map {
		m := make(Map, len(keys))
		for k, key := range keys {
			m[k].Key = key
		}
		return m
	}
	seq := func(n int, key func(int) Term) []Term {
		out := make([]Term, n)
		for k := range out {
			out[k] = key(k)
		}
		return out
	}
	atoms := seq(40, func(k int) Term { return Atom(fmt.Sprintf("k%03d", k)) })
	bins := seq(40, func(k int) Term { return []byte(fmt.Sprintf("k%03d", k)) })
	dense := seq(100, func(k int) Term { return int64(k) })
	sparse := seq(100, func(k int) Term { return int64(k) << 40 })
	reversed := slices.Clone(dense)
	slices.Reverse(reversed)
	for _, tt := range []struct {
		name string
		keys []Term
		want int
	}{
		{"sorted atoms", atoms, -1},
		{"sorted binaries", bins, -1},
		{"sorted ints", dense, -1},
		{"sorted atoms, last repeated", append(slices.Clone(atoms), atoms[39]), 40},
		{"sorted binaries, last repeated as a string", append(slices.Clone(bins), Term("k039")), 40},
		{"dense ints reversed", reversed, -1},
		{"dense ints, first repeated", append(slices.Clone(dense), int64(0)), 100},
		{"dense ints, first repeated as an int", append(slices.Clone(dense), 0), 100},
		{"sparse ints, shuffled, repeated", append([]Term{sparse[7]}, append(slices.Clone(sparse[:7]), sparse[7:]...)...), 8},
		{"sparse ints, repeated as a *big.Int", append(slices.Clone(sparse), new(big.Int).Lsh(big.NewInt(3), 40)), 100},
		{"1 and 1.0", []Term{int64(2), int64(1), 1.0}, -1},
	} {
		if got := duplicateKey(ints(tt.keys...)); got != tt.want {
			t.Errorf("%s: duplicateKey = %d; want %d", tt.name, got, tt.want)
		}
	}
}
