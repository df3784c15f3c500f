package etf

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"testing"
)

// FuzzDecode checks that whatever decodes re-encodes, that the re-encoding
// decodes to an Equal term and encodes to the same bytes again, and that
// whatever does not decode fails with a *DecodeError; and that Brief keeps
// within its byte bound.
func FuzzDecode(f *testing.F) {
	for _, c := range erlCases {
		f.Add(c.b)
	}
	for _, c := range otherCases {
		f.Add(c.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Decode(b)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%v) error %T %v; want *DecodeError", b, err, err)
			}
			return
		}
		if !Equal(v, v) || Compare(v, v) != 0 {
			t.Fatalf("Decode(%v) = %#v, not Equal to itself", b, v)
		}
		if s := Brief(v, 4, 64); len(s) > 64+len("...") {
			t.Fatalf("Brief(%#v, 4, 64) = %q, longer than 67 bytes", v, s)
		}
		enc, err := Encode(v)
		if err != nil {
			t.Fatalf("Encode(Decode(%v) = %#v): %v", b, v, err)
		}
		back, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(%#v) = %v): %v", v, enc, err)
		}
		if !Equal(back, v) || Compare(back, v) != 0 {
			t.Fatalf("Decode(Encode(%#v)) = %#v; want an Equal term", v, back)
		}
		again, err := Encode(back)
		if err != nil || !bytes.Equal(again, enc) {
			t.Fatalf("Encode(%#v) = %v, %v; want %v", back, again, err, enc)
		}
	})
}

// FuzzParseSubnormal checks parseSubnormal against strconv.ParseFloat on
// whatever text it accepts.
func FuzzParseSubnormal(f *testing.F) {
	for _, s := range []string{"4.94065645841246544177e-324", "-2.22507385850720088902e-308", "1e-320", "1.5e+00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseSubnormal([]byte(s))
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseSubnormal(%q) = %v; ParseFloat = %v, %v", s, got, want, err)
		}
	})
}
