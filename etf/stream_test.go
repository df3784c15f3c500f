package etf

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestStreamRoundTrip(t *testing.T) {
	long := make(List, 20000)
	for k := range long {
		long[k] = Tuple{int64(300), Atom("x")}
	}
	terms := []Term{Atom("a"), Tuple{int64(1), "two"}, List{}, bytes.Repeat([]byte("x"), 10000), Map{{"k", 1.5}}, long}
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	enc.SetOptions(EncodeOptions{CompressThreshold: 1000})
	for _, v := range terms {
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Encode(make(chan int)); err == nil {
		t.Fatalf("Encode(chan) succeeded")
	}
	readers := map[string]io.Reader{
		"whole":   bytes.NewReader(buf.Bytes()),
		"onebyte": iotest.OneByteReader(bytes.NewReader(buf.Bytes())),
		"half":    iotest.HalfReader(bytes.NewReader(buf.Bytes())),
	}
	for name, r := range readers {
		t.Run(name, func(t *testing.T) {
			dec := NewDecoder(r)
			for k, want := range terms {
				var got Term
				if err := dec.Decode(&got); err != nil {
					t.Fatalf("Decode #%d: %v", k, err)
				}
				if !Equal(got, want) {
					t.Errorf("Decode #%d = %v; want %v", k, got, want)
				}
			}
			var got Term
			if err := dec.Decode(&got); err != io.EOF {
				t.Errorf("Decode at end = %v; want io.EOF", err)
			}
		})
	}
}

func TestStreamErrors(t *testing.T) {
	var got Term
	dec := NewDecoder(bytes.NewReader([]byte{131, 104, 2, 97}))
	if err := dec.Decode(&got); err != io.ErrUnexpectedEOF {
		t.Errorf("Decode(cut term) = %v; want io.ErrUnexpectedEOF", err)
	}
	dec = NewDecoder(bytes.NewReader([]byte{131, 1, 131, 97, 1}))
	err := dec.Decode(&got)
	var de *DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("Decode(bad tag) = %v; want *DecodeError", err)
	}
	if err2 := dec.Decode(&got); err2 != err {
		t.Errorf("Decode after a bad term = %v; want the same sticky error", err2)
	}
	dec = NewDecoder(bytes.NewReader([]byte{131, 109, 0, 1, 0, 0}))
	dec.SetOptions(DecodeOptions{MaxSize: 1000})
	if err := dec.Decode(&got); err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Decode(65536-byte binary, MaxSize 1000) = %v; want a MaxSize error", err)
	}
}

func TestDecoderBuffered(t *testing.T) {
	dec := NewDecoder(bytes.NewReader([]byte{131, 97, 1, 'r', 'e', 's', 't'}))
	var got Term
	if err := dec.Decode(&got); err != nil || got != int64(1) {
		t.Fatalf("Decode = %v, %v; want 1, nil", got, err)
	}
	rest, _ := io.ReadAll(dec.Buffered())
	if string(rest) != "rest" {
		t.Errorf("Buffered() = %q; want %q", rest, "rest")
	}
}
