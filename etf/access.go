package etf

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
