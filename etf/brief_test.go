package etf

import (
	"strings"
	"testing"
)

func TestBrief(t *testing.T) {
	deep := Term(List{})
	for range 20 {
		deep = List{deep}
	}
	long := make(List, 1_000_000)
	for i := range long {
		long[i] = int64(i)
	}
	tests := []struct {
		name         string
		term         Term
		depth, bytes int
		want         string
	}{
		{"tuple", Tuple{Atom("ok"), []byte("hi"), int64(-3), 1.5, true}, 8, 100, `{ok,<<"hi">>,-3,1.5,true}`},
		{"atoms", List{Atom(""), Atom("Up"), Atom("a b"), Atom("n@h")}, 8, 100, `['','Up','a b',n@h]`},
		{"map", Map{{Atom("a"), List{int64(1), int64(2)}}}, 8, 100, `#{a => [1,2]}`},
		{"improper", ImproperList{Elems: []Term{Atom("a")}, Tail: Atom("b")}, 8, 100, `[a|b]`},
		{"bytes", []byte{0, 255}, 8, 100, `<<0,255>>`},
		{"charlist", Charlist("abc"), 8, 100, `"abc"`},
		{"depth", deep, 3, 100, `[[[...]]]`},
		{"cut", long, 8, 20, `[0,1,2,3,4,5,6,7,8,9...`},
		{"big binary", make([]byte, 1<<20), 8, 12, `<<0,0,0,0,0,...`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Brief(tt.term, tt.depth, tt.bytes); got != tt.want {
				t.Errorf("got %s; want %s", got, tt.want)
			}
		})
	}
}

func TestBriefBound(t *testing.T) {
	long := make(List, 1_000_000)
	for i := range long {
		long[i] = Tuple{Atom("x"), []byte(strings.Repeat("y", 100))}
	}
	if got := Brief(long, BriefDepth, BriefBytes); len(got) > BriefBytes+3 {
		t.Errorf("got %d bytes; want at most %d", len(got), BriefBytes+3)
	}
}
