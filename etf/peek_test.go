package etf

import (
	"bytes"
	"testing"
)

func TestPeeks(t *testing.T) {
	pid := Pid{Node: "e1@localhost", ID: 85, Creation: 7}
	b, err := Encode(Tuple{int64(19), pid, Atom("hornbeam_hooks"), Atom("x")})
	if err != nil {
		t.Fatal(err)
	}
	arity, i, ok := PeekTuple(b)
	if !ok || arity != 4 {
		t.Fatalf("PeekTuple: got %v, %v; want 4, true", arity, ok)
	}
	op, i, ok := PeekSmallInt(b, i)
	if !ok || op != 19 {
		t.Fatalf("PeekSmallInt: got %v, %v; want 19, true", op, ok)
	}
	if i, ok = SkipPid(b, i); !ok {
		t.Fatal("SkipPid: got false; want true")
	}
	name, _, ok := PeekAtom(b, i)
	if !ok || string(name) != "hornbeam_hooks" {
		t.Fatalf("PeekAtom: got %q, %v; want hornbeam_hooks, true", name, ok)
	}
	for n := range len(b) {
		if _, ok := SkipPid(b[:n], 5); ok && n < i {
			t.Fatalf("SkipPid of a %d-byte prefix: got true; want false", n)
		}
	}
}

func TestDecodeTupleHead(t *testing.T) {
	b, err := Encode(Tuple{Atom("call"), int64(7), Atom("x")})
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] = 0xff // break the last element
	head, ok := DecodeTupleHead(b, 3, 2)
	if !ok || head[0] != Atom("call") || head[1] != int64(7) {
		t.Fatalf("got %v, %v; want [call 7], true", head, ok)
	}
	if _, ok := DecodeTupleHead(b, 4, 2); ok {
		t.Fatal("wrong arity: got true; want false")
	}
}

func TestAppendEncodeSegments(t *testing.T) {
	big := bytes.Repeat([]byte{7}, 1<<16)
	for _, msg := range []Term{
		Tuple{Atom("ok"), big},
		Tuple{Atom("ok"), List{big, []byte("x"), big}},
		List{Tuple{big}, int64(1)},
		big,
		Tuple{Atom("small"), []byte("x")},
	} {
		head, more, err := AppendEncodeSegments([]byte("pre"), msg, len(big))
		if err != nil {
			t.Fatal(err)
		}
		got := append([]byte(nil), head...)
		for _, seg := range more {
			got = append(got, seg...)
		}
		want, _ := AppendEncode([]byte("pre"), msg)
		if !bytes.Equal(got, want) {
			t.Fatalf("%.40v: segments differ from AppendEncode", msg)
		}
	}
}
