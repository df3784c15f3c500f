package etf

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
)

// funBytes is term_to_binary(fun(Y) -> X + Y end) with X = 7, from erl_eval in OTP 25.
var funBytes = []byte{131, 112, 0, 0, 0, 186, 1, 6, 83, 97, 170, 70, 21, 144, 209, 189, 241, 235, 98, 209, 166, 235, 8, 0, 0, 0, 42, 0, 0, 0, 1, 119, 8, 101, 114, 108, 95, 101, 118, 97, 108, 97, 42, 98, 0, 50, 155, 13, 88, 119, 13, 110, 111, 110, 111, 100, 101, 64, 110, 111, 104, 111, 115, 116, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 104, 6, 97, 3, 108, 0, 0, 0, 1, 104, 2, 119, 1, 88, 97, 7, 106, 119, 4, 110, 111, 110, 101, 119, 4, 110, 111, 110, 101, 116, 0, 0, 0, 0, 108, 0, 0, 0, 1, 104, 5, 119, 6, 99, 108, 97, 117, 115, 101, 97, 3, 108, 0, 0, 0, 1, 104, 3, 119, 3, 118, 97, 114, 97, 3, 119, 1, 89, 106, 106, 108, 0, 0, 0, 1, 104, 5, 119, 2, 111, 112, 97, 3, 119, 1, 43, 104, 3, 119, 3, 118, 97, 114, 97, 3, 119, 1, 88, 104, 3, 119, 3, 118, 97, 114, 97, 3, 119, 1, 89, 106, 106}

// otherCases come from erl too, in encodings Encode does not choose; they
// decode to want and re-encode to the bytes enc.
var otherCases = []struct {
	name string
	erl  string
	b    []byte
	want Term
	enc  []byte
}{
	{"compressed", "term_to_binary(lists:duplicate(20, abc), [compressed])",
		[]byte{131, 80, 0, 0, 0, 106, 120, 156, 203, 97, 96, 96, 16, 41, 103, 78, 76, 74, 166, 49, 145, 5, 0, 187, 82, 33, 107},
		atoms(20, "abc"), nil},
	{"old_float", "term_to_binary(1.5, [{minor_version, 0}])",
		[]byte{131, 99, 49, 46, 53, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 101, 43, 48, 48, 0, 0, 0, 0, 0},
		1.5, []byte{131, 70, 63, 248, 0, 0, 0, 0, 0, 0}},
	{"latin1", `term_to_binary(["héllo", abc], [{minor_version, 0}])`,
		[]byte{131, 108, 0, 0, 0, 2, 107, 0, 5, 104, 233, 108, 108, 111, 100, 0, 3, 97, 98, 99, 106},
		List{Charlist("héllo"), Atom("abc")},
		[]byte{131, 108, 0, 0, 0, 2, 107, 0, 5, 104, 233, 108, 108, 111, 119, 3, 97, 98, 99, 106}},
	{"ref", `list_to_ref("#Ref<0.1.2.3>")`,
		[]byte{131, 90, 0, 3, 119, 13, 110, 111, 110, 111, 100, 101, 64, 110, 111, 104, 111, 115, 116, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1},
		Ref{Node: node, ID: [5]uint32{3, 2, 1}}, nil},
	{"ref5", "a 5-word reference as OTP 26 sends",
		[]byte{131, 90, 0, 5, 119, 3, 97, 64, 98, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5},
		Ref{Node: "a@b", Creation: 1, ID: [5]uint32{1, 2, 3, 4, 5}}, nil},
	{"port", `list_to_port("#Port<0.7>")`,
		[]byte{131, 89, 119, 13, 110, 111, 110, 111, 100, 101, 64, 110, 111, 104, 111, 115, 116, 0, 0, 0, 7, 0, 0, 0, 0},
		Port{Node: node, ID: 7}, nil},
	{"v4_port", "a V4_PORT_EXT as OTP 26 sends",
		[]byte{131, 120, 119, 3, 97, 64, 98, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 2},
		Port{Node: "a@b", ID: 7, Creation: 2},
		[]byte{131, 89, 119, 3, 97, 64, 98, 0, 0, 0, 7, 0, 0, 0, 2}},
	{"unicode_string", `"hello€"`,
		[]byte{131, 108, 0, 0, 0, 6, 97, 104, 97, 101, 97, 108, 97, 108, 97, 111, 98, 0, 0, 32, 172, 106},
		List{int64('h'), int64('e'), int64('l'), int64('l'), int64('o'), int64('€')}, nil},
	{"big_2040", "1 bsl 2040",
		append(append([]byte{131, 111, 0, 0, 1, 0, 0}, make([]byte, 255)...), 1),
		new(big.Int).Lsh(big.NewInt(1), 2040), nil},
	{"fun", "fun(Y) -> X + Y end", funBytes, nil, nil},
}

func atoms(n int, name Atom) List {
	l := make(List, n)
	for k := range l {
		l[k] = name
	}
	return l
}

func TestOtherEncodings(t *testing.T) {
	for _, c := range otherCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Decode(c.b)
			if err != nil {
				t.Fatalf("Decode(%s): %v", c.erl, err)
			}
			if c.want != nil && !Equal(got, c.want) {
				t.Errorf("Decode(%s) = %#v; want %#v", c.erl, got, c.want)
			}
			enc, err := Encode(got)
			if err != nil {
				t.Fatalf("Encode(%#v): %v", got, err)
			}
			want := c.enc
			if want == nil && c.name != "compressed" {
				want = c.b
			}
			if want != nil && !bytes.Equal(enc, want) {
				t.Errorf("Encode(Decode(%s)) = %v; want %v", c.erl, enc, want)
			}
			back, err := Decode(enc)
			if err != nil || !Equal(back, got) {
				t.Errorf("Decode(Encode(%s)) = %#v, %v; want %#v", c.erl, back, err, got)
			}
			for n := 0; n < len(c.b); n++ {
				if _, err := Decode(c.b[:n]); !errors.Is(err, ErrTruncated) {
					t.Errorf("Decode(%s[:%d]) error = %v; want ErrTruncated", c.erl, n, err)
				}
			}
		})
	}
}

func TestFun(t *testing.T) {
	got, err := Decode(funBytes)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := got.(Fun)
	if !ok {
		t.Fatalf("Decode(fun) = %T; want Fun", got)
	}
	if f.Module() != "erl_eval" || f.Arity() != 1 {
		t.Errorf("Module, Arity = %v, %v; want erl_eval, 1", f.Module(), f.Arity())
	}
	bad := bytes.Clone(funBytes)
	bad[5]-- // Size one byte short
	if _, err := Decode(bad); err == nil {
		t.Errorf("Decode(fun with a wrong Size) succeeded")
	}
	if _, err := Encode(Fun{}); err == nil {
		t.Errorf("Encode(Fun{}) succeeded")
	}
}

func TestEncodeGoValues(t *testing.T) {
	cases := []struct {
		in   Term
		want []byte
	}{
		{"abc", []byte{131, 109, 0, 0, 0, 3, 97, 98, 99}},
		{nil, []byte{131, 119, 9, 117, 110, 100, 101, 102, 105, 110, 101, 100}},
		{false, []byte{131, 119, 5, 102, 97, 108, 115, 101}},
		{uint8(200), []byte{131, 97, 200}},
		{int8(-1), []byte{131, 98, 255, 255, 255, 255}},
		{uint64(math.MaxUint64), []byte{131, 110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 255}},
		{int(math.MinInt32), []byte{131, 98, 128, 0, 0, 0}},
		{int64(math.MinInt32) - 1, []byte{131, 110, 4, 1, 1, 0, 0, 128}},
		{float32(0.5), []byte{131, 70, 63, 224, 0, 0, 0, 0, 0, 0}},
		{List{int64(1), int64(2)}, []byte{131, 107, 0, 2, 1, 2}},
		{List{int64(1), 2}, []byte{131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 106}},
		{[]Term{}, []byte{131, 106}},
		{Charlist(""), []byte{131, 106}},
		{Charlist("€"), []byte{131, 108, 0, 0, 0, 1, 98, 0, 0, 32, 172, 106}},
		{ImproperList{Elems: []Term{int64(1)}, Tail: int64(2)}, []byte{131, 108, 0, 0, 0, 1, 97, 1, 97, 2}},
		{BitString{Bytes: []byte{0xff}, Bits: 1}, []byte{131, 77, 0, 0, 0, 1, 1, 0x80}},
		{BitString{Bytes: []byte{7}, Bits: 8}, []byte{131, 109, 0, 0, 0, 1, 7}},
		{map[string]Term{"b": 1, "a": true}, []byte{131, 116, 0, 0, 0, 2, 109, 0, 0, 0, 1, 97, 119, 4, 116, 114, 117, 101, 109, 0, 0, 0, 1, 98, 97, 1}},
		{Alias{Node: "a@b", ID: [5]uint32{1, 2, 3}}, []byte{131, 90, 0, 3, 119, 3, 97, 64, 98, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3}},
		{Ref{Node: "a@b", ID: [5]uint32{1, 2, 3, 4}}, []byte{131, 90, 0, 4, 119, 3, 97, 64, 98, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4}},
		{Atom(strings.Repeat("é", 200)), append([]byte{131, 118, 1, 144}, strings.Repeat("é", 200)...)},
	}
	for _, c := range cases {
		got, err := Encode(c.in)
		if err != nil {
			t.Errorf("Encode(%#v): %v", c.in, err)
			continue
		}
		if !bytes.Equal(got, c.want) {
			t.Errorf("Encode(%#v) = %v; want %v", c.in, got, c.want)
		}
		back, err := Decode(got)
		if err != nil || !Equal(back, c.in) {
			t.Errorf("Decode(Encode(%#v)) = %#v, %v; want an Equal term", c.in, back, err)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	cyclic := Tuple{nil}
	cyclic[0] = cyclic
	cases := []struct {
		name string
		in   Term
		want string
	}{
		{"chan", make(chan int), "etf: cannot encode chan int"},
		{"nan", math.NaN(), "etf: cannot encode float64: not finite"},
		{"dup_keys", Map{{"k", 1}, {[]byte("k"), 2}}, "etf: cannot encode etf.Map: duplicate key"},
		{"long_atom", Atom(strings.Repeat("a", 256)), "etf: cannot encode etf.Atom: atom longer than 255 characters or not UTF-8"},
		{"bad_bits", BitString{Bytes: []byte{1}, Bits: 0}, "etf: cannot encode etf.BitString: Bits not in 1..8 or no Bytes"},
		{"nil_big", (*big.Int)(nil), "etf: cannot encode *big.Int: nil"},
		{"cycle", cyclic, "etf: cannot encode: nesting deeper than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := []byte{1, 2}
			got, err := AppendEncode(dst, c.in)
			var ee *EncodeError
			if !errors.As(err, &ee) || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("Encode(%s) error = %v; want *EncodeError %q", c.name, err, c.want)
			}
			if !bytes.Equal(got, dst) {
				t.Errorf("AppendEncode(%v, %s) = %v; want dst unchanged", dst, c.name, got)
			}
		})
	}
}

func TestCompress(t *testing.T) {
	big := atoms(1000, "abc")
	o := EncodeOptions{CompressThreshold: 100}
	b, err := o.Encode(big)
	if err != nil {
		t.Fatal(err)
	}
	if b[1] != tagCompressed || len(b) > 100 {
		t.Fatalf("Encode compressed = %d bytes, tag %d; want a short COMPRESSED term", len(b), b[1])
	}
	got, n, err := DecodePrefix(append(b, 97, 1))
	if err != nil || n != len(b) || !Equal(got, big) {
		t.Errorf("DecodePrefix(compressed + trailer) = %d bytes, %v; want %d bytes, an Equal term", n, err, len(b))
	}
	if _, err := (DecodeOptions{MaxSize: 100}).Decode(b); err == nil {
		t.Errorf("Decode with MaxSize 100 of a %d-byte body succeeded", 5+3*1000)
	}
	small, _ := o.Encode(int64(1))
	if small[1] == tagCompressed {
		t.Errorf("Encode(1) with CompressThreshold 100 compressed it")
	}
}

func TestAppendTermAndDecodeTerm(t *testing.T) {
	var b []byte
	for _, v := range []Term{Atom("a"), int64(1), "x"} {
		var err error
		if b, err = AppendTerm(b, v); err != nil {
			t.Fatal(err)
		}
	}
	var got []Term
	for len(b) > 0 {
		v, n, err := DecodeTerm(b)
		if err != nil {
			t.Fatal(err)
		}
		got, b = append(got, v), b[n:]
	}
	want := List{Atom("a"), int64(1), []byte("x")}
	if !Equal(List(got), want) {
		t.Errorf("DecodeTerm over AppendTerm output = %v; want %v", got, want)
	}
}

func TestAliasBinaries(t *testing.T) {
	in := []byte{131, 109, 0, 0, 0, 1, 'a'}
	v, err := DecodeOptions{AliasBinaries: true}.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	in[6] = 'b'
	if got := v.([]byte); string(got) != "b" {
		t.Errorf("aliased binary = %q after changing the input; want %q", got, "b")
	}
	in[6] = 'a'
	v, _ = Decode(in)
	in[6] = 'b'
	if got := v.([]byte); string(got) != "a" {
		t.Errorf("copied binary = %q after changing the input; want %q", got, "a")
	}
}
