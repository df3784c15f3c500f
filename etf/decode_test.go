package etf

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func bigInt(s string) *big.Int {
	z, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("bad big " + s)
	}
	return z
}

var node = Atom("nonode@nohost")

// erlCases hold term_to_binary(T, [{minor_version, 2}]) output of OTP 25,
// which Encode reproduces byte for byte.
var erlCases = []struct {
	name string
	erl  string // the Erlang term
	b    []byte
	want Term
}{
	{"small_int", "1", []byte{131, 97, 1}, int64(1)},
	{"integer", "-5", []byte{131, 98, 255, 255, 255, 251}, int64(-5)},
	{"integer_256", "256", []byte{131, 98, 0, 0, 1, 0}, int64(256)},
	{"small_big", "1 bsl 40", []byte{131, 110, 6, 0, 0, 0, 0, 0, 0, 1}, int64(1 << 40)},
	{"min_int64", "-(1 bsl 63)", []byte{131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128}, int64(-1 << 63)},
	{"big_2_64", "1 bsl 64", []byte{131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, bigInt("18446744073709551616")},
	{"big_minus_2_64", "-(1 bsl 64)", []byte{131, 110, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1}, bigInt("-18446744073709551616")},
	{"float", "1.5", []byte{131, 70, 63, 248, 0, 0, 0, 0, 0, 0}, 1.5},
	{"atom", "abc", []byte{131, 119, 3, 97, 98, 99}, Atom("abc")},
	{"atom_utf8", "'héllo'", []byte{131, 119, 6, 104, 195, 169, 108, 108, 111}, Atom("héllo")},
	{"true", "true", []byte{131, 119, 4, 116, 114, 117, 101}, true},
	{"nil", "[]", []byte{131, 106}, List{}},
	{"empty_tuple", "{}", []byte{131, 104, 0}, Tuple{}},
	{"string", `"abc"`, []byte{131, 107, 0, 3, 97, 98, 99}, Charlist("abc")},
	{"string_seq", "lists:seq(1,3)", []byte{131, 107, 0, 3, 1, 2, 3}, Charlist("\x01\x02\x03")},
	{"export", "fun lists:map/2", []byte{131, 113, 119, 5, 108, 105, 115, 116, 115, 119, 3, 109, 97, 112, 97, 2},
		Export{Module: "lists", Function: "map", Arity: 2}},
	{"pid", `list_to_pid("<0.5.1>")`, []byte{131, 88, 119, 13, 110, 111, 110, 111, 100, 101, 64, 110, 111, 104, 111, 115, 116, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0},
		Pid{Node: node, ID: 1<<32 | 5}},
	{"tuple_of_ints", "{1, -5, 256, 1 bsl 40, -(1 bsl 63), 1 bsl 64, -(1 bsl 64)}",
		[]byte{131, 104, 7, 97, 1, 98, 255, 255, 255, 251, 98, 0, 0, 1, 0, 110, 6, 0, 0, 0, 0, 0, 0, 1, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 110, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		Tuple{int64(1), int64(-5), int64(256), int64(1 << 40), int64(-1 << 63), bigInt("18446744073709551616"), bigInt("-18446744073709551616")}},
	{"map", `#{<<"k">> => [1|2], a => {}, 1 => 1.5}`,
		[]byte{131, 116, 0, 0, 0, 3, 97, 1, 70, 63, 248, 0, 0, 0, 0, 0, 0, 119, 1, 97, 104, 0, 109, 0, 0, 0, 1, 107, 108, 0, 0, 0, 1, 97, 1, 97, 2},
		Map{{int64(1), 1.5}, {Atom("a"), Tuple{}}, {[]byte("k"), ImproperList{Elems: []Term{int64(1)}, Tail: int64(2)}}}},
	{"list", `[a, "xy", <<>>, <<1,2,3:4>>, [300]]`,
		[]byte{131, 108, 0, 0, 0, 5, 119, 1, 97, 107, 0, 2, 120, 121, 109, 0, 0, 0, 0, 77, 0, 0, 0, 3, 4, 1, 2, 48, 108, 0, 0, 0, 1, 98, 0, 0, 1, 44, 106, 106},
		List{Atom("a"), Charlist("xy"), []byte{}, BitString{Bytes: []byte{1, 2, 48}, Bits: 4}, List{int64(300)}}},
}

func TestDecode(t *testing.T) {
	for _, c := range erlCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Decode(c.b)
			if err != nil {
				t.Fatalf("Decode(%s): %v", c.erl, err)
			}
			if !Equal(got, c.want) {
				t.Errorf("Decode(%s) = %#v; want %#v", c.erl, got, c.want)
			}
			if !reflect.DeepEqual(got, c.want) {
				if _, isBig := c.want.(*big.Int); !isBig {
					t.Errorf("Decode(%s) = %#v (%T); want exactly %#v (%T)", c.erl, got, got, c.want, c.want)
				}
			}
		})
	}
}

func TestEncodeMatchesErlang(t *testing.T) {
	for _, c := range erlCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Encode(c.want)
			if err != nil {
				t.Fatalf("Encode(%#v): %v", c.want, err)
			}
			if !bytes.Equal(got, c.b) {
				t.Errorf("Encode(%s) = %v; want %v", c.erl, got, c.b)
			}
		})
	}
}

func TestDecodeTruncated(t *testing.T) {
	for _, c := range erlCases {
		for n := 0; n < len(c.b); n++ {
			_, err := Decode(c.b[:n])
			if !errors.Is(err, ErrTruncated) {
				t.Errorf("Decode(%s[:%d]) error = %v; want ErrTruncated", c.erl, n, err)
			}
			var de *DecodeError
			if n > 0 && !errors.As(err, &de) {
				t.Errorf("Decode(%s[:%d]) error %T; want *DecodeError", c.erl, n, err)
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"huge_tuple", []byte{131, 105, 127, 255, 255, 255}, "etf: truncated LARGE_TUPLE_EXT at offset 1"},
		{"short_tuple", []byte{131, 104, 3, 97, 1, 97, 2, 97}, "etf: truncated SMALL_INTEGER_EXT at offset 7"},
		{"missing_elem", []byte{131, 104, 2, 97, 1}, "etf: truncated SMALL_TUPLE_EXT at offset 1"},
		{"version", []byte{130, 97, 1}, "etf: version byte 130, want 131 at offset 0"},
		{"unknown_tag", []byte{131, 1}, "etf: unknown tag 1 at offset 1"},
		{"trailing", []byte{131, 97, 1, 0}, "etf: 1 bytes after the term at offset 3"},
		{"dup_key", []byte{131, 116, 0, 0, 0, 2, 97, 1, 97, 1, 97, 1, 97, 2}, "etf: duplicate key in MAP_EXT at offset 1"},
		{"huge_list", []byte{131, 108, 255, 255, 255, 255, 106}, "etf: truncated LIST_EXT at offset 1"},
		{"huge_map", []byte{131, 116, 255, 255, 255, 255, 106}, "etf: truncated MAP_EXT at offset 1"},
		{"huge_binary", []byte{131, 109, 255, 255, 255, 255, 106}, "etf: truncated BINARY_EXT at offset 1"},
		{"nan", []byte{131, 70, 127, 248, 0, 0, 0, 0, 0, 0}, "etf: non-finite NEW_FLOAT_EXT at offset 1"},
		{"bad_utf8_atom", []byte{131, 119, 1, 255}, "etf: invalid UTF-8 or more than 255 characters in SMALL_ATOM_UTF8_EXT at offset 1"},
		{"old_fun", []byte{131, 117, 0, 0, 0, 0}, "etf: unsupported (removed in OTP 23) FUN_EXT at offset 1"},
		{"huge_compressed", []byte{131, 80, 255, 255, 255, 255, 120, 156}, "etf: uncompressed size 4294967295 above MaxSize 67108864 in COMPRESSED at offset 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.b)
			if err == nil || err.Error() != c.want {
				t.Errorf("Decode(%v) error = %v; want %s", c.b, err, c.want)
			}
		})
	}
}

func TestDecodeDeepNesting(t *testing.T) {
	deep := func(n int) []byte {
		b := []byte{131}
		for k := 0; k < n; k++ {
			b = append(b, 108, 0, 0, 0, 1)
		}
		b = append(b, 106)
		return append(b, bytes.Repeat([]byte{106}, n)...)
	}
	if _, err := Decode(deep(5000)); err != nil {
		t.Fatalf("Decode(5000 deep): %v", err)
	}
	_, err := Decode(deep(DefaultMaxDepth + 1))
	if err == nil || !strings.Contains(err.Error(), "MaxDepth") {
		t.Errorf("Decode(too deep) error = %v; want one naming MaxDepth", err)
	}
}

func TestDecodeHugeLengthDoesNotAllocate(t *testing.T) {
	inputs := [][]byte{
		{131, 105, 127, 255, 255, 255},
		{131, 108, 255, 255, 255, 255, 106},
		{131, 116, 127, 255, 255, 255},
		{131, 109, 127, 255, 255, 255},
		{131, 111, 127, 255, 255, 255, 0},
		{131, 80, 0, 0, 16, 0, 120, 156},
	}
	for _, in := range inputs {
		allocs := testing.AllocsPerRun(10, func() {
			if _, err := Decode(in); err == nil {
				t.Fatalf("Decode(%v) succeeded", in)
			}
		})
		if allocs > 8 {
			t.Errorf("Decode(%v) made %v allocations; want a few for the error", in, allocs)
		}
	}
}

func TestDecodeConcurrent(t *testing.T) {
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			for k := 0; k < 200; k++ {
				for _, c := range erlCases {
					got, err := Decode(c.b)
					if err == nil && !Equal(got, c.want) {
						err = errors.New("decoded " + c.name + " differently")
					}
					if err != nil {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestAtomCache(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		want Term
	}{
		{"true_twice", []byte{131, 119, 4, 't', 'r', 'u', 'e'}, true},
		{"false_latin1", []byte{131, 100, 0, 5, 'f', 'a', 'l', 's', 'e'}, false},
		{"utf8", []byte{131, 119, 2, 0xc3, 0xa9}, Atom("é")},
		{"latin1_same_bytes", []byte{131, 115, 2, 0xc3, 0xa9}, Atom("Ã©")},
		{"latin1", []byte{131, 115, 1, 0xe9}, Atom("é")},
		{"pid_node", []byte{131, 88, 119, 4, 't', 'r', 'u', 'e', 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, Pid{Node: "true", ID: 1}},
	}
	for round := 0; round < 2; round++ {
		for _, c := range cases {
			got, err := Decode(c.b)
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Errorf("round %d: Decode(%s) = %#v, %v; want %#v", round, c.name, got, err, c.want)
			}
		}
	}
	if _, err := Decode([]byte{131, 119, 2, 0xc3, 0x28}); err == nil {
		t.Errorf("Decode(invalid UTF-8 atom) succeeded")
	}
}

func TestDecodeShortBinariesApart(t *testing.T) {
	data, err := Encode(List{[]byte("ab"), []byte("cd"), int64(1000), int64(2000)})
	if err != nil {
		t.Fatal(err)
	}
	v, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	l := v.(List)
	first := l[0].([]byte)
	if cap(first) != len(first) {
		t.Errorf("cap of a decoded binary = %d; want its length %d", cap(first), len(first))
	}
	_ = append(first, 'x')
	first[0] = 'z'
	want := List{[]byte("zb"), []byte("cd"), int64(1000), int64(2000)}
	if !Equal(l, want) {
		t.Errorf("after appending to and writing the first binary, list = %v; want %v", l, want)
	}
}

func TestParseSubnormal(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(text string, wantFast bool) {
		t.Helper()
		want, err := strconv.ParseFloat(text, 64)
		got, ok := parseSubnormal([]byte(text))
		if wantFast && !ok {
			t.Errorf("parseSubnormal(%q) not ok; want %v", text, want)
		}
		if ok && (err != nil || math.Float64bits(got) != math.Float64bits(want)) {
			t.Errorf("parseSubnormal(%q) = %v; want %v (ParseFloat error %v)", text, got, want, err)
		}
	}
	for _, bits := range []uint64{1, 2, 3, 1<<52 - 1, 1 << 51, 0x8000000000000001} {
		f := math.Float64frombits(bits)
		check(fmt.Sprintf("%.20e", f), true)
	}
	for range 2000 {
		f := math.Float64frombits(rng.Uint64N(1<<52) | rng.Uint64N(2)<<63)
		check(fmt.Sprintf("%.20e", f), true)
		check(fmt.Sprintf("%.*e", rng.IntN(25), f), false)
		// Decimals near halfway between neighbouring subnormals.
		mid := new(big.Float).SetPrec(200).SetFloat64(f)
		mid.Add(mid, new(big.Float).SetPrec(200).SetMantExp(big.NewFloat(float64(rng.IntN(3))-1), -1075))
		check(mid.Text('e', 22), true)
	}
	for _, text := range []string{"2.2250738585072014e-308", "2.2250738585072011e-308", "1e-400", "-1e-330",
		"4.9e-324", "2.4703282292062327e-324", "2.4703282292062328e-324", "0.0e-330", "1.5e+00", "1e-5", "e-330", "1.e-330", ".5e-330"} {
		check(text, false)
	}
}

// TestDecodeLoneMatchesNested checks that a term decoded alone, which may
// take loneScalar's shortcut, equals the same bytes decoded as the element of
// a one-element list, which takes the decodeState path; each term is decoded
// twice so that its atoms are interned the second time.
func TestDecodeLoneMatchesNested(t *testing.T) {
	for _, e := range loadCorpus(t) {
		if len(e.Data) < 2 || e.Data[1] == tagCompressed {
			continue
		}
		body := e.Data[1:]
		wrapped := append(append([]byte{131, tagList, 0, 0, 0, 1}, body...), tagNil)
		for range 2 {
			lone, err := Decode(e.Data)
			l, werr := Decode(wrapped)
			if err != nil || werr != nil {
				if (err == nil) != (werr == nil) {
					t.Errorf("%s: got error %v; want %v, as nested", e.Name, err, werr)
				}
				break
			}
			nested := l.(List)[0]
			if reflect.TypeOf(lone) != reflect.TypeOf(nested) || !reflect.DeepEqual(lone, nested) {
				t.Errorf("%s: got %#v; want %#v", e.Name, lone, nested)
			}
			if bs, ok := lone.([]byte); ok && cap(bs) != len(bs) {
				t.Errorf("%s: got cap %d; want len %d", e.Name, cap(bs), len(bs))
			}
			if term, n, err := DecodeTerm(body); err != nil || n != len(body) || !reflect.DeepEqual(term, lone) {
				t.Errorf("%s: DecodeTerm got %#v, %d, %v; want %#v, %d, nil", e.Name, term, n, err, lone, len(body))
			}
		}
	}
}
