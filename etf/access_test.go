package etf

import "testing"

func TestText(t *testing.T) {
	tests := []struct {
		in   Term
		want string
		ok   bool
	}{
		{[]byte("app"), "app", true},
		{Atom("app"), "app", true},
		{"app", "", false},
		{int64(1), "", false},
	}
	for _, tt := range tests {
		got, ok := Text(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Text(%#v) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestElems(t *testing.T) {
	tests := []struct {
		in   Term
		want List
		ok   bool
	}{
		{List{int64(1), Atom("x")}, List{int64(1), Atom("x")}, true},
		{Charlist("hé"), List{int64('h'), int64('é')}, true},
		{List{}, List{}, true},
		{Tuple{int64(1)}, nil, false},
		{ImproperList{Elems: []Term{int64(1)}, Tail: int64(2)}, nil, false},
	}
	for _, tt := range tests {
		got, ok := Elems(tt.in)
		if ok != tt.ok || !Equal(List(got), tt.want) && tt.ok {
			t.Errorf("Elems(%#v) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
