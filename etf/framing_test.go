package etf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestPacketRoundTrip(t *testing.T) {
	for _, n := range []int{Packet1, Packet2, Packet4} {
		t.Run(fmt.Sprintf("packet%d", n), func(t *testing.T) {
			frames := [][]byte{{}, []byte("a"), bytes.Repeat([]byte{7}, 255)}
			if n > 1 {
				frames = append(frames, bytes.Repeat([]byte{9}, 65535))
			}
			if n > 2 {
				frames = append(frames, bytes.Repeat([]byte{5}, 70000))
			}
			var buf bytes.Buffer
			w, err := NewPacketWriter(&buf, n)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range frames {
				if err := w.WriteFrame(f); err != nil {
					t.Fatalf("WriteFrame(%d bytes): %v", len(f), err)
				}
			}
			r, err := NewPacketReader(iotest.HalfReader(&buf), n)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range frames {
				got, err := r.ReadFrame()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("frame %d: got %d bytes; want %d", i, len(got), len(want))
				}
			}
			if _, err := r.ReadFrame(); err != io.EOF {
				t.Errorf("after the last frame: got %v; want io.EOF", err)
			}
		})
	}
}

func TestPacketWriterBytes(t *testing.T) {
	tests := []struct {
		n     int
		parts [][]byte
		want  []byte
	}{
		{Packet1, [][]byte{[]byte("ab")}, []byte{2, 'a', 'b'}},
		{Packet2, [][]byte{[]byte("ab"), nil, []byte("c")}, []byte{0, 3, 'a', 'b', 'c'}},
		{Packet4, nil, []byte{0, 0, 0, 0}},
		{Packet4, [][]byte{{131, 106}}, []byte{0, 0, 0, 2, 131, 106}},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		w, err := NewPacketWriter(&buf, tt.n)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteFrameParts(tt.parts...); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), tt.want) {
			t.Errorf("{packet,%d} %q: got %v; want %v", tt.n, tt.parts, buf.Bytes(), tt.want)
		}
	}
}

func TestPacketWriterLargeParts(t *testing.T) {
	a, b := bytes.Repeat([]byte{1}, 5000), bytes.Repeat([]byte{2}, 3000)
	var buf bytes.Buffer
	w, _ := NewPacketWriter(&buf, Packet4)
	for range 2 {
		if err := w.WriteFrameParts(a, b); err != nil {
			t.Fatal(err)
		}
	}
	r, _ := NewPacketReader(&buf, Packet4)
	for range 2 {
		got, err := r.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, append(append([]byte{}, a...), b...)) {
			t.Errorf("got %d bytes; want the two parts, 8000 bytes", len(got))
		}
	}
}

func TestPacketWriterTooLarge(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewPacketWriter(&buf, Packet1)
	err := w.WriteFrame(make([]byte, 256))
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("got %v; want ErrFrameTooLarge", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %d bytes; want none", buf.Len())
	}
	if err := w.WriteFrame([]byte("ok")); err != nil {
		t.Errorf("after a refused frame: got %v; want nil (the stream is still in step)", err)
	}
}

func TestPacketWriterStickyError(t *testing.T) {
	failing := &failWriter{}
	w, _ := NewPacketWriter(failing, Packet2)
	first := w.WriteFrame([]byte("x"))
	if first == nil {
		t.Fatal("got nil; want the writer's error")
	}
	if err := w.WriteFrame([]byte("y")); err != first {
		t.Errorf("second write: got %v; want the first error %v", err, first)
	}
	if failing.calls != 1 {
		t.Errorf("writer called %d times; want 1", failing.calls)
	}
}

type failWriter struct{ calls int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.calls++
	return 0, errors.New("disk on fire")
}

func TestPacketReaderErrors(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		max    int
		input  []byte
		want   string
		target error
	}{
		{"truncated header", Packet4, DefaultMaxFrame, []byte{0, 0}, "etf: truncated {packet,4} header: got 2 of 4 bytes", io.ErrUnexpectedEOF},
		{"truncated body", Packet2, DefaultMaxFrame, []byte{0, 5, 1, 2}, "etf: truncated {packet,2} frame: got 2 of 5 bytes", io.ErrUnexpectedEOF},
		{"empty body missing", Packet1, DefaultMaxFrame, []byte{1}, "etf: truncated {packet,1} frame: got 0 of 1 bytes", io.ErrUnexpectedEOF},
		{"oversize", Packet4, 10, []byte{0, 0, 0, 11}, "etf: frame too large: {packet,4} frame of 11 bytes, max 10", ErrFrameTooLarge},
		{"4 GiB claim", Packet4, DefaultMaxFrame, []byte{255, 255, 255, 255}, "frame of 4294967295 bytes", ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := NewPacketReader(bytes.NewReader(tt.input), tt.n)
			r.SetMaxFrame(tt.max)
			_, err := r.ReadFrame()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, tt.target) {
				t.Fatalf("got %v; want %q matching %v", err, tt.want, tt.target)
			}
			if _, again := r.ReadFrame(); again != err {
				t.Errorf("second read: got %v; want the same sticky error", again)
			}
		})
	}
}

func TestPacketReaderReusesBuffer(t *testing.T) {
	r, _ := NewPacketReader(bytes.NewReader([]byte{2, 'a', 'b', 1, 'c'}), Packet1)
	first, _ := r.ReadFrame()
	second, _ := r.ReadFrame()
	if &first[0] != &second[0] {
		t.Errorf("second frame got a new buffer; want the reused one")
	}
	if string(first) != "cb" {
		t.Errorf("first frame after the second read: got %q; want %q (the buffer is reused)", first, "cb")
	}
}

func TestBadHeaderSize(t *testing.T) {
	for _, n := range []int{0, 3, 8} {
		if _, err := NewPacketReader(nil, n); err == nil {
			t.Errorf("NewPacketReader(nil, %d): got nil error; want one", n)
		}
		if _, err := NewPacketWriter(nil, n); err == nil {
			t.Errorf("NewPacketWriter(nil, %d): got nil error; want one", n)
		}
	}
}

func ExamplePacketReader() {
	var conn bytes.Buffer // a port's stdout, say
	w, _ := NewPacketWriter(&conn, Packet4)
	_ = w.WriteFrameParts([]byte{131}, []byte{106}) // the term [] in two parts
	r, _ := NewPacketReader(&conn, Packet4)
	frame, err := r.ReadFrame()
	fmt.Println(frame, err)
	_, err = r.ReadFrame()
	fmt.Println(err)
	// Output:
	// [131 106] <nil>
	// EOF
}
