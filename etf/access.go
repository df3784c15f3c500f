package etf

import "math/big"

// Text returns the name of an atom or the bytes of a binary as a string; ok is
// false for any other term. Protocols use it for names that may come either way.
func Text(t Term) (s string, ok bool) {
	switch v := t.(type) {
	case []byte:
		return string(v), true
	case Atom:
		return string(v), true
	}
	return "", false
}

// Elems returns the elements of a proper list: a List as it is, and a Charlist
// (the form Erlang and Python give a list of small integers) as its character
// codes. ok is false for any other term.
func Elems(t Term) (elems []Term, ok bool) {
	switch v := t.(type) {
	case List:
		return v, true
	case Charlist:
		elems = make([]Term, 0, len(v))
		for _, r := range string(v) {
			elems = append(elems, int64(r))
		}
		return elems, true
	}
	return nil, false
}

// Int returns t as an int when it is an integer that fits one.
func Int(t Term) (int, bool) {
	switch v := t.(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case *big.Int:
		if v.IsInt64() {
			return int(v.Int64()), true
		}
	}
	return 0, false
}
