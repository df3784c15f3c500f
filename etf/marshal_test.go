package etf

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
)

type inner struct {
	Host string
	Port int `etf:"port"`
}

type config struct {
	Name    string
	Port    int    `etf:"port"`
	Skip    int    `etf:"-"`
	Dash    int    `etf:"-,"`
	Opt     string `etf:",omitempty"`
	Ptr     *inner
	Tags    []string
	Env     map[string]string
	private int
}

type json []byte

// Addr is exported so that FromTerm can allocate it when it is embedded by pointer.
type Addr struct {
	Host string
}

type withAddr struct {
	*Addr
	Port int
}

type Base struct {
	ID   int64
	Kind string
}

type withEmbedded struct {
	Base
	Kind string // shadows Base.Kind
	*inner
}

// celsius converts itself to a tagged tuple.
type celsius float64

func (c celsius) MarshalTerm() (Term, error) { return Tuple{Atom("celsius"), float64(c)}, nil }

func (c *celsius) UnmarshalTerm(t Term) error {
	tup, ok := t.(Tuple)
	if !ok || len(tup) != 2 || tup[0] != Atom("celsius") {
		return fmt.Errorf("not a celsius tuple: %v", t)
	}
	f, ok := tup[1].(float64)
	if !ok {
		return errors.New("celsius value is not a float")
	}
	*c = celsius(f)
	return nil
}

func bigOfString(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return n
}

func TestToTerm(t *testing.T) {
	var nilPtr *inner
	var nilSlice []int
	var nilMap map[string]int
	tests := []struct {
		name string
		in   any
		want Term
	}{
		{"nil", nil, Atom("undefined")},
		{"nil pointer", nilPtr, Atom("undefined")},
		{"true", true, true},
		{"int", 42, int64(42)},
		{"int8", int8(-5), int64(-5)},
		{"uint64 max int64", uint64(math.MaxInt64), int64(math.MaxInt64)},
		{"uint64 above int64", uint64(math.MaxUint64), bigOfString("18446744073709551615")},
		{"float32", float32(1.5), 1.5},
		{"string", "héllo", "héllo"},
		{"named string", Atom("ok"), Atom("ok")},
		{"charlist", Charlist("abc"), Charlist("abc")},
		{"bytes", []byte("ab"), []byte("ab")},
		{"named bytes", json([]byte("{}")), []byte("{}")},
		{"big", big.NewInt(7), big.NewInt(7)},
		{"big value", *big.NewInt(-7), big.NewInt(-7)},
		{"int slice", []int{1, 2}, List{int64(1), int64(2)}},
		{"nil slice", nilSlice, List{}},
		{"array", [2]string{"a", "b"}, List{"a", "b"}},
		{"byte array", [2]byte{1, 2}, List{int64(1), int64(2)}},
		{"tuple with Go ints", Tuple{Atom("ok"), 1}, Tuple{Atom("ok"), int64(1)}},
		{"list of structs", List{inner{Host: "h"}}, List{Map{{"Host", "h"}, {"port", int64(0)}}}},
		{"map sorted", map[string]int{"b": 2, "a": 1, "c": 3}, Map{{"a", int64(1)}, {"b", int64(2)}, {"c", int64(3)}}},
		{"int keys sorted", map[int]bool{3: true, -1: false}, Map{{int64(-1), false}, {int64(3), true}}},
		{"nil map", nilMap, Map{}},
		{"pid", Pid{Node: "a@b", ID: 1}, Pid{Node: "a@b", ID: 1}},
		{"improper", ImproperList{Elems: []Term{1}, Tail: 2}, ImproperList{Elems: []Term{int64(1)}, Tail: int64(2)}},
		{"marshaler", celsius(21.5), Tuple{Atom("celsius"), 21.5}},
		{"struct", config{Name: "n", Port: 80, Skip: 1, Dash: 2, private: 3},
			Map{
				{"Name", "n"}, {"port", int64(80)}, {"-", int64(2)},
				{"Ptr", Atom("undefined")}, {"Tags", List{}}, {"Env", Map{}},
			}},
		{"omitempty kept", struct {
			A string `etf:"a,omitempty"`
		}{"x"}, Map{{"a", "x"}}},
		{"embedded", withEmbedded{Base: Base{ID: 1, Kind: "base"}, Kind: "outer", inner: &inner{Host: "h", Port: 2}},
			Map{{"ID", int64(1)}, {"Kind", "outer"}, {"Host", "h"}, {"port", int64(2)}}},
		{"embedded nil pointer", withEmbedded{Kind: "k"}, Map{{"ID", int64(0)}, {"Kind", "k"}}},
		{"pointer to struct", &inner{Host: "x"}, Map{{"Host", "x"}, {"port", int64(0)}}},
		{"interface slice", []any{nil, 1, "a"}, List{Atom("undefined"), int64(1), "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToTerm(tt.in)
			if err != nil {
				t.Fatalf("ToTerm(%#v): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ToTerm(%#v)\n got %#v;\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestToTermSharesUnchangedTerms(t *testing.T) {
	l := List{int64(1), "a", Tuple{Atom("x")}}
	got, err := ToTerm(l)
	if err != nil {
		t.Fatal(err)
	}
	if &got.(List)[0] != &l[0] {
		t.Errorf("ToTerm copied a list that needed no conversion")
	}
}

func TestToTermErrors(t *testing.T) {
	type holder struct {
		Items []any
	}
	loop := &struct{ Next any }{}
	loop.Next = loop
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"chan", make(chan int), "etf: unsupported Go type chan int"},
		{"nested func", holder{Items: []any{1, func() {}}}, "etf: unsupported Go type func() at holder.Items[1]"},
		{"NaN", math.NaN(), "etf: unsupported value NaN"},
		{"Inf in map", map[string]float64{"x": math.Inf(1)}, `etf: unsupported value +Inf at map[string]float64["x"]`},
		{"complex in list", List{complex(1, 2)}, "etf: unsupported Go type complex128 at [0]"},
		{"cycle", loop, "nested more than 100000 deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ToTerm(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ToTerm error = %v; want %q", err, tt.want)
			}
		})
	}
}

func TestFromTerm(t *testing.T) {
	ptr := func(v any) any { return v }
	tests := []struct {
		name string
		in   Term
		into any // a pointer to a zero value of the target type
		want any // the value it should hold
	}{
		{"any", Tuple{Atom("a")}, new(any), Tuple{Atom("a")}},
		{"string from binary", []byte("hi"), new(string), "hi"},
		{"string from string", "hi", new(string), "hi"},
		{"string from atom", Atom("ok"), new(string), "ok"},
		{"string from charlist", Charlist("héllo"), new(string), "héllo"},
		{"string from code list", List{int64('h'), int64(0x1F600)}, new(string), "h😀"},
		{"string from empty list", List{}, new(string), ""},
		{"string from true", true, new(string), "true"},
		{"atom from binary", []byte("ok"), new(Atom), Atom("ok")},
		{"bytes from binary", []byte{1, 2}, new([]byte), []byte{1, 2}},
		{"bytes from list", List{int64(1), int64(255)}, new([]byte), []byte{1, 255}},
		{"byte array", []byte{1, 2}, new([2]byte), [2]byte{1, 2}},
		{"int", int64(-3), new(int), -3},
		{"int from big", bigOfString("-5"), new(int), -5},
		{"float64", 2.5, new(float64), 2.5},
		{"bool true", true, new(bool), true},
		{"int8 min", int64(-128), new(int8), int8(-128)},
		{"uint64 max", bigOfString("18446744073709551615"), new(uint64), uint64(math.MaxUint64)},
		{"int64 from big", big.NewInt(5), new(int64), int64(5)},
		{"float from int", int64(3), new(float64), 3.0},
		{"float32", 0.5, new(float32), float32(0.5)},
		{"bool", false, new(bool), false},
		{"bool from atom", Atom("true"), new(bool), true},
		{"big from int", int64(-9), new(*big.Int), big.NewInt(-9)},
		{"big", bigOfString("-18446744073709551616"), new(big.Int), *bigOfString("-18446744073709551616")},
		{"pointer undefined", Atom("undefined"), ptr(new(*int)), (*int)(nil)},
		{"pointer", int64(4), new(*int), ptr(func() *int { n := 4; return &n }())},
		{"slice from list", List{int64(1), int64(2)}, new([]int), []int{1, 2}},
		{"slice from tuple", Tuple{"a", Atom("b")}, new([]string), []string{"a", "b"}},
		{"runes from charlist", Charlist("ab"), new([]rune), []rune("ab")},
		{"array", List{int64(1), int64(2)}, new([2]uint8), [2]uint8{1, 2}},
		{"list", List{int64(1)}, new(List), List{int64(1)}},
		{"tuple from list", List{int64(1)}, new(Tuple), Tuple{int64(1)}},
		{"pid", Pid{Node: "n@h", ID: 3}, new(Pid), Pid{Node: "n@h", ID: 3}},
		{"go map", Map{{[]byte("a"), int64(1)}, {Atom("b"), int64(2)}}, new(map[string]int), map[string]int{"a": 1, "b": 2}},
		{"go map int keys", Map{{int64(1), "x"}}, new(map[int]string), map[int]string{1: "x"}},
		{"go map any", Map{{Tuple{}, int64(1)}}, new(map[string]any), nil},
		{"struct binary and atom keys",
			Map{{[]byte("Name"), []byte("n")}, {Atom("port"), int64(80)}, {"Tags", List{[]byte("a")}},
				{"Ptr", Map{{"Host", "h"}}}, {"Env", Map{{"K", "V"}}}, {"unknown", int64(1)}, {int64(1), int64(2)}},
			new(config),
			config{Name: "n", Port: 80, Tags: []string{"a"}, Ptr: &inner{Host: "h"}, Env: map[string]string{"K": "V"}}},
		{"embedded", Map{{"ID", int64(1)}, {"Kind", "k"}},
			new(withEmbedded), withEmbedded{Base: Base{ID: 1}, Kind: "k"}},
		{"embedded pointer", Map{{"Host", "h"}, {"Port", int64(1)}},
			new(withAddr), withAddr{Addr: &Addr{Host: "h"}, Port: 1}},
		{"unmarshaler", Tuple{Atom("celsius"), 3.5}, new(celsius), celsius(3.5)},
		{"unmarshaler in slice", List{Tuple{Atom("celsius"), 1.0}}, new([]celsius), []celsius{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := FromTerm(tt.in, tt.into)
			if tt.want == nil {
				if err == nil {
					t.Errorf("FromTerm(%#v) into %T succeeded; want an error", tt.in, tt.into)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromTerm(%#v) into %T: %v", tt.in, tt.into, err)
			}
			got := reflect.ValueOf(tt.into).Elem().Interface()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FromTerm(%#v)\n got %#v;\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFromTermCopiesBinaries(t *testing.T) {
	b := []byte("abc")
	var got []byte
	if err := FromTerm(b, &got); err != nil {
		t.Fatal(err)
	}
	b[0] = 'x'
	if string(got) != "abc" {
		t.Errorf("got %q; want %q (FromTerm must copy a binary)", got, "abc")
	}
}

func TestFromTermErrors(t *testing.T) {
	type Config struct {
		Port  int
		Hosts []inner
		Env   map[string]int
		Temp  celsius
	}
	var cfg Config
	tests := []struct {
		name string
		in   Term
		into any
		want string
	}{
		{"binary into field", Map{{"Port", []byte("80")}}, &cfg,
			"etf: cannot unmarshal binary into Go field Config.Port of type int"},
		{"nested path", Map{{"Hosts", List{Map{}, Map{{"port", 1.5}}}}}, &cfg,
			"etf: cannot unmarshal float 1.5 into Go field Config.Hosts[1].Port of type int"},
		{"map value", Map{{"Env", Map{{"a", Atom("x")}}}}, &cfg,
			`etf: cannot unmarshal atom x into Go field Config.Env["a"] of type int`},
		{"overflow", int64(256), new(uint8),
			"etf: cannot unmarshal integer 256 into Go value of type uint8: out of range"},
		{"negative into uint", int64(-1), new(uint),
			"etf: cannot unmarshal integer -1 into Go value of type uint: out of range"},
		{"big overflow", bigOfString("9223372036854775808"), new(int64),
			"etf: cannot unmarshal integer 9223372036854775808 into Go value of type int64: out of range"},
		{"float32 overflow", 1e300, new(float32),
			"etf: cannot unmarshal float 1e+300 into Go value of type float32: out of range"},
		{"array length", List{int64(1)}, new([2]int),
			"etf: cannot unmarshal list into Go value of type [2]int: length 1"},
		{"improper into slice", ImproperList{Elems: []Term{int64(1)}, Tail: int64(2)}, new([]int),
			"etf: cannot unmarshal improper list into Go value of type []int"},
		{"bad code point", List{int64(-1)}, new(string),
			"etf: cannot unmarshal list into Go value of type string"},
		{"undefined into int", Atom("undefined"), new(int),
			"etf: cannot unmarshal atom undefined into Go value of type int"},
		{"non-empty interface", int64(1), new(error),
			"etf: cannot unmarshal integer 1 into Go value of type error"},
		{"unmarshaler error", Map{{"Temp", int64(1)}}, &cfg,
			"etf: at Config.Temp: not a celsius tuple: 1"},
		{"unexported embedded pointer", Map{{"Host", "h"}}, new(withEmbedded),
			"etf: cannot unmarshal map into Go field withEmbedded.Host of type *etf.inner: nil pointer to unexported embedded struct"},
		{"not a pointer", int64(1), 1, "etf: FromTerm(non-pointer int)"},
		{"nil", int64(1), nil, "etf: FromTerm(nil)"},
		{"nil pointer", int64(1), (*int)(nil), "etf: FromTerm(nil *int)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := FromTerm(tt.in, tt.into)
			if err == nil || err.Error() != tt.want {
				t.Errorf("FromTerm error = %v; want %s", err, tt.want)
			}
		})
	}
}

func TestFromTermErrorTypes(t *testing.T) {
	var n int
	err := FromTerm("x", &n)
	var te *UnmarshalTypeError
	if !errors.As(err, &te) || te.Type != reflect.TypeFor[int]() || te.Term != "binary" {
		t.Errorf("got %#v; want *UnmarshalTypeError{Term: binary, Type: int}", err)
	}
}

func TestRoundTripStruct(t *testing.T) {
	in := config{
		Name: "svc", Port: 8080, Opt: "o", Ptr: &inner{Host: "h", Port: 1},
		Tags: []string{"a", "b"}, Env: map[string]string{"A": "1"},
	}
	term, err := ToTerm(in)
	if err != nil {
		t.Fatal(err)
	}
	var out config
	if err := FromTerm(term, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("got %#v; want %#v", out, in)
	}
}

func BenchmarkToTermStruct(b *testing.B) {
	v := config{Name: "svc", Port: 8080, Ptr: &inner{Host: "h"}, Tags: []string{"a", "b"}}
	b.ReportAllocs()
	for range b.N {
		if _, err := ToTerm(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromTermStruct(b *testing.B) {
	term, err := ToTerm(config{Name: "svc", Port: 8080, Ptr: &inner{Host: "h"}, Tags: []string{"a", "b"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for range b.N {
		var c config
		if err := FromTerm(term, &c); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleToTerm() {
	type Job struct {
		App  string `etf:"app"`
		Args []int  `etf:"args"`
		Note string `etf:"note,omitempty"`
	}
	t, err := ToTerm(Job{App: "demo", Args: []int{1, 2}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%#v\n", t)
	// Output: etf.Map{etf.Pair{Key:"app", Value:"demo"}, etf.Pair{Key:"args", Value:etf.List{1, 2}}}
}

func ExampleFromTerm() {
	type Job struct {
		App  string `etf:"app"`
		Port uint16 `etf:"port"`
	}
	var j Job
	// Keys may be atoms or binaries; an Erlang #{app => <<"demo">>, port => 70000}:
	err := FromTerm(Map{{Atom("app"), []byte("demo")}, {Atom("port"), int64(70000)}}, &j)
	fmt.Println(j.App, err)
	// Output: demo etf: cannot unmarshal integer 70000 into Go field Job.Port of type uint16: out of range
}

func TestMarshalUnmarshal(t *testing.T) {
	in := config{Name: "svc", Port: 8080, Ptr: &inner{Host: "h"}, Tags: []string{"a"}, Env: map[string]string{"B": "2", "A": "1"}}
	b, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out config
	if err := Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("got %#v; want %#v", out, in)
	}
	again, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, b) {
		t.Errorf("Marshal is not deterministic: got %v; want %v", again, b)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	var n int
	var de *DecodeError
	if err := Unmarshal([]byte{131, 97}, &n); !errors.As(err, &de) {
		t.Errorf("truncated input: got %v; want a *DecodeError", err)
	}
	var te *UnmarshalTypeError
	if err := Unmarshal([]byte{131, 106}, &n); !errors.As(err, &te) {
		t.Errorf("[] into int: got %v; want an *UnmarshalTypeError", err)
	}
}

func ExampleMarshal() {
	type Call struct {
		App  string `etf:"app"`
		Args []any  `etf:"args"`
	}
	b, err := Marshal(Call{App: "demo", Args: []any{1, "x"}})
	fmt.Println(b, err)

	var back Call
	err = Unmarshal(b, &back)
	fmt.Printf("%+v %v\n", back, err)
	// Output:
	// [131 116 0 0 0 2 109 0 0 0 3 97 112 112 109 0 0 0 4 100 101 109 111 109 0 0 0 4 97 114 103 115 108 0 0 0 2 97 1 109 0 0 0 1 120 106] <nil>
	// {App:demo Args:[1 [120]]} <nil>
}
