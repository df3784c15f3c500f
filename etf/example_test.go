package etf_test

import (
	"bytes"
	"fmt"

	"github.com/hornbeam-go/hornbeam/etf"
)

func ExampleDecode() {
	// term_to_binary({ok, <<"hi">>, "abc", #{a => 1.5}}, [{minor_version, 2}])
	b := []byte{131, 104, 4, 119, 2, 111, 107, 109, 0, 0, 0, 2, 104, 105, 107, 0, 3, 97, 98, 99,
		116, 0, 0, 0, 1, 119, 1, 97, 70, 63, 248, 0, 0, 0, 0, 0, 0}
	t, err := etf.Decode(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range t.(etf.Tuple) {
		fmt.Printf("%T %v\n", e, e)
	}
	// Output:
	// etf.Atom ok
	// []uint8 [104 105]
	// etf.Charlist abc
	// etf.Map [{a 1.5}]
}

func ExampleEncode() {
	b, err := etf.Encode(etf.Tuple{etf.Atom("ok"), "hi", 42})
	fmt.Println(b, err)
	// Output:
	// [131 104 3 119 2 111 107 109 0 0 0 2 104 105 97 42] <nil>
}

func ExampleEqual() {
	fmt.Println(etf.Equal("key", []byte("key")), etf.Equal(true, etf.Atom("true")), etf.Equal(1, 1.0))
	// Output:
	// true true false
}

func ExampleMap_Get() {
	m := etf.Map{{Key: []byte("name"), Value: etf.Atom("hornbeam")}}
	m.Put("port", 4369)
	v, ok := m.Get("name")
	fmt.Println(v, ok, len(m))
	// Output:
	// hornbeam true 2
}

func ExampleDecodePrefix() {
	in := []byte{131, 97, 1, 131, 119, 1, 120}
	for len(in) > 0 {
		t, n, err := etf.DecodePrefix(in)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(t)
		in = in[n:]
	}
	// Output:
	// 1
	// x
}

func ExampleDecodeError() {
	_, err := etf.Decode([]byte{131, 105, 127, 255, 255, 255})
	fmt.Println(err)
	// Output:
	// etf: truncated LARGE_TUPLE_EXT at offset 1
}

func ExampleNewDecoder() {
	var buf bytes.Buffer
	enc := etf.NewEncoder(&buf)
	enc.Encode(etf.Atom("hello"))
	enc.Encode(etf.List{1, 2})
	dec := etf.NewDecoder(&buf)
	for {
		var t etf.Term
		if err := dec.Decode(&t); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%#v\n", t)
	}
	// Output:
	// "hello"
	// etf.List{1, 2}
	// EOF
}
